"""Tenant provisioning, API key authentication and the audit trail."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from atende import aws, crypto, db, tenancy
from atende.audit import Actor, RequestContext, list_events, record_event
from atende.db.embedded import EmbeddedDatabase
from atende.errors import DependencyFailed, InvalidInput, Unauthenticated
from atende.tenancy.api_keys import hash_api_key

pytestmark = pytest.mark.integration


@pytest.fixture
def provisioned(
    database: EmbeddedDatabase, aws_mock: None
) -> tenancy.ProvisionedTenant:
    return tenancy.create_tenant("  Loja   Exemplo ")


def test_create_tenant_makes_row_key_alias_and_api_key(
    provisioned: tenancy.ProvisionedTenant, admin_conn: Any
) -> None:
    tenant = provisioned.tenant
    assert tenant.name == "Loja Exemplo"
    aliases = aws.client("kms").list_aliases(KeyId=tenant.kms_key_arn)["Aliases"]
    assert [a["AliasName"] for a in aliases] == [f"alias/atende/tenant/{tenant.id}"]

    principal = tenancy.authenticate_api_key(provisioned.api_key)
    assert principal.tenant_id == tenant.id

    stored = admin_conn.execute(
        "SELECT prefix, key_hash FROM api_keys WHERE tenant_id = %s", (tenant.id,)
    ).fetchall()
    assert stored == [(provisioned.api_key[:12], hash_api_key(provisioned.api_key))]
    # The key itself is stored nowhere.
    dump = admin_conn.execute(
        "SELECT count(*) FROM api_keys WHERE position(%s in prefix) > 0 "
        "OR position(convert_to(%s, 'UTF8') in key_hash) > 0",
        (provisioned.api_key, provisioned.api_key),
    ).fetchone()
    assert dump == (0,)

    with db.tenant_transaction(tenant.id) as conn:
        assert tenancy.get_tenant(conn) == tenant
        actions = [
            e.action
            for e in list_events(conn, subject_type="tenant", subject_id=str(tenant.id))
        ]
    assert actions == ["TENANT_CREATED"]


def test_tenant_key_encrypts_for_that_tenant(
    provisioned: tenancy.ProvisionedTenant,
) -> None:
    key = tenancy.tenant_key(provisioned.tenant)
    sealed = crypto.encrypt(key, b"dados", purpose="test")
    assert crypto.decrypt(key, sealed, purpose="test") == b"dados"


@pytest.mark.parametrize(
    "raw_key",
    [None, "", "Bearer x", "atd_" + "x" * 43, "atd_short", "atd_" + "y" * 200],
)
def test_unknown_or_malformed_keys_are_refused_alike(
    raw_key: str | None, provisioned: tenancy.ProvisionedTenant
) -> None:
    with pytest.raises(Unauthenticated) as caught:
        tenancy.authenticate_api_key(raw_key)
    assert caught.value.code == "NAO_AUTENTICADO"


def test_revoked_key_is_refused(provisioned: tenancy.ProvisionedTenant) -> None:
    with db.tenant_transaction(provisioned.tenant.id) as conn:
        conn.execute("UPDATE api_keys SET revoked_at = now()")
    with pytest.raises(Unauthenticated):
        tenancy.authenticate_api_key(provisioned.api_key)


def test_lookup_scope_reveals_only_the_matching_key(
    provisioned: tenancy.ProvisionedTenant,
) -> None:
    other = tenancy.create_tenant("Outra Loja")
    with db.lookup_transaction(api_key_hash=hash_api_key(other.api_key)) as conn:
        rows = conn.execute("SELECT tenant_id FROM api_keys").fetchall()
        assert [r["tenant_id"] for r in rows] == [other.tenant.id]
        assert conn.execute("SELECT count(*) AS n FROM tenants").fetchone() == {"n": 0}


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_invalid_tenant_name(
    name: str, database: EmbeddedDatabase, aws_mock: None
) -> None:
    with pytest.raises(InvalidInput) as caught:
        tenancy.create_tenant(name)
    assert "nome" in caught.value.user_message


def test_kms_failure_is_a_dependency_error_and_stores_nothing(
    database: EmbeddedDatabase, admin_conn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = admin_conn.execute("SELECT count(*) FROM tenants").fetchone()
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens
    from atende.config import get_settings

    get_settings.cache_clear()
    aws.client.cache_clear()
    try:
        with pytest.raises(DependencyFailed):
            tenancy.create_tenant("Sem KMS")
    finally:
        monkeypatch.delenv("AWS_ENDPOINT_URL")
        get_settings.cache_clear()
        aws.client.cache_clear()
    assert admin_conn.execute("SELECT count(*) FROM tenants").fetchone() == before


def test_failed_database_write_schedules_the_new_key_for_deletion(
    database: EmbeddedDatabase, aws_mock: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("db down")

    monkeypatch.setattr(tenancy, "issue_api_key", boom)
    with pytest.raises(RuntimeError):
        tenancy.create_tenant("Loja Falha")
    keys = aws.client("kms").list_keys()["Keys"]
    states = {
        aws.client("kms").describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyState"]
        for k in keys
    }
    assert states == {"PendingDeletion"}


def test_audit_event_records_actor_request_and_ip(
    provisioned: tenancy.ProvisionedTenant,
) -> None:
    subject = str(uuid.uuid4())
    with db.tenant_transaction(provisioned.tenant.id) as conn:
        record_event(
            conn,
            action="DELIVERED",
            subject_type="document",
            subject_id=subject,
            context=RequestContext(Actor("api_key", "k1"), "req-1", "203.0.113.9"),
            details={"pages": 3},
        )
        [event] = list_events(conn, subject_type="document", subject_id=subject)
    assert (event.action, event.actor_type, event.actor_id) == (
        "DELIVERED",
        "api_key",
        "k1",
    )
    assert (event.request_id, event.ip, event.details) == (
        "req-1",
        "203.0.113.9",
        {"pages": 3},
    )


@pytest.mark.parametrize(
    "details",
    [
        {"phone": "+55 11 98765-4321"},
        {"to": "maria@example.com"},
        {"x": "123.456.789-09"},
    ],
)
def test_audit_refuses_personal_data_in_details(
    provisioned: tenancy.ProvisionedTenant, details: dict[str, str]
) -> None:
    with (
        db.tenant_transaction(provisioned.tenant.id) as conn,
        pytest.raises(ValueError, match="personal data"),
    ):
        record_event(
            conn,
            action="X",
            subject_type="t",
            subject_id="1",
            context=RequestContext(Actor("system")),
            details=details,
        )


def test_audit_takes_ids_that_merely_look_like_a_phone(
    provisioned: tenancy.ProvisionedTenant,
) -> None:
    """A consent id starting "55842690-0889" (+55 84 2690-0889 by shape) once
    made recording the customer's consent fail."""
    with db.tenant_transaction(provisioned.tenant.id) as conn:
        event_id = record_event(
            conn,
            action="X",
            subject_type="t",
            subject_id="1",
            context=RequestContext(Actor("system")),
            details={"consent_id": "55842690-0889-45d6-9529-b127f01a015f"},
        )
    assert event_id > 0


def test_audit_event_needs_a_tenant(database: EmbeddedDatabase) -> None:
    from psycopg import errors

    with (
        pytest.raises(errors.InsufficientPrivilege),
        db.get_pool().connection() as conn,
        conn.transaction(),
    ):
        record_event(
            conn,
            action="X",
            subject_type="t",
            subject_id="1",
            context=RequestContext(Actor("system")),
        )
