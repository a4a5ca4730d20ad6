"""Pages of lists: limits refused outside their range, cursors that round-trip
and refuse anything that is not one of ours."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from atende.db.paging import decode_cursor, encode_cursor, keyset_page, page_limit
from atende.errors import CursorInvalid, PageLimitInvalid, http_status


def test_limits_default_and_are_refused_outside_their_range() -> None:
    assert page_limit(None, default=20, maximum=50) == 20
    assert page_limit(50, default=20, maximum=50) == 50
    for wrong in (0, -1, 51, 10**9):
        with pytest.raises(PageLimitInvalid) as caught:
            page_limit(wrong, default=20, maximum=50)
        assert http_status(caught.value) == 400
        assert caught.value.user_message == (
            "O parâmetro 'limit' deve estar entre 1 e 50."
        )


def test_cursors_round_trip() -> None:
    at, key = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC), uuid4()
    cursor = encode_cursor(3, at, key, "Ana")
    assert decode_cursor(cursor, int, datetime, UUID, str) == (3, at, key, "Ana")


TIME_AND_ID = (datetime, UUID)


@pytest.mark.parametrize(
    ("cursor", "kinds"),
    [
        ("", TIME_AND_ID),
        ("nao-e-cursor", TIME_AND_ID),
        ("!!!", TIME_AND_ID),
        ("é", TIME_AND_ID),
        ("A" * 600, TIME_AND_ID),
        (encode_cursor("2026-03-01T12:00:00", uuid4()), TIME_AND_ID),  # no zone
        (encode_cursor(datetime.now(UTC)), TIME_AND_ID),  # one value of two
        (encode_cursor(datetime.now(UTC), "not-a-uuid"), TIME_AND_ID),
        (encode_cursor(True, uuid4()), (int, UUID)),  # a bool is no number here
    ],
)
def test_anything_else_is_refused(cursor: str, kinds: tuple[type, ...]) -> None:
    with pytest.raises(CursorInvalid) as caught:
        decode_cursor(cursor, *kinds)
    assert caught.value.code == "CURSOR_INVALIDO"


def test_a_page_has_a_cursor_only_when_more_rows_follow() -> None:
    rows = [(1, "a"), (2, "b"), (3, "c")]
    assert keyset_page(rows, 3, lambda r: r) == (rows, None)
    page, cursor = keyset_page(rows, 2, lambda r: r)
    assert page == rows[:2]
    assert cursor is not None and decode_cursor(cursor, int, str) == (2, "b")
