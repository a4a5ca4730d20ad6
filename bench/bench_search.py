"""The console's search over one large tenant, against the naive ILIKE scan.

Seeds a throw-away embedded PostgreSQL (all migrations, so the search's
words table and its triggers) with one tenant of 100,000 conversations /
1,000,000 PT-BR messages and a second tenant of 20,000 / 200,000 that shares
every table and index (the cost of isolation: RLS filters its rows out). Then runs a mix of searches through the real use case
(``atende.console.search_conversations``: tenant transaction, FORCE RLS,
audit event) as a supervisor, who searches everything, and as an attendant
(their own conversations, about 1/25 of the closed ones, and the queue), and
reports p50/p95 per kind. Baseline in the same run: the query a user would otherwise write,
``ILIKE '%term%'`` over names, phones and message bodies, same page size.
Also the cost keeping the words adds to writing a message.

``BENCH_SEARCH_SCALE`` (default 1) shrinks the data set for a quick check.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from atende import db
from atende.audit import Actor, RequestContext
from atende.console import search_conversations
from atende.db.embedded import start_embedded
from atende.identity import AttendantPrincipal, Role
from bench.results import machine, write_section

SCALE = float(os.environ.get("BENCH_SEARCH_SCALE", "1"))
CONVERSATIONS = int(100_000 * SCALE)
OTHER_CONVERSATIONS = int(20_000 * SCALE)
MESSAGES_PER_CONVERSATION = 10
RUNS = 40  # per kind, the search
BASELINE_RUNS = 5  # per kind, the ILIKE scan (seconds each)
WRITES = 1000
ATTENDANTS = 25
PAGE = 20
GOAL_MS = 200

# PT-BR customer-service text: a message is an opening, a subject and a
# closing, picked with a skew (a few subjects are most of the traffic).
_OPENINGS = [
    "Oi",
    "Olá, bom dia",
    "Boa tarde",
    "Boa noite",
    "Oi, tudo bem?",
    "Olá, preciso de ajuda",
    "Bom dia, pessoal",
    "Por favor",
    "Com licença",
    "Oi de novo",
]
_SUBJECTS = [
    "meu pedido ainda não chegou",
    "quero a segunda via do boleto",
    "o pagamento foi recusado no cartão",
    "preciso trocar o endereço de entrega",
    "quero cancelar a assinatura",
    "o produto veio com defeito",
    "qual o prazo de entrega para São Paulo?",
    "não recebi a nota fiscal",
    "vocês aceitam pix?",
    "a cobrança veio em duplicidade",
    "quero falar com um atendente",
    "como faço para devolver a mercadoria?",
    "o código de rastreio não funciona",
    "meu cupom de desconto não foi aplicado",
    "a fatura de março está errada",
    "preciso atualizar meu cadastro",
    "quando volta ao estoque o tênis azul?",
    "o reembolso ainda não caiu na conta",
    "a geladeira chegou amassada",
    "quero mudar a forma de pagamento para débito automático",
    "o aplicativo não abre no celular",
    "esqueci minha senha",
    "tem loja física em Curitiba?",
    "a instalação foi agendada para quinta-feira",
    "o técnico não apareceu",
]
_CLOSINGS = [
    "",
    "Obrigado!",
    "Obrigada.",
    "Aguardo retorno.",
    "Fico no aguardo.",
    "É urgente.",
    "Valeu",
    "Desde já agradeço.",
]
_FIRST = [
    "Maria",
    "José",
    "Ana",
    "João",
    "Antônio",
    "Francisca",
    "Carlos",
    "Paulo",
    "Adriana",
    "Lucas",
    "Juliana",
    "Márcia",
    "Fernanda",
    "Luís",
    "Gabriela",
    "Rafael",
    "Letícia",
    "Bruno",
    "Patrícia",
    "Sebastião",
    "Conceição",
    "Vinícius",
]
_LAST = [
    "Silva",
    "Santos",
    "Oliveira",
    "Souza",
    "Rodrigues",
    "Ferreira",
    "Alves",
    "Pereira",
    "Lima",
    "Gomes",
    "Costa",
    "Ribeiro",
    "Martins",
    "Carvalho",
    "Araújo",
    "Melo",
    "Barbosa",
    "Cardoso",
    "Nascimento",
    "Conceição",
    "Assunção",
    "Magalhães",
    "Brandão",
    "Guimarães",
]


def _array(values: list[str]) -> str:
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _seed_tenant(conn: psycopg.Connection[Any], name: str, conversations: int) -> Any:
    """One tenant: its customers (one conversation each, 10% by @username),
    conversations over the last year, their messages, labels, LGPD requests."""
    row = conn.execute(
        "INSERT INTO tenants (id, name) VALUES (gen_random_uuid(), %s) RETURNING id",
        (name,),
    ).fetchone()
    assert row is not None
    tenant = row[0]
    conn.execute(
        f"""
        INSERT INTO customers (tenant_id, wa_user_id, phone, username, display_name,
                               created_at)
        SELECT %(t)s, 'BR.' || g,
               CASE WHEN g %% 10 <> 0 THEN '55' || (11 + g %% 89) || '9'
                    || lpad(((g * 7919) %% 100000000)::text, 8, '0') END,
               CASE WHEN g %% 10 = 0 THEN 'cliente.' || g END,
               ({_array(_FIRST)})[1 + (g * 31) %% {len(_FIRST)}] || ' '
               || ({_array(_LAST)})[1 + (g * 17) %% {len(_LAST)}] || ' '
               || ({_array(_LAST)})[1 + (g * 7) %% {len(_LAST)}],
               now() - interval '400 days'
        FROM generate_series(1, %(n)s) g
        """,
        {"t": tenant, "n": conversations},
    )
    # 80% closed; the rest with the bot, waiting or with a person.
    conn.execute(
        """
        INSERT INTO conversations (tenant_id, customer_id, state, opened_at,
                                   last_activity_at, closed_at)
        SELECT c.tenant_id, c.id, s.state, s.at - interval '1 hour', s.at,
               CASE WHEN s.state = 'closed' THEN s.at END
        FROM customers c,
             LATERAL (SELECT (ARRAY['closed','closed','closed','closed','closed',
                                    'closed','closed','closed','bot',
                                    'waiting_human'])[1 + abs(hashtext(c.id::text)) %% 10]
                             AS state,
                             now() - make_interval(secs => random() * 365 * 86400)
                             AS at) s
        WHERE c.tenant_id = %(t)s
        """,
        {"t": tenant},
    )
    # Subjects skewed: random()^2 makes the first ones the most frequent.
    conn.execute(
        f"""
        INSERT INTO messages (tenant_id, conversation_id, direction, type, body,
                              status, created_at)
        SELECT v.tenant_id, v.id,
               CASE WHEN g %% 2 = 1 THEN 'inbound' ELSE 'outbound' END, 'text',
               ({_array(_OPENINGS)})[1 + floor(random() * {len(_OPENINGS)})::int]
               || ', ' || ({_array(_SUBJECTS)})[1 + floor(random() ^ 2
                                                  * {len(_SUBJECTS)})::int]
               || '. ' || ({_array(_CLOSINGS)})[1 + floor(random()
                                                 * {len(_CLOSINGS)})::int],
               CASE WHEN g %% 2 = 1 THEN 'received' ELSE 'read' END,
               v.last_activity_at - make_interval(mins => {MESSAGES_PER_CONVERSATION} - g)
        FROM conversations v, generate_series(1, {MESSAGES_PER_CONVERSATION}) g
        WHERE v.tenant_id = %(t)s
        """,
        {"t": tenant},
    )
    conn.execute(
        "INSERT INTO labels (tenant_id, name, color) SELECT %(t)s, l, '#336699'"
        " FROM unnest(ARRAY['VIP', 'Reclamação', 'Boleto', 'Entrega', 'Troca']) l",
        {"t": tenant},
    )
    # About 10% of the conversations carry a label.
    conn.execute(
        """
        INSERT INTO conversation_labels (tenant_id, conversation_id, label_id)
        SELECT v.tenant_id, v.id, l.id FROM conversations v
        JOIN LATERAL (SELECT id FROM labels WHERE tenant_id = v.tenant_id
                      ORDER BY id OFFSET abs(hashtext(v.id::text)) %% 5 LIMIT 1) l
          ON true
        WHERE v.tenant_id = %(t)s AND abs(hashtext(v.id::text || 'l')) %% 10 = 0
        """,
        {"t": tenant},
    )
    conn.execute(
        "INSERT INTO lgpd_requests (tenant_id, customer_id, kind)"
        " SELECT tenant_id, id, 'access' FROM customers"
        " WHERE tenant_id = %(t)s AND abs(hashtext(id::text)) %% 200 = 0",
        {"t": tenant},
    )
    # ATTENDANTS people, who handled the closed conversations in turn.
    conn.execute(
        "INSERT INTO attendants (tenant_id, email, display_name, role)"
        " SELECT %(t)s, 'atendente' || g || '@loja.example', 'Atendente ' || g,"
        " 'attendant' FROM generate_series(1, %(n)s) g",
        {"t": tenant, "n": ATTENDANTS},
    )
    conn.execute(
        "UPDATE conversations v SET assigned_attendant_id = a.id"
        " FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM attendants"
        "       WHERE tenant_id = %(t)s) a"
        " WHERE v.tenant_id = %(t)s AND v.state = 'closed'"
        " AND abs(hashtext(v.id::text)) %% %(n)s = a.k",
        {"t": tenant, "n": ATTENDANTS},
    )
    return tenant


def _queries(conn: psycopg.Connection[Any], tenant: Any) -> dict[str, list[str]]:
    """Search terms per kind, drawn from the tenant's own data."""
    rng = random.Random(7)

    def sample(sql: str) -> list[Any]:
        return [r[0] for r in conn.execute(sql, {"t": tenant}).fetchall()]

    phones = sample(
        "SELECT phone FROM customers WHERE tenant_id = %(t)s AND phone IS NOT NULL"
        " ORDER BY random() LIMIT 40"
    )
    return {
        # A surname, or first name and surname, typed without accents.
        "name": [
            rng.choice([rng.choice(_LAST), f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"])
            .lower()
            .replace("ã", "a")
            .replace("ç", "c")
            for _ in range(RUNS)
        ],
        # As people type them: DDD and number, with punctuation, no 55.
        "phone": [f"({p[2:4]}) {p[4:9]}-{p[9:]}" for p in phones],
        "username": [
            "@" + u
            for u in sample(
                "SELECT username FROM customers WHERE tenant_id = %(t)s"
                " AND username IS NOT NULL ORDER BY random() LIMIT 40"
            )
        ],
        "protocol": [
            str(i)[:8]
            for i in sample(
                "SELECT id FROM conversations WHERE tenant_id = %(t)s"
                " ORDER BY random() LIMIT 40"
            )
        ],
        "word (common)": [
            rng.choice(["pedido", "boleto", "pagamento", "entrega"])
            for _ in range(RUNS)
        ],
        "word (rare)": [
            rng.choice(["técnico", "senha", "Curitiba", "geladeira", "aplicativo"])
            for _ in range(RUNS)
        ],
        "phrase": [
            rng.choice(
                [
                    '"segunda via"',
                    '"nota fiscal"',
                    '"débito automático"',
                    '"código de rastreio"',
                ]
            )
            for _ in range(RUNS)
        ],
        "no hit": [
            rng.choice(["xilofone", "hipopótamo", "paralelepípedo"])
            for _ in range(RUNS)
        ],
    }


def _ms(fn: Callable[[], object]) -> float:
    started = time.perf_counter_ns()
    fn()
    return (time.perf_counter_ns() - started) / 1e6


def _p(samples: list[float], q: int) -> float:
    if len(samples) < 2:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


# What a user would otherwise write: every field, ILIKE, the same page.
_NAIVE = (
    "SELECT v.id, v.last_activity_at FROM conversations v"
    " JOIN customers c ON c.tenant_id = v.tenant_id AND c.id = v.customer_id"
    " WHERE c.display_name ILIKE %(p)s OR c.phone ILIKE %(p)s"
    " OR c.username ILIKE %(p)s OR v.id::text ILIKE %(p)s"
    " OR EXISTS (SELECT 1 FROM messages m WHERE m.tenant_id = v.tenant_id"
    "  AND m.conversation_id = v.id AND m.body ILIKE %(p)s)"
    " ORDER BY v.last_activity_at DESC, v.id DESC LIMIT %(n)s"
)


def _fetch(conn: Any, params: dict[str, Any]) -> list[Any]:
    return list(conn.execute(_NAIVE, params).fetchall())


def _writes(tenant: Any, conversation: Any) -> float:
    """Median ms of inserting one message in its own tenant transaction."""
    samples = []
    for n in range(WRITES):
        with db.tenant_transaction(tenant) as conn:
            samples.append(
                _ms(
                    partial(
                        conn.execute,
                        "INSERT INTO messages (tenant_id, conversation_id, direction,"
                        " type, body) VALUES (current_tenant_id(), %s, 'inbound',"
                        " 'text', %s)",
                        (conversation, f"Oi, meu pedido {n} ainda não chegou."),
                    )
                )
            )
    return statistics.median(samples)


def run() -> str:
    with tempfile.TemporaryDirectory(prefix="atende-bench-") as tmp:
        embedded = start_embedded(Path(tmp))
        dbname = conninfo_to_dict(embedded.app_url)["dbname"]
        admin_url = make_conninfo(embedded.admin_url, dbname=dbname)
        seed_started = time.perf_counter()
        with psycopg.connect(admin_url, autocommit=True) as admin:
            tenant = _seed_tenant(admin, "Loja Grande", CONVERSATIONS)
            other = _seed_tenant(admin, "Loja Vizinha", OTHER_CONVERSATIONS)
            admin.execute("VACUUM ANALYZE")
            seed_s = time.perf_counter() - seed_started
            counts = admin.execute(
                "SELECT (SELECT count(*) FROM conversations),"
                " (SELECT count(*) FROM messages)"
            ).fetchone()
            queries = _queries(admin, tenant)
            labels = [
                r[0]
                for r in admin.execute(
                    "SELECT id FROM labels WHERE tenant_id = %s", (tenant,)
                ).fetchall()
            ]
            other_queries = _queries(admin, other)
            row = admin.execute("SELECT version()").fetchone()
            version = str(row[0]).split(" on ")[0] if row else "PostgreSQL"
            a_conversation = admin.execute(
                "SELECT id FROM conversations WHERE tenant_id = %s LIMIT 1", (tenant,)
            ).fetchone()
        db.configure(embedded.app_url)

        def principal(tenant_id: Any) -> AttendantPrincipal:
            return AttendantPrincipal(
                tenant_id, uuid.uuid4(), Role.SUPERVISOR, "bench@loja", "Bench"
            )

        context = RequestContext(Actor("operator", "bench"))
        load = os.getloadavg()
        sup, other_sup = principal(tenant), principal(other)
        results: dict[str, list[float]] = {}
        found: dict[str, list[int]] = {}
        for kind, terms in queries.items():
            for term in terms:
                page = None

                def one(term: str = term) -> None:
                    nonlocal page
                    page = search_conversations(
                        sup, q=term, limit=PAGE, context=context
                    )

                results.setdefault(kind, []).append(_ms(one))
                assert page is not None
                found.setdefault(kind, []).append(len(page.results))
        for n in range(RUNS):
            label = labels[n % len(labels)]
            page = None

            def by_label(label: Any = label) -> None:
                nonlocal page
                page = search_conversations(
                    sup, q=None, label=label, limit=PAGE, context=context
                )

            results.setdefault("label", []).append(_ms(by_label))
            assert page is not None
            found.setdefault("label", []).append(len(page.results))
        isolated: list[float] = []
        for term in other_queries["word (common)"] + other_queries["name"]:
            isolated.append(
                _ms(
                    partial(
                        search_conversations,
                        other_sup,
                        q=term,
                        limit=PAGE,
                        context=context,
                    )
                )
            )

        # An attendant: only their own conversations and their queue's.
        with psycopg.connect(admin_url) as admin:
            row = admin.execute(
                "SELECT id FROM attendants WHERE tenant_id = %s LIMIT 1", (tenant,)
            ).fetchone()
        assert row is not None
        attendant = AttendantPrincipal(
            tenant, row[0], Role.ATTENDANT, "atendente@loja", "Atendente"
        )
        for kind in ("word (common)", "name"):
            for term in queries[kind]:
                started = time.perf_counter_ns()
                shown = search_conversations(
                    attendant, q=term, limit=PAGE, context=context
                )
                elapsed = (time.perf_counter_ns() - started) / 1e6
                results.setdefault(f"attendant: {kind}", []).append(elapsed)
                found.setdefault(f"attendant: {kind}", []).append(len(shown.results))

        baseline: dict[str, list[float]] = {}
        with db.tenant_transaction(tenant) as conn:
            for kind, terms in queries.items():
                for term in terms[:BASELINE_RUNS]:
                    pattern = "%" + term.strip('"@') + "%"
                    baseline.setdefault(kind, []).append(
                        _ms(partial(_fetch, conn, {"p": pattern, "n": PAGE + 1}))
                    )

        assert a_conversation is not None
        with_index = _writes(tenant, a_conversation[0])
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute("ALTER TABLE messages DISABLE TRIGGER messages_terms_added")
        without_index = _writes(tenant, a_conversation[0])
        db.close_pool()
        embedded.server.cleanup()

    rows = "\n".join(
        f"| {kind} | {statistics.mean(found[kind]):.1f} | {_p(s, 50):.1f}"
        f" | {_p(s, 95):.1f} | "
        + (
            f"{_p(baseline[kind], 50):.0f} | {_p(baseline[kind], 95):.0f}"
            if kind in baseline
            else "— | —"
        )
        + " |"
        for kind, s in results.items()
    )
    overall = [x for s in results.values() for x in s]
    assert counts is not None
    return f"""
## Console search (issue 14, point 5)

{machine()}; embedded {version} (pgserver, Unix socket). Load average
(1, 5, 15 min) when the searches started: {load[0]:.2f}, {load[1]:.2f},
{load[2]:.2f}; the machine is shared, the figures carry its load.

Data: one tenant with {CONVERSATIONS:,} conversations and
{CONVERSATIONS * MESSAGES_PER_CONVERSATION:,} PT-BR messages, plus a second tenant
with {OTHER_CONVERSATIONS:,} / {OTHER_CONVERSATIONS * MESSAGES_PER_CONVERSATION:,} in
the same tables and indexes ({counts[0]:,} conversations, {counts[1]:,} messages in
all; seeded and analysed in {seed_s:.0f} s). Each search goes through
`atende.console.search_conversations` as a supervisor (tenant transaction, FORCE
RLS, label lookup, excerpts, audit event), a page of {PAGE}, {RUNS} different terms
per kind. Baseline: `ILIKE '%term%'` over name, phone, username, id and every
message body of the same tenant, same page, {BASELINE_RUNS} terms per kind.

| kind | results/page | p50 ms | p95 ms | ILIKE p50 ms | ILIKE p95 ms |
| --- | ---: | ---: | ---: | ---: | ---: |
{rows}
| **all kinds** (goal p95 ≤ {GOAL_MS} ms) | | **{_p(overall, 50):.1f}** | **{_p(overall, 95):.1f}** | | |

The ILIKE scan is quick only where it stops early: a common word is in the newest
conversations, so its page fills at once (and it finds "boleto" but not "boletos",
nor "nao" for "não"); whatever is rare or absent (a phone, a name, a protocol, a
word nobody wrote) reads every message of the tenant, seconds each.

Second tenant (its own common words and names, same indexes): p50
{_p(isolated, 50):.1f} ms, p95 {_p(isolated, 95):.1f} ms.

Writing a message (one insert in its own tenant transaction, median of {WRITES}):
{with_index:.2f} ms with the search's words kept (trigger into `conversation_terms`),
{without_index:.2f} ms with that trigger disabled.
"""


def main() -> None:
    body = run()
    write_section("search", body)
    print(body)


if __name__ == "__main__":
    main()
