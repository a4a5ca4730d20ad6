"""Test kit for attendants' identity: moto's Cognito user pool, signed-in tokens.

The pool is created the way template.yaml declares it
(``infra.identity_pool``); tokens come from moto's real InitiateAuth and are checked
against the pool's published key set, as in AWS.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import pytest

from atende import identity
from atende.audit import Actor, RequestContext
from atende.config import get_settings
from atende.db.embedded import EmbeddedDatabase
from infra.identity_pool import create_attendant_pool

PASSWORD = "Senha-de-teste-1"

__all__ = ["PASSWORD", "IdentityPool", "SignedIn", "open_identity_pool"]


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
            context=RequestContext(Actor("operator", "tests")),
            password=PASSWORD,
        )
        session = identity.sign_in(email, PASSWORD)
        return SignedIn(created.id, email, session.id_token)


def open_identity_pool(
    database: EmbeddedDatabase, aws_mock: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[IdentityPool]:
    pool_id, client_id = create_attendant_pool()
    monkeypatch.setenv("COGNITO_USER_POOL_ID", pool_id)
    monkeypatch.setenv("COGNITO_CLIENT_ID", client_id)
    get_settings.cache_clear()
    identity.clear_key_cache()
    yield IdentityPool(pool_id, client_id)
    monkeypatch.undo()
    get_settings.cache_clear()
    identity.clear_key_cache()


def call_api(
    method: str, path: str, who: SignedIn | None = None, body: Any = None
) -> tuple[int, dict[str, Any]]:
    """One JSON call to the real Chalice app, as ``who`` (or anonymous)."""
    from app import app  # functions/api/app.py, on pytest's pythonpath
    from chalice.test import Client

    headers = {"Content-Type": "application/json"}
    if who is not None:
        headers |= who.headers
    with Client(app) as client:
        response = getattr(client.http, method)(
            path,
            headers=headers,
            **({"body": json.dumps(body)} if body is not None else {}),
        )
    return response.status_code, json.loads(response.body or b"{}")


def call_app(
    method: str,
    path: str,
    who: SignedIn | None = None,
    body: Any = None,
    accept: str = "application/json",
) -> tuple[int, Any, dict[str, str]]:
    """A call to the real Chalice app with the response's headers (lower-case):
    JSON decoded, HTML as text, anything else as bytes."""
    from app import app  # functions/api/app.py, on pytest's pythonpath
    from chalice.test import Client

    headers = {"Content-Type": "application/json", "Accept": accept}
    if who is not None:
        headers |= who.headers
    with Client(app) as client:
        response = getattr(client.http, method)(
            path,
            headers=headers,
            **({"body": json.dumps(body)} if body is not None else {}),
        )
    lowered = {k.lower(): v for k, v in response.headers.items()}
    payload: Any = response.body
    if lowered.get("content-type", "").startswith("application/json"):
        payload = json.loads(response.body or b"{}")
    elif lowered.get("content-type", "").startswith("text/html"):
        payload = response.body.decode()
    return response.status_code, payload, lowered
