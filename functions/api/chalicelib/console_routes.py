"""The attendant console: its web page and its JSON API (``/v1/console``).

Attendants authenticate with a Cognito ID token (``Authorization: Bearer``);
each handler parses input, calls one use case in ``atende.console`` or
``atende.identity`` and shapes the output.
"""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

from chalice.app import Blueprint, Response

from atende import composition, console, identity
from atende.config import get_settings
from atende.errors import NotFound
from atende.identity import Role
from atende.whatsapp.media import OUTBOUND_TYPES, SERVED_TYPES

from .bodies import (
    AttendantChange,
    CannedResponse,
    Close,
    NewAttendant,
    NewLabel,
    Note,
    Reply,
    SignIn,
    Transfer,
)
from .web import Plumbing, api_errors, json_response, uuid_param

blueprint = Blueprint(__name__)
route = Plumbing(blueprint)

ASSETS = Path(__file__).parent / "console"
_ASSET_TYPES = {
    "index.html": "text/html; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
    # The reports page and its chart library (VENDORED.md).
    "reports.html": "text/html; charset=utf-8",
    "reports.js": "text/javascript; charset=utf-8",
    "reports.css": "text/css; charset=utf-8",
    "uplot.min.js": "text/javascript; charset=utf-8",
    "uplot.min.css": "text/css; charset=utf-8",
    # What the admins' pages share, then the privacy (LGPD) page.
    "admin-page.js": "text/javascript; charset=utf-8",
    "privacy.html": "text/html; charset=utf-8",
    "privacy.js": "text/javascript; charset=utf-8",
    "privacy.css": "text/css; charset=utf-8",
    # The admins' business-hours page.
    "hours.html": "text/html; charset=utf-8",
    "hours.js": "text/javascript; charset=utf-8",
    "hours.css": "text/css; charset=utf-8",
}
# The page loads only its own files and talks only to this API and the
# live-updates socket; message files are shown from blob: URLs it made from
# this API's answers.
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data: blob:;"
        " media-src blob:; frame-ancestors 'none'; base-uri 'none';"
        " form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


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
    body = route.body(SignIn)
    if body.refresh_token is not None:
        session = identity.refresh_session(body.refresh_token)
    elif body.session:
        session = identity.complete_new_password(
            body.email, body.session, body.new_password
        )
    else:
        session = identity.sign_in(body.email, body.password)
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
    me = route.attendant()
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


def _label_filter() -> UUID | None:
    label = route.query().get("label")
    return uuid_param(label, "etiqueta") if label else None


@blueprint.route("/v1/console/queue", methods=["GET"])
@api_errors
def console_queue() -> Response:
    return json_response(
        console.queue(
            route.attendant(),
            limit=route.optional_int("limit"),
            cursor=route.query().get("cursor"),
            label=_label_filter(),
        )
    )


@blueprint.route("/v1/console/conversations", methods=["GET"])
@api_errors
def console_conversations() -> Response:
    page = console.list_conversations(
        route.attendant(),
        scope=route.query().get("scope", "mine"),
        limit=route.optional_int("limit"),
        cursor=route.query().get("cursor"),
        label=_label_filter(),
    )
    return json_response({"conversations": page.items, "next_cursor": page.next_cursor})


@blueprint.route("/v1/console/search", methods=["GET"])
@api_errors
def console_search() -> Response:
    me = route.attendant()
    return json_response(
        console.search_conversations(
            me,
            q=route.query().get("q"),
            label=_label_filter(),
            limit=route.optional_int("limit"),
            cursor=route.query().get("cursor"),
            context=route.context(me.actor),
        )
    )


@blueprint.route("/v1/console/conversations/{conversation_id}", methods=["GET"])
@api_errors
def console_conversation(conversation_id: str) -> Response:
    """The conversation with its latest messages (``limit``, 50 by default)."""
    me = route.attendant()
    return json_response(
        console.conversation_detail(
            me,
            uuid_param(conversation_id, "conversa"),
            route.context(me.actor),
            limit=route.optional_int("limit"),
        )
    )


@blueprint.route(
    "/v1/console/conversations/{conversation_id}/messages", methods=["GET"]
)
@api_errors
def console_messages(conversation_id: str) -> Response:
    """Older messages: the page before ``before`` (the detail's ``older_cursor``)."""
    me = route.attendant()
    return json_response(
        console.conversation_messages(
            me,
            uuid_param(conversation_id, "conversa"),
            route.context(me.actor),
            before=route.query().get("before"),
            limit=route.optional_int("limit"),
        )
    )


@blueprint.route("/v1/console/conversations/{conversation_id}/claim", methods=["POST"])
@api_errors
def console_claim(conversation_id: str) -> Response:
    me = route.attendant()
    return json_response(
        console.claim(
            me, uuid_param(conversation_id, "conversa"), route.context(me.actor)
        )
    )


@blueprint.route(
    "/v1/console/conversations/{conversation_id}/messages", methods=["POST"]
)
@api_errors
def console_reply(conversation_id: str) -> Response:
    """Free text (``text``) or, outside the 24-hour window, a ``template``."""
    body = route.body(Reply)
    me = route.attendant()
    message = console.reply(
        me,
        uuid_param(conversation_id, "conversa"),
        text=body.text,
        template=body.template,
        engine=composition.engine(),
        graph_for=composition.graph_client,
        context=route.context(me.actor),
    )
    return json_response(message, 201)


@blueprint.route(
    "/v1/console/conversations/{conversation_id}/transfer", methods=["POST"]
)
@api_errors
def console_transfer(conversation_id: str) -> Response:
    body = route.body(Transfer)
    me = route.attendant()
    return json_response(
        console.transfer(
            me,
            uuid_param(conversation_id, "conversa"),
            to_attendant_id=body.attendant_id,
            to_team=body.team,
            engine=composition.engine(),
            note=body.note,
            context=route.context(me.actor),
        )
    )


@blueprint.route("/v1/console/teams", methods=["GET"])
@api_errors
def console_teams() -> Response:
    """The teams a conversation may be transferred to."""
    return json_response({"teams": console.teams(route.attendant())})


@blueprint.route(
    "/v1/console/conversations/{conversation_id}/return-to-bot", methods=["POST"]
)
@api_errors
def console_return_to_bot(conversation_id: str) -> Response:
    me = route.attendant()
    return json_response(
        console.return_to_bot(
            me,
            uuid_param(conversation_id, "conversa"),
            engine=composition.engine(),
            context=route.context(me.actor),
        )
    )


@blueprint.route("/v1/console/conversations/{conversation_id}/close", methods=["POST"])
@api_errors
def console_close(conversation_id: str) -> Response:
    body = route.body(Close)
    me = route.attendant()
    return json_response(
        console.close(
            me,
            uuid_param(conversation_id, "conversa"),
            reason=body.reason,
            engine=composition.engine(),
            context=route.context(me.actor),
        )
    )


@blueprint.route("/v1/console/conversations/{conversation_id}/notes", methods=["POST"])
@api_errors
def console_add_note(conversation_id: str) -> Response:
    """A private note in the timeline: never sent to the customer."""
    body = route.body(Note)
    me = route.attendant()
    return json_response(
        console.add_note(
            me,
            uuid_param(conversation_id, "conversa"),
            text=body.text,
            context=route.context(me.actor),
        ),
        201,
    )


@blueprint.route(
    "/v1/console/conversations/{conversation_id}/labels/{label_id}",
    methods=["PUT", "DELETE"],
)
@api_errors
def console_conversation_label(conversation_id: str, label_id: str) -> Response:
    me = route.attendant()
    change = (
        console.label_conversation
        if route.request().method == "PUT"
        else console.unlabel_conversation
    )
    labels = change(
        me,
        uuid_param(conversation_id, "conversa"),
        uuid_param(label_id, "etiqueta"),
        context=route.context(me.actor),
    )
    return json_response({"labels": labels})


@blueprint.route("/v1/console/labels", methods=["GET"])
@api_errors
def console_labels() -> Response:
    page = console.list_labels(
        route.attendant(),
        limit=route.optional_int("limit"),
        cursor=route.query().get("cursor"),
    )
    return json_response({"labels": page.items, "next_cursor": page.next_cursor})


@blueprint.route("/v1/console/labels", methods=["POST"])
@api_errors
def console_create_label() -> Response:
    """Supervisors and admins define the tenant's labels."""
    me = route.attendant(Role.ADMIN, Role.SUPERVISOR)
    body = route.body(NewLabel)
    return json_response(
        console.create_label(
            me, name=body.name, color=body.color, context=route.context(me.actor)
        ),
        201,
    )


@blueprint.route("/v1/console/labels/{label_id}", methods=["DELETE"])
@api_errors
def console_delete_label(label_id: str) -> Response:
    me = route.attendant(Role.ADMIN, Role.SUPERVISOR)
    console.delete_label(
        me, uuid_param(label_id, "etiqueta"), context=route.context(me.actor)
    )
    return Response(body="", status_code=204)


@blueprint.route("/v1/console/canned-responses", methods=["GET"])
@api_errors
def console_canned_responses() -> Response:
    """The team's canned responses and the attendant's own."""
    page = console.list_canned(
        route.attendant(),
        limit=route.optional_int("limit"),
        cursor=route.query().get("cursor"),
    )
    return json_response(
        {"canned_responses": page.items, "next_cursor": page.next_cursor}
    )


@blueprint.route("/v1/console/canned-responses", methods=["POST"])
@api_errors
def console_create_canned() -> Response:
    """A personal response (anyone) or a team one (supervisors, admins)."""
    body = route.body(CannedResponse)
    me = route.attendant()
    return json_response(
        console.create_canned(
            me,
            scope=body.scope,
            shortcut=body.shortcut,
            title=body.title,
            body=body.body,
            context=route.context(me.actor),
        ),
        201,
    )


@blueprint.route("/v1/console/canned-responses/{canned_id}", methods=["PUT"])
@api_errors
def console_update_canned(canned_id: str) -> Response:
    body = route.body(CannedResponse)
    me = route.attendant()
    return json_response(
        console.update_canned(
            me,
            uuid_param(canned_id, "resposta rápida"),
            shortcut=body.shortcut,
            title=body.title,
            body=body.body,
            context=route.context(me.actor),
        )
    )


@blueprint.route("/v1/console/canned-responses/{canned_id}", methods=["DELETE"])
@api_errors
def console_delete_canned(canned_id: str) -> Response:
    me = route.attendant()
    console.delete_canned(
        me, uuid_param(canned_id, "resposta rápida"), context=route.context(me.actor)
    )
    return Response(body="", status_code=204)


@blueprint.route("/v1/console/attendants", methods=["GET"])
@api_errors
def console_attendants() -> Response:
    page = identity.list_attendants(
        route.attendant(),
        limit=route.optional_int("limit"),
        cursor=route.query().get("cursor"),
    )
    return json_response({"attendants": page.items, "next_cursor": page.next_cursor})


@blueprint.route("/v1/console/attendants", methods=["POST"])
@api_errors
def console_create_attendant() -> Response:
    """Admins invite attendants; Cognito e-mails them a temporary password."""
    me = route.attendant(Role.ADMIN)
    body = route.body(NewAttendant)
    created = identity.create_attendant(
        me.tenant_id,
        email=body.email,
        display_name=body.display_name,
        role=body.role,
        team=body.team or None,
        context=route.context(me.actor),
    )
    return json_response(created, 201)


@blueprint.route("/v1/console/attendants/{attendant_id}", methods=["PATCH"])
@api_errors
def console_update_attendant(attendant_id: str) -> Response:
    body = route.body(AttendantChange)
    return json_response(
        console.update_attendant(
            route.attendant(),
            uuid_param(attendant_id, "atendente"),
            role=body.role or None,
            team=body.team,
            active=body.active,
        )
    )


# ---- media both ways (issue 14 point 4)

# Binary both ways (app.py adds them to Chalice's binary types).
MEDIA_TYPES = sorted(SERVED_TYPES | OUTBOUND_TYPES.keys())


@blueprint.route(
    "/v1/console/conversations/{conversation_id}/messages/{message_id}/media",
    methods=["GET"],
)
@api_errors
def console_message_media(conversation_id: str, message_id: str) -> Response:
    """A message's file (from Meta once, then our encrypted copy; audited).
    The page fetches it with its token and shows it from a blob: URL."""
    me = route.attendant()
    media = console.open_media(
        me,
        uuid_param(conversation_id, "conversa"),
        uuid_param(message_id, "mensagem"),
        engine=composition.engine(),
        context=route.context(me.actor),
    )
    disposition = "inline" if media.inline else "attachment"
    return Response(
        body=media.data,
        status_code=200,
        headers={
            "Content-Type": media.content_type,
            "Content-Disposition": f'{disposition}; filename="{media.filename}"',
            # Personal data: never kept by the browser or a proxy.
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            # Opened directly, a file can't run anything in our origin.
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


@blueprint.route(
    "/v1/console/conversations/{conversation_id}/media",
    methods=["POST"],
    content_types=["*/*"],
)
@api_errors
def console_send_media(conversation_id: str) -> Response:
    """The file is the raw body, its type the Content-Type; ``filename`` and
    ``caption`` in the query string. 201 with the message, as a reply."""
    request = route.request()
    raw = request.raw_body or b""
    me = route.attendant()
    query = route.query()
    message = console.send_media(
        me,
        uuid_param(conversation_id, "conversa"),
        data=raw if isinstance(raw, bytes) else raw.encode(),
        mime_type=request.headers.get("content-type", ""),
        filename=query.get("filename"),
        caption=query.get("caption"),
        engine=composition.engine(),
        context=route.context(me.actor),
    )
    return json_response(message, 201)
