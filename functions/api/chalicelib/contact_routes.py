"""The console's contact panel: ``/v1/console/conversations/{id}/contact``.

Every role that may read the conversation opens it; CPFs are whole only for
admins, who also get the LGPD actions (the Privacidade page's export and
erasure routes under ``/v1/admin``).
"""

from __future__ import annotations

from chalice.app import Blueprint, Response

from atende.console.contact import contact_panel

from .web import Plumbing, api_errors, json_response, uuid_param

blueprint = Blueprint(__name__)
route = Plumbing(blueprint)


@blueprint.route("/v1/console/conversations/{conversation_id}/contact", methods=["GET"])
@api_errors
def console_contact(conversation_id: str) -> Response:
    me = route.attendant()
    return json_response(
        contact_panel(
            me, uuid_param(conversation_id, "conversa"), route.context(me.actor)
        )
    )
