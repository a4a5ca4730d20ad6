"""A tenant's business hours as stored (``business_hours``, one row per
tenant): reading, saving (admins, audited) and what the bot says when a
customer is handed off while the tenant is closed. The rules themselves are
:mod:`atende.tenancy.business_hours`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from atende.audit import RequestContext, record_event
from atende.db import Connection
from atende.tenancy.business_hours import (
    DEFAULT_OUT_OF_OFFICE,
    SAO_PAULO,
    WEEKDAYS,
    BusinessHours,
    Holiday,
    Interval,
    brazil_national_holidays,
    is_open,
    next_opening,
    out_of_office_text,
    parse_hours,
    schedule_summary,
    weekly_json,
    when_text,
)

__all__ = [
    "BusinessHoursView",
    "business_hours_view",
    "closed_notice",
    "current_hours",
    "hours_answer",
    "open_at",
    "save_business_hours",
]


@dataclass(frozen=True)
class HolidayView:
    date: date
    name: str


@dataclass(frozen=True)
class BusinessHoursView:
    """What the admin screen shows and edits."""

    configured: bool  # False: no hours, always open
    enabled: bool
    weekly: dict[str, list[dict[str, str]]]
    holidays: list[HolidayView]
    out_of_office_text: str | None  # None: the default
    default_out_of_office_text: str
    summary: str
    open_now: bool
    # The message a customer handed off right now would read (closed or not).
    preview: str
    # Brazil's national holidays of this year and the next not yet accepted.
    suggested_holidays: list[HolidayView]
    updated_at: datetime | None


def _stored(row: dict[str, Any]) -> BusinessHours:
    weekly = tuple(
        tuple(Interval(int(s), int(e)) for s, e in row["weekly"][key])
        for key in WEEKDAYS
    )
    holidays = tuple(
        Holiday(date.fromisoformat(h["date"]), h["name"]) for h in row["holidays"]
    )
    return BusinessHours(
        weekly=weekly, holidays=holidays, out_of_office=row["out_of_office_text"]
    )


def _row(conn: Connection) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT enabled, weekly, holidays, out_of_office_text, updated_at"
        " FROM business_hours"
    ).fetchone()
    return dict(row) if row else None


def current_hours(conn: Connection) -> BusinessHours | None:
    """The tenant's hours in force; None when always open (none configured,
    or switched off)."""
    row = _row(conn)
    return _stored(row) if row and row["enabled"] else None


def open_at(conn: Connection, at: datetime) -> bool:
    """Whether the tenant's people answer at ``at`` (always, with no hours)."""
    return is_open(current_hours(conn), at)


def closed_notice(conn: Connection, now: datetime) -> str | None:
    """What a customer handed off at ``now`` is told when the tenant is
    closed (when a person will answer); None when open."""
    hours = current_hours(conn)
    if hours is None or is_open(hours, now):
        return None
    return out_of_office_text(hours, now)


# What the bot says when the tenant set no hours: nothing about people's
# hours it could not know.
NO_HOURS_ANSWER = (
    "Por aqui, no automático, eu te atendo 24h 😉 Se quiser falar com uma "
    "pessoa da nossa equipe, é só escrever *atendente*."
)
_BOT_ALWAYS = "Por aqui, no automático, é 24h 😉"


def hours_answer(conn: Connection, now: datetime) -> str:
    """The bot's answer to "qual o horário de vocês?": the hours the tenant's
    admin set (Horário de atendimento) and whether people answer now, never
    a fixed text: each tenant has its own."""
    hours = current_hours(conn)
    if hours is None:
        return NO_HOURS_ANSWER
    if not any(hours.weekly):
        return f"Nossa equipe está sem horário de atendimento definido. {_BOT_ALWAYS}"
    week = f"Nosso atendimento com pessoas funciona {schedule_summary(hours)}."
    if is_open(hours, now):
        return f"{week} Agora estamos atendendo. {_BOT_ALWAYS}"
    when = when_text(next_opening(hours, now), now)
    closed = f"Agora estamos fora do horário: uma pessoa responde {when}."
    return f"{week} {closed} {_BOT_ALWAYS}"


def business_hours_view(conn: Connection, now: datetime) -> BusinessHoursView:
    row = _row(conn)
    empty = BusinessHours(weekly=((),) * 7)
    hours = _stored(row) if row else empty
    accepted = {h.day for h in hours.holidays}
    year = now.astimezone(SAO_PAULO).year
    today = now.astimezone(SAO_PAULO).date()
    suggested = [
        HolidayView(h.day, h.name)
        for y in (year, year + 1)
        for h in brazil_national_holidays(y)
        if h.day >= today and h.day not in accepted
    ]
    enabled = bool(row and row["enabled"])
    return BusinessHoursView(
        configured=row is not None,
        enabled=enabled,
        weekly=weekly_json(hours),
        holidays=[HolidayView(h.day, h.name) for h in hours.holidays],
        out_of_office_text=hours.out_of_office,
        default_out_of_office_text=DEFAULT_OUT_OF_OFFICE,
        summary=schedule_summary(hours),
        open_now=not enabled or is_open(hours, now),
        preview=out_of_office_text(hours, now),
        suggested_holidays=suggested,
        updated_at=row["updated_at"] if row else None,
    )


def save_business_hours(
    conn: Connection,
    *,
    enabled: bool,
    weekly: Any,
    holidays: Any,
    out_of_office_text: Any,
    attendant_id: UUID,
    context: RequestContext,
    now: datetime,
) -> BusinessHoursView:
    """Replace the tenant's hours (validated whole: nothing is saved when any
    part is wrong); audited with the week's summary.

    Raises:
        HoursInvalid, HoursOverlap, HolidayInvalid, OutOfOfficeTextInvalid.
    """
    hours = parse_hours(weekly, holidays, out_of_office_text)
    conn.execute(
        "INSERT INTO business_hours (tenant_id, enabled, weekly, holidays,"
        " out_of_office_text, updated_by) VALUES (current_tenant_id(), %s, %s, %s,"
        " %s, %s) ON CONFLICT (tenant_id) DO UPDATE SET enabled = EXCLUDED.enabled,"
        " weekly = EXCLUDED.weekly, holidays = EXCLUDED.holidays,"
        " out_of_office_text = EXCLUDED.out_of_office_text,"
        " updated_by = EXCLUDED.updated_by, updated_at = now()",
        (
            enabled,
            Jsonb(
                {
                    key: [[i.start, i.end] for i in intervals]
                    for key, intervals in zip(WEEKDAYS, hours.weekly, strict=True)
                }
            ),
            Jsonb(
                [{"date": h.day.isoformat(), "name": h.name} for h in hours.holidays]
            ),
            hours.out_of_office,
            attendant_id,
        ),
    )
    record_event(
        conn,
        action="BUSINESS_HOURS_CHANGED",
        subject_type="tenant",
        subject_id=None,
        context=context,
        details={
            "enabled": enabled,
            "summary": schedule_summary(hours),
            "holidays": len(hours.holidays),
        },
    )
    return business_hours_view(conn, now)
