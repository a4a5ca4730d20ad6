"""The composer that knows WhatsApp (``/v1/console``): the tenant's message
templates (listed, cached, refreshed) and the typing indicator."""

from __future__ import annotations

from uuid import UUID

from chalice.app import Blueprint, Response

from atende import composition, console

from .web import Plumbing, api_errors, json_response, uuid_param

blueprint = Blueprint(__name__)
route = Plumbing(blueprint)


def _conversation() -> UUID | None:
    """The conversation the templates are for (its window decides the charge)."""
    found = route.query().get("conversation")
    return uuid_param(found, "conversa") if found else None


@blueprint.route("/v1/console/templates", methods=["GET"])
@api_errors
def console_templates() -> Response:
    """Approved templates (every status for supervisors), cached 15 min."""
    return json_response(
        console.list_templates(
            route.attendant(),
            graph_for=composition.graph_client,
            conversation_id=_conversation(),
        )
    )


@blueprint.route("/v1/console/templates/refresh", methods=["POST"])
@api_errors
def console_refresh_templates() -> Response:
    me = route.attendant()
    return json_response(
        console.refresh_templates(
            me,
            graph_for=composition.graph_client,
            context=route.context(me.actor),
            conversation_id=_conversation(),
        )
    )


@blueprint.route("/v1/console/conversations/{conversation_id}/typing", methods=["POST"])
@api_errors
def console_typing(conversation_id: str) -> Response:
    """The holder is typing: Meta's typing indicator (throttled)."""
    return json_response(
        console.signal_typing(
            route.attendant(),
            uuid_param(conversation_id, "conversa"),
            graph_for=composition.graph_client,
        )
    )
