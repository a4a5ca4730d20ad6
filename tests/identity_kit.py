"""Test kit for attendants' identity: moto's Cognito user pool, signed-in tokens.

The pool is created the way template.yaml declares it (e-mail usernames, the
immutable ``custom:tenant_id`` attribute, a public client with
USER_PASSWORD_AUTH); tokens come from moto's real InitiateAuth and are checked
against the pool's published key set, as in AWS.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from uuid import UUID

import pytest

from atende import aws, identity
from atende.audit import Actor
from atende.config import get_settings
from atende.db.embedded import EmbeddedDatabase

PASSWORD = "Senha-de-teste-1"

__all__ = ["PASSWORD", "IdentityPool", "SignedIn", "create_pool", "identity_pool"]


@dataclass(frozen=True)
class SignedIn:
    attendant_id: UUID
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass(frozen=True)
class IdentityPool:
    pool_id: str
    client_id: str

    def attendant(
        self, tenant_id: UUID, role: str = "attendant", *, team: str | None = None
    ) -> SignedIn:
        """A new attendant of ``tenant_id``, signed in."""
        email = f"{role}-{uuid.uuid4().hex[:8]}@loja.example"
        created = identity.create_attendant(
            tenant_id,
            email=email,
            display_name=f"{role.title()} {email[-16:-13]}",
            role=role,
            team=team,
            actor=Actor("operator", "tests"),
            password=PASSWORD,
        )
        session = identity.sign_in(email, PASSWORD)
        return SignedIn(UUID(created["id"]), email, session.id_token)


def create_pool() -> tuple[str, str]:
    """The attendants' user pool and the console's client (moto or AWS)."""
    idp = aws.client("cognito-idp")
    pool_id = idp.create_user_pool(
        PoolName="atende-attendants",
        UsernameAttributes=["email"],
        Schema=[{"Name": "tenant_id", "AttributeDataType": "String", "Mutable": False}],
    )["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="atende-console",
        GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    return pool_id, client_id


@pytest.fixture
def identity_pool(
    database: EmbeddedDatabase, aws_mock: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[IdentityPool]:
    pool_id, client_id = create_pool()
    monkeypatch.setenv("COGNITO_USER_POOL_ID", pool_id)
    monkeypatch.setenv("COGNITO_CLIENT_ID", client_id)
    get_settings.cache_clear()
    identity.clear_key_cache()
    yield IdentityPool(pool_id, client_id)
    monkeypatch.undo()
    get_settings.cache_clear()
    identity.clear_key_cache()
