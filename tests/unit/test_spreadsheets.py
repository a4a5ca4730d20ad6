"""Spreadsheets open safely: every text cell is literal text, never a formula,
an error value or a file openpyxl refuses to write."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from atende.lgpd.readable import to_xlsx
from atende.spreadsheets import DATETIME_FORMAT, literal, write_table
from tests.support.spreadsheets import excel_text

HOSTILE = [
    "=1+1",
    '=HYPERLINK("http://x.example","clique")',
    "+5511987654321",
    "-2+3",
    "@SUM(A1)",
    "\t=1+1",
    "\r=1+1",
    "#N/A",
    "#DIV/0!",
]


def _reopened(rows: list[list[Any]]) -> list[tuple[Any, str]]:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("s")
    for row in rows:
        sheet.append([literal(sheet, value) for value in row])
    out = io.BytesIO()
    book.save(out)
    cells = load_workbook(io.BytesIO(out.getvalue()))["s"]["A"]
    return [(cell.value, cell.data_type) for cell in cells]


@pytest.mark.parametrize("value", HOSTILE)
def test_text_is_stored_as_the_person_wrote_it(value: str) -> None:
    assert _reopened([[value]]) == [(value, "s")]


def test_characters_a_workbook_cannot_hold_are_replaced_not_fatal() -> None:
    assert _reopened([["Ana\x01\x1f Souza"]]) == [("Ana\ufffd\ufffd Souza", "s")]


def test_other_values_keep_their_type() -> None:
    assert _reopened([[12], [1.5], [True]]) == [(12, "n"), (1.5, "n"), (True, "b")]


def test_the_lgpd_access_export_writes_every_text_cell_literally() -> None:
    data = {
        "gerado_em": "2026-01-01T00:00:00+00:00",
        "perfil": {"nome_no_whatsapp": "=cmd", "telefone": "+5511987654321"},
        "mensagens": [{"texto": value} for value in [*HOSTILE, "oi\x02"]],
    }
    book = load_workbook(io.BytesIO(to_xlsx(data)))
    customer = [(c.value, c.data_type) for c in book["Cadastro"][2]]
    assert customer == [("=cmd", "s"), ("+5511987654321", "s")]
    texts = [(c.value, c.data_type) for c in book["Mensagens"]["A"][1:]]
    assert texts == [(v, "s") for v in HOSTILE] + [("oi\ufffd", "s")]


def test_the_streamed_table_writes_every_text_cell_literally() -> None:
    out = io.BytesIO()
    when = datetime(2026, 3, 1, 9, 30, 15)
    rows = [[value, None, when, 7] for value in [*HOSTILE, "Ana\x01 Souza"]]
    assert write_table(out, "Contatos", ["Texto", "Vazio", "Quando", "N"], rows) == 10
    sheet = load_workbook(io.BytesIO(out.getvalue()))["Contatos"]
    read = [[(c.value, c.data_type) for c in row] for row in sheet.iter_rows()]
    assert read[0] == [("Texto", "s"), ("Vazio", "s"), ("Quando", "s"), ("N", "s")]
    assert [(excel_text(v), t) for v, t in (row[0] for row in read[1:])] == [
        (v, "s") for v in [*HOSTILE, "Ana\ufffd Souza"]
    ]
    assert {(row[1], row[2], row[3]) for row in read[1:]} == {
        ((None, "n"), (when, "d"), (7, "n"))
    }
    assert sheet["C2"].number_format == DATETIME_FORMAT


def test_an_empty_streamed_table_still_has_its_headers() -> None:
    out = io.BytesIO()
    assert write_table(out, "s", ["Cliente"], []) == 0
    assert [[c.value for c in row] for row in load_workbook(out)["s"].iter_rows()] == [
        ["Cliente"]
    ]
