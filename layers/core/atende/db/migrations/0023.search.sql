-- depends: 0022.canned-responses
-- The console's search (atende.console.search): conversations by message
-- text, customer name, phone, @username, protocol and label.
--
-- Message text: Portuguese full text with accents folded (customers write
-- "nao", "endereco"), as the knowledge base does. An expression index rather
-- than a stored column: the messages table stays as wide as it was, and an
-- insert computes the vector once, for the index. Texts hidden from the
-- console (one-time links, payload.secret) are left out of the index and so
-- can never be found.
CREATE INDEX messages_search_idx ON messages
    USING gin (to_tsvector('portuguese'::regconfig, fold_accents(body)))
    WHERE body IS NOT NULL AND (payload->>'secret') IS DISTINCT FROM 'true';

-- Results come newest activity first, in keyset pages.
CREATE INDEX conversations_activity_idx
    ON conversations (tenant_id, last_activity_at DESC, id DESC);

-- @username lookups, as the search normalises them.
CREATE INDEX customers_username_idx
    ON customers (tenant_id, lower(ltrim(username, '@'))) WHERE username IS NOT NULL;

-- A customer's id appears in the search by phone through wa_user_id (unique
-- per tenant already); phone forms use customers_phone_idx.
