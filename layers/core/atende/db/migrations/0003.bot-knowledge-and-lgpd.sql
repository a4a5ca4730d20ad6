-- The bot: each tenant's knowledge base (grounds LLM answers), and LGPD
-- requests opened by customers in the chat (their workflow is a later issue).
-- depends: 0002.whatsapp-channel

-- Customers write without accents ("sabado", "nao"): both the articles and the
-- questions are searched without them (unaccent is an extension; this is not).
CREATE FUNCTION fold_accents(value text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT translate(lower(value),
        'áàâãäéèêëíìîïóòôõöúùûüçñ', 'aaaaaeeeeiiiiooooouuuucn') $$;
GRANT EXECUTE ON FUNCTION fold_accents(text) TO atende_app;

CREATE TABLE knowledge_articles (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    title       text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    body        text NOT NULL CHECK (length(body) BETWEEN 1 AND 20000),
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    -- Portuguese full-text search picks the articles that ground an answer.
    search      tsvector GENERATED ALWAYS AS (
                    to_tsvector('portuguese', fold_accents(title || ' ' || body))) STORED,
    PRIMARY KEY (tenant_id, id)
);
-- A tenant's knowledge base is small (tens to hundreds of articles): ranking its
-- active rows is cheap, and every index stays led by tenant_id.
CREATE INDEX knowledge_articles_active_idx ON knowledge_articles (tenant_id, active);

CREATE TABLE lgpd_requests (
    tenant_id        uuid NOT NULL,
    id               uuid NOT NULL DEFAULT gen_random_uuid(),
    customer_id      uuid NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('access', 'erasure')),
    status           text NOT NULL DEFAULT 'open'
                     CHECK (status IN ('open', 'in_progress', 'done', 'rejected')),
    conversation_id  uuid,
    requested_at     timestamptz NOT NULL DEFAULT now(),
    resolved_at      timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id)
);
CREATE INDEX lgpd_requests_open_idx ON lgpd_requests (tenant_id, status, requested_at);
-- One open request of each kind per customer.
CREATE UNIQUE INDEX lgpd_requests_one_open_idx ON lgpd_requests (tenant_id, customer_id, kind)
    WHERE status IN ('open', 'in_progress');

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['knowledge_articles', 'lgpd_requests']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I '
            'USING (tenant_id = current_tenant_id()) '
            'WITH CHECK (tenant_id = current_tenant_id())', t);
    END LOOP;
END $$;

GRANT SELECT, INSERT, UPDATE, DELETE ON knowledge_articles, lgpd_requests TO atende_app;
