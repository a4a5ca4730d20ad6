-- A third API key scope: `reports` (GET /v1/reports, the numbers of the
-- console's Relatórios page). Existing keys don't get it: they were made for
-- documents and conversations, and reading the business's figures is a new
-- right that an admin grants by issuing a key with it.
-- depends: 0012.reports

ALTER TABLE api_keys DROP CONSTRAINT api_keys_scopes_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scopes_check
    CHECK (cardinality(scopes) > 0
           AND scopes <@ ARRAY['documents', 'conversations', 'reports']::text[]);
