"""The report facts (migration 0012), recomputed from the channel's tables.

Every change to a conversation, its handoffs or its replies moves the
conversation's ``last_activity_at``; the scheduled refresh recomputes the facts
of every conversation touched since its last run (with a margin for
transactions that committed late), and of every conversation still open.
"""

from __future__ import annotations

from datetime import timedelta
from typing import LiteralString
from uuid import UUID

from atende.bot.tracker import bot_events, tracker_store_url
from atende.db import Connection, directory_transaction, tenant_transaction
from atende.observability import logger

__all__ = ["FACTS_SQL", "refresh", "refresh_everywhere", "refresh_tenant"]

# Late commits: a transaction that started before the last refresh and
# committed after it carries an older last_activity_at.
_MARGIN = timedelta(hours=1)
_BATCH = 2000

# The facts of the conversations ``ids``; shared
# with the benchmark's naive baseline, which runs them over every conversation.
FACTS_SQL: dict[str, LiteralString] = {
    "report_handoffs": """
    INSERT INTO report_handoffs (tenant_id, handoff_id, conversation_id, entry_point,
        reason, team, attendant_id, requested_at, accepted_at, first_response_at,
        resolved_at, outcome)
    SELECT h.tenant_id, h.id, h.conversation_id, v.phone_number_id, h.reason, h.team,
        h.accepted_by, h.requested_at, h.accepted_at, r.created_at, h.resolved_at,
        h.outcome
    FROM conversations v
    JOIN handoffs h ON h.tenant_id = v.tenant_id AND h.conversation_id = v.id
    LEFT JOIN LATERAL (
        -- The first reply a person wrote while this handoff was open.
        SELECT m.created_at FROM messages m
        WHERE m.tenant_id = h.tenant_id AND m.conversation_id = h.conversation_id
          AND m.direction = 'outbound' AND m.sent_by_attendant_id IS NOT NULL
          AND m.created_at >= h.requested_at
          AND (h.resolved_at IS NULL OR m.created_at <= h.resolved_at)
        ORDER BY m.created_at LIMIT 1
    ) r ON true
    WHERE v.id = ANY(%(ids)s)
    """,
    "report_conversations": """
    INSERT INTO report_conversations (tenant_id, conversation_id, entry_point,
        opened_at, closed_at, handoffs, returns_to_bot, transfers, teams, attendant_ids)
    SELECT v.tenant_id, v.id, v.phone_number_id, v.opened_at, v.closed_at,
        count(h.handoff_id)::integer,
        count(*) FILTER (WHERE h.outcome = 'returned_to_bot')::integer,
        count(*) FILTER (WHERE h.outcome = 'transferred')::integer,
        coalesce(array_agg(DISTINCT h.team) FILTER (WHERE h.team IS NOT NULL), '{}'),
        coalesce(array_agg(DISTINCT h.attendant_id)
                 FILTER (WHERE h.attendant_id IS NOT NULL), '{}')
    FROM conversations v
    LEFT JOIN report_handoffs h
        ON h.tenant_id = v.tenant_id AND h.conversation_id = v.id
    WHERE v.id = ANY(%(ids)s)
    GROUP BY v.tenant_id, v.id
    """,
    "report_template_sends": """
    INSERT INTO report_template_sends (tenant_id, message_id, conversation_id,
        entry_point, sent_at, category, outside_window)
    SELECT m.tenant_id, m.id, m.conversation_id, v.phone_number_id, m.created_at,
        coalesce(nullif(m.payload -> 'template' ->> 'category', ''), 'desconhecida'),
        NOT EXISTS (
            -- The customer-service window is the customer's, whichever
            -- conversation their last message opened.
            SELECT 1 FROM conversations cv
            JOIN messages i ON i.tenant_id = cv.tenant_id AND i.conversation_id = cv.id
            WHERE cv.tenant_id = v.tenant_id AND cv.customer_id = v.customer_id
              AND i.direction = 'inbound'
              AND i.created_at > m.created_at - interval '24 hours'
              AND i.created_at <= m.created_at
        )
    FROM conversations v
    JOIN messages m ON m.tenant_id = v.tenant_id AND m.conversation_id = v.id
    WHERE v.id = ANY(%(ids)s) AND m.direction = 'outbound' AND m.type = 'template'
      AND m.status <> 'failed'
    """,
}


def _refresh_bot_events(conn: Connection, ids: list[UUID], tracker_db_url: str) -> None:
    """Copy what the bot recorded for these conversations (Rasa's tracker)."""
    events = bot_events(tracker_db_url, [str(i) for i in ids])
    conn.execute(
        "DELETE FROM report_bot_events WHERE conversation_id = ANY(%s)", (ids,)
    )
    with conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO report_bot_events (tenant_id, tracker_event_id,"
            " conversation_id, at, kind, intent)"
            " VALUES (current_tenant_id(), %s, %s, %s, %s, %s)",
            [
                (e.tracker_event_id, e.conversation_id, e.at, e.kind, e.intent)
                for e in events
            ],
        )


def refresh_tenant(
    conn: Connection, *, full: bool = False, tracker_db_url: str | None = None
) -> int:
    """Recompute the current tenant's facts; returns how many conversations.

    ``full`` recomputes every conversation (first run, tests, backfills).
    ``tracker_db_url``: Rasa's tracker store, for the bot's measures (none when
    no bot is deployed: they show as unavailable).
    """
    last = conn.execute(
        "SELECT refreshed_at FROM report_refreshes FOR UPDATE"
    ).fetchone()
    if full or last is None:
        rows = conn.execute("SELECT id FROM conversations").fetchall()
    else:
        rows = conn.execute(
            "SELECT id FROM conversations"
            " WHERE state <> 'closed' OR last_activity_at >= %s",
            (last["refreshed_at"] - _MARGIN,),
        ).fetchall()
    # Fixed once: a conversation touched meanwhile waits for the next run.
    # In batches, so no statement nears the statement timeout on a backfill.
    ids = [r["id"] for r in rows]
    for first in range(0, len(ids), _BATCH):
        params = {"ids": ids[first : first + _BATCH]}
        for table in FACTS_SQL:
            conn.execute(
                # The table names are this module's constants.
                f"DELETE FROM {table} WHERE conversation_id = ANY(%(ids)s)",  # noqa: S608
                params,
            )
        for sql in FACTS_SQL.values():
            conn.execute(sql, params)
        if tracker_db_url is not None:
            _refresh_bot_events(conn, params["ids"], tracker_db_url)
    conn.execute(
        "INSERT INTO report_refreshes (tenant_id, refreshed_at, with_bot)"
        " VALUES (current_tenant_id(), now(), %s) ON CONFLICT (tenant_id)"
        " DO UPDATE SET refreshed_at = excluded.refreshed_at,"
        " with_bot = excluded.with_bot",
        (tracker_db_url is not None,),
    )
    return len(rows)


def refresh(
    tenant_id: UUID | str, *, full: bool = False, tracker_db_url: str | None = None
) -> int:
    """Refresh one tenant's facts (its own transaction); the tracker store
    from the settings unless given."""
    with tenant_transaction(tenant_id) as conn:
        return refresh_tenant(
            conn, full=full, tracker_db_url=tracker_db_url or tracker_store_url()
        )


def refresh_everywhere() -> int:
    """:func:`refresh` for every tenant; one tenant's failure spares the rest."""
    with directory_transaction() as conn:
        tenant_ids = [r["id"] for r in conn.execute("SELECT id FROM tenants")]
    total = 0
    for tenant_id in tenant_ids:
        try:
            total += refresh(tenant_id)
        except Exception:
            logger.exception("report refresh failed for one tenant")
    return total
