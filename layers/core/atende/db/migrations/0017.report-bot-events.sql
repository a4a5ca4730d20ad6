-- The bot's side of the reports: what Rasa's tracker store recorded for each
-- conversation (intents understood, LLM answers and "não sei", clarifying
-- questions), copied by the reports refresh into a tenant table, so a report
-- never reads the tracker store (another database, without tenants). The rows
-- follow their conversation out (LGPD erasure and retention): CASCADE.
-- depends: 0016.notes-and-labels

CREATE TABLE report_bot_events (
    tenant_id         uuid NOT NULL,
    tracker_event_id  bigint NOT NULL,
    conversation_id   uuid NOT NULL,
    at                timestamptz NOT NULL,
    kind              text NOT NULL
        CHECK (kind IN ('intent', 'llm_answer', 'dont_know', 'clarification')),
    intent            text,
    PRIMARY KEY (tenant_id, tracker_event_id),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id)
        ON DELETE CASCADE
);
CREATE INDEX report_bot_events_at_idx ON report_bot_events (tenant_id, at);
CREATE INDEX report_bot_events_conversation_idx
    ON report_bot_events (tenant_id, conversation_id);

ALTER TABLE report_bot_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE report_bot_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON report_bot_events
    USING (tenant_id = current_tenant_id())
    WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON report_bot_events TO atende_app;

-- Whether the last refresh read the tracker store: without a bot deployed,
-- the page says "Indisponível" instead of showing zeros.
ALTER TABLE report_refreshes ADD COLUMN with_bot boolean NOT NULL DEFAULT false;
