-- depends: 0021.lgpd-admin
-- Canned responses ("Respostas rápidas"): texts an attendant inserts with
-- /atalho in the composer. A row with no owner is the team's (the whole
-- tenant's; supervisors and admins manage it); a row with an owner is that
-- attendant's own. Written only by atende.console.canned.

CREATE TABLE canned_responses (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    owner_id    uuid,  -- NULL: the team's; else the attendant's personal one
    shortcut    text NOT NULL CHECK (shortcut ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
    title       text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 80),
    body        text NOT NULL CHECK (length(btrim(body)) BETWEEN 1 AND 4096),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, owner_id) REFERENCES attendants (tenant_id, id)
        ON DELETE CASCADE
);
-- A shortcut is unique within its scope: the team's, or one attendant's.
CREATE UNIQUE INDEX canned_responses_team_key
    ON canned_responses (tenant_id, shortcut) WHERE owner_id IS NULL;
CREATE UNIQUE INDEX canned_responses_personal_key
    ON canned_responses (tenant_id, owner_id, shortcut) WHERE owner_id IS NOT NULL;

ALTER TABLE canned_responses ENABLE ROW LEVEL SECURITY;
ALTER TABLE canned_responses FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON canned_responses
    USING (tenant_id = current_tenant_id())
    WITH CHECK (tenant_id = current_tenant_id());

GRANT SELECT, INSERT, UPDATE, DELETE ON canned_responses TO atende_app;
