"""Issue 14 point 6: assignment with presence.

The rule (least loaded, then longest idle; capacity; team; presence), the
re-queue on offline and on timeout, race safety under concurrent decisions,
presence following the console's live connection, supervisors' view of
presence and load, tenant isolation and bad input. Real PostgreSQL with RLS;
moto's Cognito and the Chalice app through its test client for the API.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from atende import db
from atende.audit import Actor, RequestContext
from atende.conversations import assignment, store, waiting
from atende.conversations import messages_ptbr as texts
from atende.conversations.handoff import handoff_to_human
from atende.conversations.store import assignment as sql
from atende.db.embedded import EmbeddedDatabase
from infra.handlers import load_handler
from infra.lambda_runtime import LocalContext
from tests.support.channel import Channel
from tests.support.identity import IdentityPool, SignedIn, call_api

pytestmark = pytest.mark.integration

OPERATOR = RequestContext(Actor("operator", "tests"))


def _tenant() -> UUID:
    tenant_id = uuid.uuid4()
    with db.tenant_transaction(tenant_id) as conn:
        conn.execute(
            "INSERT INTO tenants (id, name, kms_key_arn) VALUES (%s, %s, 'arn:test')",
            (tenant_id, f"Loja {tenant_id.hex[:6]}"),
        )
    return tenant_id


def _attendant(
    tenant_id: UUID,
    name: str,
    *,
    team: str | None = None,
    presence: sql.Presence = "online",
    capacity: int | None = None,
) -> UUID:
    with db.tenant_transaction(tenant_id) as conn:
        row = conn.execute(
            "INSERT INTO attendants (tenant_id, email, display_name, role, team)"
            " VALUES (current_tenant_id(), %s, %s, 'attendant', %s) RETURNING id",
            (f"{name.lower()}-{uuid.uuid4().hex[:6]}@loja.example", name, team),
        ).fetchone()
        assert row is not None
        if capacity is not None:
            sql.set_capacity(conn, row["id"], capacity)
    if presence != "offline":
        assignment.set_presence(tenant_id, row["id"], presence, context=OPERATOR)
    return UUID(str(row["id"]))


def _conversation(tenant_id: UUID) -> UUID:
    with db.tenant_transaction(tenant_id) as conn:
        row = conn.execute(
            "WITH c AS (INSERT INTO customers (tenant_id, wa_user_id)"
            " VALUES (current_tenant_id(), %s) RETURNING id)"
            " INSERT INTO conversations (tenant_id, customer_id)"
            " SELECT current_tenant_id(), id FROM c RETURNING id",
            (f"BR.{uuid.uuid4().int % 10**16}",),
        ).fetchone()
    assert row is not None
    return UUID(str(row["id"]))


def _handoff(tenant_id: UUID, *, team: str | None = None) -> UUID:
    """A conversation the bot hands off (to ``team``'s queue, when given)."""
    conversation_id = _conversation(tenant_id)
    if team is None:
        assert handoff_to_human(
            tenant_id, conversation_id, reason="pedido_do_cliente", summary=None
        )
    else:
        with db.tenant_transaction(tenant_id) as conn:
            store.request_handoff(
                conn, conversation_id, reason="transferencia", summary=None, team=team
            )
            assignment.assign_waiting(conn, conversation_id)
    return conversation_id


def _holder(tenant_id: UUID, conversation_id: UUID) -> tuple[str, UUID | None]:
    with db.tenant_transaction(tenant_id) as conn:
        row = conn.execute(
            "SELECT v.state, v.assigned_attendant_id, h.accepted_by"
            " FROM conversations v LEFT JOIN handoffs h ON h.conversation_id = v.id"
            "  AND h.resolved_at IS NULL WHERE v.id = %s",
            (conversation_id,),
        ).fetchone()
    assert row is not None
    assert row["assigned_attendant_id"] == row["accepted_by"]
    return row["state"], row["assigned_attendant_id"]


def _audit(tenant_id: UUID, action: str) -> list[dict[str, Any]]:
    with db.tenant_transaction(tenant_id) as conn:
        return [
            dict(r)
            for r in conn.execute(
                "SELECT subject_id, details FROM audit_events WHERE action = %s"
                " ORDER BY id",
                (action,),
            ).fetchall()
        ]


def test_least_loaded_first_then_longest_idle(database: EmbeddedDatabase) -> None:
    tenant = _tenant()
    ana = _attendant(tenant, "Ana")
    bia = _attendant(tenant, "Bia")
    first, second, third = (_handoff(tenant) for _ in range(3))
    # 0/0: the one online longest; then the one with none; then, 1/1, the
    # one whose last conversation came longest ago.
    assert [_holder(tenant, c)[1] for c in (first, second, third)] == [ana, bia, ana]
    caio = _attendant(tenant, "Caio")
    assert _holder(tenant, _handoff(tenant)) == ("with_human", caio)
    assert len(_audit(tenant, "CONVERSATION_ASSIGNED")) == 4


def test_only_the_handoffs_team_and_only_online_attendants_get_it(
    database: EmbeddedDatabase,
) -> None:
    tenant = _tenant()
    geral = _attendant(tenant, "Geral")  # online longest: first in line
    fin = _attendant(tenant, "Fin", team="financeiro")
    _attendant(tenant, "Ausente", presence="away")
    _attendant(tenant, "Desligado", presence="offline")
    _attendant(tenant, "Suporte", team="suporte", presence="away")
    assert _holder(tenant, _handoff(tenant, team="financeiro"))[1] == fin
    assert _holder(tenant, _handoff(tenant))[1] == geral
    assert _holder(tenant, _handoff(tenant))[1] == fin  # 1/1: fin idle longest
    # Nobody of the team online: it waits, as before.
    waiting_support = _handoff(tenant, team="suporte")
    assert _holder(tenant, waiting_support) == ("waiting_human", None)


def test_capacity_is_never_exceeded_and_freed_room_takes_the_oldest(
    database: EmbeddedDatabase,
) -> None:
    tenant = _tenant()
    ana = _attendant(tenant, "Ana", capacity=1)
    held = _handoff(tenant)
    older, newer = _handoff(tenant), _handoff(tenant)
    assert _holder(tenant, held)[1] == ana
    assert _holder(tenant, older) == ("waiting_human", None)
    # Ana closes hers: she picks up the oldest waiting.
    with db.tenant_transaction(tenant) as conn:
        store.close_conversation(conn, held, reason="resolvido")
    assert assignment.fill(tenant, ana) == [older]
    assert _holder(tenant, newer) == ("waiting_human", None)
    # Someone coming online takes what still waits, up to their capacity.
    bia = _attendant(tenant, "Bia", capacity=2)
    assert _holder(tenant, newer)[1] == bia


def test_closing_or_transferring_in_the_console_moves_the_queue_on(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    """The console's close frees room the queue fills at once; a transfer to
    a team goes to that team's available attendant."""
    tenant = channel.tenant_id
    ana = identity_pool.attendant(tenant)
    fin = identity_pool.attendant(tenant, team="financeiro")
    with db.tenant_transaction(tenant) as conn:
        sql.set_capacity(conn, ana.attendant_id, 1)
    _presence(ana, "online")
    held, waiting_one = _handoff(tenant), _handoff(tenant)
    assert _holder(tenant, waiting_one) == ("waiting_human", None)
    status, _ = call_api(
        "post", f"/v1/console/conversations/{held}/close", ana, {"reason": "ok"}
    )
    assert status == 200
    assert _holder(tenant, waiting_one) == ("with_human", ana.attendant_id)

    _presence(fin, "online")
    status, _ = call_api(
        "post",
        f"/v1/console/conversations/{waiting_one}/transfer",
        ana,
        {"team": "financeiro"},
    )
    assert status == 200
    assert _holder(tenant, waiting_one) == ("with_human", fin.attendant_id)


def test_the_tenant_default_capacity_applies_without_an_own_maximum(
    database: EmbeddedDatabase,
) -> None:
    tenant = _tenant()
    with db.tenant_transaction(tenant) as conn:
        sql.save_settings(
            conn, max_conversations=2, answer_timeout=timedelta(minutes=5)
        )
    ana = _attendant(tenant, "Ana")
    holders = [_holder(tenant, _handoff(tenant))[1] for _ in range(3)]
    assert holders == [ana, ana, None]


def test_going_offline_requeues_to_the_next_eligible(
    identity_pool: IdentityPool,
) -> None:
    tenant = _tenant()
    ana = identity_pool.attendant(tenant)
    bia = identity_pool.attendant(tenant)
    boss = identity_pool.attendant(tenant, "supervisor")
    assert _presence(ana, "online")["presence"] == "online"
    conversation_id = _handoff(tenant)
    assert _holder(tenant, conversation_id)[1] == ana.attendant_id
    assert _presence(bia, "online")["load"] == 0
    status, body = call_api("put", "/v1/console/presence", ana, {"presence": "offline"})
    assert status == 200 and body == {
        "presence": "offline",
        "chosen": "offline",
        "load": 0,
        "max_conversations": 3,
    }
    assert _holder(tenant, conversation_id) == ("with_human", bia.attendant_id)
    [requeued] = _audit(tenant, "CONVERSATION_REQUEUED")
    assert requeued["details"]["why"] == "offline"
    activity = _activity(boss, conversation_id)
    ana_name = _name(tenant, ana.attendant_id)
    bia_name = _name(tenant, bia.attendant_id)
    assert activity[-2:] == [
        f"Reatribuída: {ana_name} ficou offline",
        f"Atribuída automaticamente a {bia_name}",
    ]
    # Bia has it in "Minhas conversas".
    mine = call_api("get", "/v1/console/conversations?scope=mine", bia)[1]
    assert [c["conversation_id"] for c in mine["conversations"]] == [
        str(conversation_id)
    ]


def test_unanswered_past_the_timeout_goes_to_someone_else(
    identity_pool: IdentityPool,
) -> None:
    tenant = _tenant()
    ana = identity_pool.attendant(tenant)
    _presence(ana, "online")
    silent, answered = _handoff(tenant), _handoff(tenant)
    with db.tenant_transaction(tenant) as conn:
        conn.execute(
            "INSERT INTO messages (tenant_id, conversation_id, direction, type, body,"
            " status, sent_by_attendant_id) VALUES (current_tenant_id(), %s,"
            " 'outbound', 'text', 'Olá!', 'sent', %s)",
            (answered, ana.attendant_id),
        )
    bia = identity_pool.attendant(tenant)
    _presence(bia, "online")
    # Within the timeout nothing moves.
    assert assignment.sweep(tenant) == 0
    later = datetime.now(UTC) + timedelta(minutes=6)
    assert assignment.sweep(tenant, now=later) == 1
    assert _holder(tenant, silent) == ("with_human", bia.attendant_id)
    assert _holder(tenant, answered) == ("with_human", ana.attendant_id)
    boss = identity_pool.attendant(tenant, "supervisor")
    ana_name = _name(tenant, ana.attendant_id)
    assert f"Reatribuída: {ana_name} não respondeu em 5 min" in _activity(boss, silent)
    # Nobody online: back to waiting at its place in the queue.
    _presence(bia, "away")
    _presence(ana, "away")
    assert assignment.sweep(tenant, now=later + timedelta(minutes=6)) == 1
    assert _holder(tenant, silent) == ("waiting_human", None)


def test_a_claimed_conversation_is_not_taken_back_on_timeout(
    identity_pool: IdentityPool,
) -> None:
    tenant = _tenant()
    ana = identity_pool.attendant(tenant)
    conversation_id = _handoff(tenant)  # nobody online: it waits
    status, _ = call_api(
        "post", f"/v1/console/conversations/{conversation_id}/claim", ana
    )
    assert status == 200
    _presence(identity_pool.attendant(tenant), "online")
    later = datetime.now(UTC) + timedelta(hours=1)
    assert assignment.sweep(tenant, now=later) == 0
    assert _holder(tenant, conversation_id) == ("with_human", ana.attendant_id)


def test_concurrent_decisions_never_double_assign_nor_exceed_capacity(
    database: EmbeddedDatabase,
) -> None:
    tenant = _tenant()
    with db.tenant_transaction(tenant) as conn:
        sql.save_settings(
            conn, max_conversations=2, answer_timeout=timedelta(minutes=5)
        )
    attendants = [_attendant(tenant, f"A{i}", presence="offline") for i in range(4)]
    conversations = [_handoff(tenant) for _ in range(24)]  # all wait: nobody online
    with db.tenant_transaction(tenant) as conn:
        for attendant_id in attendants:
            sql.lock_presence(conn, attendant_id)
            sql.set_presence(conn, attendant_id, "online", chosen=True)
    barrier = threading.Barrier(len(conversations) + len(attendants))
    errors: list[BaseException] = []

    def run(action: Any, *args: Any) -> None:
        barrier.wait()
        try:
            action(tenant, *args)
        except BaseException as error:
            errors.append(error)

    threads = [
        threading.Thread(target=run, args=(assignment.offer, c)) for c in conversations
    ] + [threading.Thread(target=run, args=(assignment.fill, a)) for a in attendants]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    holders = [_holder(tenant, c) for c in conversations]
    loads = {a: sum(1 for _, h in holders if h == a) for a in attendants}
    assert all(n <= 2 for n in loads.values()), loads
    assert sum(loads.values()) == 8  # every free place taken
    given = [e["subject_id"] for e in _audit(tenant, "CONVERSATION_ASSIGNED")]
    assert sorted(given) == sorted(
        str(c) for c, (_, h) in zip(conversations, holders, strict=True) if h
    )


def test_presence_follows_the_console_connection(
    identity_pool: IdentityPool,
) -> None:
    tenant = _tenant()
    ana = identity_pool.attendant(tenant)
    handler = load_handler("functions/console_live/handler.py").handler

    def socket(route: str, connection_id: str) -> None:
        event = {
            "requestContext": {"routeKey": route, "connectionId": connection_id},
            "queryStringParameters": {"token": ana.token},
        }
        assert handler(event, LocalContext("console-live"))["statusCode"] == 200

    socket("$connect", "c1")
    assert _presence(ana, "online")["presence"] == "online"
    socket("$connect", "c2")  # a second tab
    socket("$disconnect", "c1")
    assert _mine(ana)["presence"] == "online"  # one console still open
    socket("$disconnect", "c2")
    assert _mine(ana) | {"load": 0} == {
        "presence": "away",
        "chosen": "online",
        "load": 0,
        "max_conversations": 3,
    }
    waiting_one = _handoff(tenant)
    assert _holder(tenant, waiting_one) == ("waiting_human", None)  # away: none
    socket("$connect", "c3")
    assert _mine(ana)["presence"] == "online"
    assert _holder(tenant, waiting_one)[1] == ana.attendant_id
    # An attendant who chose away stays away on reconnect.
    _presence(ana, "away")
    socket("$disconnect", "c3")
    socket("$connect", "c4")
    assert _mine(ana)["presence"] == "away"


def test_supervisors_see_presence_and_load_attendants_do_not(
    identity_pool: IdentityPool,
) -> None:
    tenant = _tenant()
    ana = identity_pool.attendant(tenant)
    boss = identity_pool.attendant(tenant, "supervisor")
    _presence(ana, "online")
    _handoff(tenant)
    status, body = call_api(
        "put",
        f"/v1/console/attendants/{ana.attendant_id}/capacity",
        boss,
        {"max_conversations": 5},
    )
    assert status == 200 and body["max_conversations"] == 5 and body["own_max"] == 5
    status, body = call_api("get", "/v1/console/attendants/load", boss)
    assert status == 200
    by_id = {a["attendant_id"]: a for a in body["attendants"]}
    assert {
        k: by_id[str(ana.attendant_id)][k]
        for k in ("presence", "load", "max_conversations")
    } == {"presence": "online", "load": 1, "max_conversations": 5}
    assert by_id[str(boss.attendant_id)]["presence"] == "offline"
    status, body = call_api("get", "/v1/console/attendants/load", ana)
    assert status == 403 and body["error"]["code"] == "ACESSO_NEGADO"
    status, body = call_api(
        "put",
        f"/v1/console/attendants/{boss.attendant_id}/capacity",
        ana,
        {"max_conversations": 9},
    )
    assert status == 403


def test_the_customer_hears_a_person_has_it_not_a_queue_position(
    database: EmbeddedDatabase,
) -> None:
    tenant = _tenant()
    _attendant(tenant, "Ana")
    conversation_id = _handoff(tenant)
    with db.tenant_transaction(tenant) as conn:
        ack = waiting.acknowledgement(
            conn,
            conversation_id,
            asked_for_person=True,
            last_at=None,
            last_position=None,
            now=datetime.now(UTC),
        )
    assert ack is not None and ack.text == texts.ALREADY_WITH_PERSON


def test_another_tenants_attendants_never_get_ours_nor_see_them(
    identity_pool: IdentityPool,
) -> None:
    ours, theirs = _tenant(), _tenant()
    their_boss = identity_pool.attendant(theirs, "supervisor")
    _attendant(theirs, "Online deles")
    our_ana = _attendant(ours, "Ana", presence="offline")
    conversation_id = _handoff(ours)
    assignment.sweep(theirs)
    assert _holder(ours, conversation_id) == ("waiting_human", None)
    status, body = call_api("get", "/v1/console/attendants/load", their_boss)
    assert status == 200
    assert str(our_ana) not in {a["attendant_id"] for a in body["attendants"]}
    status, body = call_api(
        "put",
        f"/v1/console/attendants/{our_ana}/capacity",
        their_boss,
        {"max_conversations": 2},
    )
    assert status == 404 and body["error"]["code"] == "NAO_ENCONTRADO"
    with db.tenant_transaction(theirs) as conn:
        rows = conn.execute(
            "SELECT attendant_id FROM attendant_presence WHERE attendant_id = %s",
            (our_ana,),
        ).fetchall()
    assert rows == []
    # Ours comes online: she gets it.
    assignment.set_presence(ours, our_ana, "online", context=OPERATOR)
    assert _holder(ours, conversation_id) == ("with_human", our_ana)


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        ("/v1/console/presence", {"presence": "ocupado"}, "PRESENCA_INVALIDA"),
        ("/v1/console/presence", {"presence": None}, "PRESENCA_INVALIDA"),
        ("/v1/console/presence", {"presence": ["online"]}, "PRESENCA_INVALIDA"),
        ("CAPACITY", {"max_conversations": 0}, "CAPACIDADE_INVALIDA"),
        ("CAPACITY", {"max_conversations": -2}, "CAPACIDADE_INVALIDA"),
        ("CAPACITY", {"max_conversations": "3"}, "CAPACIDADE_INVALIDA"),
        ("CAPACITY", {"max_conversations": 2.5}, "CAPACIDADE_INVALIDA"),
        ("CAPACITY", {"max_conversations": True}, "CAPACIDADE_INVALIDA"),
        ("CAPACITY", {"max_conversations": 101}, "CAPACIDADE_INVALIDA"),
        (
            "/v1/console/assignment-rules",
            {"max_conversations": 0, "answer_timeout_minutes": 5},
            "CAPACIDADE_INVALIDA",
        ),
        (
            "/v1/console/assignment-rules",
            {"max_conversations": 3, "answer_timeout_minutes": 0},
            "TEMPO_LIMITE_INVALIDO",
        ),
    ],
)
def test_bad_input_gets_a_stable_code_and_changes_nothing(
    identity_pool: IdentityPool, path: str, body: dict[str, Any], code: str
) -> None:
    tenant = _tenant()
    admin = identity_pool.attendant(tenant, "admin")
    _presence(admin, "away")
    if path == "CAPACITY":
        path = f"/v1/console/attendants/{admin.attendant_id}/capacity"
    status, answer = call_api("put", path, admin, body)
    assert status == 400 and answer["error"]["code"] == code
    assert answer["error"]["message"].endswith(".")
    assert "Traceback" not in answer["error"]["message"]
    assert _mine(admin) == {
        "presence": "away",
        "chosen": "away",
        "load": 0,
        "max_conversations": 3,
    }
    assert call_api("get", "/v1/console/assignment-rules", admin)[1] == {
        "max_conversations": 3,
        "answer_timeout_minutes": 5,
    }


def test_admins_set_the_tenant_rules(identity_pool: IdentityPool) -> None:
    tenant = _tenant()
    admin = identity_pool.attendant(tenant, "admin")
    boss = identity_pool.attendant(tenant, "supervisor")
    rules = {"max_conversations": 4, "answer_timeout_minutes": 10}
    status, body = call_api("put", "/v1/console/assignment-rules", admin, rules)
    assert (status, body) == (200, rules)
    assert call_api("get", "/v1/console/assignment-rules", boss)[1] == rules
    status, _ = call_api("put", "/v1/console/assignment-rules", boss, rules)
    assert status == 403


# --- helpers over the API -------------------------------------------------------


def _presence(who: SignedIn, presence: str) -> dict[str, Any]:
    status, body = call_api("put", "/v1/console/presence", who, {"presence": presence})
    assert status == 200, body
    return body


def _mine(who: SignedIn) -> dict[str, Any]:
    status, body = call_api("get", "/v1/console/presence", who)
    assert status == 200, body
    return body


def _activity(who: SignedIn, conversation_id: UUID) -> list[str]:
    status, body = call_api("get", f"/v1/console/conversations/{conversation_id}", who)
    assert status == 200, body
    return [a["text"] for a in body["activity"]]


def _name(tenant_id: UUID, attendant_id: UUID) -> str:
    with db.tenant_transaction(tenant_id) as conn:
        row = conn.execute(
            "SELECT display_name FROM attendants WHERE id = %s", (attendant_id,)
        ).fetchone()
    assert row is not None
    return str(row["display_name"])
