"""Customers as Meta identifies them: business-scoped ids first, phones as an
attribute, former ids kept (``user_id_update``)."""

# The only interpolated parts are this module's constant column lists;
# every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from atende.db import Connection


@dataclass(frozen=True)
class Customer:
    id: UUID
    wa_user_id: str
    phone: str | None
    username: str | None
    display_name: str | None


_CUSTOMER_COLUMNS = "id, wa_user_id, phone, username, display_name"


def _customer(row: dict[str, Any]) -> Customer:
    return Customer(**row)


def upsert_customer(
    conn: Connection,
    *,
    user_id: str,
    phone: str | None,
    username: str | None,
    display_name: str | None,
    parent_user_id: str | None = None,
) -> Customer:
    """The customer behind ``user_id`` (Meta's business-scoped id), created or
    refreshed. A former id (after ``user_id_update``) and a customer first seen by
    phone only (before business-scoped ids) resolve to the same customer."""
    row = conn.execute(
        f"SELECT {_CUSTOMER_COLUMNS} FROM customers"
        " WHERE wa_user_id = %s OR %s = ANY(previous_user_ids)"
        " OR (%s::text IS NOT NULL AND wa_user_id = %s)"
        " ORDER BY (wa_user_id = %s) DESC LIMIT 1 FOR UPDATE",
        (user_id, user_id, phone, phone, user_id),
    ).fetchone()
    if row is None:
        row = conn.execute(
            "INSERT INTO customers (tenant_id, wa_user_id, wa_parent_user_id, phone,"
            " username, display_name) VALUES (current_tenant_id(), %s, %s, %s, %s, %s)"
            " ON CONFLICT (tenant_id, wa_user_id) DO UPDATE SET updated_at = now()"
            f" RETURNING {_CUSTOMER_COLUMNS}",
            (user_id, parent_user_id, phone, username, display_name),
        ).fetchone()
        assert row is not None
        return _customer(row)
    # A phone-keyed customer now seen with a business-scoped id takes that id.
    new_key = user_id if row["wa_user_id"] == phone and user_id != phone else None
    updated = conn.execute(
        "UPDATE customers SET"
        " wa_user_id = coalesce(%s, wa_user_id),"
        " previous_user_ids = CASE WHEN %s::text IS NULL THEN previous_user_ids"
        "   ELSE array_append(previous_user_ids, wa_user_id) END,"
        " wa_parent_user_id = coalesce(%s, wa_parent_user_id),"
        " phone = coalesce(%s, phone), username = coalesce(%s, username),"
        " display_name = coalesce(%s, display_name), updated_at = now()"
        f" WHERE id = %s RETURNING {_CUSTOMER_COLUMNS}",
        (new_key, new_key, parent_user_id, phone, username, display_name, row["id"]),
    ).fetchone()
    assert updated is not None
    return _customer(updated)


def change_customer_id(
    conn: Connection, *, old_user_id: str, new_user_id: str, phone: str | None
) -> Customer | None:
    """Apply ``user_id_update``: the customer keeps its history under the new id.

    If messages under the new id already created a second customer, its
    conversations move to the original customer and the duplicate is removed.
    """
    old = conn.execute(
        f"SELECT {_CUSTOMER_COLUMNS} FROM customers"
        " WHERE wa_user_id = %s OR %s = ANY(previous_user_ids) FOR UPDATE",
        (old_user_id, old_user_id),
    ).fetchone()
    if old is None:
        return None
    duplicate = conn.execute(
        "SELECT id FROM customers WHERE wa_user_id = %s AND id <> %s FOR UPDATE",
        (new_user_id, old["id"]),
    ).fetchone()
    if duplicate is not None:
        _merge_customer(conn, keep=old["id"], drop=duplicate["id"])
    if old["wa_user_id"] == new_user_id:
        return _customer(old)
    row = conn.execute(
        "UPDATE customers SET wa_user_id = %s,"
        " previous_user_ids = array_append(previous_user_ids, wa_user_id),"
        " phone = coalesce(%s, phone), updated_at = now()"
        f" WHERE id = %s RETURNING {_CUSTOMER_COLUMNS}",
        (new_user_id, phone, old["id"]),
    ).fetchone()
    assert row is not None
    return _customer(row)


def _merge_customer(conn: Connection, *, keep: UUID, drop: UUID) -> None:
    # Only one open conversation per customer: the duplicate's open one closes.
    conn.execute(
        "UPDATE conversations SET state = 'closed', closed_at = now(),"
        " close_reason = 'merged' WHERE customer_id = %s AND state <> 'closed'"
        " AND EXISTS (SELECT 1 FROM conversations o WHERE o.customer_id = %s"
        " AND o.state <> 'closed')",
        (drop, keep),
    )
    conn.execute(
        "UPDATE conversations SET customer_id = %s WHERE customer_id = %s", (keep, drop)
    )
    conn.execute(
        "UPDATE consents SET customer_id = %s WHERE customer_id = %s", (keep, drop)
    )
    conn.execute(
        "UPDATE customers k SET previous_user_ids = k.previous_user_ids"
        " || d.previous_user_ids FROM customers d WHERE k.id = %s AND d.id = %s",
        (keep, drop),
    )
    conn.execute("DELETE FROM customers WHERE id = %s", (drop,))


def recipient_of(conn: Connection, conversation_id: UUID) -> Customer:
    row = conn.execute(
        f"SELECT {', '.join('c.' + c for c in _CUSTOMER_COLUMNS.split(', '))}"
        " FROM conversations v JOIN customers c ON c.id = v.customer_id"
        " WHERE v.id = %s",
        (conversation_id,),
    ).fetchone()
    assert row is not None
    return _customer(row)
