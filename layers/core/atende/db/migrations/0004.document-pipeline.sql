-- Document pipeline: per-job progress and per-key rate limiting.
-- depends: 0003.bot-knowledge-and-lgpd

ALTER TABLE documents ADD COLUMN text_pages integer NOT NULL DEFAULT 0;
ALTER TABLE documents ADD COLUMN ocr_pages integer NOT NULL DEFAULT 0;
ALTER TABLE documents ADD COLUMN timings jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE documents ADD COLUMN llm_status text
    CHECK (llm_status IN ('ok', 'indisponivel'));

-- Fixed one-minute windows per API key; shared by every API instance.
CREATE TABLE api_rate_limits (
    tenant_id     uuid NOT NULL,
    api_key_id    uuid NOT NULL,
    window_start  timestamptz NOT NULL,
    hits          integer NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, api_key_id, window_start),
    FOREIGN KEY (tenant_id, api_key_id) REFERENCES api_keys (tenant_id, id)
        ON DELETE CASCADE
);
ALTER TABLE api_rate_limits ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_rate_limits FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON api_rate_limits
    USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON api_rate_limits TO atende_app;
