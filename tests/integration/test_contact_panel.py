"""The contact panel (issue 14, point 3) on a real PostgreSQL: what each role
sees (CPF masked unless admin; the LGPD actions for admins only, through the
Privacidade page's routes), the past conversations with how they ended and
their rating, the audit of each opening, and another tenant's invisibility."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from atende import db, tenancy
from atende.audit import Actor, RequestContext
from atende.consent import ensure_text, record_consent
from atende.conversations.handoff import handoff_to_human
from tests.support.channel import Channel, drain, post_webhook, signed, text_update
from tests.support.identity import IdentityPool, SignedIn, call_api
from tests.support.lgpd import make_bucket

pytestmark = pytest.mark.integration

MARIA = "BR.1502576394655843"
CPF = "529.982.247-25"


def _says(ch: Channel, text: str, wamid: str) -> None:
    post_webhook(*signed(text_update(text, wamid=wamid, user_id=MARIA)))
    drain(ch)


def _open_conversation(ch: Channel) -> UUID:
    with db.tenant_transaction(ch.tenant_id) as conn:
        row = conn.execute(
            "SELECT id FROM conversations WHERE state <> 'closed'"
        ).fetchone()
    assert row is not None
    return UUID(str(row["id"]))


def _history(ch: Channel, pool: IdentityPool) -> tuple[UUID, UUID, SignedIn]:
    """Maria's first conversation, closed by Ana and rated 5; her second,
    waiting in the queue. Maria consented and gave her CPF."""
    _says(ch, "oi", "wamid.P1")
    first = _open_conversation(ch)
    assert handoff_to_human(ch.tenant_id, first, reason="x", summary=None)
    ana = pool.attendant(ch.tenant_id)
    path = f"/v1/console/conversations/{first}"
    assert call_api("post", f"{path}/claim", ana)[0] == 200
    assert call_api("post", f"{path}/messages", ana, {"text": "Pronto!"})[0] == 201
    assert call_api("post", f"{path}/close", ana, {"reason": "Resolvido"})[0] == 200
    with db.tenant_transaction(ch.tenant_id) as conn:
        conn.execute(
            "UPDATE satisfaction_surveys SET score = 5, rated_at = now(),"
            " comment = 'Ótimo', commented_at = now()"
        )
        customer = conn.execute("SELECT id FROM customers").fetchone()
        assert customer is not None
        context = RequestContext(Actor("customer", str(customer["id"])))
        ensure_text(conn, "Podemos usar seus dados?", context=context)
        record_consent(
            conn,
            customer_id=customer["id"],
            granted=True,
            source="whatsapp_bot",
            context=context,
        )
        conn.execute(
            "INSERT INTO contacts (tenant_id, customer_id, kind, value, found_by)"
            " VALUES (current_tenant_id(), %s, 'cpf', %s, 'validator')",
            (customer["id"], CPF),
        )
    # Later than the first (webhook times have whole seconds: the same
    # second would leave the order of the two to chance).
    ch.clock.advance(timedelta(minutes=1))
    _says(ch, "preciso de ajuda de novo", "wamid.P2")
    second = _open_conversation(ch)
    assert handoff_to_human(ch.tenant_id, second, reason="x", summary=None)
    return first, second, ana


def _panel(conversation_id: UUID, who: SignedIn) -> tuple[int, dict[str, Any]]:
    return call_api("get", f"/v1/console/conversations/{conversation_id}/contact", who)


def test_an_attendant_sees_the_customer_with_the_cpf_masked_and_no_lgpd_actions(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    first, second, _ana = _history(channel, identity_pool)
    bia = identity_pool.attendant(channel.tenant_id)

    status, panel = _panel(second, bia)  # waiting in Bia's queue: she may look
    assert status == 200, panel
    assert panel["phone"] == "5511987654321"
    assert panel["consent"]["state"] == "granted"
    assert panel["consent"]["text_version"] == 1
    assert panel["consent"]["label"] == "Autorizou o uso dos dados (texto versão 1)"
    assert [(d["kind"], d["value"]) for d in panel["data"]] == [
        ("cpf", "***.***.***-25")
    ]
    assert panel["cpf_masked"] is True and panel["lgpd_actions"] is False
    assert [
        (c["conversation_id"], c["current"], c["outcome"], c["csat_score"])
        for c in panel["conversations"]
    ] == [
        (str(second), True, "Na fila", None),
        (str(first), False, f"Encerrada por {_name(channel, _ana)}", 5),
    ]
    assert CPF not in str(panel)

    with db.tenant_transaction(channel.tenant_id) as conn:
        [event] = conn.execute(
            "SELECT actor_id, subject_id, details FROM audit_events"
            " WHERE action = 'CUSTOMER_LOOKED_UP'"
        ).fetchall()
    assert event["actor_id"] == str(bia.attendant_id)
    assert event["subject_id"] == panel["customer_id"]
    assert event["details"] == {"by": "contact_panel", "conversation_id": str(second)}


def _name(ch: Channel, who: SignedIn) -> str:
    with db.tenant_transaction(ch.tenant_id) as conn:
        row = conn.execute(
            "SELECT display_name FROM attendants WHERE id = %s", (who.attendant_id,)
        ).fetchone()
    assert row is not None
    return str(row["display_name"])


def test_an_admin_sees_the_whole_cpf_and_exports_through_the_privacy_api(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    make_bucket()
    _first, second, _ana = _history(channel, identity_pool)
    admin = identity_pool.attendant(channel.tenant_id, "admin")
    status, panel = _panel(second, admin)
    assert status == 200
    assert [(d["kind"], d["value"]) for d in panel["data"]] == [("cpf", CPF)]
    assert panel["cpf_masked"] is False and panel["lgpd_actions"] is True
    status, export = call_api(
        "post", f"/v1/admin/customers/{panel['customer_id']}/export", admin
    )
    assert status == 201 and export["html_url"]


def test_a_conversation_with_another_attendant_is_closed_to_others(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    _first, second, ana = _history(channel, identity_pool)
    assert call_api("post", f"/v1/console/conversations/{second}/claim", ana)[0] == 200
    bia = identity_pool.attendant(channel.tenant_id)
    status, body = _panel(second, bia)
    assert status == 403 and body["error"]["code"] == "ACESSO_NEGADO"
    assert _panel(second, ana)[0] == 200
    with db.tenant_transaction(channel.tenant_id) as conn:
        seen = conn.execute(
            "SELECT actor_id FROM audit_events WHERE action = 'CUSTOMER_LOOKED_UP'"
        ).fetchall()
    assert [s["actor_id"] for s in seen] == [str(ana.attendant_id)]


def test_another_tenant_cannot_open_the_panel(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    _first, second, _ana = _history(channel, identity_pool)
    other = tenancy.create_tenant("Outra loja").tenant.id
    admin_b = identity_pool.attendant(other, "admin")
    status, body = _panel(second, admin_b)
    assert status == 404 and body["error"]["code"] == "NAO_ENCONTRADO"
