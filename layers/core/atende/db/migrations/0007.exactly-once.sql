-- Exactly once under real traffic: statuses that arrive for messages we have
-- not recorded (yet) are parked instead of retried, and the outbox keeps its
-- own bounded retry budget instead of holding the queue.
-- depends: 0006.lgpd-and-contacts

-- A delivery status whose message is unknown: ordinary traffic (sends from
-- Meta's own tools or another integration on the number, a send whose row
-- commits after Meta's first status, a message erased by retention). Applied
-- when its message is recorded; dropped at expires_at.
CREATE TABLE parked_statuses (
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    wamid         text NOT NULL,
    status        text NOT NULL
                  CHECK (status IN ('sent', 'delivered', 'read', 'failed')),
    error_code    text,
    error_title   text,
    -- Meta's recipient key: LGPD erasure removes an erased customer's rows.
    customer_key  text NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, wamid, status)
);
CREATE INDEX parked_statuses_expiry_idx ON parked_statuses (tenant_id, expires_at);
CREATE INDEX parked_statuses_customer_idx ON parked_statuses (tenant_id, customer_key);

ALTER TABLE parked_statuses ENABLE ROW LEVEL SECURITY;
ALTER TABLE parked_statuses FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON parked_statuses
    USING (tenant_id = current_tenant_id())
    WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON parked_statuses TO atende_app;

-- The outbox's retry budget: a reply WhatsApp could not take (throttled, down)
-- waits with backoff and is relayed by the sweeper; after the last attempt it
-- is marked failed with a reason, never retried forever.
ALTER TABLE messages ADD COLUMN send_attempts integer NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN next_attempt_at timestamptz;
CREATE INDEX messages_outbox_due_idx ON messages (tenant_id, next_attempt_at)
    WHERE status = 'pending';
