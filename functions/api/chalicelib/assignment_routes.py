"""Presence and assignment in the console's API (``/v1/console``): one's own
presence, supervisors' view of everyone's presence and load, capacities and
the tenant's assignment rules (``atende.console.presence``)."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from atende.console import presence

from .bodies import AssignmentRulesChange, CapacityChange, PresenceChange
from .web import Plumbing, api_errors, json_response, uuid_param

blueprint = Blueprint(__name__)
route = Plumbing(blueprint)


@blueprint.route("/v1/console/presence", methods=["GET"])
@api_errors
def my_presence() -> Response:
    return json_response(presence.my_presence(route.attendant()))


@blueprint.route("/v1/console/presence", methods=["PUT"])
@api_errors
def set_my_presence() -> Response:
    body = route.body(PresenceChange)
    me = route.attendant()
    return json_response(
        presence.set_my_presence(me, body.presence, route.context(me.actor))
    )


@blueprint.route("/v1/console/attendants/load", methods=["GET"])
@api_errors
def attendant_loads() -> Response:
    """Each attendant's presence and load (supervisors, admins)."""
    return json_response({"attendants": presence.attendant_loads(route.attendant())})


@blueprint.route("/v1/console/attendants/{attendant_id}/capacity", methods=["PUT"])
@api_errors
def set_capacity(attendant_id: str) -> Response:
    body = route.body(CapacityChange)
    me = route.attendant()
    return json_response(
        presence.set_capacity(
            me,
            uuid_param(attendant_id, "atendente"),
            body.max_conversations,
            route.context(me.actor),
        )
    )


@blueprint.route("/v1/console/assignment-rules", methods=["GET"])
@api_errors
def assignment_rules() -> Response:
    return json_response(presence.assignment_rules(route.attendant()))


@blueprint.route("/v1/console/assignment-rules", methods=["PUT"])
@api_errors
def change_assignment_rules() -> Response:
    body = route.body(AssignmentRulesChange)
    me = route.attendant()
    return json_response(
        presence.change_assignment_rules(
            me,
            max_conversations=body.max_conversations,
            answer_timeout_minutes=body.answer_timeout_minutes,
            context=route.context(me.actor),
        )
    )
