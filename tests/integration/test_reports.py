"""Reports: the numbers of a hand-built history, computed independently
(tests/support/reports.py), match the reports exactly; filters, periods in São
Paulo time, the incremental refresh, roles, the API and the exports."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
import pytest
from app import app
from chalice.test import Client
from openpyxl import load_workbook

from atende import db, reports
from atende.bot.tracker import GROUNDED_SLOT
from atende.db.embedded import EmbeddedDatabase
from atende.errors import Forbidden, InvalidInput
from atende.identity import AttendantPrincipal, Role
from atende.reports import ReportQuery
from atende.tenancy import Scope
from tests.support.api_routes import scoped_key
from tests.support.identity import IdentityPool
from tests.support.lgpd import TrackerStore
from tests.support.reports import (
    D1,
    D2,
    Built,
    at,
    build,
    expected,
    rate,
    scenario,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _new_tenant(name: str) -> UUID:
    tenant_id = uuid.uuid4()
    with db.tenant_transaction(tenant_id) as conn:
        conn.execute(
            "INSERT INTO tenants (id, name) VALUES (%s, %s)", (tenant_id, name)
        )
    return tenant_id


@pytest.fixture
def history(database: EmbeddedDatabase) -> Built:
    """The scenario in one tenant, and a copy of it in a neighbour (which
    must never show up), both refreshed."""
    tenant_id = _new_tenant("Loja Relatórios")
    neighbour = _new_tenant("Vizinha")
    with db.tenant_transaction(tenant_id) as conn:
        built = build(conn, tenant_id, scenario())
    with db.tenant_transaction(neighbour) as conn:
        build(conn, neighbour, scenario())
    reports.refresh(tenant_id)
    reports.refresh(neighbour)
    return built


def _report(tenant_id: UUID, **kwargs: Any) -> reports.Report:
    return reports.tenant_report(tenant_id, ReportQuery(start=D1, end=D2, **kwargs))


def _durations(d: reports.Durations) -> tuple[int, float | None, float | None]:
    return (d.count, d.median_seconds, d.p90_seconds)


def test_totals_match_the_independent_reference(history: Built) -> None:
    want = expected(scenario(), D1, D2)
    got = _report(history.tenant_id).totals
    assert (
        got.conversations,
        got.closed,
        got.contained,
        got.handed_off,
        got.returned_to_bot,
        got.transferred,
        got.handoffs,
        got.abandoned,
    ) == (
        want["conversations"],
        want["closed"],
        want["contained"],
        want["handed_off"],
        want["returned_to_bot"],
        want["transferred"],
        want["handoffs"],
        want["abandoned"],
    )
    assert _durations(got.first_response) == want["first_response"]
    assert _durations(got.handling) == want["handling"]
    assert _durations(got.resolution) == want["resolution"]
    # The same figures by hand, so the reference itself is checked.
    assert (got.conversations, got.closed, got.contained, got.handoffs) == (7, 6, 2, 7)
    assert got.containment_rate == pytest.approx(2 / 6)
    assert got.handoff_rate == pytest.approx(5 / 7)
    assert got.abandonment_rate == pytest.approx(1 / 7)
    assert _durations(got.first_response) == (5, 360.0, 864.0)
    assert _durations(got.handling) == (5, 900.0, 1632.0)
    assert _durations(got.resolution) == (3, 2400.0, 3360.0)


def test_periods_are_sao_paulo_days_and_hours(history: Built) -> None:
    want = expected(scenario(), D1, D2)
    days = _report(history.tenant_id).periods
    assert [p.start for p in days] == [datetime(2025, 3, 10), datetime(2025, 3, 11)]
    assert {p.start.date(): p.measures.conversations for p in days} == want["per_day"]
    # c2 opened 23:50 on D1 (02:50 UTC on D2): D1's, with its handoff.
    assert [p.measures.conversations for p in days] == [3, 4]
    assert [p.measures.handoffs for p in days] == [2, 5]

    hours = _report(history.tenant_id, granularity="hour").periods
    assert len(hours) == 48
    late = next(p for p in hours if p.start == datetime(2025, 3, 10, 23))
    assert (late.measures.conversations, late.measures.handoffs) == (1, 1)
    assert late.measures.first_response.median_seconds == 360.0

    weeks = _report(history.tenant_id, granularity="week").periods
    assert [p.start for p in weeks] == [datetime(2025, 3, 10)]
    assert weeks[0].measures.conversations == 7


def test_one_day_and_the_range_edges(history: Built) -> None:
    for day in (D1, D2, date(2025, 3, 9), date(2025, 3, 12)):
        want = expected(scenario(), day, day)
        got = reports.tenant_report(history.tenant_id, ReportQuery(day, day)).totals
        assert (got.conversations, got.handoffs, _durations(got.first_response)) == (
            want["conversations"],
            want["handoffs"],
            want["first_response"],
        ), day


def test_breakdowns_by_reason_team_attendant_and_entry_point(history: Built) -> None:
    report = _report(history.tenant_id)
    assert {c.key: c.count for c in report.handoff_reasons} == expected(
        scenario(), D1, D2
    )["reasons"]
    teams = {t.label: (t.handoffs, t.abandoned) for t in report.teams}
    assert teams == {"vendas": (2, 0), "suporte": (3, 1), "Fila geral": (2, 0)}
    people = {
        a.label: (a.handoffs, _durations(a.first_response)) for a in report.attendants
    }
    assert people == {
        "Ana": (2, (2, 270.0, 342.0)),
        "Bruno": (2, (2, 240.0, 336.0)),
        "Carla": (1, (1, 1200.0, 1200.0)),
        "Não atribuído": (2, (0, None, None)),
    }
    entries = {
        e.label: (e.conversations, e.contained, e.handoffs) for e in report.entry_points
    }
    assert entries == {"+55 11 4000-0001": (5, 2, 3), "+55 11 4000-0002": (2, 0, 4)}
    templates = {
        (t.category, t.outside_window, t.inside_window) for t in report.templates
    }
    assert templates == {("marketing", 1, 0), ("utility", 0, 1)}
    assert report.satisfaction.available is True  # no survey in the scenario
    assert (report.satisfaction.surveys, report.satisfaction.average) == (0, None)
    assert report.bot.available is False


def test_satisfaction_overall_by_team_and_attendant(history: Built) -> None:
    with db.tenant_transaction(history.tenant_id) as conn:
        rate(conn, history)
    csat = _report(history.tenant_id).satisfaction
    assert (csat.surveys, csat.responses, csat.response_rate) == (4, 3, 0.75)
    assert csat.average == 3.0 and csat.distribution == [1, 0, 1, 0, 1]
    assert {g.label: (g.surveys, g.average, g.distribution) for g in csat.teams} == {
        "suporte": (2, 1.0, [1, 0, 0, 0, 0]),
        "vendas": (2, 4.0, [0, 0, 1, 0, 1]),
    }
    assert {g.label: (g.responses, g.average) for g in csat.attendants} == {
        "Ana": (2, 4.0),
        "Bruno": (1, 1.0),
        "Carla": (0, None),
    }
    # The people's breakdowns carry their average too.
    report = _report(history.tenant_id)
    people = {b.label: b.satisfaction_average for b in report.attendants}
    assert (people["Ana"], people["Bruno"], people["Carla"]) == (4.0, 1.0, None)
    assert {b.label: b.satisfaction_average for b in report.teams}["vendas"] == 4.0

    only_ana = _report(
        history.tenant_id, attendant_id=history.attendants["ana"]
    ).satisfaction
    assert (only_ana.responses, only_ana.average) == (2, 4.0)
    suporte = _report(history.tenant_id, team="suporte").satisfaction
    assert (suporte.surveys, suporte.responses, suporte.average) == (2, 1, 1.0)
    day_two = reports.tenant_report(
        history.tenant_id, ReportQuery(start=D2, end=D2)
    ).satisfaction
    assert (day_two.surveys, day_two.distribution) == (2, [0, 0, 1, 0, 0])

    tables = {t.title: t for t in reports.export.report_tables(report)}
    assert tables["Satisfação por atendente"].rows[0] == [
        "Ana",
        2,
        2,
        4.0,
        0,
        0,
        1,
        0,
        1,
    ]


def test_filters(history: Built) -> None:
    suporte = _report(history.tenant_id, team="suporte").totals
    # c4 and c5 had support handoffs; only support's own handoffs count.
    assert (suporte.conversations, suporte.handoffs, suporte.abandoned) == (2, 3, 1)
    ana = _report(history.tenant_id, attendant_id=history.attendants["ana"]).totals
    assert (ana.conversations, ana.handoffs) == (2, 2)
    assert _durations(ana.first_response) == (2, 270.0, 342.0)
    pn2 = _report(history.tenant_id, entry_point=f"pn2-{history.tenant_id.hex[:8]}")
    assert (pn2.totals.conversations, pn2.totals.handoffs) == (2, 4)
    assert pn2.templates == []


def test_incremental_refresh_picks_up_changes(history: Built) -> None:
    c6 = history.conversations["c6"]
    ana = history.attendants["ana"]
    with db.tenant_transaction(history.tenant_id) as conn:
        conn.execute(
            "UPDATE handoffs SET accepted_by = %s, accepted_at = %s"
            " WHERE conversation_id = %s",
            (ana, at(D2, "18:03"), c6),
        )
        conn.execute(
            "INSERT INTO messages (tenant_id, conversation_id, direction, type, body,"
            " status, sent_by_attendant_id, created_at) VALUES (%s, %s, 'outbound',"
            " 'text', 'oi', 'delivered', %s, %s)",
            (history.tenant_id, c6, ana, at(D2, "18:05")),
        )
    before = _report(history.tenant_id).totals.first_response
    assert before.count == 5
    refreshed = reports.refresh(history.tenant_id)
    assert refreshed == 2  # the open ones (c6, c9); the others are old
    after = _report(history.tenant_id)
    assert after.totals.first_response.count == 6
    assert after.refreshed_at is not None


def test_facts_follow_an_erasure(history: Built) -> None:
    """LGPD erasure deletes conversations: their facts go with them."""
    from atende.conversations.store import erase_conversations

    with db.tenant_transaction(history.tenant_id) as conn:
        customer = conn.execute(
            "SELECT customer_id FROM conversations WHERE id = %s",
            (history.conversations["c4"],),
        ).fetchone()
        assert customer is not None
        erase_conversations(conn, customer["customer_id"], [])
    assert _report(history.tenant_id).totals.handoffs == 7 - 3


def test_only_supervisors_and_admins(history: Built) -> None:
    def principal(role: Role) -> AttendantPrincipal:
        return AttendantPrincipal(
            history.tenant_id, uuid.uuid4(), role, "a@loja.example", "A"
        )

    query = ReportQuery(D1, D2)
    with pytest.raises(Forbidden):
        reports.attendant_report(principal(Role.ATTENDANT), query)
    for role in (Role.SUPERVISOR, Role.ADMIN):
        assert (
            reports.attendant_report(principal(role), query).totals.conversations == 7
        )


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"de": "2025-03-10", "ate": "2025-03-09"}, "posterior"),
        ({"de": "10/03/2025"}, "Data inválida"),
        ({"de": "2024-01-01", "ate": "2025-03-10"}, "no máximo 366"),
        ({"de": "2025-01-01", "ate": "2025-03-10", "granularidade": "hour"}, "31"),
        ({"granularidade": "month"}, "Granularidade"),
        ({"atendente": "ana"}, "atendente"),
    ],
)
def test_bad_queries_are_refused_in_portuguese(
    params: dict[str, str], fragment: str
) -> None:
    with pytest.raises(InvalidInput, match=fragment):
        reports.parse_query(params, today=D2)


def test_default_query_is_the_last_30_days() -> None:
    query = reports.parse_query({}, today=D2)
    assert (query.start, query.end, query.granularity) == (date(2025, 2, 10), D2, "day")


# -- the console's API and the exports ---------------------------------


def _get(path: str, token: str | None, accept: str = "application/json") -> Any:
    headers = {"Accept": accept} | (
        {"Authorization": f"Bearer {token}"} if token else {}
    )
    with Client(app) as client:
        return client.http.get(path, headers=headers)


@pytest.fixture
def signed_in(history: Built, identity_pool: IdentityPool) -> dict[str, str]:
    tokens = {
        role: identity_pool.attendant(history.tenant_id, role).token
        for role in ("attendant", "supervisor", "admin")
    }
    with db.tenant_transaction(history.tenant_id) as conn:
        # People name teams: a team named like a formula must stay text.
        conn.execute(
            'UPDATE handoffs SET team = \'=HYPERLINK("http://x","y")\''
            " WHERE team = 'vendas'"
        )
    reports.refresh(history.tenant_id, full=True)
    return tokens


def test_api_serves_supervisors_only(signed_in: dict[str, str]) -> None:
    path = "/v1/console/reports?de=2025-03-10&ate=2025-03-11"
    assert _get(path, None).status_code == 401
    refused = _get(path, signed_in["attendant"])
    assert refused.status_code == 403
    assert json.loads(refused.body)["error"]["code"] == "ACESSO_NEGADO"
    bad = _get("/v1/console/reports?de=ontem", signed_in["supervisor"])
    assert bad.status_code == 400
    # Found by the fuzzing run: an empty date was read as "not given".
    empty = _get("/v1/console/reports?de=", signed_in["supervisor"])
    assert empty.status_code == 400
    assert "Data inválida em 'de'" in json.loads(empty.body)["error"]["message"]
    # Found by the full-size fuzzing run: a 500 on a date near year 1.
    for query in ("ate=0001-01-01", "de=9999-12-31"):
        answer = _get(f"/v1/console/reports?{query}", signed_in["supervisor"])
        assert answer.status_code == 400, query
        assert (
            "deve estar entre 01/01/2000" in json.loads(answer.body)["error"]["message"]
        )
    for empty_filter in ("atendente", "granularidade"):
        answer = _get(f"/v1/console/reports?{empty_filter}=", signed_in["supervisor"])
        assert answer.status_code == 400, empty_filter
    for role in ("supervisor", "admin"):
        answer = _get(path, signed_in[role])
        assert answer.status_code == 200
        body = json.loads(answer.body)
        assert body["totals"]["conversations"] == 7
        assert body["totals"]["first_response"] == {
            "count": 5,
            "median_seconds": 360.0,
            "p90_seconds": 864.0,
        }
        assert body["periods"][0]["start"] == "2025-03-10T00:00:00"
        assert body["satisfaction"]["available"] is True


def test_api_keys_with_the_reports_scope_read_the_same_numbers(
    signed_in: dict[str, str], history: Built
) -> None:
    query = "?de=2025-03-10&ate=2025-03-11"
    reports_key = scoped_key(history.tenant_id, Scope.REPORTS)
    documents_key = scoped_key(history.tenant_id, Scope.DOCUMENTS)
    with Client(app) as client:
        answer = client.http.get(
            f"/v1/reports{query}", headers={"X-API-Key": reports_key}
        )
        refused = client.http.get(
            f"/v1/reports{query}", headers={"X-API-Key": documents_key}
        )
    console = _get(f"/v1/console/reports{query}", signed_in["supervisor"])
    assert answer.status_code == 200
    assert json.loads(answer.body) == json.loads(console.body)
    assert json.loads(answer.body)["totals"]["conversations"] == 7
    assert refused.status_code == 403
    assert "'reports'" in json.loads(refused.body)["error"]["message"]


def test_xlsx_export_keeps_text_literal(signed_in: dict[str, str]) -> None:
    answer = _get(
        "/v1/console/reports/export?formato=xlsx&de=2025-03-10&ate=2025-03-11",
        signed_in["supervisor"],
        accept=XLSX,
    )
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == XLSX
    assert (
        "relatorio-2025-03-10-a-2025-03-11.xlsx"
        in answer.headers["Content-Disposition"]
    )
    book = load_workbook(io.BytesIO(answer.body))
    summary = list(book["Resumo"].iter_rows(values_only=True))
    assert summary[1][1] == 7  # conversations, a number cell
    teams = list(book["Equipes"].iter_rows(values_only=True))
    formula_team = next(r for r in teams if str(r[0]).startswith("=HYPERLINK"))
    cell = next(
        c
        for row in book["Equipes"].iter_rows()
        for c in row
        if str(c.value).startswith("=HYPERLINK")
    )
    assert cell.data_type == "s" and formula_team[3] == 2
    assert (
        _get(
            "/v1/console/reports/export?formato=xlsx", signed_in["attendant"]
        ).status_code
        == 403
    )


def test_csv_export_for_excel_in_portuguese(signed_in: dict[str, str]) -> None:
    answer = _get(
        "/v1/console/reports/export?formato=csv&de=2025-03-10&ate=2025-03-11",
        signed_in["admin"],
    )
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    text = answer.body.decode("utf-8")
    assert text.startswith("\ufeffResumo\r\n")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert rows[2][1:4] == ["7", "6", "2"]
    assert rows[2][4] == "33,33"  # containment, decimal comma
    assert next(r for r in rows if r and "HYPERLINK" in r[0])[:5] == [
        '\'=HYPERLINK("http://x","y")',
        "",
        "",
        "2",
        "0",
    ]
    assert (
        _get("/v1/console/reports/export?formato=pdf", signed_in["admin"]).status_code
        == 400
    )


def test_bench_at_one_percent_agrees_with_the_naive_query(
    database: EmbeddedDatabase,
) -> None:
    """`make bench`'s data set at 1%: the facts and the raw tables agree (the
    benchmark asserts it), in a database of its own."""
    from bench import bench_reports

    try:
        result = bench_reports.run(scale=0.01, record=False)
    finally:
        db.configure(database.app_url)
    assert result["messages"] == 10_000
    assert result["totals"].conversations == 1_000


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("reports.html", "text/html"),
        ("reports.js", "text/javascript"),
        ("uplot.min.js", "text/javascript"),
        ("uplot.min.css", "text/css"),
    ],
)
def test_the_page_and_its_chart_library_are_served_by_atende(
    name: str, kind: str
) -> None:
    """No CDN: the page's files come from the API, under the console's CSP."""
    with Client(app) as client:
        answer = client.http.get(f"/console/{name}")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith(kind)
    assert "default-src 'self'" in answer.headers["Content-Security-Policy"]
    if name == "reports.html":
        assert "http" not in answer.body.decode().split("<body>")[0]


def _tracker_events(
    store: TrackerStore, conversation_id: UUID, events: list[tuple[Any, ...]]
) -> None:
    """Rasa's SQL tracker rows: (type_name, when, intent_name, action_name, data)."""
    with psycopg.connect(store.url, autocommit=True) as conn:
        for type_name, when, intent, action, data in events:
            conn.execute(
                "INSERT INTO events (sender_id, type_name, timestamp, intent_name,"
                " action_name, data) VALUES (%s, %s, %s, %s, %s, %s)",
                (
                    str(conversation_id),
                    type_name,
                    when.timestamp(),
                    intent,
                    action,
                    json.dumps(data),
                ),
            )


def test_bot_measures_come_from_the_bots_own_records(
    history: Built, tracker_store: TrackerStore
) -> None:
    """Intents, fallback rate, LLM answers and "não sei" from Rasa's tracker
    store, counted in the period (São Paulo days), tenant by tenant."""
    assert _report(history.tenant_id).bot.available is False  # no tracker read yet
    c1, c2, c8 = (history.conversations[k] for k in ("c1", "c2", "c8"))
    grounded, dont_know = (
        {"event": "slot", "name": GROUNDED_SLOT, "value": value}
        for value in (True, False)
    )
    _tracker_events(
        tracker_store,
        c1,
        [
            ("user", at(D1, "09:00"), "segunda_via", None, {"text": "boleto"}),
            ("action", at(D1, "09:00"), None, "utter_segunda_via", {}),
            ("user", at(D1, "09:02"), "nlu_fallback", None, {"text": "hã"}),
            ("action", at(D1, "09:02"), None, "action_llm_answer", {}),
            ("slot", at(D1, "09:02"), None, None, grounded),
            ("user", at(D1, "09:03"), "segunda_via", None, {"text": "de março"}),
        ],
    )
    _tracker_events(
        tracker_store,
        c2,
        [
            # Older trackers keep the intent only in the parse data.
            (
                "user",
                at(D1, "23:50"),
                None,
                None,
                {"parse_data": {"intent": {"name": "nlu_fallback", "confidence": 0.2}}},
            ),
            ("slot", at(D1, "23:50"), None, None, dont_know),
            ("action", at(D2, "00:10"), None, "action_esclarecer", {}),
        ],
    )
    # Outside the range in São Paulo time (D1 in UTC): not counted.
    _tracker_events(
        tracker_store,
        c8,
        [
            ("user", at(D1 - timedelta(days=1), "23:59"), "saudacao", None, {}),
        ],
    )
    reports.refresh(history.tenant_id, full=True, tracker_db_url=tracker_store.url)

    bot = _report(history.tenant_id).bot
    assert bot.available is True
    assert [(c.key, c.count) for c in bot.top_intents] == [
        ("nlu_fallback", 2),
        ("segunda_via", 2),
    ]
    assert bot.fallback_rate == 2 / 4
    assert bot.clarification_rate == 1 / 4
    assert (bot.llm_answers, bot.dont_know_answers) == (1, 1)
    # One day, one number: the measures follow the period and the entry point.
    day2 = reports.tenant_report(history.tenant_id, ReportQuery(start=D2, end=D2)).bot
    assert (day2.top_intents, day2.clarification_rate) == ([], None)
    # Erasure and retention take the facts along with the conversation.
    with db.tenant_transaction(history.tenant_id) as conn:
        for table, column in (("messages", "conversation_id"), ("conversations", "id")):
            conn.execute(f"DELETE FROM {table} WHERE {column} = %s", (c1,))  # noqa: S608
    assert [(c.key, c.count) for c in _report(history.tenant_id).bot.top_intents] == [
        ("nlu_fallback", 1)
    ]
