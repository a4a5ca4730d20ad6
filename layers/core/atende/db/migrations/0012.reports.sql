-- Reports: per-conversation, per-handoff and per-template-send facts, refreshed
-- by the scheduled reports function (atende.reports.refresh), so a 90-day
-- report reads tens of thousands of narrow rows instead of a million messages.
-- The facts follow their sources out: LGPD erasure and retention delete
-- conversations, handoffs and messages, and these rows go with them (CASCADE).
-- depends: 0008.api-key-scopes

CREATE TABLE report_conversations (
    tenant_id        uuid NOT NULL,
    conversation_id  uuid NOT NULL,
    entry_point      text,
    opened_at        timestamptz NOT NULL,
    closed_at        timestamptz,
    handoffs         integer NOT NULL,
    returns_to_bot   integer NOT NULL,
    transfers        integer NOT NULL,
    teams            text[] NOT NULL,
    attendant_ids    uuid[] NOT NULL,
    PRIMARY KEY (tenant_id, conversation_id),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id)
        ON DELETE CASCADE
);
CREATE INDEX report_conversations_opened_idx ON report_conversations (tenant_id, opened_at);

CREATE TABLE report_handoffs (
    tenant_id           uuid NOT NULL,
    handoff_id          uuid NOT NULL,
    conversation_id     uuid NOT NULL,
    entry_point         text,
    reason              text NOT NULL,
    team                text,
    attendant_id        uuid,
    requested_at        timestamptz NOT NULL,
    accepted_at         timestamptz,
    first_response_at   timestamptz,
    resolved_at         timestamptz,
    outcome             text,
    PRIMARY KEY (tenant_id, handoff_id),
    FOREIGN KEY (tenant_id, handoff_id) REFERENCES handoffs (tenant_id, id)
        ON DELETE CASCADE
);
CREATE INDEX report_handoffs_requested_idx ON report_handoffs (tenant_id, requested_at);
CREATE INDEX report_handoffs_conversation_idx ON report_handoffs (tenant_id, conversation_id);

-- Templates: what Meta bills per message. outside_window: no customer message
-- in the 24 hours before the send.
CREATE TABLE report_template_sends (
    tenant_id        uuid NOT NULL,
    message_id       uuid NOT NULL,
    conversation_id  uuid NOT NULL,
    entry_point      text,
    sent_at          timestamptz NOT NULL,
    category         text NOT NULL,
    outside_window   boolean NOT NULL,
    PRIMARY KEY (tenant_id, message_id),
    FOREIGN KEY (tenant_id, message_id) REFERENCES messages (tenant_id, id)
        ON DELETE CASCADE
);
CREATE INDEX report_template_sends_sent_idx ON report_template_sends (tenant_id, sent_at);
CREATE INDEX report_template_sends_conversation_idx
    ON report_template_sends (tenant_id, conversation_id);

-- A customer's conversations: the 24-hour window of a template send above is
-- the customer's (and LGPD erasure finds a customer's conversations by it).
CREATE INDEX conversations_customer_idx ON conversations (tenant_id, customer_id);

-- When each tenant's facts were last refreshed (shown on the page).
CREATE TABLE report_refreshes (
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    refreshed_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id)
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['report_conversations', 'report_handoffs',
                             'report_template_sends', 'report_refreshes']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I '
            'USING (tenant_id = current_tenant_id()) '
            'WITH CHECK (tenant_id = current_tenant_id())', t);
    END LOOP;
END $$;

GRANT SELECT, INSERT, UPDATE, DELETE ON report_conversations, report_handoffs,
    report_template_sends, report_refreshes TO atende_app;
