"""Business hours ("Horário de atendimento"): ``/v1/admin/business-hours``.

Admins change them; admins and supervisors read them. Each handler parses
input, calls ``atende.tenancy.hours`` in the tenant's transaction and shapes
the output.
"""

from __future__ import annotations

from datetime import UTC, datetime

from chalice.app import Blueprint, Response

from atende.db import tenant_transaction
from atende.identity import Role
from atende.tenancy import hours

from .bodies import BusinessHoursBody
from .web import Plumbing, api_errors, json_response

blueprint = Blueprint(__name__)
route = Plumbing(blueprint)


@blueprint.route("/v1/admin/business-hours", methods=["GET"])
@api_errors
def get_business_hours() -> Response:
    principal = route.attendant(Role.ADMIN, Role.SUPERVISOR)
    with tenant_transaction(principal.tenant_id) as conn:
        return json_response(hours.business_hours_view(conn, datetime.now(UTC)))


@blueprint.route("/v1/admin/business-hours", methods=["PUT"])
@api_errors
def put_business_hours() -> Response:
    principal = route.attendant(Role.ADMIN)
    body = route.body(BusinessHoursBody)
    with tenant_transaction(principal.tenant_id) as conn:
        view = hours.save_business_hours(
            conn,
            enabled=body.enabled,
            weekly=body.weekly,
            holidays=body.holidays if body.holidays is not None else [],
            out_of_office_text=body.out_of_office_text,
            attendant_id=principal.attendant_id,
            context=route.context(principal.actor),
            now=datetime.now(UTC),
        )
    return json_response(view)
