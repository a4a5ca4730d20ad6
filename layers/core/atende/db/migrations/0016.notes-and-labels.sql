-- The console's private notes (never sent to WhatsApp) and the tenant's labels
-- on conversations. Both follow their conversation out (LGPD erasure,
-- retention): ON DELETE CASCADE. Written only by atende.console.
-- depends: 0015.satisfaction

CREATE TABLE conversation_notes (
    tenant_id        uuid NOT NULL,
    id               uuid NOT NULL DEFAULT gen_random_uuid(),
    conversation_id  uuid NOT NULL,
    attendant_id     uuid NOT NULL,
    body             text NOT NULL CHECK (length(btrim(body)) BETWEEN 1 AND 2000),
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id)
        ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, attendant_id) REFERENCES attendants (tenant_id, id)
);
CREATE INDEX conversation_notes_conversation_idx
    ON conversation_notes (tenant_id, conversation_id, created_at);

CREATE TABLE labels (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 40),
    color       text NOT NULL CHECK (color ~ '^#[0-9a-f]{6}$'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX labels_name_key ON labels (tenant_id, lower(name));

CREATE TABLE conversation_labels (
    tenant_id        uuid NOT NULL,
    conversation_id  uuid NOT NULL,
    label_id         uuid NOT NULL,
    added_by         uuid,
    added_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, conversation_id, label_id),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id)
        ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, label_id) REFERENCES labels (tenant_id, id)
        ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, added_by) REFERENCES attendants (tenant_id, id)
);
-- Filtering the lists by label.
CREATE INDEX conversation_labels_label_idx
    ON conversation_labels (tenant_id, label_id, conversation_id);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['conversation_notes', 'labels', 'conversation_labels']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I '
            'USING (tenant_id = current_tenant_id()) '
            'WITH CHECK (tenant_id = current_tenant_id())', t);
    END LOOP;
END $$;

-- Notes are evidence of what the team knew: added, never edited.
GRANT SELECT, INSERT, DELETE ON conversation_notes TO atende_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON labels, conversation_labels TO atende_app;
