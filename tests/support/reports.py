"""A hand-built tenant history for the reports: known conversations with known
timestamps (São Paulo time), written straight into the channel's tables, and
an independent reference (plain Python over the same specs) of what the
reports must say.

Edge cases: a conversation spanning midnight, one returned to the bot, one
transferred twice, one never claimed, one still waiting, templates inside and
outside the 24-hour window, and conversations just outside the range (one
that is inside it in UTC but not in São Paulo).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from psycopg.types.json import Jsonb

from atende.db import Connection

SP = ZoneInfo("America/Sao_Paulo")
D1 = date(2025, 3, 10)  # a Monday
D2 = date(2025, 3, 11)
ATTENDANTS = {"ana": "vendas", "bruno": "suporte", "carla": "suporte"}
NUMBERS = {"pn1": "+55 11 4000-0001", "pn2": "+55 11 4000-0002"}


def at(day: date, hhmm: str) -> datetime:
    hours, minutes = (int(x) for x in hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hours, minutes, tzinfo=SP)


@dataclass
class Handoff:
    reason: str
    requested: datetime
    team: str | None = None
    accepted_by: str | None = None
    accepted: datetime | None = None
    replies: list[tuple[str, datetime]] = field(default_factory=list)
    resolved: datetime | None = None
    outcome: str | None = None


@dataclass
class Conv:
    name: str
    customer: str
    entry: str
    opened: datetime
    closed: datetime | None
    handoffs: list[Handoff] = field(default_factory=list)
    inbound: list[datetime] = field(default_factory=list)
    # (category, sent at, failed)
    templates: list[tuple[str, datetime, bool]] = field(default_factory=list)


def scenario() -> list[Conv]:
    return [
        Conv(  # the bot alone; a utility template inside the window
            "c1",
            "x",
            "pn1",
            at(D1, "09:00"),
            at(D1, "09:10"),
            inbound=[at(D1, "09:00")],
            templates=[("utility", at(D1, "09:05"), False)],
        ),
        Conv(  # spans midnight: opened on D1 (D2 in UTC), closed on D2
            "c2",
            "y",
            "pn1",
            at(D1, "23:50"),
            at(D2, "00:30"),
            inbound=[at(D1, "23:50")],
            handoffs=[
                Handoff(
                    "pedido_do_cliente",
                    at(D1, "23:55"),
                    "vendas",
                    "ana",
                    at(D1, "23:58"),
                    [("ana", at(D2, "00:01"))],
                    at(D2, "00:30"),
                    "closed",
                )
            ],
        ),
        Conv(  # returned to the bot, which then closes it
            "c3",
            "z",
            "pn1",
            at(D1, "10:00"),
            at(D1, "10:40"),
            inbound=[at(D1, "10:00")],
            handoffs=[
                Handoff(
                    "reclamacao",
                    at(D1, "10:05"),
                    None,
                    "bruno",
                    at(D1, "10:06"),
                    [("bruno", at(D1, "10:07")), ("bruno", at(D1, "10:10"))],
                    at(D1, "10:20"),
                    "returned_to_bot",
                )
            ],
        ),
        Conv(  # transferred twice (vendas → suporte → suporte)
            "c4",
            "w",
            "pn2",
            at(D2, "14:00"),
            at(D2, "15:00"),
            inbound=[at(D2, "14:00")],
            handoffs=[
                Handoff(
                    "cancelamento",
                    at(D2, "14:01"),
                    "vendas",
                    "ana",
                    at(D2, "14:03"),
                    [("ana", at(D2, "14:04"))],
                    at(D2, "14:10"),
                    "transferred",
                ),
                Handoff(
                    "transferencia",
                    at(D2, "14:10"),
                    "suporte",
                    "bruno",
                    at(D2, "14:15"),
                    [("bruno", at(D2, "14:16"))],
                    at(D2, "14:30"),
                    "transferred",
                ),
                Handoff(
                    "transferencia",
                    at(D2, "14:30"),
                    "suporte",
                    "carla",
                    at(D2, "14:40"),
                    [("carla", at(D2, "14:50"))],
                    at(D2, "15:00"),
                    "closed",
                ),
            ],
        ),
        Conv(  # never claimed: closed for inactivity while waiting
            "c5",
            "v",
            "pn2",
            at(D2, "16:00"),
            at(D2, "16:32"),
            inbound=[at(D2, "16:00")],
            handoffs=[
                Handoff(
                    "pedido_do_cliente",
                    at(D2, "16:02"),
                    "suporte",
                    resolved=at(D2, "16:32"),
                    outcome="closed",
                )
            ],
        ),
        Conv(  # still waiting
            "c6",
            "u",
            "pn1",
            at(D2, "18:00"),
            None,
            inbound=[at(D2, "18:00")],
            handoffs=[Handoff("pedido_do_cliente", at(D2, "18:01"))],
        ),
        Conv(  # the business writes first, 27 hours after x's last message
            "c7",
            "x",
            "pn1",
            at(D2, "12:00"),
            at(D2, "12:30"),
            templates=[
                ("marketing", at(D2, "12:00"), False),
                ("marketing", at(D2, "12:01"), True),  # failed: not billed
            ],
        ),
        Conv(  # D1 in UTC, the day before in São Paulo: outside the range
            "c8",
            "t",
            "pn1",
            at(D1 - timedelta(days=1), "23:59"),
            at(D1, "00:20"),
            inbound=[at(D1 - timedelta(days=1), "23:59")],
        ),
        Conv(  # the day after the range
            "c9",
            "s",
            "pn2",
            at(D2 + timedelta(days=1), "00:00"),
            None,
            inbound=[at(D2 + timedelta(days=1), "00:00")],
        ),
    ]


@dataclass(frozen=True)
class Built:
    tenant_id: UUID
    attendants: dict[str, UUID]
    conversations: dict[str, UUID]


def build(conn: Connection, tenant_id: UUID, convs: list[Conv]) -> Built:
    """Write the scenario into the current tenant (its own rows only)."""
    attendants = {}
    for name, team in ATTENDANTS.items():
        row = conn.execute(
            "INSERT INTO attendants (tenant_id, email, display_name, role, team)"
            " VALUES (%s, %s, %s, 'attendant', %s) RETURNING id",
            (
                tenant_id,
                f"{name}-{uuid.uuid4().hex[:6]}@loja.example",
                name.title(),
                team,
            ),
        ).fetchone()
        assert row is not None
        attendants[name] = row["id"]
    for pn, display in NUMBERS.items():
        conn.execute(
            "INSERT INTO whatsapp_numbers (tenant_id, phone_number_id,"
            " display_phone_number) VALUES (%s, %s, %s)",
            (tenant_id, f"{pn}-{tenant_id.hex[:8]}", display),
        )
    customers: dict[str, UUID] = {}
    ids = {}
    for conv in convs:
        if conv.customer not in customers:
            row = conn.execute(
                "INSERT INTO customers (tenant_id, wa_user_id) VALUES (%s, %s)"
                " RETURNING id",
                (tenant_id, f"BR.{uuid.uuid4().int % 10**16}"),
            ).fetchone()
            assert row is not None
            customers[conv.customer] = row["id"]
        last = max([conv.opened, *([conv.closed] if conv.closed else [])])
        row = conn.execute(
            "INSERT INTO conversations (tenant_id, customer_id, state, opened_at,"
            " last_activity_at, closed_at, phone_number_id)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (
                tenant_id,
                customers[conv.customer],
                "closed"
                if conv.closed
                else ("waiting_human" if conv.handoffs else "bot"),
                conv.opened,
                last,
                conv.closed,
                f"{conv.entry}-{tenant_id.hex[:8]}",
            ),
        ).fetchone()
        assert row is not None
        cid = ids[conv.name] = row["id"]
        for when in conv.inbound:
            _message(conn, tenant_id, cid, "inbound", when)
        for category, when, failed in conv.templates:
            _message(
                conn,
                tenant_id,
                cid,
                "outbound",
                when,
                type_="template",
                status="failed" if failed else "delivered",
                payload={"template": {"name": "aviso", "category": category}},
            )
        for h in conv.handoffs:
            conn.execute(
                "INSERT INTO handoffs (tenant_id, conversation_id, reason, team,"
                " requested_at, accepted_by, accepted_at, resolved_at, outcome)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    tenant_id,
                    cid,
                    h.reason,
                    h.team,
                    h.requested,
                    attendants[h.accepted_by] if h.accepted_by else None,
                    h.accepted,
                    h.resolved,
                    h.outcome,
                ),
            )
            for who, when in h.replies:
                _message(
                    conn, tenant_id, cid, "outbound", when, attendant_id=attendants[who]
                )
    return Built(tenant_id, attendants, ids)


def rate(conn: Connection, built: Built) -> None:
    """CSAT surveys of four conversations (the attendant and team they closed
    with), one unanswered and one sent after the range."""
    rows = [
        ("c1", "ana", "vendas", at(D1, "09:20"), 5),
        ("c2", "ana", "vendas", at(D2, "00:40"), 3),
        ("c3", "bruno", "suporte", at(D1, "10:50"), 1),
        ("c4", "carla", "suporte", at(D2, "15:10"), None),
        ("c5", "bruno", "suporte", at(date(2025, 3, 12), "00:10"), 5),
    ]
    for conv, who, team, sent, score in rows:
        conn.execute(
            "INSERT INTO satisfaction_surveys (tenant_id, conversation_id,"
            " customer_id, attendant_id, team, sent_at, expires_at, score,"
            " rated_at) SELECT tenant_id, id, customer_id, %s, %s, %s,"
            " %s + interval '1 day', %s, CASE WHEN %s::int IS NOT NULL THEN %s END"
            " FROM conversations WHERE id = %s",
            (
                built.attendants[who],
                team,
                sent,
                sent,
                score,
                score,
                sent,
                built.conversations[conv],
            ),
        )


def _message(
    conn: Connection,
    tenant_id: UUID,
    conversation_id: UUID,
    direction: str,
    when: datetime,
    *,
    type_: str = "text",
    status: str | None = None,
    payload: dict[str, Any] | None = None,
    attendant_id: UUID | None = None,
) -> None:
    conn.execute(
        "INSERT INTO messages (tenant_id, conversation_id, direction, type, body,"
        " status, payload, sent_by_attendant_id, created_at)"
        " VALUES (%s, %s, %s, %s, 'texto', %s, %s, %s, %s)",
        (
            tenant_id,
            conversation_id,
            direction,
            type_,
            status or ("received" if direction == "inbound" else "delivered"),
            Jsonb(payload or {}),
            attendant_id,
            when,
        ),
    )


# -- the independent reference -------------------------------------------


def percentile_cont(values: list[float], fraction: float) -> float | None:
    """PostgreSQL's percentile_cont: linear interpolation between ranks."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def in_range(when: datetime, start: date, end: date) -> bool:
    return start <= when.astimezone(SP).date() <= end


def expected(convs: list[Conv], start: date, end: date) -> dict[str, Any]:
    """What the report must say for [start, end], from the specs alone."""
    picked = [c for c in convs if in_range(c.opened, start, end)]
    closed = [c for c in picked if c.closed]
    handoffs = [
        h for c in convs for h in c.handoffs if in_range(h.requested, start, end)
    ]

    def first_reply(h: Handoff) -> float | None:
        times = [
            w
            for _who, w in h.replies
            if w >= h.requested and (h.resolved is None or w <= h.resolved)
        ]
        return (min(times) - h.requested).total_seconds() if times else None

    first = [s for h in handoffs if (s := first_reply(h)) is not None]
    handling = [
        (h.resolved - h.accepted).total_seconds()
        for h in handoffs
        if h.accepted and h.resolved
    ]
    resolution = [
        (c.closed - c.opened).total_seconds()
        for c in closed
        if c.closed and any(h.accepted_by for h in c.handoffs)
    ]
    reasons: dict[str, int] = {}
    for h in handoffs:
        reasons[h.reason] = reasons.get(h.reason, 0) + 1
    per_day: dict[date, int] = {}
    for c in picked:
        day = c.opened.astimezone(SP).date()
        per_day[day] = per_day.get(day, 0) + 1
    return {
        "conversations": len(picked),
        "closed": len(closed),
        "contained": sum(1 for c in closed if not c.handoffs),
        "handed_off": sum(1 for c in picked if c.handoffs),
        "returned_to_bot": sum(
            1 for c in picked if any(h.outcome == "returned_to_bot" for h in c.handoffs)
        ),
        "transferred": sum(
            1 for c in picked if any(h.outcome == "transferred" for h in c.handoffs)
        ),
        "handoffs": len(handoffs),
        "abandoned": sum(
            1 for h in handoffs if h.accepted is None and h.outcome == "closed"
        ),
        "first_response": (
            len(first),
            percentile_cont(first, 0.5),
            percentile_cont(first, 0.9),
        ),
        "handling": (
            len(handling),
            percentile_cont(handling, 0.5),
            percentile_cont(handling, 0.9),
        ),
        "resolution": (
            len(resolution),
            percentile_cont(resolution, 0.5),
            percentile_cont(resolution, 0.9),
        ),
        "reasons": reasons,
        "per_day": per_day,
    }
