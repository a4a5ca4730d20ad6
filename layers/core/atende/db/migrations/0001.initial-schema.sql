-- Initial schema. Runs as atende_owner; the application connects as atende_app.
--
-- Tenant isolation is enforced by PostgreSQL itself: every table holding tenant
-- data has tenant_id NOT NULL, ENABLE + FORCE ROW LEVEL SECURITY and a policy on
-- the per-transaction setting app.tenant_id (set with set_config(..., true)).
-- Primary keys are (tenant_id, id) and foreign keys carry tenant_id, so a row
-- can never point at another tenant's row, and every index is led by tenant_id.

CREATE FUNCTION current_tenant_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $$;

-- Tenants: the row of the tenant in context is visible; nothing else.
CREATE TABLE tenants (
    id           uuid PRIMARY KEY,
    name         text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    kms_key_arn  text,
    status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    id            uuid NOT NULL DEFAULT gen_random_uuid(),
    name          text NOT NULL,
    prefix        text NOT NULL,
    key_hash      bytea NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz,
    PRIMARY KEY (tenant_id, id)
);
-- Global uniqueness of the hash is deliberate: the hash identifies the key.
CREATE UNIQUE INDEX api_keys_key_hash_key ON api_keys (key_hash);

CREATE TABLE attendants (
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    id            uuid NOT NULL DEFAULT gen_random_uuid(),
    email         text NOT NULL,
    display_name  text NOT NULL,
    role          text NOT NULL CHECK (role IN ('admin', 'supervisor', 'attendant')),
    password_hash text,
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, email)
);

-- Customers are keyed on Meta's business-scoped user id; the phone is optional
-- (users with a WhatsApp username arrive without one).
CREATE TABLE customers (
    tenant_id       uuid NOT NULL REFERENCES tenants (id),
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    wa_user_id      text NOT NULL,
    wa_parent_user_id text,
    phone           text,
    username        text,
    display_name    text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    erased_at       timestamptz,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, wa_user_id)
);
CREATE INDEX customers_phone_idx ON customers (tenant_id, phone) WHERE phone IS NOT NULL;

CREATE TABLE consents (
    tenant_id    uuid NOT NULL,
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    customer_id  uuid NOT NULL,
    purpose      text NOT NULL,
    granted      boolean NOT NULL,
    source       text NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);
CREATE INDEX consents_customer_idx ON consents (tenant_id, customer_id, purpose, recorded_at DESC);

CREATE TABLE conversations (
    tenant_id              uuid NOT NULL,
    id                     uuid NOT NULL DEFAULT gen_random_uuid(),
    customer_id            uuid NOT NULL,
    state                  text NOT NULL DEFAULT 'bot'
                           CHECK (state IN ('bot', 'waiting_human', 'with_human', 'closed')),
    assigned_attendant_id  uuid,
    opened_at              timestamptz NOT NULL DEFAULT now(),
    last_activity_at       timestamptz NOT NULL DEFAULT now(),
    closed_at              timestamptz,
    close_reason           text,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
    FOREIGN KEY (tenant_id, assigned_attendant_id) REFERENCES attendants (tenant_id, id),
    CHECK ((state = 'closed') = (closed_at IS NOT NULL))
);
-- At most one open conversation per customer.
CREATE UNIQUE INDEX conversations_one_open_idx
    ON conversations (tenant_id, customer_id) WHERE state <> 'closed';
CREATE INDEX conversations_state_idx
    ON conversations (tenant_id, state, last_activity_at);

CREATE TABLE messages (
    tenant_id        uuid NOT NULL,
    id               uuid NOT NULL DEFAULT gen_random_uuid(),
    conversation_id  uuid NOT NULL,
    direction        text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    wamid            text,
    type             text NOT NULL,
    body             text,
    media_ref        text,
    payload          jsonb NOT NULL DEFAULT '{}'::jsonb,
    status           text NOT NULL DEFAULT 'received'
                     CHECK (status IN ('received', 'pending', 'sent', 'delivered',
                                       'read', 'failed')),
    error_code       text,
    error_title      text,
    sent_by_attendant_id uuid,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id)
);
-- Durable dedupe of Meta's redeliveries.
CREATE UNIQUE INDEX messages_wamid_key ON messages (tenant_id, wamid) WHERE wamid IS NOT NULL;
CREATE INDEX messages_conversation_idx ON messages (tenant_id, conversation_id, created_at);

CREATE TABLE handoffs (
    tenant_id        uuid NOT NULL,
    id               uuid NOT NULL DEFAULT gen_random_uuid(),
    conversation_id  uuid NOT NULL,
    reason           text NOT NULL,
    summary          text,
    requested_at     timestamptz NOT NULL DEFAULT now(),
    accepted_by      uuid,
    accepted_at      timestamptz,
    resolved_at      timestamptz,
    outcome          text CHECK (outcome IN ('returned_to_bot', 'closed', 'transferred')),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id),
    FOREIGN KEY (tenant_id, accepted_by) REFERENCES attendants (tenant_id, id)
);
CREATE INDEX handoffs_queue_idx ON handoffs (tenant_id, requested_at) WHERE accepted_at IS NULL;
CREATE INDEX handoffs_conversation_idx ON handoffs (tenant_id, conversation_id);

CREATE TABLE documents (
    tenant_id          uuid NOT NULL REFERENCES tenants (id),
    id                 uuid NOT NULL DEFAULT gen_random_uuid(),
    api_key_id         uuid,
    status             text NOT NULL DEFAULT 'RECEIVED'
                       CHECK (status IN ('RECEIVED', 'PROCESSING', 'COMPLETED', 'FAILED')),
    sha256             bytea NOT NULL,
    size_bytes         bigint NOT NULL CHECK (size_bytes > 0),
    page_count         integer,
    s3_key             text,
    execution_arn      text,
    error_code         text,
    error_message      text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    started_at         timestamptz,
    finished_at        timestamptz,
    purged_at          timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, api_key_id) REFERENCES api_keys (tenant_id, id)
);
CREATE INDEX documents_status_idx ON documents (tenant_id, status, created_at DESC);
CREATE INDEX documents_sha256_idx ON documents (tenant_id, sha256);

CREATE TABLE document_results (
    tenant_id      uuid NOT NULL,
    document_id    uuid NOT NULL,
    s3_key         text NOT NULL,
    entity_count   integer NOT NULL DEFAULT 0,
    llm_available  boolean NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, document_id),
    FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id)
);
CREATE INDEX document_results_expiry_idx ON document_results (tenant_id, expires_at);

-- Append-only for the application: no UPDATE or DELETE grant (below).
CREATE TABLE audit_events (
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    id            bigint GENERATED ALWAYS AS IDENTITY,
    occurred_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    action        text NOT NULL CHECK (action ~ '^[A-Z][A-Z0-9_]*$'),
    subject_type  text NOT NULL,
    subject_id    text,
    actor_type    text NOT NULL CHECK (actor_type IN ('system', 'api_key', 'attendant',
                                                      'customer', 'operator')),
    actor_id      text,
    request_id    text,
    ip            inet,
    details       jsonb NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_events_subject_idx
    ON audit_events (tenant_id, subject_type, subject_id, occurred_at);
CREATE INDEX audit_events_time_idx ON audit_events (tenant_id, occurred_at);

-- Row-level security on every tenant table.
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants
    USING (id = current_tenant_id()) WITH CHECK (id = current_tenant_id());

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['api_keys', 'attendants', 'customers', 'consents',
                             'conversations', 'messages', 'handoffs', 'documents',
                             'document_results', 'audit_events']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I '
            'USING (tenant_id = current_tenant_id()) '
            'WITH CHECK (tenant_id = current_tenant_id())', t);
    END LOOP;
END $$;

-- Authenticating an API key happens before the tenant is known: whoever holds
-- the key's hash (i.e. the key) may read that one row, and nothing else.
CREATE POLICY api_key_lookup ON api_keys FOR SELECT
    USING (key_hash = decode(nullif(current_setting('app.api_key_hash', true), ''), 'hex'));

-- Privileges of the application role.
GRANT EXECUTE ON FUNCTION current_tenant_id() TO atende_app;
GRANT SELECT, INSERT, UPDATE ON tenants TO atende_app;
GRANT SELECT, INSERT, UPDATE ON api_keys, attendants, customers, consents,
    conversations, messages, handoffs, documents, document_results TO atende_app;
GRANT DELETE ON api_keys, attendants, consents, conversations, messages, handoffs,
    customers, documents, document_results TO atende_app;
GRANT SELECT, INSERT ON audit_events TO atende_app;
