"""The report's numbers, read from the facts (migration 0012).

Periods are São Paulo time. Conversations count in the period they opened;
handoffs in the period they were requested. A handoff is one trip to the
people's queue: the bot's, or a transfer to a team (reason "transferencia").

- containment: closed conversations that never reached the queue / closed;
- handoff rate: conversations with at least one handoff / conversations;
- first response: from a handoff's request to the first reply a person wrote
  while it was open (median and p90, ``percentile_cont``);
- handling: from a handoff's claim to its end (returned, closed, transferred);
- resolution: from opening to closing, for closed conversations a person
  claimed;
- abandonment: handoffs closed before anyone claimed them / handoffs.

Team and attendant filters keep the handoffs of that team or attendant (the
one who held the handoff last) and the conversations that had one of them.
"""

# Queries compose only this module's constant fragments; values are bound.
# ruff: noqa: S608

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal, LiteralString
from uuid import UUID
from zoneinfo import ZoneInfo

from atende.conversations import reasons
from atende.db import Connection
from atende.reports.satisfaction import Satisfaction, read_satisfaction

FALLBACK_INTENT = "nlu_fallback"

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
    "TemplateSends",
    "read_report",
]

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
Granularity = Literal["hour", "day", "week"]


@dataclass(frozen=True)
class ReportQuery:
    """A date range (São Paulo days, both included) and filters."""

    start: date
    end: date
    granularity: Granularity = "day"
    team: str | None = None
    attendant_id: UUID | None = None
    entry_point: str | None = None

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.start, time(), SAO_PAULO)

    @property
    def ends_at(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time(), SAO_PAULO)


@dataclass(frozen=True)
class Durations:
    """Seconds: how many, median and 90th percentile (None when none)."""

    count: int
    median_seconds: float | None
    p90_seconds: float | None


@dataclass(frozen=True)
class Measures:
    conversations: int
    closed: int
    contained: int
    containment_rate: float | None
    handed_off: int
    handoff_rate: float | None
    returned_to_bot: int
    transferred: int
    handoffs: int
    abandoned: int
    abandonment_rate: float | None
    first_response: Durations
    handling: Durations
    resolution: Durations


@dataclass(frozen=True)
class Period:
    """One period's measures; ``start`` is São Paulo local time."""

    start: datetime
    measures: Measures


@dataclass(frozen=True)
class Count:
    key: str
    label: str
    count: int


@dataclass(frozen=True)
class Breakdown:
    """Measures of one team, attendant or entry point (None: not applicable)."""

    key: str | None
    label: str
    conversations: int | None
    contained: int | None
    handoffs: int
    abandoned: int
    first_response: Durations
    handling: Durations
    satisfaction_average: float | None = None


@dataclass(frozen=True)
class BotMeasures:
    """From the bot's own records (Rasa's tracker store, copied by the refresh);
    rates over the customer messages the bot read in the period."""

    available: bool = False
    top_intents: list[Count] = field(default_factory=list)
    fallback_rate: float | None = None
    clarification_rate: float | None = None
    llm_answers: int | None = None
    dont_know_answers: int | None = None


@dataclass(frozen=True)
class TemplateSends:
    """Templates sent (Meta bills per message), by category and window."""

    category: str
    outside_window: int
    inside_window: int


@dataclass(frozen=True)
class DocumentMeasures:
    received: int
    completed: int
    failed: int
    pages: int
    ocr_pages: int
    text_pages: int
    ocr_share: float | None
    failures: list[Count]


@dataclass(frozen=True)
class Report:
    start: date
    end: date
    granularity: Granularity
    team: str | None
    attendant_id: UUID | None
    entry_point: str | None
    refreshed_at: datetime | None
    totals: Measures
    periods: list[Period]
    handoff_reasons: list[Count]
    teams: list[Breakdown]
    attendants: list[Breakdown]
    entry_points: list[Breakdown]
    templates: list[TemplateSends]
    documents: DocumentMeasures
    satisfaction: Satisfaction
    bot: BotMeasures


def _filters(
    query: ReportQuery, *, on_handoffs: bool
) -> tuple[LiteralString, dict[str, Any]]:
    clauses: list[LiteralString] = []
    params: dict[str, Any] = {
        "starts_at": query.starts_at,
        "ends_at": query.ends_at,
        "unit": query.granularity,
        "team": query.team,
        "attendant": query.attendant_id,
        "entry_point": query.entry_point,
    }
    if query.team is not None:
        clauses.append("team = %(team)s" if on_handoffs else "%(team)s = ANY(teams)")
    if query.attendant_id is not None:
        clauses.append(
            "attendant_id = %(attendant)s"
            if on_handoffs
            else "%(attendant)s = ANY(attendant_ids)"
        )
    if query.entry_point is not None:
        clauses.append("entry_point = %(entry_point)s")
    return "".join(" AND " + c for c in clauses), params


_CONVERSATIONS_SQL: LiteralString = """
SELECT GROUPING(period, entry_point) AS grouping, period, entry_point,
    count(*) AS conversations,
    count(*) FILTER (WHERE closed_at IS NOT NULL) AS closed,
    count(*) FILTER (WHERE closed_at IS NOT NULL AND handoffs = 0) AS contained,
    count(*) FILTER (WHERE handoffs > 0) AS handed_off,
    count(*) FILTER (WHERE returns_to_bot > 0) AS returned_to_bot,
    count(*) FILTER (WHERE transfers > 0) AS transferred,
    count(resolution) AS resolution_n,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY resolution) AS resolution_p50,
    percentile_cont(0.9) WITHIN GROUP (ORDER BY resolution) AS resolution_p90
FROM (
    SELECT *, date_trunc(%(unit)s, opened_at AT TIME ZONE 'America/Sao_Paulo')
            AS period,
        CASE WHEN cardinality(attendant_ids) > 0
            THEN extract(epoch FROM closed_at - opened_at) END AS resolution
    FROM report_conversations
    WHERE opened_at >= %(starts_at)s AND opened_at < %(ends_at)s{filters}
) f
GROUP BY GROUPING SETS ((period), (entry_point), ())
"""

_HANDOFFS_SQL: LiteralString = """
SELECT GROUPING(period, team, attendant_id, reason, entry_point) AS grouping,
    period, team, attendant_id, reason, entry_point,
    count(*) AS handoffs,
    count(*) FILTER (WHERE accepted_at IS NULL AND outcome = 'closed') AS abandoned,
    count(first_response) AS first_response_n,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY first_response) AS first_response_p50,
    percentile_cont(0.9) WITHIN GROUP (ORDER BY first_response) AS first_response_p90,
    count(handling) AS handling_n,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY handling) AS handling_p50,
    percentile_cont(0.9) WITHIN GROUP (ORDER BY handling) AS handling_p90
FROM (
    SELECT *, date_trunc(%(unit)s, requested_at AT TIME ZONE 'America/Sao_Paulo')
            AS period,
        extract(epoch FROM first_response_at - requested_at) AS first_response,
        extract(epoch FROM resolved_at - accepted_at) AS handling
    FROM report_handoffs
    WHERE requested_at >= %(starts_at)s AND requested_at < %(ends_at)s{filters}
) f
GROUP BY GROUPING SETS ((period), (team), (attendant_id), (reason), (entry_point), ())
"""

# GROUPING() bit masks (1 = that column is rolled up).
_CONV_BY_PERIOD, _CONV_BY_ENTRY, _CONV_TOTAL = 0b01, 0b10, 0b11
_H_ALL = 0b11111
_H_BY = {
    "period": _H_ALL ^ 0b10000,
    "team": _H_ALL ^ 0b01000,
    "attendant_id": _H_ALL ^ 0b00100,
    "reason": _H_ALL ^ 0b00010,
    "entry_point": _H_ALL ^ 0b00001,
}


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _durations(row: dict[str, Any] | None, name: str) -> Durations:
    if row is None or not row[f"{name}_n"]:
        return Durations(0, None, None)
    return Durations(
        int(row[f"{name}_n"]), float(row[f"{name}_p50"]), float(row[f"{name}_p90"])
    )


def _measures(conv: dict[str, Any] | None, hand: dict[str, Any] | None) -> Measures:
    c = conv or {}
    h = hand or {}
    conversations, closed = int(c.get("conversations", 0)), int(c.get("closed", 0))
    contained, handed_off = int(c.get("contained", 0)), int(c.get("handed_off", 0))
    handoffs, abandoned = int(h.get("handoffs", 0)), int(h.get("abandoned", 0))
    return Measures(
        conversations=conversations,
        closed=closed,
        contained=contained,
        containment_rate=_ratio(contained, closed),
        handed_off=handed_off,
        handoff_rate=_ratio(handed_off, conversations),
        returned_to_bot=int(c.get("returned_to_bot", 0)),
        transferred=int(c.get("transferred", 0)),
        handoffs=handoffs,
        abandoned=abandoned,
        abandonment_rate=_ratio(abandoned, handoffs),
        first_response=_durations(hand, "first_response"),
        handling=_durations(hand, "handling"),
        resolution=_durations(conv, "resolution"),
    )


def period_starts(query: ReportQuery) -> list[datetime]:
    """Every period of the range (São Paulo local time, naive), empty or not."""
    first = datetime.combine(query.start, time())
    last = datetime.combine(query.end + timedelta(days=1), time())
    step = {"hour": timedelta(hours=1), "day": timedelta(days=1)}.get(
        query.granularity, timedelta(weeks=1)
    )
    if query.granularity == "week":
        first -= timedelta(days=first.weekday())  # date_trunc('week'): Mondays
    starts = []
    while first < last:
        starts.append(first)
        first += step
    return starts


def _labels(
    conn: Connection,
    table: LiteralString,
    key: LiteralString,
    label: LiteralString,
    keys: Iterable[Any],
) -> dict[Any, str]:
    wanted = [k for k in keys if k is not None]
    if not wanted:
        return {}
    rows = conn.execute(
        f"SELECT {key} AS key, {label} AS label FROM {table} WHERE {key} = ANY(%s)",
        (wanted,),
    ).fetchall()
    return {r["key"]: r["label"] for r in rows if r["label"]}


def _documents(conn: Connection, query: ReportQuery) -> DocumentMeasures:
    params = {"starts_at": query.starts_at, "ends_at": query.ends_at}
    row = conn.execute(
        "SELECT count(*) AS received,"
        " count(*) FILTER (WHERE status = 'COMPLETED') AS completed,"
        " count(*) FILTER (WHERE status = 'FAILED') AS failed,"
        " coalesce(sum(page_count), 0) AS pages,"
        " coalesce(sum(ocr_pages), 0) AS ocr_pages,"
        " coalesce(sum(text_pages), 0) AS text_pages"
        " FROM documents"
        " WHERE created_at >= %(starts_at)s AND created_at < %(ends_at)s",
        params,
    ).fetchone()
    assert row is not None
    failures = conn.execute(
        "SELECT coalesce(error_code, 'desconhecido') AS code, count(*) AS n"
        " FROM documents WHERE status = 'FAILED'"
        " AND created_at >= %(starts_at)s AND created_at < %(ends_at)s"
        " GROUP BY 1 ORDER BY n DESC, code",
        params,
    ).fetchall()
    ocr, text = int(row["ocr_pages"]), int(row["text_pages"])
    return DocumentMeasures(
        received=int(row["received"]),
        completed=int(row["completed"]),
        failed=int(row["failed"]),
        pages=int(row["pages"]),
        ocr_pages=ocr,
        text_pages=text,
        ocr_share=_ratio(ocr, ocr + text),
        failures=[Count(r["code"], r["code"], int(r["n"])) for r in failures],
    )


def _templates(conn: Connection, query: ReportQuery) -> list[TemplateSends]:
    rows = conn.execute(
        "SELECT category, count(*) FILTER (WHERE outside_window) AS outside,"
        " count(*) FILTER (WHERE NOT outside_window) AS inside"
        " FROM report_template_sends"
        " WHERE sent_at >= %(starts_at)s AND sent_at < %(ends_at)s"
        " AND (%(entry_point)s::text IS NULL OR entry_point = %(entry_point)s)"
        " GROUP BY category ORDER BY category",
        {
            "starts_at": query.starts_at,
            "ends_at": query.ends_at,
            "entry_point": query.entry_point,
        },
    ).fetchall()
    return [
        TemplateSends(r["category"], int(r["outside"]), int(r["inside"])) for r in rows
    ]


def read_report(conn: Connection, query: ReportQuery) -> Report:
    """The current tenant's report for ``query`` (read from the facts)."""
    where, params = _filters(query, on_handoffs=False)
    conv_rows = conn.execute(
        _CONVERSATIONS_SQL.format(filters=where), params
    ).fetchall()
    where, params = _filters(query, on_handoffs=True)
    hand_rows = conn.execute(_HANDOFFS_SQL.format(filters=where), params).fetchall()

    conv_by_period = {
        r["period"]: r for r in conv_rows if r["grouping"] == _CONV_BY_PERIOD
    }
    conv_by_entry = {
        r["entry_point"]: r for r in conv_rows if r["grouping"] == _CONV_BY_ENTRY
    }
    conv_total = next((r for r in conv_rows if r["grouping"] == _CONV_TOTAL), None)
    by: dict[str, dict[Any, dict[str, Any]]] = {
        name: {r[name]: r for r in hand_rows if r["grouping"] == mask}
        for name, mask in _H_BY.items()
    }
    hand_total = next((r for r in hand_rows if r["grouping"] == _H_ALL), None)

    names = _labels(conn, "attendants", "id", "display_name", by["attendant_id"])
    satisfaction = read_satisfaction(
        conn,
        params,
        where,
        lambda ids: _labels(conn, "attendants", "id", "display_name", ids),
    )
    team_csat = {g.key: g.average for g in satisfaction.teams}
    attendant_csat = {g.key: g.average for g in satisfaction.attendants}
    numbers = _labels(
        conn,
        "whatsapp_numbers",
        "phone_number_id",
        "display_phone_number",
        {*conv_by_entry, *by["entry_point"]},
    )

    def breakdown(
        key: Any,
        label: str,
        hand: dict[str, Any] | None,
        conv: dict[str, Any] | None,
        *,
        with_conversations: bool,
        csat: dict[str | None, float | None] | None = None,
    ) -> Breakdown:
        m = _measures(conv, hand)
        key = None if key is None else str(key)
        return Breakdown(
            key=key,
            label=label,
            conversations=m.conversations if with_conversations else None,
            contained=m.contained if with_conversations else None,
            handoffs=m.handoffs,
            abandoned=m.abandoned,
            first_response=m.first_response,
            handling=m.handling,
            satisfaction_average=(csat or {}).get(key),
        )

    refreshed = conn.execute(
        "SELECT refreshed_at, with_bot FROM report_refreshes"
    ).fetchone()
    return Report(
        start=query.start,
        end=query.end,
        granularity=query.granularity,
        team=query.team,
        attendant_id=query.attendant_id,
        entry_point=query.entry_point,
        refreshed_at=refreshed["refreshed_at"] if refreshed else None,
        totals=_measures(conv_total, hand_total),
        periods=[
            Period(start, _measures(conv_by_period.get(start), by["period"].get(start)))
            for start in period_starts(query)
        ],
        handoff_reasons=sorted(
            (
                Count(k, reasons.label(k), int(r["handoffs"]))
                for k, r in by["reason"].items()
            ),
            key=lambda c: (-c.count, c.key),
        ),
        teams=[
            breakdown(
                k, k or "Fila geral", r, None, with_conversations=False, csat=team_csat
            )
            for k, r in sorted(
                by["team"].items(), key=lambda i: (i[0] is None, i[0] or "")
            )
        ],
        attendants=sorted(
            (
                breakdown(
                    k,
                    names.get(k, "Não atribuído" if k is None else str(k)),
                    r,
                    None,
                    with_conversations=False,
                    csat=attendant_csat,
                )
                for k, r in by["attendant_id"].items()
            ),
            key=lambda b: (b.key is None, b.label),
        ),
        entry_points=[
            breakdown(
                k,
                numbers.get(k, k or "Sem número"),
                by["entry_point"].get(k),
                conv_by_entry.get(k),
                with_conversations=True,
            )
            for k in sorted({*conv_by_entry, *by["entry_point"]}, key=lambda k: k or "")
        ],
        templates=_templates(conn, query),
        documents=_documents(conn, query),
        satisfaction=satisfaction,
        bot=_bot(conn, query) if refreshed and refreshed["with_bot"] else BotMeasures(),
    )


TOP_INTENTS = 5


def _bot(conn: Connection, query: ReportQuery) -> BotMeasures:
    """The bot's measures over the period (and entry point, when filtered):
    they are not a team's or an attendant's."""
    rows = conn.execute(
        """
        SELECT e.kind, e.intent, count(*) AS n
        FROM report_bot_events e
        JOIN conversations v ON v.tenant_id = e.tenant_id AND v.id = e.conversation_id
        WHERE e.at >= %(starts_at)s AND e.at < %(ends_at)s
          AND (%(entry_point)s::text IS NULL OR v.phone_number_id = %(entry_point)s)
        GROUP BY e.kind, e.intent
        """,
        {
            "starts_at": query.starts_at,
            "ends_at": query.ends_at,
            "entry_point": query.entry_point,
        },
    ).fetchall()
    intents = {r["intent"]: int(r["n"]) for r in rows if r["kind"] == "intent"}
    kinds: dict[str, int] = defaultdict(int)
    for r in rows:
        kinds[r["kind"]] += int(r["n"])
    understood = kinds["intent"]
    return BotMeasures(
        available=True,
        top_intents=sorted(
            (Count(i, i, n) for i, n in intents.items()),
            key=lambda c: (-c.count, c.key),
        )[:TOP_INTENTS],
        fallback_rate=intents.get(FALLBACK_INTENT, 0) / understood
        if understood
        else None,
        clarification_rate=kinds["clarification"] / understood if understood else None,
        llm_answers=kinds["llm_answer"],
        dont_know_answers=kinds["dont_know"],
    )
