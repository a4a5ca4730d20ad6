"""Every refusal the API sends is ``{"error": {"code", "message"}}`` in PT-BR
with the right status, including the ones the framework and the gateway
produce before any view: no route, a method the route lacks, a body type it
doesn't take. Found walking the journeys (issue 18, point 13)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice import local
from chalice.config import Config
from chalice.test import Client

from infra.local_api import ProxyRouteMatcher
from tests.support.channel import api_app

pytestmark = pytest.mark.integration


def _error(response: Any) -> dict[str, str]:
    error: dict[str, str] = json.loads(response.body)["error"]
    assert set(error) == {"code", "message"}, error
    assert response.headers["Content-Type"] == "application/json"
    return error


def _gateway_event(method: str, path: str, **headers: str) -> dict[str, Any]:
    """The event API Gateway sends for a path only ``/{proxy+}`` serves
    (template.yaml declares a few paths and proxies every other one)."""
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": f"/v1{path}",
            "stage": "v1",
            "requestId": "gw-req-1",
            "identity": {"sourceIp": "203.0.113.9"},
        },
        "body": None,
        "isBase64Encoded": False,
    }


def _lambda(event: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
    app = api_app()
    response = app(event, local.LambdaContext("api", 512))
    headers = response["headers"]
    body = response["body"]
    if headers.get("Content-Type") == "application/json":
        body = json.loads(body)
    return response["statusCode"], body, headers


def test_a_route_only_the_proxy_resource_serves_reaches_its_view_in_aws() -> None:
    """In AWS the console, LGPD and report routes arrive as ``/{proxy+}``:
    Chalice dispatches on the resource and answered them with a 500."""
    status, body, _headers = _lambda(_gateway_event("GET", "/v1/console/me"))
    assert (status, body["error"]["code"]) == (401, "NAO_AUTENTICADO"), body
    status, body, headers = _lambda(
        _gateway_event("GET", "/console/console.js")  # a path parameter too
    )
    assert status == 200, body
    assert headers["Content-Type"].startswith("text/javascript")


def test_an_unknown_path_is_a_pt_br_404_in_aws_and_locally(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    status, body, headers = _lambda(_gateway_event("GET", "/v1/nada/aqui"))
    assert (status, body["error"]["code"]) == (404, "NAO_ENCONTRADO"), body
    assert "/docs" in body["error"]["message"]
    assert headers["X-Request-Id"] == "gw-req-1"

    # The local stack's gateway: Chalice's answered 403 "Missing
    # Authentication Token", in English, for any path without a route.
    monkeypatch.setattr(local, "RouteMatcher", ProxyRouteMatcher)
    gateway = local.LocalGateway(api_app(), Config())
    for path in ("/nada", "/v1/nada/aqui", "/v1/documents/a/b/c"):
        response = gateway.handle_request("GET", path, {}, None)
        error = json.loads(response["body"])["error"]
        assert (response["statusCode"], error["code"]) == (404, "NAO_ENCONTRADO")
        assert error["message"].startswith("Caminho não encontrado")


def test_a_method_the_route_lacks_is_a_405_naming_the_allowed_ones() -> None:
    with Client(api_app()) as client:
        response = client.http.request("DELETE", "/v1/documents")
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST, GET"
    assert _error(response) == {
        "code": "METODO_NAO_PERMITIDO",
        "message": "Método HTTP não permitido para este recurso.",
    }


def test_a_415_names_the_body_types_the_route_takes() -> None:
    with Client(api_app()) as client:
        webhook = client.http.post(
            "/whatsapp/webhook", headers={"Content-Type": "text/plain"}, body=b"oi"
        )
        upload = client.http.post(
            "/v1/documents", headers={"Content-Type": "image/png"}, body=b"png"
        )
    assert webhook.status_code == upload.status_code == 415
    assert _error(webhook) == {
        "code": "TIPO_NAO_SUPORTADO",
        "message": "Tipo de conteúdo não aceito aqui. Envie: application/json.",
    }
    assert _error(upload)["message"] == (
        "Tipo de conteúdo não aceito aqui. Envie: application/pdf, "
        "application/octet-stream, multipart/form-data."
    )
