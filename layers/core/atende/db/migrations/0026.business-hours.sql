-- depends: 0022.canned-responses
-- Business hours ("Horário de atendimento"): one row per tenant. No row (or
-- enabled = false) means always open. Weekly hours are minutes since
-- midnight in São Paulo time, Monday first; holidays are dates with a name.
-- Written only by atende.tenancy.hours.

CREATE TABLE business_hours (
    tenant_id           uuid NOT NULL REFERENCES tenants (id),
    enabled             boolean NOT NULL DEFAULT true,
    weekly              jsonb NOT NULL,
    holidays            jsonb NOT NULL DEFAULT '[]',
    out_of_office_text  text CHECK (length(btrim(out_of_office_text)) BETWEEN 1 AND 1000),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    updated_by          uuid,
    PRIMARY KEY (tenant_id)
);

ALTER TABLE business_hours ENABLE ROW LEVEL SECURITY;
ALTER TABLE business_hours FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON business_hours
    USING (tenant_id = current_tenant_id())
    WITH CHECK (tenant_id = current_tenant_id());

GRANT SELECT, INSERT, UPDATE, DELETE ON business_hours TO atende_app;

-- A handoff asked for while the tenant was closed: the queue says
-- "fora do horário" so attendants know the customer was told when.
ALTER TABLE handoffs ADD COLUMN outside_hours boolean NOT NULL DEFAULT false;
