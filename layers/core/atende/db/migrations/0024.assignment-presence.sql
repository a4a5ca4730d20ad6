-- depends: 0022.canned-responses
-- Assignment with presence: a handoff goes by itself to an online attendant of
-- its team with free capacity (least loaded, then longest without a new
-- conversation). Written only by atende.conversations.store.assignment.

-- The tenant's rules; no row: the defaults.
CREATE TABLE assignment_settings (
    tenant_id          uuid PRIMARY KEY REFERENCES tenants (id),
    max_conversations  integer NOT NULL DEFAULT 3 CHECK (max_conversations BETWEEN 1 AND 100),
    -- An assignee who hasn't written to the customer by then loses it.
    answer_timeout_s   integer NOT NULL DEFAULT 300
                       CHECK (answer_timeout_s BETWEEN 60 AND 86400),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

-- One row per attendant who ever chose a presence. ``chosen`` is what they
-- picked in the console; ``presence`` is what counts (away while their
-- console is disconnected, though they chose online).
CREATE TABLE attendant_presence (
    tenant_id          uuid NOT NULL,
    attendant_id       uuid NOT NULL,
    presence           text NOT NULL DEFAULT 'offline'
                       CHECK (presence IN ('online', 'away', 'offline')),
    chosen             text NOT NULL DEFAULT 'offline'
                       CHECK (chosen IN ('online', 'away', 'offline')),
    changed_at         timestamptz NOT NULL DEFAULT now(),
    -- NULL: the tenant's default.
    max_conversations  integer CHECK (max_conversations BETWEEN 1 AND 100),
    last_assigned_at   timestamptz,
    PRIMARY KEY (tenant_id, attendant_id),
    FOREIGN KEY (tenant_id, attendant_id) REFERENCES attendants (tenant_id, id)
        ON DELETE CASCADE
);

-- When the current assignee got the conversation (the answer timeout counts
-- from here, for automatic assignments only: a claim is the attendant's own
-- choice), and each attendant's load.
ALTER TABLE conversations ADD COLUMN assigned_at timestamptz;
ALTER TABLE conversations ADD COLUMN assigned_automatically boolean NOT NULL DEFAULT false;
CREATE INDEX conversations_assignee_idx ON conversations (tenant_id, assigned_attendant_id)
    WHERE state = 'with_human';

ALTER TABLE assignment_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE assignment_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON assignment_settings
    USING (tenant_id = current_tenant_id())
    WITH CHECK (tenant_id = current_tenant_id());
ALTER TABLE attendant_presence ENABLE ROW LEVEL SECURITY;
ALTER TABLE attendant_presence FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON attendant_presence
    USING (tenant_id = current_tenant_id())
    WITH CHECK (tenant_id = current_tenant_id());

GRANT SELECT, INSERT, UPDATE, DELETE ON assignment_settings, attendant_presence TO atende_app;
