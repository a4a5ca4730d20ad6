"""Reports for supervisors and managers: the bot and people together.

:func:`tenant_report` is the use case (a tenant and a :class:`ReportQuery` →
:class:`Report`); :func:`attendant_report` checks the console's role first
(supervisors and admins). The numbers come from facts the scheduled refresh
keeps (:mod:`atende.reports.refresh`); definitions in ``docs/reports.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from uuid import UUID

from atende.db import tenant_transaction
from atende.errors import Forbidden, InvalidInput
from atende.identity import AttendantPrincipal
from atende.reports.export import export_csv, export_xlsx
from atende.reports.measures import (
    BotMeasures,
    Breakdown,
    Count,
    DocumentMeasures,
    Durations,
    Granularity,
    Measures,
    Period,
    Report,
    ReportQuery,
    Satisfaction,
    TemplateSends,
    read_report,
)
from atende.reports.refresh import refresh, refresh_everywhere
from atende.reports.satisfaction import SatisfactionGroup

__all__ = [
    "BotMeasures",
    "Breakdown",
    "Count",
    "DocumentMeasures",
    "Durations",
    "Granularity",
    "Measures",
    "Period",
    "Report",
    "ReportQuery",
    "Satisfaction",
    "SatisfactionGroup",
    "TemplateSends",
    "attendant_report",
    "export_csv",
    "export_xlsx",
    "parse_query",
    "refresh",
    "refresh_everywhere",
    "tenant_report",
]

MAX_DAYS = 366
MAX_HOURLY_DAYS = 31
_GRANULARITIES: dict[str, Granularity] = {"hour": "hour", "day": "day", "week": "week"}


# Reports cover the business's own time; outside it, date arithmetic near
# year 1 or 9999 would overflow (found by the fuzzing run: a 500).
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)


def _date(value: str | None, name: str) -> date:
    try:
        found = date.fromisoformat(value or "")
    except ValueError as exc:
        raise InvalidInput(f"Data inválida em '{name}' (use AAAA-MM-DD).") from exc
    if not EARLIEST <= found <= LATEST:
        raise InvalidInput(
            f"A data em '{name}' deve estar entre {EARLIEST:%d/%m/%Y} e"
            f" {LATEST:%d/%m/%Y}."
        )
    return found


def parse_query(params: Mapping[str, str], *, today: date) -> ReportQuery:
    """A report query from the API's query string; the last 30 days by default.

    Raises:
        InvalidInput: a bad date, range, granularity or attendant id.
    """
    # Absent means the default; present, it must be a date (even empty).
    end = _date(params["ate"], "ate") if "ate" in params else today
    start = _date(params["de"], "de") if "de" in params else end - timedelta(days=29)
    granularity = _GRANULARITIES.get(params.get("granularidade", "day"))
    if granularity is None:
        raise InvalidInput("Granularidade inválida (use hour, day ou week).")
    if start > end:
        raise InvalidInput("A data inicial é posterior à final.")
    days = (end - start).days + 1
    if days > MAX_DAYS:
        raise InvalidInput(f"O período pode ter no máximo {MAX_DAYS} dias.")
    if granularity == "hour" and days > MAX_HOURLY_DAYS:
        raise InvalidInput(
            f"Por hora, o período pode ter no máximo {MAX_HOURLY_DAYS} dias."
        )
    attendant = params.get("atendente")
    try:
        attendant_id = UUID(attendant) if attendant is not None else None
    except ValueError as exc:
        raise InvalidInput("Identificador de atendente inválido.") from exc
    return ReportQuery(
        start=start,
        end=end,
        granularity=granularity,
        team=params.get("equipe") or None,
        attendant_id=attendant_id,
        entry_point=params.get("entrada") or None,
    )


def tenant_report(tenant_id: UUID | str, query: ReportQuery) -> Report:
    """The tenant's report (the API-key route and the console share it)."""
    with tenant_transaction(tenant_id) as conn:
        return read_report(conn, query)


def attendant_report(principal: AttendantPrincipal, query: ReportQuery) -> Report:
    """The report of the principal's tenant; supervisors and admins only.

    Raises:
        Forbidden: the principal is an attendant.
    """
    if not principal.oversees:
        raise Forbidden("Os relatórios são para supervisores e administradores.")
    return tenant_report(principal.tenant_id, query)
