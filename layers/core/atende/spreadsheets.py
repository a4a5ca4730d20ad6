"""Writing spreadsheets that open safely: every text cell literal text.

Two writers. Large streamed tables (the contacts export) go through
:func:`write_table`, XlsxWriter in ``constant_memory`` mode: each row is written
to a temporary file as it comes, so memory stays flat, at a little over half
of openpyxl's per-cell cost (bench/RESULTS.md, "Contacts Excel export").
Small workbooks built sheet by sheet (the LGPD access export) use openpyxl in
write-only mode with :func:`literal` cells.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, BinaryIO

import xlsxwriter
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

__all__ = ["DATETIME_FORMAT", "literal", "literal_row", "write_table"]

# openpyxl's default for datetimes, so both writers show the same.
DATETIME_FORMAT = "yyyy-mm-dd h:mm:ss"
_ILLEGAL: re.Pattern[str] = ILLEGAL_CHARACTERS_RE


def _clean(text: str) -> str:
    # Control characters XML cannot hold become U+FFFD instead of failing the
    # whole file (openpyxl) or surviving as escapes (XlsxWriter).
    return _ILLEGAL.sub("\ufffd", text)


def literal(sheet: WriteOnlyWorksheet, value: Any) -> Any:
    """``value`` as the person wrote it, for a cell of openpyxl's ``sheet``.

    Text is always a string cell: openpyxl would store text starting with "="
    as a formula ("=HYPERLINK(...)" would run) and "#N/A" as an error value.
    """
    if not isinstance(value, str):
        return value
    cell = WriteOnlyCell(sheet, value=_clean(value))
    cell.data_type = "s"
    return cell


def literal_row(sheet: WriteOnlyWorksheet, values: Iterable[Any]) -> list[Any]:
    """A row for ``sheet.append`` whose every text value is :func:`literal`."""
    return [literal(sheet, value) for value in values]


Cell = str | datetime | int | float | None


def write_table(
    out: BinaryIO,
    sheet_name: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[Cell]],
) -> int:
    """Write one sheet of ``headers`` then ``rows`` as XLSX; returns the data rows.

    Text goes through ``write_string``, which never reads it as a formula, a
    number, an error value or a link; ``None`` leaves the cell empty; naive
    datetimes are shown with :data:`DATETIME_FORMAT`.
    """
    book = xlsxwriter.Workbook(out, {"constant_memory": True})
    sheet = book.add_worksheet(sheet_name)
    when = book.add_format({"num_format": DATETIME_FORMAT})
    write_string, write_datetime = sheet.write_string, sheet.write_datetime
    for col, header in enumerate(headers):
        write_string(0, col, _clean(header))
    count = 0
    for values in rows:
        count += 1
        for col, value in enumerate(values):
            if value is None:
                continue
            if isinstance(value, str):
                write_string(count, col, _clean(value))
            elif isinstance(value, datetime):
                write_datetime(count, col, value, when)
            elif isinstance(value, bool):
                sheet.write_boolean(count, col, value)
            else:
                sheet.write_number(count, col, value)
    book.close()
    return count
