-- depends: 0017.report-bot-events
-- LGPD from the admin's side: who published each consent text, who opened
-- each request and whether the customer was told it is done, and the
-- readable (HTML) copy of an access export.

-- Who published a consent text (an attendant id, or the seeding system).
ALTER TABLE consent_texts ADD COLUMN published_by_type text;
ALTER TABLE consent_texts ADD COLUMN published_by_id text;

-- Requests come from the customer in chat or from an admin (a request made
-- by phone, e-mail, in the shop…). The customer is told on WhatsApp when the
-- request is done: when it went, or why it could not.
ALTER TABLE lgpd_requests ADD COLUMN opened_by_type text NOT NULL DEFAULT 'customer'
    CHECK (opened_by_type IN ('customer', 'attendant', 'api_key', 'operator', 'system'));
ALTER TABLE lgpd_requests ADD COLUMN opened_by_id text;
ALTER TABLE lgpd_requests ADD COLUMN notified_at timestamptz;
ALTER TABLE lgpd_requests ADD COLUMN notice_error text;

-- The export's readable page, delivered once like the JSON and the XLSX.
ALTER TABLE lgpd_exports ADD COLUMN html_delivered_at timestamptz;
