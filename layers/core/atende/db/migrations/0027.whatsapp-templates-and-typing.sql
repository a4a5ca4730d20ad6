-- depends: 0022.canned-responses
-- The composer that knows WhatsApp (issue 14, point 9): the tenant's message
-- templates as Meta lists them, cached, and when the typing indicator was last
-- sent per conversation (to throttle it). Written only by
-- atende.console.templates and atende.console.typing.

-- The WhatsApp Business Account a number belongs to: templates are listed per
-- WABA (GET /{waba-id}/message_templates), not per number.
ALTER TABLE whatsapp_numbers ADD COLUMN waba_id text
    CHECK (waba_id ~ '^[0-9]{1,32}$');

-- When the tenant's template list was last read from Meta (one row per
-- tenant, also when the WABA has no templates at all).
CREATE TABLE whatsapp_template_catalogs (
    tenant_id   uuid PRIMARY KEY REFERENCES tenants (id),
    waba_id     text NOT NULL,
    fetched_at  timestamptz NOT NULL
);

-- Meta's templates, as listed: any status (supervisors see the pending and
-- rejected ones); only APPROVED ones are offered and sent.
CREATE TABLE whatsapp_templates (
    tenant_id         uuid NOT NULL REFERENCES whatsapp_template_catalogs (tenant_id)
                      ON DELETE CASCADE,
    name              text NOT NULL,
    language          text NOT NULL,
    status            text NOT NULL,
    category          text NOT NULL,
    parameter_format  text NOT NULL DEFAULT 'POSITIONAL',
    components        jsonb NOT NULL DEFAULT '[]',
    PRIMARY KEY (tenant_id, name, language)
);

-- The typing indicator's last call per conversation: at most one every 20 s.
CREATE TABLE typing_signals (
    tenant_id        uuid NOT NULL,
    conversation_id  uuid NOT NULL,
    sent_at          timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, conversation_id),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id)
        ON DELETE CASCADE
);

ALTER TABLE whatsapp_template_catalogs ENABLE ROW LEVEL SECURITY;
ALTER TABLE whatsapp_template_catalogs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON whatsapp_template_catalogs
    USING (tenant_id = current_tenant_id())
    WITH CHECK (tenant_id = current_tenant_id());

ALTER TABLE whatsapp_templates ENABLE ROW LEVEL SECURITY;
ALTER TABLE whatsapp_templates FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON whatsapp_templates
    USING (tenant_id = current_tenant_id())
    WITH CHECK (tenant_id = current_tenant_id());

ALTER TABLE typing_signals ENABLE ROW LEVEL SECURITY;
ALTER TABLE typing_signals FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON typing_signals
    USING (tenant_id = current_tenant_id())
    WITH CHECK (tenant_id = current_tenant_id());

GRANT SELECT, INSERT, UPDATE, DELETE ON whatsapp_template_catalogs TO atende_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON whatsapp_templates TO atende_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON typing_signals TO atende_app;
