-- LGPD rights: versioned consent texts, access exports, proof of erasure,
-- per-tenant retention; contacts found in conversations.
-- depends: 0005.attendant-console

-- Each tenant publishes its consent text; a new text is a new version and the
-- bot asks again. Versions are never edited, so a decision always points at
-- the words the customer saw.
CREATE TABLE consent_texts (
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    version       integer NOT NULL CHECK (version >= 1),
    body          text NOT NULL CHECK (length(btrim(body)) BETWEEN 1 AND 1000),
    published_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, version)
);

-- A decision names the version it answered; a withdrawal is a refusal after a
-- grant, recorded as such.
ALTER TABLE consents ADD COLUMN text_version integer;
ALTER TABLE consents ADD COLUMN withdrawal boolean NOT NULL DEFAULT false;
-- The bot asks once per version: the last version it asked this customer.
ALTER TABLE customers ADD COLUMN consent_asked_version integer;

-- Contact data found in a customer's messages, one row per (kind, value):
-- merged per customer, with the message it first came from and how it was
-- found. The source message may go (retention); the value stays until erasure.
CREATE TABLE contacts (
    tenant_id          uuid NOT NULL,
    id                 uuid NOT NULL DEFAULT gen_random_uuid(),
    customer_id        uuid NOT NULL,
    kind               text NOT NULL
                       CHECK (kind IN ('name', 'cpf', 'email', 'phone', 'address', 'cep')),
    value              text NOT NULL CHECK (length(value) BETWEEN 1 AND 300),
    found_by           text NOT NULL CHECK (found_by IN ('validator', 'llm')),
    source_message_id  uuid,
    first_seen_at      timestamptz NOT NULL DEFAULT now(),
    last_seen_at       timestamptz NOT NULL DEFAULT now(),
    seen_count         integer NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, customer_id, kind, value),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
    FOREIGN KEY (tenant_id, source_message_id) REFERENCES messages (tenant_id, id)
        ON DELETE SET NULL (source_message_id)
);
CREATE INDEX contacts_kind_value_idx ON contacts (tenant_id, kind, value);

-- An access export: JSON and XLSX, encrypted under the tenant prefix, fetched
-- through a one-time link (hash of its secret here) until it expires.
CREATE TABLE lgpd_exports (
    tenant_id           uuid NOT NULL,
    id                  uuid NOT NULL DEFAULT gen_random_uuid(),
    customer_id         uuid NOT NULL,
    request_id          uuid,
    json_key            text NOT NULL,
    xlsx_key            text NOT NULL,
    token_hash          bytea NOT NULL,
    created_by_type     text NOT NULL,
    created_by_id       text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    expires_at          timestamptz NOT NULL,
    json_delivered_at   timestamptz,
    xlsx_delivered_at   timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
    FOREIGN KEY (tenant_id, request_id) REFERENCES lgpd_requests (tenant_id, id)
);
CREATE INDEX lgpd_exports_customer_idx ON lgpd_exports (tenant_id, customer_id);
CREATE INDEX lgpd_exports_expiry_idx ON lgpd_exports (tenant_id, expires_at);

-- Proof of erasure: what was deleted where, when, on whose request. Counts
-- and ids only, never the erased values.
CREATE TABLE erasure_proofs (
    tenant_id         uuid NOT NULL,
    id                uuid NOT NULL DEFAULT gen_random_uuid(),
    customer_id       uuid NOT NULL,
    request_id        uuid,
    requested_by_type text NOT NULL,
    requested_by_id   text,
    executed_at       timestamptz NOT NULL DEFAULT now(),
    deleted           jsonb NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, customer_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
    FOREIGN KEY (tenant_id, request_id) REFERENCES lgpd_requests (tenant_id, id)
);

-- Per-tenant retention; a missing row means the defaults of the settings.
CREATE TABLE retention_policies (
    tenant_id       uuid NOT NULL REFERENCES tenants (id),
    messages_days   integer NOT NULL CHECK (messages_days BETWEEN 1 AND 3650),
    exports_hours   integer NOT NULL CHECK (exports_hours BETWEEN 1 AND 48),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id)
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['consent_texts', 'contacts', 'lgpd_exports',
                             'erasure_proofs', 'retention_policies']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I '
            'USING (tenant_id = current_tenant_id()) '
            'WITH CHECK (tenant_id = current_tenant_id())', t);
    END LOOP;
END $$;

GRANT SELECT, INSERT ON consent_texts, erasure_proofs TO atende_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON contacts, lgpd_exports, retention_policies
    TO atende_app;

-- audit_events stays append-only for the application. The retention job may
-- purge the current tenant's events older than 365 days (the legal floor is
-- fixed here, not by the caller), in batches. SECURITY DEFINER runs as the
-- owner, and FORCE RLS still limits it to the transaction's tenant.
CREATE FUNCTION purge_expired_audit_events(batch_size integer) RETURNS integer
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = public, pg_temp
    AS $$
    WITH doomed AS (
        SELECT tenant_id, id FROM audit_events
        WHERE tenant_id = current_tenant_id()
          AND occurred_at < now() - interval '365 days'
        ORDER BY occurred_at
        LIMIT least(greatest(batch_size, 0), 10000)
    ), gone AS (
        DELETE FROM audit_events a USING doomed d
        WHERE a.tenant_id = d.tenant_id AND a.id = d.id
        RETURNING 1
    )
    SELECT count(*)::integer FROM gone
$$;
REVOKE ALL ON FUNCTION purge_expired_audit_events(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION purge_expired_audit_events(integer) TO atende_app;
