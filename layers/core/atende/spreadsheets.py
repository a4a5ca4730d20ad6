"""Writing spreadsheets that open safely: openpyxl in write-only mode (rows
stream, memory stays flat) and every text cell literal text."""

from __future__ import annotations

from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

__all__ = ["literal"]


def literal(sheet: WriteOnlyWorksheet, value: Any) -> Any:
    """``value`` as the person wrote it: openpyxl stores text starting with
    "=" as a formula ("=)" breaks the file; "=HYPERLINK(...)" would run)."""
    if isinstance(value, str) and value.startswith("="):
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value
