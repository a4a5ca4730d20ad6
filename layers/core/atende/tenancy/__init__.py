"""Tenants: provisioning (tenant, KMS key, first API key) and API keys
(:mod:`~atende.tenancy.api_keys`: scopes, authentication)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID, uuid4

from botocore.exceptions import BotoCoreError, ClientError

from atende import aws
from atende.audit import SYSTEM_CONTEXT, record_event
from atende.config import get_settings
from atende.crypto import TenantKey
from atende.db import Connection, tenant_transaction
from atende.errors import DependencyFailed, InvalidInput, NotFound
from atende.observability import logger
from atende.tenancy.api_keys import (
    ApiKey,
    ApiKeyPrincipal,
    Scope,
    authenticate_api_key,
    create_api_key,
    issue_api_key,
    list_api_keys,
    revoke_api_key,
    scopes_of,
)

__all__ = [
    "ApiKey",
    "ApiKeyPrincipal",
    "ProvisionedTenant",
    "Scope",
    "Tenant",
    "authenticate_api_key",
    "create_api_key",
    "create_tenant",
    "create_tenant_key",
    "get_tenant",
    "issue_api_key",
    "list_api_keys",
    "revoke_api_key",
    "scopes_of",
    "tenant_key",
]


@dataclass(frozen=True)
class Tenant:
    id: UUID
    name: str
    kms_key_arn: str
    status: str


@dataclass(frozen=True)
class ProvisionedTenant:
    """A new tenant and its first API key (the only time the key is shown)."""

    tenant: Tenant
    api_key: str
    api_key_scopes: frozenset[Scope]


def create_tenant_key(tenant_id: UUID) -> str:
    """Create the tenant's KMS key (alias per tenant, rotation on); its ARN."""
    kms = aws.client("kms")
    try:
        key = kms.create_key(
            Description=f"Atende tenant {tenant_id}",
            KeyUsage="ENCRYPT_DECRYPT",
            KeySpec="SYMMETRIC_DEFAULT",
            Tags=[{"TagKey": "atende:tenant_id", "TagValue": str(tenant_id)}],
        )["KeyMetadata"]
        kms.create_alias(
            AliasName=f"{get_settings().kms_alias_prefix}/{tenant_id}",
            TargetKeyId=key["KeyId"],
        )
        kms.enable_key_rotation(KeyId=key["KeyId"])
    except (BotoCoreError, ClientError) as exc:
        raise DependencyFailed("Não foi possível criar a chave do cliente.") from exc
    return str(key["Arn"])


def _discard_kms_key(key_arn: str) -> None:
    try:
        # The bare key id works everywhere (moto rejects ARNs here).
        key_id = key_arn.rsplit("/", 1)[-1]
        aws.client("kms").schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    except (BotoCoreError, ClientError):
        logger.exception("could not schedule deletion of an orphan tenant key")


def create_tenant(
    name: str, *, scopes: Iterable[Scope | str] = tuple(Scope)
) -> ProvisionedTenant:
    """Provision a tenant: its row, its KMS key (with alias) and a first API
    key with ``scopes`` (by default every scope: the tenant's own key)."""
    chosen = scopes_of(scopes)
    clean_name = " ".join(name.split())
    if not 1 <= len(clean_name) <= 200:
        raise InvalidInput("O nome do cliente deve ter entre 1 e 200 caracteres.")
    tenant_id = uuid4()
    key_arn = create_tenant_key(tenant_id)
    try:
        with tenant_transaction(tenant_id) as conn:
            conn.execute(
                "INSERT INTO tenants (id, name, kms_key_arn) VALUES (%s, %s, %s)",
                (tenant_id, clean_name, key_arn),
            )
            record_event(
                conn,
                action="TENANT_CREATED",
                subject_type="tenant",
                subject_id=str(tenant_id),
                context=SYSTEM_CONTEXT,
            )
            _key_id, raw_key = issue_api_key(conn, name="default", scopes=chosen)
    except Exception:
        _discard_kms_key(key_arn)
        raise
    logger.info("tenant provisioned", extra={"tenant_id": str(tenant_id)})
    return ProvisionedTenant(
        tenant=Tenant(
            id=tenant_id, name=clean_name, kms_key_arn=key_arn, status="active"
        ),
        api_key=raw_key,
        api_key_scopes=chosen,
    )


def get_tenant(conn: Connection) -> Tenant:
    """The tenant of the current tenant transaction."""
    row = conn.execute(
        "SELECT id, name, kms_key_arn, status FROM tenants"
        " WHERE id = current_tenant_id()"
    ).fetchone()
    if row is None:
        raise NotFound("Cliente não encontrado.")
    return Tenant(**row)


def tenant_key(tenant: Tenant) -> TenantKey:
    """The encryption key handle of ``tenant``."""
    return TenantKey(tenant_id=str(tenant.id), key_arn=tenant.kms_key_arn)
