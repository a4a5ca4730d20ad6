"""HTTP helpers shared by the API's routes: errors, inputs, principals."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable
from typing import Any

from chalice.app import Request, Response

from atende.errors import AtendeError, InvalidInput, http_headers, http_status
from atende.identity import AttendantPrincipal, authenticate_bearer
from atende.observability import logger
from atende.tenancy import ApiKeyPrincipal, authenticate_api_key

JSON: dict[str, str | list[str]] = {"Content-Type": "application/json"}


def error_response(error: AtendeError) -> Response:
    """Shape an :class:`AtendeError` as the API's JSON error."""
    return Response(
        body=error.to_body(),
        status_code=http_status(error),
        headers={**JSON, **http_headers(error)},
    )


def api_errors(view: Callable[..., Any]) -> Callable[..., Any]:
    """Turn domain errors into their HTTP response; anything else is a 500."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except AtendeError as error:
            logger.info("request refused", extra={"code": error.code})
            return error_response(error)
        except Exception:
            logger.exception("unhandled error")
            return error_response(AtendeError())

    return wrapper


def json_response(body: Any, status_code: int = 200) -> Response:
    return Response(body=body, status_code=status_code, headers=JSON)


def uuid_param(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise InvalidInput(f"Identificador de {what} inválido.") from exc


def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object (400 with a PT-BR message otherwise)."""
    raw = request.raw_body or b""
    try:
        body = json.loads(raw or b"{}")
    except ValueError as exc:
        raise InvalidInput("O corpo da requisição não é um JSON válido.") from exc
    if not isinstance(body, dict):
        raise InvalidInput("O corpo da requisição deve ser um objeto JSON.")
    return body


def client_ip(request: Request) -> str | None:
    identity = (request.context or {}).get("identity") or {}
    source = identity.get("sourceIp")
    return str(source) if source else None


def request_id() -> str | None:
    """The id the correlation middleware chose for this request."""
    found = logger.thread_safe_get_current_keys().get("correlation_id")
    return str(found) if found else None


def api_key_principal(request: Request) -> ApiKeyPrincipal:
    """The tenant behind ``X-API-Key`` (401 alike for missing or unknown keys)."""
    principal = authenticate_api_key(request.headers.get("x-api-key"))
    logger.thread_safe_append_keys(actor=f"api_key:{principal.api_key_id}")
    return principal


def attendant_principal(request: Request) -> AttendantPrincipal:
    """The signed-in attendant behind ``Authorization: Bearer`` (401/403)."""
    principal = authenticate_bearer(request.headers.get("authorization"))
    logger.thread_safe_append_keys(actor=f"attendant:{principal.attendant_id}")
    return principal
