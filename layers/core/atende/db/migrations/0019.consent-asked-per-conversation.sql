-- The consent question is no longer asked once per text version and customer:
-- a conversation asks again when it was ignored, a few times at most, counted
-- from its own outbox (messages.payload.consent_prompt). The per-customer
-- marker has no reader left.
-- depends: 0017.report-bot-events

ALTER TABLE customers DROP COLUMN consent_asked_version;
