-- CSAT: after a conversation a person handled is closed inside the customer's
-- 24-hour window, the customer is asked for a 1-5 rating (a WhatsApp list)
-- and an optional comment. One survey per conversation, kept with the
-- attendant, team and entry point it is about (the reports read it). It
-- follows its conversation out (LGPD erasure, retention): ON DELETE CASCADE.
-- depends: 0013.api-key-reports-scope

CREATE TABLE satisfaction_surveys (
    tenant_id        uuid NOT NULL,
    id               uuid NOT NULL DEFAULT gen_random_uuid(),
    conversation_id  uuid NOT NULL,
    customer_id      uuid NOT NULL,
    attendant_id     uuid,
    team             text,
    entry_point      text,
    sent_at          timestamptz NOT NULL DEFAULT now(),
    -- Answers are taken until then (the window the survey was sent in).
    expires_at       timestamptz NOT NULL,
    score            smallint CHECK (score BETWEEN 1 AND 5),
    rated_at         timestamptz,
    comment          text CHECK (length(comment) <= 1000),
    commented_at     timestamptz,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, conversation_id),
    CHECK ((score IS NULL) = (rated_at IS NULL)),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id)
        ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
    FOREIGN KEY (tenant_id, attendant_id) REFERENCES attendants (tenant_id, id)
);
CREATE INDEX satisfaction_surveys_rated_idx ON satisfaction_surveys (tenant_id, rated_at)
    WHERE rated_at IS NOT NULL;
CREATE INDEX satisfaction_surveys_customer_idx
    ON satisfaction_surveys (tenant_id, customer_id, sent_at);

ALTER TABLE satisfaction_surveys ENABLE ROW LEVEL SECURITY;
ALTER TABLE satisfaction_surveys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON satisfaction_surveys
    USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON satisfaction_surveys TO atende_app;
