"""Private notes and labels in the console's API: never sent to WhatsApp,
audited, filtered by, and invisible to another tenant."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest
from app import app
from chalice.test import Client

from atende import db, tenancy
from atende.conversations.handoff import handoff_to_human
from tests.support.channel import Channel, drain, post_webhook, signed, text_update
from tests.support.identity import IdentityPool, call_api

pytestmark = pytest.mark.integration


def _waiting(ch: Channel, user: str) -> UUID:
    post_webhook(*signed(text_update("oi", wamid=f"wamid.{user}", user_id=user)))
    drain(ch)
    with db.tenant_transaction(ch.tenant_id) as conn:
        row = conn.execute(
            "SELECT v.id FROM conversations v JOIN customers c ON c.id = v.customer_id"
            " WHERE c.wa_user_id = %s",
            (user,),
        ).fetchone()
    assert row is not None
    conversation_id = UUID(str(row["id"]))
    assert handoff_to_human(ch.tenant_id, conversation_id, reason="x", summary=None)
    return conversation_id


def test_a_private_note_is_in_the_timeline_audited_and_never_sent(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    conversation_id = _waiting(channel, "BR.1")
    ana = identity_pool.attendant(channel.tenant_id)
    path = f"/v1/console/conversations/{conversation_id}"
    assert call_api("post", f"{path}/claim", ana)[0] == 200
    sends = len(channel.sent())

    status, note = call_api("post", f"{path}/notes", ana, {"text": " Cliente VIP "})
    assert status == 201 and note["body"] == "Cliente VIP"
    assert len(channel.sent()) == sends  # nothing went to WhatsApp
    status, detail = call_api("get", path, ana)
    assert [(n["body"], n["attendant"]) for n in detail["notes"]] == [
        ("Cliente VIP", note["attendant"])
    ]
    assert all(m["body"] != "Cliente VIP" for m in detail["messages"])
    with db.tenant_transaction(channel.tenant_id) as conn:
        audit = conn.execute(
            "SELECT actor_id, details FROM audit_events WHERE action = 'NOTE_ADDED'"
        ).fetchone()
        outbox = conn.execute(
            "SELECT count(*) AS n FROM messages WHERE body LIKE '%%VIP%%'"
        ).fetchone()
    assert audit is not None and audit["actor_id"] == str(ana.attendant_id)
    assert audit["details"] == {"note_id": note["id"], "length": "11"}  # no text
    assert outbox is not None and outbox["n"] == 0

    status, body = call_api("post", f"{path}/notes", ana, {"text": "  "})
    assert status == 400 and body["error"]["code"] == "ENTRADA_INVALIDA"
    status, body = call_api("post", f"{path}/notes", ana, {"text": "x" * 2001})
    assert status == 400
    # Someone who may not read the conversation may not annotate it either.
    bia = identity_pool.attendant(channel.tenant_id)
    assert call_api("post", f"{path}/notes", bia, {"text": "oi"})[0] == 403


def test_labels_are_managed_by_supervisors_applied_and_filtered_by(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    vip_conv = _waiting(channel, "BR.1")
    other_conv = _waiting(channel, "BR.2")
    sup = identity_pool.attendant(channel.tenant_id, "supervisor")
    ana = identity_pool.attendant(channel.tenant_id)

    status, body = call_api(
        "post", "/v1/console/labels", ana, {"name": "VIP", "color": "#aa0000"}
    )
    assert status == 403
    status, vip = call_api(
        "post", "/v1/console/labels", sup, {"name": " VIP ", "color": "#AA0000"}
    )
    assert status == 201 and (vip["name"], vip["color"]) == ("VIP", "#aa0000")
    status, body = call_api(
        "post", "/v1/console/labels", sup, {"name": "vip", "color": "#000000"}
    )
    assert status == 409
    status, body = call_api(
        "post", "/v1/console/labels", sup, {"name": "Boleto", "color": "vermelho"}
    )
    assert status == 400 and "#RRGGBB" in body["error"]["message"]
    status, listed = call_api("get", "/v1/console/labels", ana)
    assert [label["name"] for label in listed["labels"]] == ["VIP"]

    path = f"/v1/console/conversations/{vip_conv}/labels/{vip['id']}"
    status, body = call_api("put", path, ana)
    assert status == 200 and [x["name"] for x in body["labels"]] == ["VIP"]
    assert call_api("put", path, ana)[0] == 200  # idempotent

    status, queue = call_api("get", f"/v1/console/queue?label={vip['id']}", ana)
    assert [q["conversation_id"] for q in queue["queue"]] == [str(vip_conv)]
    assert queue["total"] == 1 and queue["queue"][0]["labels"][0]["name"] == "VIP"
    status, full = call_api("get", "/v1/console/queue", ana)
    assert {q["conversation_id"] for q in full["queue"]} == {
        str(vip_conv),
        str(other_conv),
    }
    status, all_ = call_api(
        "get", f"/v1/console/conversations?scope=all&label={vip['id']}", sup
    )
    assert [c["conversation_id"] for c in all_["conversations"]] == [str(vip_conv)]

    status, body = call_api("get", f"/v1/console/queue?label={uuid4()}", ana)
    assert status == 400 and body["error"]["code"] == "ETIQUETA_INEXISTENTE"
    status, body = call_api(
        "put", f"/v1/console/conversations/{vip_conv}/labels/{uuid4()}", ana
    )
    assert status == 400 and body["error"]["code"] == "ETIQUETA_INEXISTENTE"

    status, body = call_api("delete", path, ana)
    assert status == 200 and body["labels"] == []
    with db.tenant_transaction(channel.tenant_id) as conn:
        actions = [
            r["action"]
            for r in conn.execute(
                "SELECT action FROM audit_events WHERE action LIKE '%%LABEL%%'"
                " ORDER BY id"
            ).fetchall()
        ]
    assert actions == [
        "LABEL_CREATED",
        "CONVERSATION_LABELLED",
        "CONVERSATION_UNLABELLED",
    ]
    assert call_api("put", path, ana)[0] == 200
    assert call_api("delete", f"/v1/console/labels/{vip['id']}", ana)[0] == 403
    with Client(app) as client:
        gone = client.http.delete(
            f"/v1/console/labels/{vip['id']}", headers=sup.headers
        )
    assert gone.status_code == 204
    status, detail = call_api("get", f"/v1/console/conversations/{vip_conv}", sup)
    assert detail["labels"] == []


def test_another_tenant_sees_none_of_our_notes_or_labels(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    conversation_id = _waiting(channel, "BR.1")
    sup = identity_pool.attendant(channel.tenant_id, "supervisor")
    path = f"/v1/console/conversations/{conversation_id}"
    assert call_api("post", f"{path}/notes", sup, {"text": "segredo"})[0] == 201
    status, vip = call_api(
        "post", "/v1/console/labels", sup, {"name": "VIP", "color": "#aa0000"}
    )
    assert call_api("put", f"{path}/labels/{vip['id']}", sup)[0] == 200

    other = tenancy.create_tenant("Outra Loja").tenant.id
    theirs = identity_pool.attendant(other, "admin")
    assert call_api("get", "/v1/console/labels", theirs)[1]["labels"] == []
    assert call_api("get", path, theirs)[0] == 404
    assert call_api("post", f"{path}/notes", theirs, {"text": "oi"})[0] == 404
    status, body = call_api("get", f"/v1/console/queue?label={vip['id']}", theirs)
    assert status == 400 and body["error"]["code"] == "ETIQUETA_INEXISTENTE"
    assert call_api("delete", f"/v1/console/labels/{vip['id']}", theirs)[0] == 404
    # The same name is free in another tenant.
    status, _ = call_api(
        "post", "/v1/console/labels", theirs, {"name": "VIP", "color": "#00aa00"}
    )
    assert status == 201
