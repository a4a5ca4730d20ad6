"""Erasure: afterwards every table, the bucket and the Rasa tracker store are
queried for the customer; the proof record says what went where; running it
again changes nothing."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest
from psycopg import sql

from atende import aws, db, lgpd
from atende.audit import RequestContext
from atende.config import get_settings
from atende.conversations import store
from atende.lgpd import access, erasure
from atende.observability import contains_pii
from atende.whatsapp.media import media_key
from tests.support.channel import Channel
from tests.support.lgpd import (
    ADMIN,
    CUSTOMER,
    OTHER,
    PHONE,
    TrackerStore,
    conversation_ids,
    customer_id,
    customer_with_history,
    rows,
    say,
)
from tests.support.storage import RefusedKeys

pytestmark = pytest.mark.integration

# Everything personal the customer left behind, as it was stored (the profile
# name is checked on the customer row: the other customer shares it).
TRACES = (
    CUSTOMER,
    PHONE,
    "529.982.247-25",
    "ana.souza@example.com",
    "meu cpf",
    "rg.pdf",
)


def _put(key: str) -> str:
    aws.client("s3").put_object(
        Bucket=get_settings().documents_bucket, Key=key, Body=b"sealed"
    )
    return key


def _keys(tenant_id: UUID) -> list[str]:
    listed = aws.client("s3").list_objects_v2(
        Bucket=get_settings().documents_bucket, Prefix=f"tenants/{tenant_id}/"
    )
    return sorted(o["Key"] for o in listed.get("Contents", []))


def _tenant_tables(admin_conn: Any) -> list[str]:
    return [
        r[0]
        for r in admin_conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_attribute a"
            " ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1"
        ).fetchall()
    ]


def _rows_as_text(admin_conn: Any, table: str, tenant_id: UUID) -> list[str]:
    query = sql.SQL("SELECT t::text FROM {} t WHERE tenant_id = %s").format(
        sql.Identifier(table)
    )
    return [r[0] for r in admin_conn.execute(query, (tenant_id,)).fetchall()]


@pytest.fixture
def erased(channel: Channel, tracker_store: TrackerStore) -> dict[str, Any]:
    """A customer with history everywhere, then erased on an admin's request."""
    seen = customer_with_history(channel)
    customer, conversation = seen["customer"], seen["conversation"]
    _put(media_key(channel.tenant_id, seen["document"]))
    _put(f"tenants/{channel.tenant_id}/media/someone-else.enc")
    access.create_export(channel.tenant_id, customer, context=RequestContext(ADMIN))
    other_conversation = conversation_ids(channel, customer_id(channel, OTHER))[0]
    with db.tenant_transaction(channel.tenant_id) as conn:
        store.request_handoff(
            conn, conversation, reason="pedido_do_cliente", summary=""
        )
        request_id, _ = lgpd.open_request(
            conn,
            customer_id=customer,
            kind="erasure",
            conversation_id=conversation,
            context=RequestContext(ADMIN),
        )
    tracker_store.add(str(conversation), events=4)
    tracker_store.add(str(other_conversation), events=2)
    before = rows(
        channel,
        "SELECT count(*) AS n FROM messages WHERE conversation_id = %s",
        conversation,
    )[0]["n"]
    proof = erasure.erase_customer(
        channel.tenant_id,
        customer,
        context=RequestContext(ADMIN, ip="203.0.113.9"),
        tracker_db_url=tracker_store.url,
    )
    return {
        **seen,
        "proof": proof,
        "request_id": request_id,
        "messages_before": before,
        "other_conversation": other_conversation,
    }


def test_nothing_personal_is_left_in_any_table(
    channel: Channel, erased: dict[str, Any], admin_conn: Any
) -> None:
    tables = _tenant_tables(admin_conn)
    assert {"messages", "contacts", "lgpd_exports", "audit_events"} <= set(tables)
    for table in tables:
        for text in _rows_as_text(admin_conn, table, channel.tenant_id):
            leaked = [t for t in TRACES if t in text]
            assert leaked == [], f"{table} still holds {leaked}"

    customer = erased["customer"]
    assert (
        rows(channel, "SELECT * FROM conversations WHERE customer_id = %s", customer)
        == []
    )
    assert (
        rows(
            channel,
            "SELECT * FROM messages WHERE conversation_id = %s",
            erased["conversation"],
        )
        == []
    )
    for table in ("contacts", "lgpd_exports"):
        assert rows(channel, f"SELECT * FROM {table}") == []  # noqa: S608
    assert rows(channel, "SELECT * FROM handoffs") == []
    [profile] = rows(
        channel,
        "SELECT wa_user_id, phone, username, display_name, erased_at FROM customers"
        " WHERE id = %s",
        customer,
    )
    assert profile["wa_user_id"] == f"apagado:{customer}"
    assert profile["phone"] is profile["display_name"] is profile["username"] is None
    assert profile["erased_at"] is not None
    # What the law asks to keep stays, without personal data.
    assert (
        len(rows(channel, "SELECT * FROM consents WHERE customer_id = %s", customer))
        == 1
    )
    [request] = rows(channel, "SELECT status, conversation_id FROM lgpd_requests")
    assert request == {"status": "done", "conversation_id": None}
    for event in rows(channel, "SELECT details::text AS d FROM audit_events"):
        assert not contains_pii(event["d"])


def test_other_customers_keep_their_data(
    channel: Channel, erased: dict[str, Any], tracker_store: TrackerStore
) -> None:
    other = customer_id(channel, OTHER)
    assert rows(
        channel,
        "SELECT body FROM messages m JOIN conversations c ON c.id = m.conversation_id"
        " WHERE c.customer_id = %s AND direction = 'inbound'",
        other,
    ) == [{"body": "oi, sou outro cliente"}]
    assert tracker_store.count(str(erased["other_conversation"])) == 2
    assert _keys(channel.tenant_id) == [
        f"tenants/{channel.tenant_id}/media/someone-else.enc"
    ]


def test_bucket_and_tracker_are_emptied(
    channel: Channel, erased: dict[str, Any], tracker_store: TrackerStore
) -> None:
    assert tracker_store.count(str(erased["conversation"])) == 0
    keys = _keys(channel.tenant_id)
    document = media_key(channel.tenant_id, erased["document"])
    assert not any("/lgpd/" in k or k == document for k in keys)


def test_the_proof_says_what_went_where_and_on_whose_request(
    channel: Channel, erased: dict[str, Any]
) -> None:
    proof = erased["proof"]
    assert proof.customer_id == erased["customer"]
    assert proof.request_id == erased["request_id"]
    assert (proof.requested_by_type, proof.requested_by_id) == ("attendant", ADMIN.id)
    assert proof.deleted == {
        "postgres": {
            "contacts": 2,
            "lgpd_exports": 1,
            "handoffs": 1,
            "messages": erased["messages_before"],
            "parked_statuses": 0,
            "conversations": 1,
            "customers": "anonimizado",
        },
        "s3": {"objects": 4},  # the PDF, the export's JSON, XLSX and page
        "sqs": {"dead_letters": 0},
        "rasa_tracker": {"configured": True, "events": 4},
        "kept": ["audit_events", "consents", "lgpd_requests", "erasure_proofs"],
    }
    [stored] = rows(channel, "SELECT id, executed_at FROM erasure_proofs")
    assert stored["id"] == proof.id
    audit = rows(
        channel,
        "SELECT action, actor_type, host(ip) AS ip, details FROM audit_events"
        " WHERE subject_id = %s AND action IN ('LGPD_ERASURE_COMPLETED',"
        " 'BOT_MEMORY_ERASED', 'LGPD_REQUEST_DONE') ORDER BY id",
        str(erased["customer"]),
    )
    assert [a["action"] for a in audit] == [
        "BOT_MEMORY_ERASED",
        "LGPD_REQUEST_DONE",
        "LGPD_ERASURE_COMPLETED",
    ]
    assert audit[2]["ip"] == "203.0.113.9"
    assert audit[2]["details"]["proof_id"] == str(proof.id)


def test_erasure_is_idempotent(
    channel: Channel, erased: dict[str, Any], tracker_store: TrackerStore
) -> None:
    again = erasure.erase_customer(
        channel.tenant_id,
        erased["customer"],
        context=RequestContext(ADMIN),
        tracker_db_url=tracker_store.url,
    )
    assert again == erased["proof"]
    assert len(rows(channel, "SELECT id FROM erasure_proofs")) == 1
    completed = rows(
        channel,
        "SELECT id FROM audit_events WHERE action = 'LGPD_ERASURE_COMPLETED'",
    )
    assert len(completed) == 1


def test_a_returning_customer_starts_afresh(
    channel: Channel, erased: dict[str, Any]
) -> None:
    say(channel, "oi, voltei")
    assert customer_id(channel) != erased["customer"]
    with pytest.raises(access.CustomerErased):
        access.create_export(
            channel.tenant_id, erased["customer"], context=RequestContext(ADMIN)
        )


def test_erasure_without_a_tracker_store_says_so(channel: Channel) -> None:
    seen = customer_with_history(channel)
    proof = erasure.erase_customer(
        channel.tenant_id, seen["customer"], context=RequestContext(ADMIN)
    )
    assert proof.deleted["rasa_tracker"] == {"configured": False}


def test_unknown_customer(channel: Channel) -> None:
    with pytest.raises(access.CustomerNotFound):
        erasure.erase_customer(
            channel.tenant_id, uuid4(), context=RequestContext(ADMIN)
        )


def test_two_erasures_at_once_give_one_proof(
    channel: Channel, tracker_store: TrackerStore
) -> None:
    import threading

    seen = customer_with_history(channel)
    proofs: list[Any] = []
    barrier = threading.Barrier(2)

    def erase() -> None:
        barrier.wait()
        proofs.append(
            erasure.erase_customer(
                channel.tenant_id,
                seen["customer"],
                context=RequestContext(ADMIN),
                tracker_db_url=tracker_store.url,
            )
        )

    threads = [threading.Thread(target=erase) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(proofs) == 2 and proofs[0] == proofs[1]
    assert len(rows(channel, "SELECT id FROM erasure_proofs")) == 1


def test_erasure_deletes_only_objects_under_the_tenants_own_prefix(
    channel: Channel, refused_keys: RefusedKeys
) -> None:
    seen = customer_with_history(channel)
    mine, theirs = channel.tenant_id, uuid4()
    own_media = uuid4()
    own_key = _put(f"tenants/{mine}/media/{own_media}.enc")
    foreign = [
        _put(f"tenants/{theirs}/media/{name}.enc") for name in ("x", "y", "z", "w")
    ]
    refs = {
        own_media: own_key,
        # Stored references that point out of the tenant's prefix.
        uuid4(): f"tenants/{theirs}/media/x.enc",
        uuid4(): f"tenants/{mine}/../{theirs}/media/y.enc",
        uuid4(): f"tenants/{mine}/media/../../{theirs}/media/z.enc",
        # A media id as Meta would send it, were it hostile.
        uuid4(): f"../../{theirs}/media/w",
    }
    with db.tenant_transaction(mine) as conn:
        for message_id, ref in refs.items():
            conn.execute(
                "INSERT INTO messages (tenant_id, id, conversation_id, direction,"
                " type, media_ref) VALUES (current_tenant_id(), %s, %s, 'inbound',"
                " 'image', %s)",
                (message_id, seen["conversation"], ref),
            )

    erasure.erase_customer(mine, seen["customer"], context=RequestContext(ADMIN))

    assert _keys(theirs) == sorted(foreign)
    assert own_key not in _keys(mine)
    assert refused_keys.count() == 3
    assert refused_keys.logged() == 3
    assert str(theirs) not in refused_keys.text()
