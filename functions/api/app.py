"""Atende HTTP API (Chalice). Handlers parse input, call one use case, shape output."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any

from chalice.app import Chalice, Request, Response

from atende.conversations.handoff import return_to_bot
from atende.errors import AtendeError, InvalidInput, http_headers, http_status
from atende.health import check_health
from atende.observability import logger, metrics
from atende.tenancy import ApiKeyPrincipal, authenticate_api_key
from atende.whatsapp import runtime as whatsapp
from atende.whatsapp import webhook

app = Chalice(app_name="atende-api")
app.log.disabled = True  # Powertools logs instead; Chalice would log stack traces raw.

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


def _request() -> Request:
    request = app.current_request
    assert request is not None  # set by Chalice for every route call
    return request


def _principal() -> ApiKeyPrincipal:
    """The tenant behind ``X-API-Key`` (401 alike for missing or unknown keys)."""
    return authenticate_api_key(_request().headers.get("x-api-key"))


def _uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise InvalidInput(f"Identificador de {what} inválido.") from exc


@app.middleware("http")
def correlation_id(
    event: Request, get_response: Callable[[Request], Response]
) -> Response:
    """Tag every log line and the response with the request id."""
    context: dict[str, Any] = event.context or {}
    request_id = str(
        context.get("requestId") or event.headers.get("x-request-id") or uuid.uuid4()
    )
    logger.set_correlation_id(request_id)
    try:
        response = get_response(event)
    finally:
        if metrics.metric_set:
            metrics.flush_metrics()
    response.headers["X-Request-Id"] = request_id
    return response


@app.route("/health", methods=["GET"])
@api_errors
def health() -> Response:
    healthy, report = check_health()
    return Response(body=report, status_code=200 if healthy else 503, headers=JSON)


@app.route("/whatsapp/webhook", methods=["GET"])
@api_errors
def whatsapp_verify() -> Response:
    """Meta's subscription check: echo hub.challenge when the token matches."""
    params = dict(_request().query_params or {})
    challenge = webhook.verify_subscription(
        params.get("hub.mode"),
        params.get("hub.verify_token"),
        params.get("hub.challenge"),
        whatsapp.secrets().verify_token,
    )
    return Response(
        body=challenge, status_code=200, headers={"Content-Type": "text/plain"}
    )


@app.route("/whatsapp/webhook", methods=["POST"], content_types=["application/json"])
@api_errors
def whatsapp_receive() -> Response:
    """Signed updates from Meta: verified, parsed, enqueued; 200 at once."""
    request = _request()
    raw_body = request.raw_body
    receipt = webhook.receive(
        raw_body if isinstance(raw_body, bytes) else raw_body.encode(),
        request.headers.get(webhook.SIGNATURE_HEADER.lower()),
        app_secret=whatsapp.secrets().app_secret,
        directory=whatsapp.directory(),
        queue=whatsapp.queue(),
    )
    return Response(body={"received": receipt.enqueued}, status_code=200, headers=JSON)


@app.route("/v1/conversations/{conversation_id}/return-to-bot", methods=["POST"])
@api_errors
def conversation_return_to_bot(conversation_id: str) -> Response:
    """Give a conversation held by people back to the bot, which resumes."""
    principal = _principal()
    return_to_bot(
        principal.tenant_id,
        _uuid(conversation_id, "conversa"),
        actor=principal.actor,
        bot=whatsapp.engine().bot,
    )
    return Response(body={"state": "bot"}, status_code=200, headers=JSON)
