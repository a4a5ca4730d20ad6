"""The public API contract (functions/api/chalicelib/contract.py): a valid
OpenAPI 3.1 document that names exactly the routes an API key opens, served as
JSON and as a page that loads nothing from elsewhere."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from chalice.test import Client
from chalicelib.contract import OPERATIONS, openapi_document
from openapi_spec_validator import validate

from atende import db, tenancy
from tests.support.channel import Channel, api_app

pytestmark = pytest.mark.integration

# Routes outside the contract, and who they are for.
NOT_API_KEY_ROUTES = (
    "/v1/admin/",  # attendants (Cognito token)
    "/v1/console",  # attendants
    "/v1/lgpd/",  # one-time links for admins
    "/console",  # the console's own files
    "/whatsapp/",  # Meta, signed
)
# Open to anyone: liveness, this contract, and what the console's sign-in
# page needs before anyone signs in.
PUBLIC_ROUTES = {
    "/health",
    "/openapi.json",
    "/docs",
    "/v1/console/config",
    "/v1/console/session",  # sign-in
}
SAMPLE_ID = "7a0b9e4c-5d3f-4e21-9c1a-2b3c4d5e6f70"


def _registered() -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, methods in api_app().routes.items()
        for method in methods
    }


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", SAMPLE_ID, path)


def _request(method: str, path: str, headers: dict[str, str]) -> Any:
    with Client(api_app()) as client:
        return getattr(client.http, method.lower())(path, headers=headers)


def test_the_document_is_valid_openapi_3_1() -> None:
    document = openapi_document()
    validate(document)
    assert document["openapi"] == "3.1.0"
    for methods in document["paths"].values():
        for operation in methods.values():
            assert operation["security"] == [{"apiKey": []}]
            assert "500" in operation["responses"]
            assert {"401", "403", "429"} <= set(operation["responses"])


def test_the_contract_names_every_api_key_route_and_only_those() -> None:
    contract = {(op.method, op.path) for op in OPERATIONS}
    registered = _registered()
    assert contract <= registered, "the contract names a route that does not exist"
    # Every other route is for someone else, and says for whom.
    unclassified = {
        (method, path)
        for method, path in registered - contract
        if path not in PUBLIC_ROUTES and not path.startswith(NOT_API_KEY_ROUTES)
    }
    assert unclassified == set(), "add the route to the contract or classify it"


def test_contract_routes_refuse_calls_without_a_key() -> None:
    for operation in OPERATIONS:
        # A body type the route accepts: Chalice answers 415 before the view otherwise.
        headers = {"Content-Type": "application/pdf"} if operation.request_body else {}
        response = _request(operation.method, _concrete(operation.path), headers)
        assert response.status_code == 401, operation.path
        assert json.loads(response.body)["error"]["code"] == "NAO_AUTENTICADO"


def test_an_api_key_opens_no_route_outside_the_contract(channel: Channel) -> None:
    """What the classification above claims, seen: a valid key is refused
    everywhere the contract does not name (except the public pages)."""
    with db.tenant_transaction(channel.tenant_id) as conn:
        _id, api_key = tenancy.issue_api_key(conn, name="contrato")
    contract = {(op.method, op.path) for op in OPERATIONS}
    tried = 0
    for method, path in sorted(_registered() - contract):
        if path in PUBLIC_ROUTES or path.startswith(("/console", "/whatsapp/")):
            continue
        response = _request(method, _concrete(path), {"X-API-Key": api_key})
        assert response.status_code in (401, 403, 404), (method, path)
        tried += 1
    assert tried >= 10


def test_served_as_json_and_as_a_self_contained_page() -> None:
    with Client(api_app()) as client:
        spec = client.http.get("/openapi.json")
        page = client.http.get("/docs")
    assert spec.status_code == 200
    assert json.loads(spec.body) == json.loads(json.dumps(openapi_document()))
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    text = page.body.decode()
    assert '<html lang="pt-BR">' in text
    for operation in OPERATIONS:
        assert f'id="{operation.operation_id}"' in text
    # Nothing from a CDN: no script at all, no external stylesheet or image.
    assert "<script" not in text
    assert not re.search(r'(src|href)="https?://', text)
