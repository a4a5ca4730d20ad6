"""Every list the API returns comes in pages with a cap: a ``limit`` over the
cap is refused (400 ``LIMITE_INVALIDO``, never silently clamped), and walking
the pages by their cursor returns every item once, in order, ties included.

A conversation's history is one of these lists: its latest page comes with the
conversation, older pages on request (``before``), each read audited.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote
from uuid import UUID, uuid4

import pytest
from app import app
from chalice.test import Client

from atende import consent, db, tenancy
from atende.db.paging import encode_cursor
from tests.support.identity import IdentityPool, SignedIn

pytestmark = pytest.mark.integration

BASE = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
Headers = dict[str, str]


def _get(path: str, headers: Headers) -> tuple[int, dict[str, Any]]:
    with Client(app) as client:
        response = client.http.get(path, headers=headers)
    return response.status_code, json.loads(response.body or b"{}")


def _walk(path: str, key: str, headers: Headers, limit: int) -> list[list[Any]]:
    """Every page of ``path`` by its cursor; each page's ``key`` items."""
    pages: list[list[Any]] = []
    after: str | None = None
    separator = "&" if "?" in path else "?"
    while True:
        query = f"{separator}limit={limit}"
        if after is not None:
            query += f"&cursor={quote(after)}"
        status, body = _get(path + query, headers)
        assert status == 200, body
        assert len(body[key]) <= limit
        pages.append(body[key])
        after = body["next_cursor"]
        if after is None:
            return pages
        assert len(pages) < 50, "the cursor does not move"


def _assert_capped(
    path: str, headers: Headers, maximum: int, cursor: str | None = "cursor"
) -> None:
    """``limit`` outside 1..maximum and a forged ``cursor`` are refused."""
    separator = "&" if "?" in path else "?"
    for wrong in (maximum + 1, 0, -1):
        status, body = _get(f"{path}{separator}limit={wrong}", headers)
        assert status == 400, (path, wrong, body)
        assert body["error"]["code"] == "LIMITE_INVALIDO"
        assert body["error"]["message"] == (
            f"O parâmetro 'limit' deve estar entre 1 e {maximum}."
        )
    if cursor is not None:
        status, body = _get(f"{path}{separator}{cursor}=bm9wZQ", headers)
        assert status == 400 and body["error"]["code"] == "CURSOR_INVALIDO"


@pytest.fixture
def shop(database: Any, aws_mock: None) -> tenancy.ProvisionedTenant:
    return tenancy.create_tenant("Loja Paginada")


def _insert(tenant_id: UUID, query: str, *params: Any) -> UUID:
    with db.tenant_transaction(tenant_id) as conn:
        row = conn.execute(query, params).fetchone()
    assert row is not None
    return UUID(str(row["id"]))


def _customer(tenant_id: UUID, name: str = "Cliente") -> UUID:
    return _insert(
        tenant_id,
        "INSERT INTO customers (tenant_id, wa_user_id, display_name)"
        " VALUES (current_tenant_id(), %s, %s) RETURNING id",
        f"BR.{uuid4().int % 10**16}",
        name,
    )


def _conversation(
    tenant_id: UUID, *, state: str = "with_human", active_at: datetime = BASE
) -> UUID:
    return _insert(
        tenant_id,
        "INSERT INTO conversations (tenant_id, customer_id, state, last_activity_at,"
        " last_inbound_at) VALUES (current_tenant_id(), %s, %s, %s, now())"
        " RETURNING id",
        _customer(tenant_id),
        state,
        active_at,
    )


def _ordered(items: list[tuple[UUID, Any]], key: Callable[[Any], Any]) -> list[str]:
    """Ids in the order ``key`` of their sort value, ties broken by id."""
    return [str(i) for i, _ in sorted(items, key=lambda it: (key(it[1]), it[0]))]


def _flat(pages: list[list[dict[str, Any]]], field: str) -> list[str]:
    return [item[field] for page in pages for item in page]


def test_a_long_conversation_opens_on_its_latest_page_and_pages_back(
    shop: tenancy.ProvisionedTenant, identity_pool: IdentityPool
) -> None:
    tenant = shop.tenant.id
    supervisor = identity_pool.attendant(tenant, "supervisor")
    conversation = _conversation(tenant)
    # 130 messages, three at a time sharing one timestamp (one transaction).
    written = [
        (
            _insert(
                tenant,
                "INSERT INTO messages (tenant_id, conversation_id, direction, type,"
                " body, created_at) VALUES (current_tenant_id(), %s, 'inbound',"
                " 'text', %s, %s) RETURNING id",
                conversation,
                f"mensagem {n}",
                BASE + timedelta(seconds=n // 3),
            ),
            BASE + timedelta(seconds=n // 3),
        )
        for n in range(130)
    ]
    chronological = _ordered(written, lambda at: at)
    path = f"/v1/console/conversations/{conversation}"

    status, detail = _get(path, supervisor.headers)
    assert status == 200
    assert [m["id"] for m in detail["messages"]] == chronological[-50:]
    assert detail["older_cursor"]

    # Older pages: each one ends where the newer one began.
    pages = [
        detail["messages"],
        *_walk_before(path, detail["older_cursor"], supervisor.headers, 40),
    ]
    assert [len(p) for p in pages] == [50, 40, 40]
    assert [m["id"] for page in reversed(pages) for m in page] == chronological
    # Without a cursor, the latest page.
    status, latest = _get(f"{path}/messages?limit=10", supervisor.headers)
    assert [m["id"] for m in latest["messages"]] == chronological[-10:]

    _assert_capped(path, supervisor.headers, 200, cursor=None)
    _assert_capped(f"{path}/messages", supervisor.headers, 200, cursor="before")

    with db.tenant_transaction(tenant) as conn:
        viewed = conn.execute(
            "SELECT details FROM audit_events WHERE action = 'CONVERSATION_VIEWED'"
            " AND subject_id = %s ORDER BY id",
            (str(conversation),),
        ).fetchall()
    assert [v["details"].get("page") for v in viewed[:3]] == [None, "older", "older"]


def _walk_before(
    path: str, older: str, headers: Headers, limit: int
) -> list[list[dict[str, Any]]]:
    pages = []
    cursor: str | None = older
    while cursor is not None:
        status, body = _get(
            f"{path}/messages?before={quote(cursor)}&limit={limit}", headers
        )
        assert status == 200, body
        pages.append(body["messages"])
        cursor = body["older_cursor"]
    return pages


def test_others_cannot_page_through_a_conversation_they_may_not_read(
    shop: tenancy.ProvisionedTenant, identity_pool: IdentityPool
) -> None:
    tenant = shop.tenant.id
    conversation = _conversation(tenant)  # with people, assigned to nobody here
    _insert(
        tenant,
        "INSERT INTO messages (tenant_id, conversation_id, direction, type, body)"
        " VALUES (current_tenant_id(), %s, 'inbound', 'text', 'oi') RETURNING id",
        conversation,
    )
    attendant = identity_pool.attendant(tenant, "attendant")
    supervisor = identity_pool.attendant(tenant, "supervisor")
    _, detail = _get(f"/v1/console/conversations/{conversation}", supervisor.headers)
    assert len(detail["messages"]) == 1 and detail["older_cursor"] is None
    cursor = quote(encode_cursor(datetime.now(UTC), uuid4()))
    path = f"/v1/console/conversations/{conversation}/messages?before={cursor}"
    status, body = _get(path, attendant.headers)
    assert status == 403 and body["error"]["code"] == "ACESSO_NEGADO"
    other = tenancy.create_tenant("Outra Loja").tenant.id
    status, body = _get(path, identity_pool.attendant(other, "admin").headers)
    assert status == 404


def test_queue_and_conversation_lists_page_without_overlap(
    shop: tenancy.ProvisionedTenant, identity_pool: IdentityPool
) -> None:
    tenant = shop.tenant.id
    supervisor = identity_pool.attendant(tenant, "supervisor")
    waiting: list[tuple[UUID, tuple[int, datetime]]] = []
    active: list[tuple[UUID, datetime]] = []
    conversation_of: dict[str, str] = {}
    for n in range(9):
        at = BASE + timedelta(minutes=n // 3)
        conversation = _conversation(tenant, state="waiting_human", active_at=at)
        handoff = _insert(
            tenant,
            "INSERT INTO handoffs (tenant_id, conversation_id, reason, priority,"
            " requested_at) VALUES (current_tenant_id(), %s, 'pedido', %s, %s)"
            " RETURNING id",
            conversation,
            n % 2,
            at,
        )
        waiting.append((handoff, (n % 2, at)))
        conversation_of[str(handoff)] = str(conversation)
        active.append((conversation, at))

    queue = _walk("/v1/console/queue", "queue", supervisor.headers, limit=2)
    # Highest priority first, then the longest wait.
    expected = _ordered(waiting, lambda key: (-key[0], key[1]))
    assert _flat(queue, "conversation_id") == [conversation_of[h] for h in expected]
    assert _get("/v1/console/queue?limit=2", supervisor.headers)[1]["total"] == 9
    _assert_capped("/v1/console/queue", supervisor.headers, 200)

    pages = _walk(
        "/v1/console/conversations?scope=all", "conversations", supervisor.headers, 4
    )
    newest_first = list(reversed(_ordered(active, lambda at: at)))
    assert _flat(pages, "conversation_id") == newest_first
    _assert_capped("/v1/console/conversations?scope=all", supervisor.headers, 200)


def test_attendants_list_pages(
    shop: tenancy.ProvisionedTenant, identity_pool: IdentityPool
) -> None:
    tenant = shop.tenant.id
    admin: SignedIn = identity_pool.attendant(tenant, "admin")
    ids = {str(admin.attendant_id)}
    for n in range(6):
        ids.add(
            str(
                _insert(
                    tenant,
                    "INSERT INTO attendants (tenant_id, email, display_name, role)"
                    " VALUES (current_tenant_id(), %s, %s, 'attendant') RETURNING id",
                    f"a{n}@loja.example",
                    "Ana" if n < 3 else f"Bia {n}",
                )
            )
        )
    pages = _walk("/v1/console/attendants", "attendants", admin.headers, limit=2)
    listed = _flat(pages, "id")
    assert len(listed) == len(set(listed)) and set(listed) == ids
    _assert_capped("/v1/console/attendants", admin.headers, 200)


def test_consent_history_pages(
    shop: tenancy.ProvisionedTenant, identity_pool: IdentityPool
) -> None:
    tenant = shop.tenant.id
    supervisor = identity_pool.attendant(tenant, "supervisor")
    customer = _customer(tenant)
    decisions: list[tuple[UUID, datetime, bool]] = [
        (
            _insert(
                tenant,
                "INSERT INTO consents (tenant_id, customer_id, purpose, granted,"
                " source, recorded_at) VALUES (current_tenant_id(), %s, %s, %s,"
                " 'whatsapp_bot', %s) RETURNING id",
                customer,
                consent.PURPOSE,
                n % 2 == 0,
                BASE + timedelta(hours=n // 2),
            ),
            BASE + timedelta(hours=n // 2),
            n % 2 == 0,
        )
        for n in range(7)
    ]
    path = f"/v1/admin/customers/{customer}/consents"
    pages = _walk(path, "decisions", supervisor.headers, limit=3)
    assert [len(p) for p in pages] == [3, 3, 1]
    expected = sorted(decisions, key=lambda d: (d[1], d[0]))
    assert [(d["recorded_at"], d["granted"]) for p in pages for d in p] == [
        (at.isoformat(), granted) for _, at, granted in expected
    ]
    _, first = _get(path, supervisor.headers)
    assert first["granted"] is True  # the last decision, whatever the page
    _assert_capped(path, supervisor.headers, 200)


def test_documents_list_pages(shop: tenancy.ProvisionedTenant) -> None:
    tenant = shop.tenant.id
    headers = {"X-API-Key": shop.api_key}
    documents = [
        (
            _insert(
                tenant,
                "INSERT INTO documents (tenant_id, sha256, size_bytes, created_at)"
                " VALUES (current_tenant_id(), %s, 10, %s) RETURNING id",
                uuid4().bytes,
                BASE + timedelta(seconds=n // 3),
            ),
            BASE + timedelta(seconds=n // 3),
        )
        for n in range(8)
    ]
    pages = _walk("/v1/documents", "documents", headers, limit=3)
    assert _flat(pages, "id") == list(reversed(_ordered(documents, lambda at: at)))
    filtered = _walk("/v1/documents?status=RECEIVED", "documents", headers, limit=5)
    assert len(_flat(filtered, "id")) == 8
    _assert_capped("/v1/documents", headers, 200)
