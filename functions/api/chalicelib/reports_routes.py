"""The reports: the console's (``/v1/console/reports``, supervisors and
admins) and the API's (``/v1/reports``, API keys with the ``reports`` scope).

Query string: ``de`` and ``ate`` (São Paulo days, AAAA-MM-DD, both included;
the last 30 days by default), ``granularidade`` (hour, day, week), ``equipe``,
``atendente`` (id), ``entrada`` (phone_number_id); the export adds ``formato``
(xlsx or csv).
"""

from __future__ import annotations

from datetime import datetime

from chalice.app import Blueprint, Response

from atende import reports
from atende.errors import InvalidInput
from atende.identity import Role
from atende.reports.measures import SAO_PAULO
from atende.tenancy import Scope

from .web import Plumbing, api_errors, json_response

blueprint = Blueprint(__name__)
route = Plumbing(blueprint)

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_EXPORTS = {
    "xlsx": (reports.export_xlsx, XLSX_TYPE),
    "csv": (reports.export_csv, "text/csv; charset=utf-8"),
}


def _query() -> reports.ReportQuery:
    return reports.parse_query(route.query(), today=datetime.now(SAO_PAULO).date())


@blueprint.route("/v1/console/reports", methods=["GET"])
@api_errors
def console_reports() -> Response:
    me = route.attendant(Role.SUPERVISOR, Role.ADMIN)
    return json_response(reports.attendant_report(me, _query()))


@blueprint.route("/v1/reports", methods=["GET"])
@api_errors
def api_reports() -> Response:
    """The same numbers for integrations (a BI tool, a spreadsheet)."""
    principal = route.api_key(Scope.REPORTS)
    return json_response(reports.tenant_report(principal.tenant_id, _query()))


@blueprint.route("/v1/console/reports/export", methods=["GET"])
@api_errors
def console_reports_export() -> Response:
    me = route.attendant(Role.SUPERVISOR, Role.ADMIN)
    kind = route.query().get("formato", "xlsx")
    if kind not in _EXPORTS:
        raise InvalidInput("Formato inválido (use xlsx ou csv).")
    query = _query()
    write, content_type = _EXPORTS[kind]
    name = f"relatorio-{query.start.isoformat()}-a-{query.end.isoformat()}.{kind}"
    return Response(
        body=write(reports.attendant_report(me, query)),
        status_code=200,
        headers={
            "Content-Type": content_type,
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
