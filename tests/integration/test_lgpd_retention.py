"""Retention: the scheduled job removes exactly what is due (and nothing else),
in batches, idempotently, audited; audit events go only after 365 days."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg import errors

from atende import aws, db
from atende.config import get_settings
from atende.db.embedded import EmbeddedDatabase
from atende.lgpd import retention
from atende.whatsapp.media import media_key
from infra.handlers import load_handler
from infra.lambda_runtime import LocalContext
from tests.support.lgpd import TrackerStore
from tests.support.storage import RefusedKeys

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _handler() -> Any:
    return load_handler("functions/retention/handler.py")


def _put(key: str) -> str:
    aws.client("s3").put_object(
        Bucket=get_settings().documents_bucket, Key=key, Body=b"sealed"
    )
    return key


def _keys() -> set[str]:
    listed = aws.client("s3").list_objects_v2(Bucket=get_settings().documents_bucket)
    return {o["Key"] for o in listed.get("Contents", [])}


class Seeded(dict[str, Any]):
    """Ids of what is due and what must stay, per kind."""


def _seed(
    tenant_id: UUID, admin_conn: Any, *, policy: tuple[int, int] | None
) -> Seeded:
    ids = Seeded(tenant=tenant_id)
    with db.tenant_transaction(tenant_id) as conn:
        conn.execute("INSERT INTO tenants (id, name) VALUES (%s, 'Loja')", (tenant_id,))
        if policy:
            conn.execute(
                "INSERT INTO retention_policies (tenant_id, messages_days,"
                " exports_hours) VALUES (%s, %s, %s)",
                (tenant_id, *policy),
            )
        customer = conn.execute(
            "INSERT INTO customers (tenant_id, wa_user_id) VALUES (%s, %s)"
            " RETURNING id",
            (tenant_id, f"BR.{uuid.uuid4().int % 10**16}"),
        ).fetchone()
        assert customer is not None
        conversation = conn.execute(
            # Closed: the session's idle sweeps (other tests) leave it alone.
            "INSERT INTO conversations (tenant_id, customer_id, state, closed_at)"
            " VALUES (%s, %s, 'closed', now()) RETURNING id",
            (tenant_id, customer["id"]),
        ).fetchone()
        assert conversation is not None

        def message(
            age: timedelta, *, status: str = "received", media: bool = False
        ) -> UUID:
            message_id = uuid.uuid4()
            media_ref = _put(media_key(tenant_id, message_id)) if media else None
            row = conn.execute(
                "INSERT INTO messages (tenant_id, id, conversation_id, direction,"
                " type, body, status, media_ref, created_at)"
                " VALUES (%s, %s, %s, 'inbound', 'text', 'olá', %s, %s, now() - %s)"
                " RETURNING id",
                (tenant_id, message_id, conversation["id"], status, media_ref, age),
            ).fetchone()
            assert row is not None
            return UUID(str(row["id"]))

        for age in (40, 5):  # the bot's summaries quote the customer
            conn.execute(
                "INSERT INTO handoffs (tenant_id, conversation_id, reason, summary,"
                " requested_at, resolved_at) VALUES (%s, %s, 'x',"
                " 'Última mensagem: \"olá\"', now() - make_interval(days => %s),"
                " now())",
                (tenant_id, conversation["id"], age),
            )
        ids["conversation"] = conversation["id"]
        # Attendants' notes and the customer's CSAT comment can quote them too.
        ana = conn.execute(
            "INSERT INTO attendants (tenant_id, email, display_name, role)"
            " VALUES (%s, 'ana@loja.example', 'Ana', 'attendant') RETURNING id",
            (tenant_id,),
        ).fetchone()
        assert ana is not None
        for age in (40, 5):
            conn.execute(
                "INSERT INTO conversation_notes (tenant_id, conversation_id,"
                " attendant_id, body, created_at) VALUES (%s, %s, %s,"
                " 'cliente mandou o CPF', now() - make_interval(days => %s))",
                (tenant_id, conversation["id"], ana["id"], age),
            )
            rated = conn.execute(
                "INSERT INTO conversations (tenant_id, customer_id, state, closed_at)"
                " VALUES (%s, %s, 'closed', now()) RETURNING id",
                (tenant_id, customer["id"]),
            ).fetchone()
            assert rated is not None
            conn.execute(
                "INSERT INTO satisfaction_surveys (tenant_id, conversation_id,"
                " customer_id, attendant_id, sent_at, expires_at, score, rated_at,"
                " comment, commented_at) VALUES (%s, %s, %s, %s, now() - %s,"
                " now() - %s, 4, now() - %s, 'a Ana me ajudou', now() - %s)",
                (
                    tenant_id,
                    rated["id"],
                    customer["id"],
                    ana["id"],
                    *[timedelta(days=age)] * 4,
                ),
            )
        ids["old_messages"] = {
            message(timedelta(days=40), media=True),
            message(timedelta(days=41)),
            message(timedelta(days=42)),
        }
        ids["kept_messages"] = {
            message(timedelta(days=10)),
            message(timedelta(days=40), status="pending"),  # the outbox stays
        }

        def export(age: timedelta) -> UUID:
            export_id = uuid.uuid4()
            keys = [
                _put(f"tenants/{tenant_id}/lgpd/exports/{export_id}/{n}.enc")
                for n in ("dados.json", "dados.xlsx")
            ]
            row = conn.execute(
                "INSERT INTO lgpd_exports (tenant_id, id, customer_id, json_key,"
                " xlsx_key, token_hash, created_by_type, created_at, expires_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, 'system', now() - %s, now())"
                " RETURNING id",
                (tenant_id, export_id, customer["id"], *keys, uuid.uuid4().bytes, age),
            ).fetchone()
            assert row is not None
            return UUID(str(row["id"]))

        ids["old_export"] = export(timedelta(hours=30))
        ids["kept_export"] = export(timedelta(hours=2))

        def result(expires_in: timedelta) -> UUID:
            document = conn.execute(
                "INSERT INTO documents (tenant_id, sha256, size_bytes, status)"
                " VALUES (%s, %s, 10, 'COMPLETED') RETURNING id",
                (tenant_id, uuid.uuid4().bytes),
            ).fetchone()
            assert document is not None
            key = _put(
                f"tenants/{tenant_id}/documents/{document['id']}/result.json.enc"
            )
            conn.execute(
                "INSERT INTO document_results (tenant_id, document_id, s3_key,"
                " llm_available, expires_at) VALUES (%s, %s, %s, false, now() + %s)",
                (tenant_id, document["id"], key, expires_in),
            )
            return UUID(str(document["id"]))

        ids["expired_result"] = result(timedelta(hours=-1))
        ids["live_result"] = result(timedelta(hours=5))
    # Audit events can't be back-dated by the application: seeded as superuser.
    ids["old_audit"] = {
        admin_conn.execute(
            "INSERT INTO audit_events (tenant_id, occurred_at, action, subject_type,"
            " actor_type) VALUES (%s, now() - %s, 'OLD', 'tenant', 'system')"
            " RETURNING id",
            (tenant_id, timedelta(days=days)),
        ).fetchone()[0]
        for days in (366, 400)
    }
    ids["kept_audit"] = admin_conn.execute(
        "INSERT INTO audit_events (tenant_id, occurred_at, action, subject_type,"
        " actor_type) VALUES (%s, now() - interval '364 days', 'RECENT', 'tenant',"
        " 'system') RETURNING id",
        (tenant_id,),
    ).fetchone()[0]
    return ids


def _state(tenant_id: UUID) -> dict[str, set[Any]]:
    with db.tenant_transaction(tenant_id) as conn:
        return {
            "messages": {r["id"] for r in conn.execute("SELECT id FROM messages")},
            "exports": {r["id"] for r in conn.execute("SELECT id FROM lgpd_exports")},
            "results": {
                r["document_id"]
                for r in conn.execute("SELECT document_id FROM document_results")
            },
            "documents": {r["id"] for r in conn.execute("SELECT id FROM documents")},
            "audit": {
                r["id"]
                for r in conn.execute(
                    "SELECT id FROM audit_events WHERE action IN ('OLD', 'RECENT')"
                )
            },
            "notes": {
                r["days"]
                for r in conn.execute(
                    "SELECT extract(day FROM now() - created_at)::int AS days"
                    " FROM conversation_notes"
                )
            },
            "comments": {
                r["days"]
                for r in conn.execute(
                    "SELECT extract(day FROM now() - rated_at)::int AS days"
                    " FROM satisfaction_surveys WHERE comment IS NOT NULL"
                )
            },
            "ratings": {
                r["score"]
                for r in conn.execute("SELECT score FROM satisfaction_surveys")
            },
            "summaries": {
                r["days"]
                for r in conn.execute(
                    "SELECT extract(day FROM now() - requested_at)::int AS days"
                    " FROM handoffs WHERE summary IS NOT NULL"
                )
            },
        }


@pytest.fixture
def bucket(database: EmbeddedDatabase, aws_mock: None) -> None:
    aws.client("s3").create_bucket(
        Bucket=get_settings().documents_bucket,
        CreateBucketConfiguration={"LocationConstraint": "sa-east-1"},
    )


def test_retention_removes_exactly_what_is_due(bucket: None, admin_conn: Any) -> None:
    strict = _seed(uuid.uuid4(), admin_conn, policy=(30, 24))
    default = _seed(uuid.uuid4(), admin_conn, policy=None)  # 180 days, 24 hours
    keys_before = _keys()

    removed = retention.apply_tenant_retention(strict["tenant"], batch_size=2)

    assert removed == {
        "messages": 3,
        "lgpd_exports": 1,
        "document_results": 1,
        "audit_events": 2,
        "handoff_summaries": 1,
        "notes": 1,
        "survey_comments": 1,
    }
    state = _state(strict["tenant"])
    assert state["summaries"] == {5}
    assert state["notes"] == {5} and state["comments"] == {5}
    assert state["ratings"] == {4}  # the score stays for the reports
    assert state["messages"] == strict["kept_messages"]
    assert state["exports"] == {strict["kept_export"]}
    assert state["results"] == {strict["live_result"]}
    assert state["documents"] == {strict["expired_result"], strict["live_result"]}
    assert state["audit"] == {strict["kept_audit"]}
    gone = keys_before - _keys()
    assert len(gone) == 1 + 2 + 1  # the media, the export's two files, the result
    assert all(k.startswith(f"tenants/{strict['tenant']}/") for k in gone)

    # The other tenant, under the defaults, loses only its expired result and
    # its year-old audit events.
    removed = retention.apply_tenant_retention(default["tenant"], batch_size=2)
    assert removed == {
        "messages": 0,
        "lgpd_exports": 1,
        "document_results": 1,
        "audit_events": 2,
        "handoff_summaries": 0,
        "notes": 0,
        "survey_comments": 0,
    }
    assert _state(default["tenant"])["messages"] == (
        default["old_messages"] | default["kept_messages"]
    )


def test_retention_is_idempotent_and_audited(bucket: None, admin_conn: Any) -> None:
    seeded = _seed(uuid.uuid4(), admin_conn, policy=(30, 24))
    first = retention.apply_tenant_retention(seeded["tenant"], batch_size=500)
    second = retention.apply_tenant_retention(seeded["tenant"], batch_size=500)
    assert sum(first.values()) == 10
    assert second == dict.fromkeys(first, 0)
    with db.tenant_transaction(seeded["tenant"]) as conn:
        events = conn.execute(
            "SELECT actor_type, details FROM audit_events"
            " WHERE action = 'RETENTION_APPLIED'"
        ).fetchall()
    assert events == [
        {
            "actor_type": "system",
            "details": {
                **first,
                "messages_days": 30,
                "exports_hours": 24,
                "audit_days": 365,
            },
        }
    ]


def test_the_app_may_purge_only_year_old_audit_events(
    bucket: None, admin_conn: Any
) -> None:
    seeded = _seed(uuid.uuid4(), admin_conn, policy=None)
    other = _seed(uuid.uuid4(), admin_conn, policy=None)
    with db.tenant_transaction(seeded["tenant"]) as conn:
        purged = conn.execute("SELECT purge_expired_audit_events(100) AS n").fetchone()
    assert purged == {"n": 2}
    assert _state(seeded["tenant"])["audit"] == {seeded["kept_audit"]}
    assert _state(other["tenant"])["audit"] == other["old_audit"] | {
        other["kept_audit"]
    }
    with (
        pytest.raises(errors.InsufficientPrivilege),
        db.tenant_transaction(seeded["tenant"]) as conn,
    ):
        conn.execute("DELETE FROM audit_events WHERE action = 'RECENT'")


def test_the_scheduled_handler_covers_every_tenant(
    bucket: None, admin_conn: Any
) -> None:
    first = _seed(uuid.uuid4(), admin_conn, policy=(30, 24))
    second = _seed(uuid.uuid4(), admin_conn, policy=(30, 24))
    totals = _handler().handler({}, LocalContext("retention"))
    assert totals["messages"] >= 6 and totals["audit_events"] >= 4
    for seeded in (first, second):
        assert _state(seeded["tenant"])["messages"] == seeded["kept_messages"]


def test_old_tracker_turns_go_with_the_messages(
    bucket: None,
    admin_conn: Any,
    tracker_store: TrackerStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seeded = _seed(uuid.uuid4(), admin_conn, policy=(30, 24))
    with db.tenant_transaction(seeded["tenant"]) as conn:
        conn.execute("UPDATE conversations SET opened_at = now() - interval '60 days'")
    sender = str(seeded["conversation"])
    old, recent = time.time() - 40 * 86400, time.time() - 86400
    with psycopg.connect(tracker_store.url, autocommit=True) as tracker:
        for stamp in (old, old, recent):
            tracker.execute(
                "INSERT INTO events (sender_id, type_name, timestamp, data)"
                " VALUES (%s, 'user', %s, '{}')",
                (sender, stamp),
            )
        tracker.execute(  # another tenant's conversation: untouched
            "INSERT INTO events (sender_id, type_name, timestamp, data)"
            " VALUES ('someone-else', 'user', %s, '{}')",
            (old,),
        )
    monkeypatch.setenv("RASA_TRACKER_DB_URL", tracker_store.url)
    get_settings.cache_clear()
    try:
        removed = retention.apply_tenant_retention(seeded["tenant"], batch_size=500)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert removed["tracker_events"] == 2
    assert tracker_store.count(sender) == 1
    assert tracker_store.count("someone-else") == 1


def test_retention_deletes_only_objects_under_the_tenants_own_prefix(
    bucket: None, admin_conn: Any, refused_keys: RefusedKeys
) -> None:
    seeded = _seed(uuid.uuid4(), admin_conn, policy=(30, 24))
    mine, theirs = seeded["tenant"], uuid.uuid4()
    own_media = uuid.uuid4()
    own_key = _put(f"tenants/{mine}/media/{own_media}.enc")
    foreign = {
        _put(f"tenants/{theirs}/media/{name}.enc") for name in ("x", "y", "z", "w")
    }
    refs = {
        own_media: own_key,
        uuid.uuid4(): f"tenants/{theirs}/media/x.enc",
        uuid.uuid4(): f"tenants/{mine}/../{theirs}/media/y.enc",
        uuid.uuid4(): f"tenants/{mine}/media/../../{theirs}/media/z.enc",
        uuid.uuid4(): f"../../{theirs}/media/w",
    }
    with db.tenant_transaction(mine) as conn:
        for message_id, ref in refs.items():
            conn.execute(
                "INSERT INTO messages (tenant_id, id, conversation_id, direction,"
                " type, media_ref, created_at) VALUES (current_tenant_id(), %s, %s,"
                " 'inbound', 'image', %s, now() - interval '40 days')",
                (message_id, seeded["conversation"], ref),
            )

    removed = retention.apply_tenant_retention(mine, batch_size=500)

    assert removed["messages"] == 3 + len(refs)
    assert foreign <= _keys()
    assert own_key not in _keys()
    assert refused_keys.count() == 3
    assert refused_keys.logged() == 3
    assert str(theirs) not in refused_keys.text()
