"""Which registered routes authenticate an API key, and with which scope:
every route of the Chalice app called with keys that each lack one scope,
``authenticate_api_key`` spied on. Serves the scope test and the OpenAPI
contract test, so both see the same routes."""

from __future__ import annotations

import json
import re
import uuid
from uuid import UUID

import pytest
from app import app
from chalice.test import Client
from chalicelib import web

from atende import db, tenancy
from atende.tenancy import Scope


def scoped_key(tenant_id: UUID, *scopes: Scope) -> str:
    with db.tenant_transaction(tenant_id) as conn:
        _key_id, raw_key = tenancy.issue_api_key(
            conn, name="integração", scopes=frozenset(scopes)
        )
    return raw_key


def concrete_path(template: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda _m: str(uuid.uuid4()), template)


def api_key_routes(
    tenant_id: UUID, monkeypatch: pytest.MonkeyPatch
) -> dict[tuple[str, str], set[Scope]]:
    """(method, path template) of each route that authenticates an API key →
    the scopes whose absence it refused (403 naming the scope)."""
    keys = {
        lacking: scoped_key(tenant_id, *(set(Scope) - {lacking})) for lacking in Scope
    }
    authenticated: list[str] = []
    real = tenancy.authenticate_api_key

    def spy(raw_key: str | None) -> tenancy.ApiKeyPrincipal:
        authenticated.append(str(raw_key))
        return real(raw_key)

    monkeypatch.setattr(web, "authenticate_api_key", spy)
    found: dict[tuple[str, str], set[Scope]] = {}
    with Client(app) as client:
        for template, entries in app.routes.items():
            for method, entry in entries.items():
                for lacking, raw_key in keys.items():
                    authenticated.clear()
                    response = client.http.request(
                        method,
                        concrete_path(template),
                        headers={
                            "X-API-Key": raw_key,
                            "Content-Type": entry.content_types[0],
                        },
                        body=b"",
                    )
                    if not authenticated:  # not an API-key route
                        continue
                    refused = found.setdefault((method, template), set())
                    if response.status_code == 403:
                        error = json.loads(response.body)["error"]
                        assert error["code"] == "ACESSO_NEGADO"
                        assert f"'{lacking.value}'" in error["message"]
                        refused.add(lacking)
    return found
