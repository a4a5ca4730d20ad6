"""Business hours (issue 14, point 7) on a real PostgreSQL: the admin API
(roles, bad input saving nothing, another tenant's invisibility), and a
handoff outside hours: the bot tells when a person will answer, the handoff
stays queued and the queue marks it "fora do horário"; inside hours nothing
changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from actions.actions import (
    HANDOFF_ASKED,
    ActionAguardando,
    ActionHandoff,
    ActionHorario,
)
from rasa_sdk import Action
from rasa_sdk.executor import CollectingDispatcher

from atende import db, tenancy
from atende.tenancy.business_hours import SAO_PAULO, brazil_national_holidays
from atende.tenancy.hours import NO_HOURS_ANSWER, hours_answer
from atende.whatsapp.updates import parse_webhook
from tests.support.channel import (
    Channel,
    drain,
    post_webhook,
    signed,
    text_update,
)
from tests.support.identity import IdentityPool, call_api
from tests.support.rasa import tracker_for

pytestmark = pytest.mark.integration

PATH = "/v1/admin/business-hours"
ALL_DAY = {
    day: [{"start": "00:00", "end": "24:00"}]
    for day in ("seg", "ter", "qua", "qui", "sex", "sab", "dom")
}


def _today() -> str:
    return datetime.now(UTC).astimezone(SAO_PAULO).date().isoformat()


def _hours(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "enabled": True,
        "weekly": {
            "seg": [{"start": "08:00", "end": "18:00"}],
            "ter": [{"start": "08:00", "end": "18:00"}],
        },
        "holidays": [{"date": "2026-12-25", "name": "Natal"}],
        "out_of_office_text": None,
    }
    return body | overrides


def test_admins_set_hours_supervisors_read_them_attendants_neither(
    database: object, identity_pool: IdentityPool
) -> None:
    tenant = tenancy.create_tenant("Loja").tenant.id
    admin = identity_pool.attendant(tenant, "admin")
    sup = identity_pool.attendant(tenant, "supervisor")
    ana = identity_pool.attendant(tenant)

    status, empty = call_api("get", PATH, admin)
    assert status == 200
    assert empty["configured"] is False and empty["open_now"] is True
    year = datetime.now(UTC).astimezone(SAO_PAULO).year
    suggested = {h["date"] for h in empty["suggested_holidays"]}
    assert f"{year + 1}-12-25" in suggested
    assert {h.day.isoformat() for h in brazil_national_holidays(year + 1)} <= suggested

    status, saved = call_api("put", PATH, admin, _hours())
    assert status == 200, saved
    assert saved["configured"] and saved["enabled"]
    assert saved["weekly"]["seg"] == [{"start": "08:00", "end": "18:00"}]
    assert saved["weekly"]["sab"] == []
    assert saved["summary"] == "seg\N{EN DASH}ter, 8h\N{EN DASH}18h"
    assert saved["holidays"] == [{"date": "2026-12-25", "name": "Natal"}]
    assert "2026-12-25" not in {h["date"] for h in saved["suggested_holidays"]}
    assert "uma pessoa vai te responder" in saved["preview"]
    assert call_api("get", PATH, sup) == (200, saved)

    for who in (sup, ana):
        status, body = call_api("put", PATH, who, _hours())
        assert status == 403 and body["error"]["code"] == "ACESSO_NEGADO"
    assert call_api("get", PATH, ana)[0] == 403

    with db.tenant_transaction(tenant) as conn:
        [event] = conn.execute(
            "SELECT actor_id, details FROM audit_events"
            " WHERE action = 'BUSINESS_HOURS_CHANGED'"
        ).fetchall()
    assert event["actor_id"] == str(admin.attendant_id)
    assert event["details"]["holidays"] == 1


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (
            {"weekly": {"seg": [{"start": "18:00", "end": "08:00"}]}},
            "HORARIO_INVALIDO",
        ),
        (
            {
                "weekly": {
                    "qua": [
                        {"start": "08:00", "end": "12:00"},
                        {"start": "11:30", "end": "18:00"},
                    ]
                }
            },
            "HORARIOS_SOBREPOSTOS",
        ),
        ({"holidays": [{"date": "2026-13-01"}]}, "FERIADO_INVALIDO"),
        ({"out_of_office_text": "x" * 1001}, "TEXTO_FORA_DO_HORARIO_INVALIDO"),
    ],
)
def test_bad_input_gets_a_code_in_portuguese_and_saves_nothing(
    database: object, identity_pool: IdentityPool, change: dict[str, Any], code: str
) -> None:
    tenant = tenancy.create_tenant("Loja").tenant.id
    admin = identity_pool.attendant(tenant, "admin")
    assert call_api("put", PATH, admin, _hours())[0] == 200
    before = call_api("get", PATH, admin)[1]

    status, body = call_api("put", PATH, admin, _hours(**change))
    assert status == 400 and body["error"]["code"] == code
    assert body["error"]["message"]  # Portuguese, from the rule
    assert call_api("get", PATH, admin)[1]["weekly"] == before["weekly"]


def test_another_tenant_neither_reads_nor_changes_these_hours(
    database: object, identity_pool: IdentityPool
) -> None:
    a = tenancy.create_tenant("Loja A").tenant.id
    b = tenancy.create_tenant("Loja B").tenant.id
    admin_a = identity_pool.attendant(a, "admin")
    admin_b = identity_pool.attendant(b, "admin")
    assert call_api("put", PATH, admin_a, _hours())[0] == 200

    status, seen = call_api("get", PATH, admin_b)
    assert status == 200 and seen["configured"] is False
    assert call_api("put", PATH, admin_b, _hours(weekly=ALL_DAY))[0] == 200
    assert call_api("get", PATH, admin_a)[1]["weekly"]["sab"] == []
    with db.tenant_transaction(b) as conn:
        assert conn.execute("SELECT count(*) AS n FROM business_hours").fetchone() == {
            "n": 1
        }


# -- the handoff ---------------------------------------------------------------


def _conversation(ch: Channel) -> UUID:
    [update] = parse_webhook(text_update("oi", wamid="wamid.oi"))
    ch.engine.handle(ch.tenant_id, update)
    with db.tenant_transaction(ch.tenant_id) as conn:
        row = conn.execute("SELECT id FROM conversations").fetchone()
    assert row is not None
    return UUID(str(row["id"]))


def _set_hours(ch: Channel, identity_pool: IdentityPool, **change: Any) -> Any:
    admin = identity_pool.attendant(ch.tenant_id, "admin")
    status, saved = call_api("put", PATH, admin, _hours(**change))
    assert status == 200, saved
    return admin


def _bot_says(ch: Channel, action: Action, text: str, intent: str) -> tuple[UUID, str]:
    """The one reply ``action`` gives to the customer's ``text``."""
    conversation_id = _conversation(ch)
    dispatcher = CollectingDispatcher()
    action.run(dispatcher, tracker_for(ch, conversation_id, text, intent), {})
    [message] = dispatcher.messages
    return conversation_id, str(message["text"])


def _hand_off(ch: Channel) -> tuple[UUID, str]:
    return _bot_says(
        ch, ActionHandoff(), "quero falar com um atendente", "falar_com_atendente"
    )


def test_outside_hours_the_bot_says_when_and_the_handoff_waits_marked(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    # Open every day, but today is a holiday: closed now, open tomorrow at 0h.
    admin = _set_hours(
        channel,
        identity_pool,
        weekly=ALL_DAY,
        holidays=[{"date": _today(), "name": "Feriado da cidade"}],
    )
    conversation_id, text = _hand_off(channel)
    assert text == (
        "Nosso horário de atendimento é seg\N{EN DASH}dom, 0h\N{EN DASH}24h. Sua"
        " conversa já está na fila: uma pessoa vai te responder amanhã ("
        + ("segunda", "terça", "quarta", "quinta", "sexta", "sábado", "domingo")[
            (datetime.now(UTC).astimezone(SAO_PAULO).weekday() + 1) % 7
        ]
        + ") a partir da meia-noite."
    )
    status, queue = call_api("get", "/v1/console/queue", admin)
    assert status == 200
    [item] = queue["queue"]
    assert item["conversation_id"] == str(conversation_id)
    assert item["outside_hours"] is True
    with db.tenant_transaction(channel.tenant_id) as conn:
        row = conn.execute(
            "SELECT v.state, h.accepted_at, a.details FROM conversations v"
            " JOIN handoffs h ON h.conversation_id = v.id"
            " JOIN audit_events a ON a.subject_id = v.id::text"
            "  AND a.action = 'HANDOFF_REQUESTED'"
        ).fetchone()
    assert row is not None and row["state"] == "waiting_human"
    assert row["accepted_at"] is None and row["details"]["outside_hours"] is True


def test_the_tenants_own_text_is_used_outside_hours(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    _set_hours(
        channel,
        identity_pool,
        weekly=ALL_DAY,
        holidays=[{"date": _today(), "name": "Feriado"}],
        out_of_office_text="Hoje é feriado! Voltamos {{retorno}}.",
    )
    _conversation_id, text = _hand_off(channel)
    assert text.startswith("Hoje é feriado! Voltamos amanhã (")


@pytest.mark.parametrize("configured", ["open", "switched_off", "none"])
def test_inside_hours_or_without_hours_nothing_changes(
    channel: Channel, identity_pool: IdentityPool, configured: str
) -> None:
    if configured == "open":
        _set_hours(channel, identity_pool, weekly=ALL_DAY, holidays=[])
    elif configured == "switched_off":
        # Closed today, but the admin switched hours off: always open.
        _set_hours(
            channel,
            identity_pool,
            enabled=False,
            weekly=ALL_DAY,
            holidays=[{"date": _today(), "name": "Feriado"}],
        )
    _conversation_id, text = _hand_off(channel)
    assert text == HANDOFF_ASKED
    with db.tenant_transaction(channel.tenant_id) as conn:
        assert conn.execute("SELECT outside_hours FROM handoffs").fetchone() == {
            "outside_hours": False
        }


def test_while_waiting_outside_hours_the_customer_is_not_told_ja_ja(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    """A message while the handoff waits outside hours is answered with when
    a person will answer, not "já já uma pessoa te responde"."""
    _set_hours(
        channel,
        identity_pool,
        weekly=ALL_DAY,
        holidays=[{"date": _today(), "name": "Feriado"}],
        out_of_office_text="Voltamos {{retorno}}.",
    )
    conversation_id, _text = _hand_off(channel)
    dispatcher = CollectingDispatcher()
    ActionAguardando().run(
        dispatcher, tracker_for(channel, conversation_id, "alô?", "saudacao"), {}
    )
    [message] = dispatcher.messages
    assert str(message["text"]).startswith("Voltamos amanhã (")


def test_with_the_bot_down_outside_hours_the_customer_still_hears_when(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    _set_hours(
        channel,
        identity_pool,
        weekly=ALL_DAY,
        holidays=[{"date": _today(), "name": "Feriado"}],
        out_of_office_text="Uma pessoa responde {{retorno}}.",
    )
    channel.rasa.down = True
    post_webhook(*signed(text_update("alô?", wamid="wamid.D1")))
    drain(channel)
    [sent] = channel.sent()
    assert sent["text"]["body"].startswith(
        "Nosso assistente virtual está com instabilidade agora. Uma pessoa"
        " responde amanhã ("
    )
    with db.tenant_transaction(channel.tenant_id) as conn:
        assert conn.execute(
            "SELECT reason, outside_hours FROM handoffs"
        ).fetchone() == {
            "reason": "bot_unavailable",
            "outside_hours": True,
        }


# -- "qual o horário de vocês?" ------------------------------------------------


def _hours_reply(ch: Channel) -> str:
    return _bot_says(
        ch, ActionHorario(), "qual o horario de vcs?", "horario_atendimento"
    )[1]


def test_asked_for_the_hours_the_bot_tells_the_tenants_own_and_if_open_now(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    """The bot used to answer every tenant with one fixed week (seg-sex
    8h-20h); a tenant's customers must read the hours their admin set."""
    assert _hours_reply(channel) == NO_HOURS_ANSWER
    _set_hours(channel, identity_pool, weekly=ALL_DAY, holidays=[])
    assert _hours_reply(channel) == (
        "Nosso atendimento com pessoas funciona seg\N{EN DASH}dom,"
        " 0h\N{EN DASH}24h. Agora estamos atendendo. Por aqui, no automático,"
        " é 24h 😉"
    )
    # Another tenant set no hours: its customers are told none of these.
    other = tenancy.create_tenant("Outra Loja").tenant.id
    assert channel.tenant_id != other
    with db.tenant_transaction(other) as conn:
        assert hours_answer(conn, datetime.now(UTC)) == NO_HOURS_ANSWER


def test_outside_hours_the_answer_says_when_a_person_answers(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    _set_hours(channel, identity_pool)  # seg and ter, 8h-18h; Natal closed
    # Wednesday 2026-12-02, 10h in São Paulo: closed until Monday.
    wednesday = datetime(2026, 12, 2, 10, tzinfo=SAO_PAULO)
    monday_night = wednesday + timedelta(days=5, hours=9)  # 07/12, 19h
    with db.tenant_transaction(channel.tenant_id) as conn:
        closed = hours_answer(conn, wednesday)
        late = hours_answer(conn, monday_night)
        open_now = hours_answer(conn, wednesday + timedelta(days=5))
    week = "Nosso atendimento com pessoas funciona seg\N{EN DASH}ter, 8h\N{EN DASH}18h."
    assert closed == (
        f"{week} Agora estamos fora do horário: uma pessoa responde na"
        " segunda-feira (07/12) a partir das 8h. Por aqui, no automático, é 24h 😉"
    )
    assert "amanhã (terça) a partir das 8h" in late
    assert open_now.startswith(f"{week} Agora estamos atendendo.")


def test_hours_switched_off_or_without_any_day_claim_no_schedule(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    _set_hours(channel, identity_pool, enabled=False)
    assert _hours_reply(channel) == NO_HOURS_ANSWER
    _set_hours(channel, identity_pool, weekly={}, holidays=[])
    reply = _hours_reply(channel)
    assert reply.startswith("Nossa equipe está sem horário de atendimento definido.")
