"""The attendant console: its web page and its JSON API (``/v1/console``).

Attendants authenticate with a Cognito ID token (``Authorization: Bearer``);
each handler parses input, calls one use case in ``atende.console`` or
``atende.identity`` and shapes the output.
"""

from __future__ import annotations

from pathlib import Path

from chalice.app import Blueprint, Request, Response

from atende import composition, console, identity
from atende.config import get_settings
from atende.errors import InvalidInput, NotFound
from atende.identity import AttendantPrincipal, Role

from .web import (
    api_errors,
    attendant_principal,
    client_ip,
    json_body,
    json_response,
    request_id,
    uuid_param,
)

blueprint = Blueprint(__name__)

ASSETS = Path(__file__).parent / "console"
_ASSET_TYPES = {
    "index.html": "text/html; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
}
# The page loads only its own files and talks only to this API and the
# live-updates socket.
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:;"
        " frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _request() -> Request:
    request = blueprint.current_request
    assert request is not None  # set by Chalice for every route call
    return request


def _me() -> AttendantPrincipal:
    return attendant_principal(_request())


def _context() -> console.RequestContext:
    return console.RequestContext(request_id=request_id(), ip=client_ip(_request()))


def _asset(name: str) -> Response:
    if name not in _ASSET_TYPES:
        raise NotFound("Arquivo não encontrado.")
    return Response(
        body=(ASSETS / name).read_text(encoding="utf-8"),
        status_code=200,
        headers={"Content-Type": _ASSET_TYPES[name], **_PAGE_HEADERS},
    )


@blueprint.route("/console", methods=["GET"])
@api_errors
def console_page() -> Response:
    return _asset("index.html")


@blueprint.route("/console/{name}", methods=["GET"])
@api_errors
def console_asset(name: str) -> Response:
    return _asset(name)


@blueprint.route("/v1/console/config", methods=["GET"])
@api_errors
def console_config() -> Response:
    """What the page needs before sign-in: where live updates come from."""
    return json_response({"live_url": get_settings().console_live_url})


@blueprint.route("/v1/console/session", methods=["POST"])
@api_errors
def console_sign_in() -> Response:
    """E-mail and password (a first-access new password, or a refresh token)
    → ID token (and, on sign-in, the refresh token)."""
    body = json_body(_request())
    email, password = str(body.get("email") or ""), str(body.get("password") or "")
    if "refresh_token" in body:
        session = identity.refresh_session(str(body["refresh_token"] or ""))
    elif body.get("session"):
        session = identity.complete_new_password(
            email, str(body["session"]), str(body.get("new_password") or "")
        )
    else:
        session = identity.sign_in(email, password)
    answer: dict[str, str | int] = {
        "token": session.id_token,
        "expires_in": session.expires_in,
    }
    if session.refresh_token:
        answer["refresh_token"] = session.refresh_token
    return json_response(answer)


@blueprint.route("/v1/console/me", methods=["GET"])
@api_errors
def console_me() -> Response:
    me = _me()
    return json_response(
        {
            "attendant_id": str(me.attendant_id),
            "tenant_id": str(me.tenant_id),
            "email": me.email,
            "display_name": me.display_name,
            "role": me.role.value,
            "team": me.team,
        }
    )


@blueprint.route("/v1/console/queue", methods=["GET"])
@api_errors
def console_queue() -> Response:
    return json_response(console.queue(_me()))


@blueprint.route("/v1/console/conversations", methods=["GET"])
@api_errors
def console_conversations() -> Response:
    params: dict[str, str] = dict(_request().query_params or {})
    scope = params.get("scope", "mine")
    return json_response(
        {"conversations": console.list_conversations(_me(), scope=scope)}
    )


@blueprint.route("/v1/console/conversations/{conversation_id}", methods=["GET"])
@api_errors
def console_conversation(conversation_id: str) -> Response:
    return json_response(
        console.conversation_detail(
            _me(), uuid_param(conversation_id, "conversa"), _context()
        )
    )


@blueprint.route("/v1/console/conversations/{conversation_id}/claim", methods=["POST"])
@api_errors
def console_claim(conversation_id: str) -> Response:
    return json_response(
        console.claim(_me(), uuid_param(conversation_id, "conversa"), _context())
    )


@blueprint.route(
    "/v1/console/conversations/{conversation_id}/messages", methods=["POST"]
)
@api_errors
def console_reply(conversation_id: str) -> Response:
    """Free text (``text``) or, outside the 24-hour window, a ``template``."""
    body = json_body(_request())
    template = body.get("template")
    if template is not None and not isinstance(template, dict):
        raise InvalidInput("O modelo (template) deve ser um objeto.")
    message = console.reply(
        _me(),
        uuid_param(conversation_id, "conversa"),
        text=body.get("text") if isinstance(body.get("text"), str) else None,
        template=template,
        engine=composition.engine(),
        context=_context(),
    )
    return json_response(message, 201)


@blueprint.route(
    "/v1/console/conversations/{conversation_id}/transfer", methods=["POST"]
)
@api_errors
def console_transfer(conversation_id: str) -> Response:
    body = json_body(_request())
    target = body.get("attendant_id")
    return json_response(
        console.transfer(
            _me(),
            uuid_param(conversation_id, "conversa"),
            to_attendant_id=uuid_param(str(target), "atendente") if target else None,
            to_team=str(body.get("team") or "") or None,
            context=_context(),
        )
    )


@blueprint.route(
    "/v1/console/conversations/{conversation_id}/return-to-bot", methods=["POST"]
)
@api_errors
def console_return_to_bot(conversation_id: str) -> Response:
    return json_response(
        console.return_to_bot(
            _me(),
            uuid_param(conversation_id, "conversa"),
            bot=composition.engine().bot,
            context=_context(),
        )
    )


@blueprint.route("/v1/console/conversations/{conversation_id}/close", methods=["POST"])
@api_errors
def console_close(conversation_id: str) -> Response:
    body = json_body(_request())
    return json_response(
        console.close(
            _me(),
            uuid_param(conversation_id, "conversa"),
            reason=str(body.get("reason") or ""),
            context=_context(),
        )
    )


@blueprint.route("/v1/console/attendants", methods=["GET"])
@api_errors
def console_attendants() -> Response:
    return json_response({"attendants": identity.list_attendants(_me())})


@blueprint.route("/v1/console/attendants", methods=["POST"])
@api_errors
def console_create_attendant() -> Response:
    """Admins invite attendants; Cognito e-mails them a temporary password."""
    me = _me()
    me.require(Role.ADMIN)
    body = json_body(_request())
    created = identity.create_attendant(
        me.tenant_id,
        email=str(body.get("email") or ""),
        display_name=str(body.get("display_name") or ""),
        role=str(body.get("role") or "attendant"),
        team=str(body["team"]) if body.get("team") else None,
        actor=me.actor,
    )
    return json_response(created, 201)


@blueprint.route("/v1/console/attendants/{attendant_id}", methods=["PATCH"])
@api_errors
def console_update_attendant(attendant_id: str) -> Response:
    body = json_body(_request())
    active = body.get("active")
    if active is not None and not isinstance(active, bool):
        raise InvalidInput("O campo 'active' deve ser true ou false.")
    return json_response(
        identity.update_attendant(
            _me(),
            uuid_param(attendant_id, "atendente"),
            role=str(body["role"]) if body.get("role") else None,
            team=str(body["team"])
            if "team" in body and body["team"] is not None
            else None,
            active=active,
        )
    )
