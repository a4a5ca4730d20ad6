"""Atende HTTP API (Chalice). Handlers parse input, call one use case, shape output."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from chalice.app import Chalice, Request, Response
from chalicelib import (
    assignment_routes,
    composer_routes,
    console_routes,
    contact_routes,
    hours_routes,
    lgpd_routes,
    reports_routes,
    routing,
)
from chalicelib.web import (
    JSON,
    Plumbing,
    api_errors,
    client_ip,
    in_our_error_shape,
    json_response,
    to_json,
    uuid_param,
)

from atende import composition, health
from atende.conversations.handoff import return_to_bot
from atende.errors import InvalidInput, NotFound
from atende.observability import logger, metrics
from atende.tenancy import Scope
from atende.whatsapp import webhook


class _GatewayApp(Chalice):
    """Chalice, given API Gateway's ``/{proxy+}`` events as their routes'
    (``chalicelib/routing.py``)."""

    def __call__(self, event: Any, context: Any) -> dict[str, Any]:
        return super().__call__(routing.route_event(event, self.routes), context)


# atende.documents.jobs (PyMuPDF, the LLM client: ~0.2 s of a cold start) is
# imported by the document routes themselves: the webhook, the hot path,
# never needs it.
app = _GatewayApp(app_name="atende-api")
PDF_TYPES = ["application/pdf", "application/octet-stream", "multipart/form-data"]
app.api.binary_types.extend(t for t in PDF_TYPES if t not in app.api.binary_types)
app.log.disabled = True  # Powertools logs instead; Chalice would log stack traces raw.
app.register_blueprint(console_routes.blueprint)
app.register_blueprint(composer_routes.blueprint)
app.register_blueprint(assignment_routes.blueprint)
app.register_blueprint(lgpd_routes.blueprint)
app.register_blueprint(reports_routes.blueprint)
app.register_blueprint(hours_routes.blueprint)
app.register_blueprint(contact_routes.blueprint)
app.api.binary_types.append(reports_routes.XLSX_TYPE)
# Message files the console serves and sends (chalicelib/console_routes.py).
app.api.binary_types.extend(
    t for t in console_routes.MEDIA_TYPES if t not in app.api.binary_types
)

__all__ = ["JSON", "api_errors", "app"]
route = Plumbing(app)


@app.middleware("http")
def correlation_id(
    event: Request, get_response: Callable[[Request], Response]
) -> Response:
    """Tag every log line and the response with the request id."""
    context: dict[str, Any] = event.context or {}
    correlation = str(
        context.get("requestId") or event.headers.get("x-request-id") or uuid.uuid4()
    )
    # Per thread: the local server runs requests side by side (Lambda one at
    # a time), and one request's actor must never tag another's lines.
    logger.thread_safe_clear_keys()
    logger.thread_safe_append_keys(correlation_id=correlation)
    logged_path = context.get("resourcePath")
    started = time.perf_counter()
    try:
        response = get_response(event)
    finally:
        if metrics.metric_set:
            metrics.flush_metrics()
    # The access log: who (the actor key the principal helpers add), from
    # where, when (the line's timestamp), what and how it went. No bodies, no
    # query strings (they may carry tokens).
    logger.info(
        "request",
        extra={
            "method": event.method,
            "path": logged_path,
            "status": response.status_code,
            "ip": client_ip(event),
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    entry = app.routes.get(str(logged_path), {}).get(event.method)
    response = in_our_error_shape(response, entry.content_types if entry else [])
    response.headers["X-Request-Id"] = correlation
    return response


@app.route("/health", methods=["GET"])
@api_errors
def liveness() -> Response:
    """200 while the process answers; the body names failing dependencies
    (``atende.health``, checked at most once per TTL)."""
    verdict = health.readiness.check()
    status = "ok" if verdict.status == "ready" else verdict.status
    return json_response({"status": status, "failing": verdict.failing})


@app.route("/health/ready", methods=["GET"])
@api_errors
def readiness() -> Response:
    """503 only when a required dependency (database, KMS) fails."""
    verdict = health.readiness.check()
    return json_response(
        {"status": verdict.status, "failing": verdict.failing},
        200 if verdict.ready else 503,
    )


@app.route(
    routing.PROXY,
    methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
)
@api_errors
def no_such_route() -> Response:
    """Any path without a route (in AWS and locally, through ``/{proxy+}``)."""
    raise NotFound("Caminho não encontrado. A referência da API está em /docs.")


@app.route("/openapi.json", methods=["GET"])
@api_errors
def openapi_json() -> Response:
    """The public API contract (OpenAPI 3.1) of every API-key route."""
    from chalicelib.contract import openapi_document

    return json_response(openapi_document())


@app.route("/docs", methods=["GET"])
@api_errors
def api_docs() -> Response:
    """The same contract as a page to read (no script, nothing from a CDN)."""
    from chalicelib.contract import docs_page

    return Response(
        body=docs_page(),
        status_code=200,
        headers={"Content-Type": "text/html; charset=utf-8"},
    )


@app.route("/whatsapp/webhook", methods=["GET"])
@api_errors
def whatsapp_verify() -> Response:
    """Meta's subscription check: echo hub.challenge when the token matches."""
    params = route.query()
    challenge = webhook.verify_subscription(
        params.get("hub.mode"),
        params.get("hub.verify_token"),
        params.get("hub.challenge"),
        composition.secrets().verify_token,
    )
    return Response(
        body=challenge, status_code=200, headers={"Content-Type": "text/plain"}
    )


@app.route("/whatsapp/webhook", methods=["POST"], content_types=["application/json"])
@api_errors
def whatsapp_receive() -> Response:
    """Signed updates from Meta: verified, parsed, enqueued; 200 at once."""
    request = route.request()
    raw_body = request.raw_body
    receipt = webhook.receive(
        raw_body if isinstance(raw_body, bytes) else raw_body.encode(),
        request.headers.get(webhook.SIGNATURE_HEADER.lower()),
        app_secret=composition.secrets().app_secret,
        directory=composition.directory(),
        queue=composition.queue(),
    )
    return json_response({"received": receipt.enqueued})


@app.route("/v1/conversations/{conversation_id}/return-to-bot", methods=["POST"])
@api_errors
def conversation_return_to_bot(conversation_id: str) -> Response:
    """Give a conversation held by people back to the bot, which resumes."""
    principal = route.api_key(Scope.CONVERSATIONS)
    engine = composition.engine()
    return_to_bot(
        principal.tenant_id,
        uuid_param(conversation_id, "conversa"),
        context=route.context(principal.actor),
        bot=engine.bot,
        deliver=engine.deliver_outbox,
    )
    return json_response({"state": "bot"})


def _pdf_from_request() -> bytes:
    """The PDF: the raw body, or the first file part of a multipart form."""
    request = route.request()
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
    from atende.documents import jobs

    principal = route.api_key(Scope.DOCUMENTS)
    submission = jobs.submit(
        principal,
        _pdf_from_request(),
        context=route.context(principal.actor),
    )
    return Response(
        body=to_json(submission.job),
        status_code=202 if submission.created else 200,
        headers={**JSON, "Location": f"/v1/documents/{submission.job.id}"},
    )


@app.route("/v1/documents", methods=["GET"])
@api_errors
def document_list() -> Response:
    from atende.documents import jobs

    principal = route.api_key(Scope.DOCUMENTS)
    page = jobs.list_jobs(
        principal.tenant_id,
        status=route.query().get("status"),
        limit=route.optional_int("limit"),
        cursor=route.query().get("cursor"),
    )
    return json_response({"documents": page.items, "next_cursor": page.next_cursor})


@app.route("/v1/documents/{document_id}", methods=["GET"])
@api_errors
def document_status(document_id: str) -> Response:
    from atende.documents import jobs

    principal = route.api_key(Scope.DOCUMENTS)
    job = jobs.get_job(principal.tenant_id, uuid_param(document_id, "documento"))
    return json_response(job)


@app.route("/v1/documents/{document_id}/result", methods=["GET"])
@api_errors
def document_result(document_id: str) -> Response:
    from atende.documents import jobs

    principal = route.api_key(Scope.DOCUMENTS)
    result = jobs.get_result(
        principal,
        uuid_param(document_id, "documento"),
        include_text=route.flag("text"),
        context=route.context(principal.actor),
    )
    return json_response(result)
