"""Row-level security overhead and the cost of opening a tenant transaction.

Seeds 1,000,000 messages over 100 tenants in a throw-away embedded PostgreSQL, then
runs the same tenant-scoped indexed query (a conversation's latest 50 messages) as
the application role under RLS and as a role with BYPASSRLS, interleaved in rounds
so both see the same machine conditions.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row

from atende import db
from atende.db.embedded import start_embedded
from bench.results import machine, write_section

TENANTS = 100
CONVERSATIONS_PER_TENANT = 10
MESSAGES = 1_000_000
ROUNDS = 10
QUERIES_PER_ROUND = 300
TXN_SAMPLES = 3000

QUERY = (
    "SELECT id, direction, body, created_at FROM messages"
    " WHERE tenant_id = %s AND conversation_id = %s"
    " ORDER BY created_at DESC LIMIT 50"
)


def _seed(admin_url: str) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Insert the data set as superuser; returns (tenant, conversation) pairs."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO tenants (id, name) SELECT gen_random_uuid(), 'Tenant ' || g"
            " FROM generate_series(1, %s) g",
            (TENANTS,),
        )
        conn.execute(
            "INSERT INTO customers (tenant_id, wa_user_id)"
            " SELECT t.id, 'BR.' || t.id || '.' || g"
            " FROM tenants t, generate_series(1, %s) g",
            (CONVERSATIONS_PER_TENANT,),
        )
        conn.execute(
            "INSERT INTO conversations (tenant_id, customer_id)"
            " SELECT tenant_id, id FROM customers"
        )
        per_conversation = MESSAGES // (TENANTS * CONVERSATIONS_PER_TENANT)
        conn.execute(
            """
            INSERT INTO messages (tenant_id, conversation_id, direction, type, body,
                                  created_at)
            SELECT c.tenant_id, c.id, 'inbound', 'text', 'mensagem ' || g,
                   now() - make_interval(secs => g)
            FROM conversations c, generate_series(1, %s) g
            """,
            (per_conversation,),
        )
        conn.execute("VACUUM ANALYZE")
        conn.execute(
            "DO $$ BEGIN CREATE ROLE atende_bench_bypass LOGIN BYPASSRLS;"
            " EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )
        conn.execute(
            "GRANT SELECT ON ALL TABLES IN SCHEMA public TO atende_bench_bypass"
        )
        conn.execute("GRANT USAGE ON SCHEMA public TO atende_bench_bypass")
        conn.execute("GRANT CONNECT ON DATABASE atende TO atende_bench_bypass")
        count = conn.execute("SELECT count(*) FROM messages").fetchone()
        assert count is not None and count[0] == MESSAGES, count
        rows = conn.execute("SELECT tenant_id, id FROM conversations").fetchall()
    return [(r[0], r[1]) for r in rows]


def _time_us(fn: Callable[[], object]) -> float:
    started = time.perf_counter_ns()
    fn()
    return (time.perf_counter_ns() - started) / 1000


def _query_us(
    conn: psycopg.Connection[Any], tenant_id: uuid.UUID, conversation_id: uuid.UUID
) -> float:
    started = time.perf_counter_ns()
    rows = conn.execute(QUERY, (tenant_id, conversation_id), prepare=True).fetchall()
    elapsed = (time.perf_counter_ns() - started) / 1000
    assert len(rows) == 50, len(rows)
    return elapsed


def _median(samples: list[float]) -> float:
    return statistics.median(samples)


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


def run() -> str:
    with tempfile.TemporaryDirectory(prefix="atende-bench-") as tmp:
        embedded = start_embedded(Path(tmp))
        dbname = conninfo_to_dict(embedded.app_url)["dbname"]
        admin_url = make_conninfo(embedded.admin_url, dbname=dbname)
        seed_started = time.perf_counter()
        pairs = _seed(admin_url)
        seed_s = time.perf_counter() - seed_started
        db.configure(embedded.app_url)
        bypass_url = make_conninfo(embedded.app_url, user="atende_bench_bypass")

        rls: list[float] = []
        bypass: list[float] = []
        # The baseline connection is built like the pool's (dict rows), so the
        # only difference is the role; the order alternates so neither side
        # always finds the pages warmed by the other.
        with psycopg.connect(
            bypass_url, autocommit=True, row_factory=dict_row
        ) as bypass_conn:
            for round_no in range(ROUNDS):
                for i in range(QUERIES_PER_ROUND):
                    pair = pairs[(round_no * 37 + i * 13) % len(pairs)]
                    for rls_turn in (i % 2 == 0, i % 2 == 1):
                        if rls_turn:
                            with db.tenant_transaction(pair[0]) as conn:
                                rls.append(_query_us(conn, *pair))
                        else:
                            with bypass_conn.transaction():
                                bypass.append(_query_us(bypass_conn, *pair))

        # Cost of opening a tenant transaction vs. a plain pooled transaction.
        pool = db.get_pool()
        tenant_id = pairs[0][0]
        plain: list[float] = []
        scoped: list[float] = []

        def open_plain() -> None:
            with pool.connection() as conn, conn.transaction():
                conn.execute("SELECT 1")

        def open_scoped() -> None:
            with db.tenant_transaction(tenant_id) as conn:
                conn.execute("SELECT 1")

        for _ in range(TXN_SAMPLES):
            plain.append(_time_us(open_plain))
            scoped.append(_time_us(open_scoped))

        with psycopg.connect(admin_url) as admin:
            row = admin.execute("SELECT version()").fetchone()
        version = str(row[0]).split(" on ")[0] if row else "PostgreSQL"
        db.close_pool()
        embedded.server.cleanup()

    ratio = _median(rls) / _median(bypass)
    ratio_p95 = _p95(rls) / _p95(bypass)
    return f"""
## Row-level security overhead (Foundation)

{machine()}; embedded {version} (pgserver, Unix socket).

Data: {MESSAGES:,} messages, {TENANTS} tenants × {CONVERSATIONS_PER_TENANT} conversations
(seeded in {seed_s:.1f} s). Query: a conversation's latest 50 messages
(`WHERE tenant_id = … AND conversation_id = … ORDER BY created_at DESC LIMIT 50`,
index `(tenant_id, conversation_id, created_at)`), prepared, {ROUNDS * QUERIES_PER_ROUND}
runs per role, interleaved in alternating order, both through dict-row connections.

| role | median µs | p95 µs |
| --- | ---: | ---: |
| `atende_app` under FORCE RLS (tenant transaction) | {_median(rls):.0f} | {_p95(rls):.0f} |
| `atende_bench_bypass` (BYPASSRLS, same query) — baseline | {_median(bypass):.0f} | {_p95(bypass):.0f} |
| **ratio RLS / bypass** (goal ≤ 1.15) | **{ratio:.3f}** | {ratio_p95:.3f} |

Opening a transaction ({TXN_SAMPLES} samples each; checkout, BEGIN, `SELECT 1`, COMMIT):

| transaction | median µs | p95 µs |
| --- | ---: | ---: |
| plain pooled transaction — baseline | {_median(plain):.0f} | {_p95(plain):.0f} |
| `tenant_transaction` (adds `set_config('app.tenant_id', …, true)`) | {_median(scoped):.0f} | {_p95(scoped):.0f} |
| **added cost of the tenant scope** | **{_median(scoped) - _median(plain):.0f}** | |
"""


def main() -> None:
    body = run()
    write_section("rls", body)
    print(body)


if __name__ == "__main__":
    main()
