"""Reading cells back as Excel shows them."""

from __future__ import annotations

import re

_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def excel_text(value: str) -> str:
    """Decode the ``_xHHHH_`` escapes of OOXML strings (ECMA-376 ST_Xstring).

    XlsxWriter writes a carriage return as ``_x000D_`` (a raw one would be
    normalised away by XML parsers); Excel and LibreOffice decode it, openpyxl
    does not, so tests decode it as a spreadsheet program would.
    """
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), value)
