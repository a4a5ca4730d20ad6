-- Attendant console: teams, queue priority, live-update connections.
-- depends: 0004.document-pipeline

-- Attendants belong to at most one team; a conversation waiting for people may
-- be routed to a team's queue (NULL: everyone's queue).
ALTER TABLE attendants ADD COLUMN team text
    CHECK (team IS NULL OR length(btrim(team)) BETWEEN 1 AND 60);
ALTER TABLE attendants ADD COLUMN identity_sub text;
CREATE UNIQUE INDEX attendants_identity_sub_key ON attendants (tenant_id, identity_sub)
    WHERE identity_sub IS NOT NULL;
ALTER TABLE conversations ADD COLUMN team text;

-- Higher first; then the longest wait. The bot sets it from the reason.
ALTER TABLE handoffs ADD COLUMN priority smallint NOT NULL DEFAULT 0;
ALTER TABLE handoffs ADD COLUMN team text;
CREATE INDEX handoffs_waiting_idx ON handoffs (tenant_id, priority DESC, requested_at)
    WHERE accepted_at IS NULL AND resolved_at IS NULL;

-- Open consoles (API Gateway WebSocket connection ids). $disconnect knows only
-- the connection id: like an API key hash, it names its one row.
CREATE TABLE console_connections (
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    connection_id  text NOT NULL,
    attendant_id   uuid NOT NULL,
    connected_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, connection_id),
    FOREIGN KEY (tenant_id, attendant_id) REFERENCES attendants (tenant_id, id)
        ON DELETE CASCADE
);
CREATE UNIQUE INDEX console_connections_connection_id_key
    ON console_connections (connection_id);
ALTER TABLE console_connections ENABLE ROW LEVEL SECURITY;
ALTER TABLE console_connections FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON console_connections
    USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
CREATE POLICY connection_lookup ON console_connections FOR SELECT
    USING (connection_id = nullif(current_setting('app.connection_id', true), ''));
CREATE POLICY connection_hangup ON console_connections FOR DELETE
    USING (connection_id = nullif(current_setting('app.connection_id', true), ''));
GRANT SELECT, INSERT, UPDATE, DELETE ON console_connections TO atende_app;
