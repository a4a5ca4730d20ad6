-- WhatsApp channel: business numbers per tenant, identity changes, exactly-once turns.
-- depends: 0001.initial-schema

-- A tenant's WhatsApp business numbers. The webhook knows only Meta's
-- phone_number_id; like an API key hash, it identifies its tenant.
CREATE TABLE whatsapp_numbers (
    tenant_id             uuid NOT NULL REFERENCES tenants (id),
    phone_number_id       text NOT NULL,
    display_phone_number  text,
    created_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, phone_number_id)
);
CREATE UNIQUE INDEX whatsapp_numbers_phone_number_id_key
    ON whatsapp_numbers (phone_number_id);
ALTER TABLE whatsapp_numbers ENABLE ROW LEVEL SECURITY;
ALTER TABLE whatsapp_numbers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON whatsapp_numbers
    USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
CREATE POLICY phone_number_lookup ON whatsapp_numbers FOR SELECT
    USING (phone_number_id = nullif(current_setting('app.phone_number_id', true), ''));
GRANT SELECT, INSERT, UPDATE, DELETE ON whatsapp_numbers TO atende_app;

-- System jobs (idle-conversation sweeper) list tenant ids, then work inside
-- one tenant_transaction per tenant.
CREATE POLICY tenant_directory ON tenants FOR SELECT
    USING (current_setting('app.tenant_directory', true) = 'on');

-- Meta's business-scoped user id changes when a user changes phone number
-- (user_id_update); the old ids keep resolving to the same customer.
ALTER TABLE customers ADD COLUMN previous_user_ids text[] NOT NULL DEFAULT '{}';

-- The 24-hour customer-service window and the business number of a conversation.
ALTER TABLE conversations ADD COLUMN last_inbound_at timestamptz;
ALTER TABLE conversations ADD COLUMN phone_number_id text;

-- One bot turn per inbound message, however often Meta or SQS redeliver it:
-- pending -> running (claimed with a lease) -> done.
ALTER TABLE messages ADD COLUMN turn_state text
    CHECK (turn_state IN ('pending', 'running', 'done'));
ALTER TABLE messages ADD COLUMN turn_claimed_at timestamptz;
ALTER TABLE messages ADD COLUMN wa_timestamp timestamptz;
ALTER TABLE messages DROP CONSTRAINT messages_status_check;
ALTER TABLE messages ADD CONSTRAINT messages_status_check
    CHECK (status IN ('received', 'pending', 'sending', 'sent', 'delivered', 'read',
                      'failed'));
CREATE INDEX messages_outbox_idx ON messages (tenant_id, conversation_id, created_at)
    WHERE status = 'pending';
