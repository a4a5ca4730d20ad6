"""Atende HTTP API (Chalice). Handlers parse input, call one use case, shape output."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any

from chalice.app import Chalice, Request, Response

from atende.conversations.handoff import return_to_bot
from atende.documents import jobs
from atende.errors import AtendeError, InvalidInput, http_headers, http_status
from atende.health import check_health
from atende.observability import logger, metrics
from atende.tenancy import ApiKeyPrincipal, authenticate_api_key
from atende.whatsapp import runtime as whatsapp
from atende.whatsapp import webhook

app = Chalice(app_name="atende-api")
PDF_TYPES = ["application/pdf", "application/octet-stream", "multipart/form-data"]
app.api.binary_types.extend(t for t in PDF_TYPES if t not in app.api.binary_types)
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


def _client_ip() -> str | None:
    identity = (_request().context or {}).get("identity") or {}
    source = identity.get("sourceIp")
    return str(source) if source else None


def _request_id() -> str | None:
    """The id the correlation middleware chose for this request."""
    return logger.get_correlation_id()


def _pdf_from_request() -> bytes:
    """The PDF: the raw body, or the first file part of a multipart form."""
    request = _request()
    body = request.raw_body or b""
    raw = body if isinstance(body, bytes) else body.encode()
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        return raw
    from email.parser import BytesParser
    from email.policy import HTTP

    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw
    )
    for part in message.iter_parts():
        if part.get_filename() or part.get_param("name", header="content-disposition"):
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload
    raise InvalidInput("Envie o PDF no corpo da requisição ou no campo 'file'.")


@app.route("/v1/documents", methods=["POST"], content_types=PDF_TYPES)
@api_errors
def document_submit() -> Response:
    """Upload a PDF: 202 with the job (200 with the existing one for a repeat)."""
    principal = _principal()
    submission = jobs.submit(
        principal, _pdf_from_request(), request_id=_request_id(), ip=_client_ip()
    )
    return Response(
        body=submission.job,
        status_code=202 if submission.created else 200,
        headers={**JSON, "Location": f"/v1/documents/{submission.job['id']}"},
    )


@app.route("/v1/documents", methods=["GET"])
@api_errors
def document_list() -> Response:
    principal = _principal()
    params = dict(_request().query_params or {})
    try:
        limit = int(params.get("limit", "50"))
    except ValueError as exc:
        raise InvalidInput("O parâmetro 'limit' deve ser um número.") from exc
    items = jobs.list_jobs(
        principal.tenant_id, status=params.get("status"), limit=limit
    )
    return Response(body={"documents": items}, status_code=200, headers=JSON)


@app.route("/v1/documents/{document_id}", methods=["GET"])
@api_errors
def document_status(document_id: str) -> Response:
    principal = _principal()
    job = jobs.get_job(principal.tenant_id, _uuid(document_id, "documento"))
    return Response(body=job, status_code=200, headers=JSON)


@app.route("/v1/documents/{document_id}/result", methods=["GET"])
@api_errors
def document_result(document_id: str) -> Response:
    principal = _principal()
    params = dict(_request().query_params or {})
    result = jobs.get_result(
        principal,
        _uuid(document_id, "documento"),
        include_text=params.get("text", "").lower() in {"1", "true", "sim"},
        request_id=_request_id(),
        ip=_client_ip(),
    )
    return Response(body=result, status_code=200, headers=JSON)
