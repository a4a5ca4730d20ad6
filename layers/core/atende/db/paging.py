"""Pages of lists: a capped ``limit`` and opaque keyset cursors.

A cursor holds the sort key of the last row a page returned; the next page
starts strictly after it (``(created_at, id) < (…)``), so pages neither
overlap nor skip rows however many are added meanwhile. Cursors are only
positions: reading still goes through the tenant's transaction and its RLS.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from atende.errors import CursorInvalid, PageLimitInvalid

__all__ = [
    "Page",
    "decode_cursor",
    "encode_cursor",
    "keyset_page",
    "page_limit",
]

T = TypeVar("T")
Row = TypeVar("Row")
CursorValue = datetime | UUID | int | str

_MAX_CURSOR = 512  # characters; a real cursor is well under 200


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None  # None: this was the last page


def page_limit(limit: int | None, *, default: int, maximum: int) -> int:
    """``limit`` (or ``default`` when not given), refused outside 1..maximum."""
    if limit is None:
        return default
    if not 1 <= limit <= maximum:
        raise PageLimitInvalid(
            f"O parâmetro 'limit' deve estar entre 1 e {maximum}.", maximum=maximum
        )
    return limit


def _plain(value: CursorValue) -> int | str:
    if isinstance(value, datetime):
        return value.isoformat()
    return value if isinstance(value, int | str) else str(value)


def encode_cursor(*values: CursorValue) -> str:
    plain = [_plain(v) for v in values]
    raw = json.dumps(plain, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _parse(kind: type, value: Any) -> CursorValue:
    if kind is datetime and isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is not None:
            return parsed
    elif kind is UUID and isinstance(value, str):
        return UUID(value)
    elif kind in (int, str) and type(value) is kind:  # a bool is no int here
        return value
    raise ValueError(f"not a {kind.__name__}")


def decode_cursor(cursor: str, *kinds: type) -> tuple[Any, ...]:
    """The values :func:`encode_cursor` put in ``cursor``, typed as ``kinds``.

    Raises:
        CursorInvalid: not a cursor of this list.
    """
    try:
        if len(cursor) > _MAX_CURSOR:
            raise ValueError("too long")
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(values, list) or len(values) != len(kinds):
            raise ValueError("wrong shape")
        return tuple(_parse(k, v) for k, v in zip(kinds, values, strict=True))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise CursorInvalid() from exc


def keyset_page(
    rows: Sequence[Row], limit: int, key: Callable[[Row], tuple[CursorValue, ...]]
) -> tuple[list[Row], str | None]:
    """``rows`` fetched with ``LIMIT limit + 1``: the page and the cursor after
    its last row (None when nothing follows)."""
    page = list(rows[:limit])
    if len(rows) <= limit:
        return page, None
    return page, encode_cursor(*key(page[-1]))
