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
from openapi_schema_validator import OAS31Validator
from openapi_schema_validator import validate as validate_instance
from openapi_spec_validator import validate

from atende.tenancy import Scope
from tests.support.api_routes import api_key_routes, scoped_key
from tests.support.channel import Channel, api_app

pytestmark = pytest.mark.integration

SAMPLE_ID = "7a0b9e4c-5d3f-4e21-9c1a-2b3c4d5e6f70"


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


def test_the_contract_names_every_api_key_route_with_its_scope(
    channel: Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The routes that authenticate an API key, found by calling every route
    (tests/support/api_routes.py), are exactly the contract's operations, and
    each refuses a key without the scope the contract names."""
    contract = {(op.method, op.path): {op.scope} for op in OPERATIONS}
    assert api_key_routes(channel.tenant_id, monkeypatch) == contract


def test_contract_routes_refuse_calls_without_a_key() -> None:
    for operation in OPERATIONS:
        # A body type the route accepts: Chalice answers 415 before the view otherwise.
        headers = {"Content-Type": "application/pdf"} if operation.request_body else {}
        response = _request(operation.method, _concrete(operation.path), headers)
        assert response.status_code == 401, operation.path
        assert json.loads(response.body)["error"]["code"] == "NAO_AUTENTICADO"


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


def test_a_flag_outside_the_contract_is_refused_not_read_as_no(
    channel: Channel,
) -> None:
    """Found by the fuzzing run: `?text=<anything>` was silently read as no."""
    key = scoped_key(channel.tenant_id, Scope.DOCUMENTS)
    path = f"/v1/documents/{SAMPLE_ID}/result?text=talvez"
    response = _request("GET", path, {"X-API-Key": key})
    assert response.status_code == 400
    error = json.loads(response.body)["error"]
    assert error["code"] == "ENTRADA_INVALIDA"
    assert error["message"] == "O parâmetro 'text' deve ser true ou false."


def test_a_report_matches_its_schema(channel: Channel) -> None:
    """Found by the full-size fuzzing run: a period's start is São Paulo's
    naive local time, which "date-time" refused."""
    key = scoped_key(channel.tenant_id, Scope.REPORTS)
    response = _request(
        "GET", "/v1/reports?de=2025-03-10&ate=2025-03-11", {"X-API-Key": key}
    )
    assert response.status_code == 200
    body = json.loads(response.body)
    assert body["periods"][0]["start"] == "2025-03-10T00:00:00"
    document = openapi_document()
    schema = {
        "$ref": "#/components/schemas/Report",
        "components": document["components"],
    }
    validate_instance(
        body, schema, cls=OAS31Validator, format_checker=OAS31Validator.FORMAT_CHECKER
    )


def test_the_contract_explains_what_an_integrator_must_interpret() -> None:
    """Found walking the journeys (issue 18, point 13): a repeated upload's
    200, the job statuses, the entity kinds and ``timings_ms`` were left to
    guess."""
    from atende.documents.jobs import STATUSES
    from atende.entities import KINDS

    document = openapi_document()
    upload = document["paths"]["/v1/documents"]["post"]["responses"]
    assert "mesmo PDF" in upload["200"]["description"]
    assert "Location" in upload["202"]["description"]
    schemas = document["components"]["schemas"]
    job = schemas["DocumentJob"]["properties"]
    assert job["status"]["enum"] == list(STATUSES)
    for status in STATUSES:
        assert f"`{status}`" in job["status"]["description"], status
    assert "milissegundos" in job["timings_ms"]["description"]
    assert job["llm"]["enum"] == ["ok", "indisponivel", None]
    kind = schemas["Entity"]["properties"]["kind"]
    assert kind["enum"] == list(KINDS)
    for name in KINDS:
        assert f"`{name}`" in kind["description"], name
    # Errors the framework or the gateway answer are in the same shape.
    assert "404" in document["info"]["description"]
