"""Atende HTTP API (Chalice). Handlers parse input, call one use case, shape output."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any

from chalice.app import Chalice, Request, Response

from atende.errors import AtendeError, http_headers, http_status
from atende.health import check_health
from atende.observability import logger

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
    response = get_response(event)
    response.headers["X-Request-Id"] = request_id
    return response


@app.route("/health", methods=["GET"])
@api_errors
def health() -> Response:
    healthy, report = check_health()
    return Response(body=report, status_code=200 if healthy else 503, headers=JSON)
