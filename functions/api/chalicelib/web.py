"""HTTP plumbing shared by every route: errors, inputs, principals, the
request context for audit, and use-case results turned into JSON."""

from __future__ import annotations

import dataclasses
import functools
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime
from enum import Enum
from typing import Any, Protocol, TypeVar

from chalice.app import Request, Response
from pydantic import BaseModel, ValidationError

from atende.audit import Actor, RequestContext
from atende.errors import (
    AtendeError,
    InvalidInput,
    MethodNotAllowed,
    UnsupportedMediaType,
    http_headers,
    http_status,
)
from atende.identity import AttendantPrincipal, Role, authenticate_bearer
from atende.observability import logger
from atende.tenancy import ApiKeyPrincipal, Scope, authenticate_api_key

Body = TypeVar("Body", bound=BaseModel)

JSON: dict[str, str | list[str]] = {"Content-Type": "application/json"}
# Query parameter values read as yes/no (the OpenAPI contract lists the same).
FLAG_VALUES = {
    "true": True,
    "1": True,
    "sim": True,
    "false": False,
    "0": False,
    "nao": False,
}


def error_response(error: AtendeError) -> Response:
    """Shape an :class:`AtendeError` as the API's JSON error."""
    return Response(
        body=error.to_body(),
        status_code=http_status(error),
        headers={**JSON, **http_headers(error)},
    )


# Chalice answers some requests itself, before any view, with its own body
# ({"Code": ..., "Message": ...}); clients get the API's error shape instead.
_CHALICE_ERRORS: dict[str, type[AtendeError]] = {
    "MethodNotAllowedError": MethodNotAllowed,
    "UnsupportedMediaType": UnsupportedMediaType,
    "BadRequest": InvalidInput,
    "InternalServerError": AtendeError,
}


def in_our_error_shape(
    response: Response, content_types: Sequence[str] = ()
) -> Response:
    """``response``, or the same refusal as ``{"error": {code, message}}`` when
    Chalice produced it (405, 415, its own 400 and 500); a 415 names the
    route's ``content_types``."""
    body = response.body
    if response.status_code < 400 or not isinstance(body, dict):
        return response
    kind = _CHALICE_ERRORS.get(str(body.get("Code")))
    if kind is None or set(body) != {"Code", "Message"}:
        return response
    message = None
    if kind is UnsupportedMediaType and content_types:
        message = (
            f"Tipo de conteúdo não aceito aqui. Envie: {', '.join(content_types)}."
        )
    ours = error_response(kind(message))
    ours.status_code = response.status_code
    ours.headers = {**response.headers, **ours.headers}
    return ours


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


def to_json(value: Any) -> Any:
    """A use case's result as JSON values: dataclasses become objects (their
    field names are the API's keys), datetimes ISO 8601, UUIDs and enums text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)
        }
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    return value


def json_response(body: Any, status_code: int = 200) -> Response:
    return Response(body=to_json(body), status_code=status_code, headers=JSON)


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


def api_key_principal(request: Request, scope: Scope) -> ApiKeyPrincipal:
    """The tenant behind ``X-API-Key`` (401 alike for missing or unknown keys),
    if the key has ``scope`` (403 ACESSO_NEGADO naming it otherwise)."""
    principal = authenticate_api_key(request.headers.get("x-api-key"))
    logger.thread_safe_append_keys(actor=f"api_key:{principal.api_key_id}")
    principal.require(scope)
    return principal


def attendant_principal(request: Request) -> AttendantPrincipal:
    """The signed-in attendant behind ``Authorization: Bearer`` (401/403)."""
    principal = authenticate_bearer(request.headers.get("authorization"))
    logger.thread_safe_append_keys(actor=f"attendant:{principal.attendant_id}")
    return principal


class _HasCurrentRequest(Protocol):
    @property
    def current_request(self) -> Request | None: ...


class Plumbing:
    """What every route of an app or blueprint does first: its request, who
    calls, the context audit records, the query and the body."""

    def __init__(self, owner: _HasCurrentRequest) -> None:
        self._owner = owner

    def request(self) -> Request:
        request = self._owner.current_request
        assert request is not None  # set by Chalice for every route call
        return request

    def attendant(self, *roles: Role) -> AttendantPrincipal:
        """The signed-in attendant; with ``roles``, one of them (403 otherwise)."""
        principal = attendant_principal(self.request())
        if roles:
            principal.require(*roles)
        return principal

    def api_key(self, scope: Scope) -> ApiKeyPrincipal:
        """The API key's principal; every API-key route names the scope it
        needs (tests/integration/test_api_key_scopes.py walks them all)."""
        return api_key_principal(self.request(), scope)

    def context(self, actor: Actor) -> RequestContext:
        """Who acts, with this request's id and the caller's IP."""
        return RequestContext(actor, request_id(), client_ip(self.request()))

    def query(self) -> dict[str, str]:
        return dict(self.request().query_params or {})

    def int_param(self, name: str, default: int) -> int:
        value = self.optional_int(name)
        return default if value is None else value

    def optional_int(self, name: str) -> int | None:
        """An integer query parameter, None when absent (the use case's default)."""
        value = self.query().get(name)
        if value is None:
            return None
        try:
            return int(value)
        except ValueError as exc:
            raise InvalidInput(f"O parâmetro '{name}' deve ser um número.") from exc

    def flag(self, name: str) -> bool:
        """A yes/no query parameter (absent: no); anything else is a 400."""
        value = self.query().get(name, "false").lower()
        if value not in FLAG_VALUES:
            raise InvalidInput(
                f"O parâmetro '{name}' deve ser true ou false.", field=name
            )
        return FLAG_VALUES[value]

    def body(self, model: type[Body]) -> Body:
        """The JSON body as ``model`` (400 naming the first wrong field)."""
        try:
            return model.model_validate(json_body(self.request()))
        except ValidationError as exc:
            field = ".".join(str(part) for part in exc.errors()[0]["loc"]) or "corpo"
            raise InvalidInput(f"Campo '{field}' inválido.") from exc
