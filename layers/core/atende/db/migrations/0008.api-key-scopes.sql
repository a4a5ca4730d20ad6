-- API keys carry scopes: what a key may do is chosen when it is created.
-- depends: 0007.exactly-once

-- Keys made before scopes existed could do everything; they keep both scopes
-- so no integration breaks on deploy (nothing recorded says which routes a key
-- served). Operators narrow them by issuing scoped keys and revoking the old
-- ones (docs/operations.md). The default fills the existing rows (no UPDATE,
-- so FORCE RLS is no obstacle) and is then dropped: a new key must name its
-- scopes.
ALTER TABLE api_keys ADD COLUMN scopes text[] NOT NULL
    DEFAULT ARRAY['documents', 'conversations']::text[]
    CONSTRAINT api_keys_scopes_check
    CHECK (cardinality(scopes) > 0
           AND scopes <@ ARRAY['documents', 'conversations']::text[]);
ALTER TABLE api_keys ALTER COLUMN scopes DROP DEFAULT;
