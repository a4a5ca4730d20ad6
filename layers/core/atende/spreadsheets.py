"""Writing spreadsheets that open safely: openpyxl in write-only mode (rows
stream, memory stays flat) and every text cell literal text."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

__all__ = ["literal", "literal_row"]


def literal(sheet: WriteOnlyWorksheet, value: Any) -> Any:
    """``value`` as the person wrote it, for a cell of ``sheet``.

    Text is always a string cell: openpyxl would store text starting with "="
    as a formula ("=HYPERLINK(...)" would run) and "#N/A" as an error value.
    Control characters XML cannot hold become U+FFFD instead of failing the
    whole file over one customer's value.
    """
    if not isinstance(value, str):
        return value
    cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("\ufffd", value))
    cell.data_type = "s"
    return cell


def literal_row(sheet: WriteOnlyWorksheet, values: Iterable[Any]) -> list[Any]:
    """A row for ``sheet.append`` whose every text value is :func:`literal`."""
    return [literal(sheet, value) for value in values]
