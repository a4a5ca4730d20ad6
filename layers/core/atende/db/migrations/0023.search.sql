-- depends: 0022.canned-responses
-- The console's search (atende.console.search): conversations by message
-- text, customer name, phone, @username, protocol and label.
--
-- Message text is Portuguese full text, accents folded (customers write
-- "nao", "endereco"), as the knowledge base does. A GIN index on the messages'
-- tsvector would be useless here: under FORCE ROW LEVEL SECURITY PostgreSQL
-- only uses an index for a condition whose operator is LEAKPROOF, and the
-- text-search match (@@) is not, so every search would read every message.
-- Text equality is leakproof: each conversation's words (the stemmed,
-- accent-folded lexemes of its messages and of its customer's name) are kept
-- in conversation_terms,
-- found by (tenant, lexeme) through its primary key; the search then checks
-- the real messages of the few conversations it shows (phrases, exclusions,
-- the excerpt), so a stale row can never show anything.
--
-- The rows follow the messages: added when one is written, rebuilt for its
-- conversation when a text is changed or deleted (erasure, retention), and
-- gone with the conversation (ON DELETE CASCADE). Texts hidden from the
-- console (one-time links, payload.secret) are never indexed.

CREATE FUNCTION message_lexemes(body text) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT tsvector_to_array(
        to_tsvector('portuguese'::regconfig, fold_accents(coalesce(body, '')))) $$;
GRANT EXECUTE ON FUNCTION message_lexemes(text) TO atende_app;

CREATE TABLE conversation_terms (
    tenant_id        uuid NOT NULL,
    lexeme           text NOT NULL,
    conversation_id  uuid NOT NULL,
    PRIMARY KEY (tenant_id, lexeme, conversation_id),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id)
        ON DELETE CASCADE
);
-- Deleting a conversation (its cascade) finds its terms.
CREATE INDEX conversation_terms_conversation_idx
    ON conversation_terms (tenant_id, conversation_id);

-- The words of the messages already written (the tables' owner runs the
-- migrations; row security is forced again right after).
ALTER TABLE messages NO FORCE ROW LEVEL SECURITY;
ALTER TABLE conversations NO FORCE ROW LEVEL SECURITY;
ALTER TABLE customers NO FORCE ROW LEVEL SECURITY;
INSERT INTO conversation_terms (tenant_id, lexeme, conversation_id)
SELECT DISTINCT m.tenant_id, l.lexeme, m.conversation_id
FROM messages m, unnest(message_lexemes(m.body)) AS l(lexeme)
WHERE m.body IS NOT NULL AND (m.payload->>'secret') IS DISTINCT FROM 'true'
UNION
SELECT v.tenant_id, l.lexeme, v.id
FROM conversations v
JOIN customers c ON c.tenant_id = v.tenant_id AND c.id = v.customer_id,
unnest(message_lexemes(c.display_name)) AS l(lexeme);
ALTER TABLE messages FORCE ROW LEVEL SECURITY;
ALTER TABLE conversations FORCE ROW LEVEL SECURITY;
ALTER TABLE customers FORCE ROW LEVEL SECURITY;

ALTER TABLE conversation_terms ENABLE ROW LEVEL SECURITY;
ALTER TABLE conversation_terms FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON conversation_terms
    USING (tenant_id = current_tenant_id())
    WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT, DELETE ON conversation_terms TO atende_app;

-- A new message adds its words (most are there already: ON CONFLICT).
CREATE FUNCTION conversation_terms_add() RETURNS trigger
    LANGUAGE plpgsql SET search_path = public, pg_temp
    AS $$
BEGIN
    INSERT INTO conversation_terms (tenant_id, lexeme, conversation_id)
    SELECT DISTINCT m.tenant_id, l.lexeme, m.conversation_id
    FROM added m, unnest(message_lexemes(m.body)) AS l(lexeme)
    WHERE m.body IS NOT NULL AND (m.payload->>'secret') IS DISTINCT FROM 'true'
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

-- Deleted or changed texts: their conversations' words are rebuilt from what
-- is left, so no word of an erased text stays behind.
CREATE FUNCTION rebuild_conversation_terms(tenant uuid, conversations uuid[])
    RETURNS void
    LANGUAGE sql SET search_path = public, pg_temp
    AS $$
    DELETE FROM conversation_terms
    WHERE tenant_id = tenant AND conversation_id = ANY(conversations);
    INSERT INTO conversation_terms (tenant_id, lexeme, conversation_id)
    SELECT m.tenant_id, l.lexeme, m.conversation_id
    FROM messages m, unnest(message_lexemes(m.body)) AS l(lexeme)
    WHERE m.tenant_id = tenant AND m.conversation_id = ANY(conversations)
      AND m.body IS NOT NULL AND (m.payload->>'secret') IS DISTINCT FROM 'true'
    UNION
    SELECT v.tenant_id, l.lexeme, v.id
    FROM conversations v
    JOIN customers c ON c.tenant_id = v.tenant_id AND c.id = v.customer_id,
    unnest(message_lexemes(c.display_name)) AS l(lexeme)
    WHERE v.tenant_id = tenant AND v.id = ANY(conversations)
    ON CONFLICT DO NOTHING;
$$;

CREATE FUNCTION conversation_terms_deleted() RETURNS trigger
    LANGUAGE plpgsql SET search_path = public, pg_temp
    AS $$
DECLARE
    t uuid;
BEGIN
    FOR t IN SELECT DISTINCT tenant_id FROM gone LOOP
        PERFORM rebuild_conversation_terms(
            t, ARRAY(SELECT DISTINCT conversation_id FROM gone WHERE tenant_id = t));
    END LOOP;
    RETURN NULL;
END $$;

-- A new conversation holds its customer's name; a renamed customer's
-- conversations are rebuilt.
CREATE FUNCTION conversation_terms_opened() RETURNS trigger
    LANGUAGE plpgsql SET search_path = public, pg_temp
    AS $$
BEGIN
    INSERT INTO conversation_terms (tenant_id, lexeme, conversation_id)
    SELECT DISTINCT v.tenant_id, l.lexeme, v.id
    FROM opened v
    JOIN customers c ON c.tenant_id = v.tenant_id AND c.id = v.customer_id,
    unnest(message_lexemes(c.display_name)) AS l(lexeme)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE FUNCTION conversation_terms_renamed() RETURNS trigger
    LANGUAGE plpgsql SET search_path = public, pg_temp
    AS $$
BEGIN
    PERFORM rebuild_conversation_terms(NEW.tenant_id, ARRAY(
        SELECT id FROM conversations
        WHERE tenant_id = NEW.tenant_id AND customer_id = NEW.id));
    RETURN NULL;
END $$;

-- Status and turn updates are frequent and leave the text alone: only a
-- changed text (or its secrecy) rebuilds, one row at a time (rare).
CREATE FUNCTION conversation_terms_changed() RETURNS trigger
    LANGUAGE plpgsql SET search_path = public, pg_temp
    AS $$
BEGIN
    PERFORM rebuild_conversation_terms(NEW.tenant_id, ARRAY[NEW.conversation_id]);
    RETURN NULL;
END $$;

CREATE TRIGGER messages_terms_added AFTER INSERT ON messages
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION conversation_terms_add();
CREATE TRIGGER messages_terms_changed AFTER UPDATE OF body, payload ON messages
    FOR EACH ROW WHEN (OLD.body IS DISTINCT FROM NEW.body
                       OR (OLD.payload->>'secret') IS DISTINCT FROM (NEW.payload->>'secret'))
    EXECUTE FUNCTION conversation_terms_changed();
CREATE TRIGGER messages_terms_deleted AFTER DELETE ON messages
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION conversation_terms_deleted();

CREATE TRIGGER conversations_terms_opened AFTER INSERT ON conversations
    REFERENCING NEW TABLE AS opened
    FOR EACH STATEMENT EXECUTE FUNCTION conversation_terms_opened();
CREATE TRIGGER customers_terms_renamed AFTER UPDATE OF display_name ON customers
    FOR EACH ROW WHEN (OLD.display_name IS DISTINCT FROM NEW.display_name)
    EXECUTE FUNCTION conversation_terms_renamed();

-- Results come newest activity first, in keyset pages.
CREATE INDEX conversations_activity_idx
    ON conversations (tenant_id, last_activity_at DESC, id DESC);

-- @username lookups, as the searches normalise them. A column rather than an
-- expression index: lower() is not leakproof, so under FORCE RLS an index on
-- lower(...) is never used; equality on a plain column is.
ALTER TABLE customers ADD COLUMN username_key text
    GENERATED ALWAYS AS (lower(ltrim(username, '@'))) STORED;
CREATE INDEX customers_username_idx
    ON customers (tenant_id, username_key) WHERE username_key IS NOT NULL;
