"""Reports: a 90-day report over 1,000,000 messages and 100,000 conversations.

Seeds one tenant (server-side ``generate_series``) in a throw-away embedded
PostgreSQL: conversations over 90 days on three numbers, a third handed to
people (some transferred, some never claimed, some returned to the bot), ten
messages each (attendants' replies after a claim, a few templates), and a
second tenant that must not count. Then, interleaved so both see the same
machine: the report as the API reads it (``atende.reports.tenant_report``,
from the refreshed facts) and the naive query over the raw tables (the same
measures with the first-response and 24-hour-window lookups done per row);
their totals must agree. Also timed: the full refresh (first run, backfill)
and an incremental one (the scheduled function's every 5 minutes).

``BENCH_REPORTS_SCALE`` (default 1.0) shrinks the data set; the test suite runs
it at 1% to keep the naive query and the facts in agreement.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row

from atende import db, reports
from atende.db.embedded import start_embedded
from atende.reports import ReportQuery
from bench.results import machine, write_section

CONVERSATIONS = 100_000
MESSAGES_PER_CONVERSATION = 10
DAYS = 90
ROUNDS = 20
TARGET_P95_MS = 500
END = date(2025, 6, 29)

NAIVE = """
WITH h AS (
    SELECT h.*, extract(epoch FROM (
        SELECT min(m.created_at) FROM messages m
        WHERE m.tenant_id = h.tenant_id AND m.conversation_id = h.conversation_id
          AND m.direction = 'outbound' AND m.sent_by_attendant_id IS NOT NULL
          AND m.created_at >= h.requested_at
          AND (h.resolved_at IS NULL OR m.created_at <= h.resolved_at)
    ) - h.requested_at) AS first_response,
    extract(epoch FROM h.resolved_at - h.accepted_at) AS handling
    FROM handoffs h
    WHERE h.requested_at >= %(s)s AND h.requested_at < %(e)s
), c AS (
    SELECT v.id, v.opened_at, v.closed_at,
        (SELECT count(*) FROM handoffs x
         WHERE x.tenant_id = v.tenant_id AND x.conversation_id = v.id) AS handoffs
    FROM conversations v
    WHERE v.opened_at >= %(s)s AND v.opened_at < %(e)s
), t AS (
    SELECT m.payload -> 'template' ->> 'category' AS category,
        NOT EXISTS (
            SELECT 1 FROM conversations cv JOIN messages i
                ON i.tenant_id = cv.tenant_id AND i.conversation_id = cv.id
            WHERE cv.tenant_id = v.tenant_id AND cv.customer_id = v.customer_id
              AND i.direction = 'inbound'
              AND i.created_at > m.created_at - interval '24 hours'
              AND i.created_at <= m.created_at) AS outside
    FROM messages m JOIN conversations v
        ON v.tenant_id = m.tenant_id AND v.id = m.conversation_id
    WHERE m.type = 'template' AND m.direction = 'outbound' AND m.status <> 'failed'
      AND m.created_at >= %(s)s AND m.created_at < %(e)s
)
SELECT
    (SELECT count(*) FROM c) AS conversations,
    (SELECT count(*) FROM c WHERE closed_at IS NOT NULL AND handoffs = 0) AS contained,
    (SELECT count(*) FROM h) AS handoffs,
    (SELECT count(*) FROM h WHERE accepted_at IS NULL AND outcome = 'closed')
        AS abandoned,
    (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY first_response) FROM h)
        AS first_response_p50,
    (SELECT percentile_cont(0.9) WITHIN GROUP (ORDER BY first_response) FROM h)
        AS first_response_p90,
    (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY handling) FROM h)
        AS handling_p50,
    (SELECT count(*) FROM t WHERE outside) AS templates_outside,
    (SELECT json_agg(d) FROM (
        SELECT date_trunc('day', opened_at AT TIME ZONE 'America/Sao_Paulo') AS day,
            count(*) AS n FROM c GROUP BY 1) d) AS per_day
"""


def _seed(admin_url: str, tenant_id: uuid.UUID, conversations: int) -> None:
    """One tenant's history, as superuser, all server-side."""
    start = datetime(END.year, END.month, END.day) - timedelta(days=DAYS - 1)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO tenants (id, name) VALUES (%s, %s)",
            (tenant_id, f"Bench {tenant_id.hex[:6]}"),
        )
        conn.execute(
            "INSERT INTO attendants (tenant_id, email, display_name, role, team)"
            " SELECT %s, 'a' || g || '@bench.example', 'Atendente ' || g,"
            " 'attendant', 'equipe ' || (g %% 4) FROM generate_series(1, 20) g",
            (tenant_id,),
        )
        conn.execute(
            "INSERT INTO whatsapp_numbers (tenant_id, phone_number_id)"
            " SELECT %s, %s || '-' || g FROM generate_series(0, 2) g",
            (tenant_id, tenant_id.hex[:8]),
        )
        conn.execute(
            "INSERT INTO customers (tenant_id, wa_user_id)"
            " SELECT %s, 'BR.' || %s || '.' || g FROM generate_series(1, %s) g",
            (tenant_id, tenant_id.hex[:8], conversations),
        )
        # 2% still open; the rest closed 5 to 125 minutes after opening.
        conn.execute(
            """
            INSERT INTO conversations (tenant_id, customer_id, state, opened_at,
                last_activity_at, closed_at, phone_number_id)
            SELECT tenant_id, id,
                CASE WHEN k %% 50 = 0 THEN 'bot' ELSE 'closed' END,
                o, o, CASE WHEN k %% 50 = 0 THEN NULL
                      ELSE o + make_interval(mins => (5 + (k * 7) %% 120)::int) END,
                %(t8)s || '-' || (k %% 3)
            FROM (SELECT tenant_id, id,
                         row_number() OVER (ORDER BY id) AS k,
                         %(start)s::timestamp AT TIME ZONE 'America/Sao_Paulo'
                           + random() * make_interval(days => %(days)s) AS o
                  FROM customers WHERE tenant_id = %(t)s) s
            """,
            {"t": tenant_id, "t8": tenant_id.hex[:8], "start": start, "days": DAYS},
        )
        # A third of the closed ones go to people: most claimed within 10
        # minutes, 1 in 10 never claimed (abandoned), 1 in 10 returned.
        conn.execute(
            """
            INSERT INTO handoffs (tenant_id, conversation_id, reason, team,
                requested_at, accepted_by, accepted_at, resolved_at, outcome)
            SELECT v.tenant_id, v.id,
                (ARRAY['pedido_do_cliente', 'reclamacao', 'cancelamento'])[1 + k %% 3],
                'equipe ' || (k %% 4),
                v.opened_at + interval '2 minutes',
                CASE WHEN k %% 10 <> 0 THEN a.id END,
                CASE WHEN k %% 10 <> 0
                     THEN v.opened_at + interval '2 minutes'
                          + make_interval(secs => (k * 13) %% 600) END,
                v.closed_at,
                CASE WHEN k %% 10 = 5 THEN 'returned_to_bot' ELSE 'closed' END
            FROM (SELECT *, row_number() OVER (ORDER BY id) AS k FROM conversations
                  WHERE tenant_id = %(t)s AND closed_at IS NOT NULL
                    AND closed_at > opened_at + interval '15 minutes') v
            JOIN LATERAL (SELECT id FROM attendants
                          WHERE tenant_id = %(t)s ORDER BY id
                          OFFSET (v.k %% 20) LIMIT 1) a ON true
            WHERE v.k %% 3 = 0
            """,
            {"t": tenant_id},
        )
        # Ten messages per conversation, 30 s apart: inbound and outbound in
        # turn; outbound after a claim is the attendant's; 1 in 100 outbound
        # a template.
        conn.execute(
            """
            INSERT INTO messages (tenant_id, conversation_id, direction, type, body,
                status, payload, sent_by_attendant_id, created_at)
            SELECT v.tenant_id, v.id,
                CASE WHEN g %% 2 = 1 THEN 'inbound' ELSE 'outbound' END,
                CASE WHEN g %% 2 = 0 AND (v.k + g) %% 100 = 0 THEN 'template'
                     ELSE 'text' END,
                'mensagem ' || g,
                CASE WHEN g %% 2 = 1 THEN 'received' ELSE 'delivered' END,
                CASE WHEN g %% 2 = 0 AND (v.k + g) %% 100 = 0
                     THEN jsonb_build_object('template', jsonb_build_object(
                         'name', 'aviso', 'category',
                         (ARRAY['marketing', 'utility'])[1 + v.k %% 2]))
                     ELSE '{}'::jsonb END,
                CASE WHEN g %% 2 = 0 AND h.accepted_at IS NOT NULL
                      AND v.opened_at + make_interval(secs => 30 * g) >= h.accepted_at
                     THEN h.accepted_by END,
                v.opened_at + make_interval(secs => 30 * g)
                    + CASE WHEN g = %(n)s AND v.k %% 7 = 0
                           THEN interval '30 hours' ELSE interval '0' END
            FROM (SELECT *, row_number() OVER (ORDER BY id) AS k FROM conversations
                  WHERE tenant_id = %(t)s) v
            LEFT JOIN handoffs h ON h.tenant_id = v.tenant_id AND h.conversation_id = v.id
            CROSS JOIN generate_series(1, %(n)s) g
            """,
            {"t": tenant_id, "n": MESSAGES_PER_CONVERSATION},
        )
        conn.execute("ANALYZE")


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] if len(samples) > 1 else samples[0]


def _naive(admin_url: str, tenant_id: uuid.UUID, query: ReportQuery) -> dict[str, Any]:
    with psycopg.connect(admin_url, row_factory=dict_row) as conn, conn.transaction():
        # As the application runs it: the app role's view, under RLS.
        conn.execute("SET LOCAL ROLE atende_app")
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant_id),))
        row = conn.execute(NAIVE, {"s": query.starts_at, "e": query.ends_at}).fetchone()
    assert row is not None
    return dict(row)


def run(*, scale: float = 1.0, record: bool = True) -> dict[str, Any]:
    conversations = max(300, int(CONVERSATIONS * scale))
    query = ReportQuery(start=END - timedelta(days=DAYS - 1), end=END)
    with tempfile.TemporaryDirectory(prefix="atende-bench-") as tmp:
        embedded = start_embedded(Path(tmp))
        dbname = conninfo_to_dict(embedded.app_url)["dbname"]
        admin_url = make_conninfo(embedded.admin_url, dbname=dbname)
        tenant_id, other = uuid.uuid4(), uuid.uuid4()
        seed_started = time.perf_counter()
        _seed(admin_url, tenant_id, conversations)
        _seed(admin_url, other, max(300, conversations // 10))
        seed_s = time.perf_counter() - seed_started
        with psycopg.connect(admin_url) as conn:
            counts = conn.execute(
                "SELECT (SELECT count(*) FROM messages WHERE tenant_id = %s),"
                " (SELECT count(*) FROM handoffs WHERE tenant_id = %s)",
                (tenant_id, tenant_id),
            ).fetchone()
        assert counts is not None
        messages, handoffs = counts
        db.configure(embedded.app_url)
        try:
            started = time.perf_counter()
            reports.refresh(tenant_id, full=True)
            full_refresh_s = time.perf_counter() - started
            started = time.perf_counter()
            incremental = reports.refresh(tenant_id)
            incremental_s = time.perf_counter() - started

            facts_ms: list[float] = []
            naive_ms: list[float] = []
            report = naive = None
            rounds = ROUNDS if scale >= 1 else 3
            for _ in range(rounds):
                started = time.perf_counter()
                report = reports.tenant_report(tenant_id, query)
                facts_ms.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                naive = _naive(admin_url, tenant_id, query)
                naive_ms.append((time.perf_counter() - started) * 1000)
            hourly_ms: list[float] = []
            hourly = ReportQuery(
                start=END - timedelta(days=30),
                end=END,
                granularity="hour",
                team="equipe 1",
            )
            for _ in range(rounds):
                started = time.perf_counter()
                reports.tenant_report(tenant_id, hourly)
                hourly_ms.append((time.perf_counter() - started) * 1000)
        finally:
            db.close_pool()
            embedded.server.cleanup()
    assert report is not None and naive is not None
    totals = report.totals
    agree = {
        "conversations": (totals.conversations, naive["conversations"]),
        "contained": (totals.contained, naive["contained"]),
        "handoffs": (totals.handoffs, naive["handoffs"]),
        "abandoned": (totals.abandoned, naive["abandoned"]),
        "first_response_p50": (
            totals.first_response.median_seconds,
            naive["first_response_p50"],
        ),
        "first_response_p90": (
            totals.first_response.p90_seconds,
            naive["first_response_p90"],
        ),
        "handling_p50": (totals.handling.median_seconds, naive["handling_p50"]),
        "templates_outside": (
            sum(t.outside_window for t in report.templates),
            naive["templates_outside"],
        ),
        "days_with_conversations": (
            sum(1 for p in report.periods if p.measures.conversations),
            len(naive["per_day"] or []),
        ),
    }
    mismatched = {
        k: v
        for k, v in agree.items()
        if not (
            v[0] == v[1] or (isinstance(v[0], float) and abs(v[0] - float(v[1])) < 1e-6)
        )
    }
    assert not mismatched, mismatched
    result = {
        "conversations": conversations,
        "messages": messages,
        "handoffs": handoffs,
        "seed_s": seed_s,
        "full_refresh_s": full_refresh_s,
        "incremental": incremental,
        "incremental_s": incremental_s,
        "facts_p50": statistics.median(facts_ms),
        "facts_p95": _p95(facts_ms),
        "naive_p50": statistics.median(naive_ms),
        "naive_p95": _p95(naive_ms),
        "hourly_p50": statistics.median(hourly_ms),
        "hourly_p95": _p95(hourly_ms),
        "rounds": rounds,
        "totals": totals,
    }
    if record:
        _record(result)
    return result


def _record(r: dict[str, Any]) -> None:
    t = r["totals"]
    body = f"""## Reports (issue 15)

{machine()}

One tenant: {r["conversations"]:,} conversations over {DAYS} days, {r["messages"]:,}
messages, {r["handoffs"]:,} handoffs (plus a second tenant a tenth its size); seeded
server-side in {r["seed_s"]:.0f} s. The 90-day report by day, {r["rounds"]} rounds,
interleaved with the naive query over the raw tables (same totals, checked):

| query | median | p95 |
| --- | --- | --- |
| report from the facts (`tenant_report`, 90 days by day, all measures) | {r["facts_p50"]:.0f} ms | **{r["facts_p95"]:.0f} ms** |
| report from the facts, 31 days by hour, one team | {r["hourly_p50"]:.0f} ms | {r["hourly_p95"]:.0f} ms |
| baseline: naive query over raw tables (fewer measures) | {r["naive_p50"]:.0f} ms | {r["naive_p95"]:.0f} ms |

Target: p95 ≤ {TARGET_P95_MS} ms → {"met" if r["facts_p95"] <= TARGET_P95_MS else "NOT met"}.
Refresh: full (first run, backfill) {r["full_refresh_s"]:.1f} s; incremental (the
scheduled run: {r["incremental"]:,} open or recently active conversations)
{r["incremental_s"]:.2f} s. Report totals: {t.conversations:,} conversations,
containment {t.containment_rate or 0:.1%}, {t.handoffs:,} handoffs, first response
median {t.first_response.median_seconds or 0:.0f} s.
"""
    write_section("reports", body)


def main() -> None:
    result = run(scale=float(os.environ.get("BENCH_REPORTS_SCALE", "1")))
    print(
        f"reports: facts p95 {result['facts_p95']:.0f} ms, "
        f"naive p95 {result['naive_p95']:.0f} ms"
    )


if __name__ == "__main__":
    main()
