"""A report as spreadsheets: XLSX (one sheet per table) and CSV (the tables one
after another, for Excel in Portuguese: ``;`` and decimal commas).

Team and attendant names are typed by people: every text cell stays literal
text (XLSX: :func:`atende.spreadsheets.literal`; CSV: a leading apostrophe
before ``= + - @``, which spreadsheet programs would run as a formula).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openpyxl import Workbook

from atende.reports.measures import Durations, Measures, Report
from atende.reports.satisfaction import SCORES, SatisfactionGroup
from atende.spreadsheets import literal

__all__ = ["Table", "export_csv", "export_xlsx", "report_tables"]

Cell = str | int | float | None


@dataclass(frozen=True)
class Table:
    title: str
    headers: list[str]
    rows: list[list[Cell]]


_MEASURE_HEADERS = [
    "Conversas",
    "Encerradas",
    "Contidas pelo bot",
    "Contenção (%)",
    "Transferidas a pessoas",
    "Transferência (%)",
    "Devolvidas ao bot",
    "Transferidas entre equipes",
    "Entradas na fila",
    "Abandonadas",
    "Abandono (%)",
    "1ª resposta mediana (s)",
    "1ª resposta p90 (s)",
    "Atendimento mediano (s)",
    "Atendimento p90 (s)",
    "Resolução mediana (s)",
    "Resolução p90 (s)",
]


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 2)


def _secs(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _durations(d: Durations) -> list[Cell]:
    return [_secs(d.median_seconds), _secs(d.p90_seconds)]


def _measure_row(m: Measures) -> list[Cell]:
    return [
        m.conversations,
        m.closed,
        m.contained,
        _pct(m.containment_rate),
        m.handed_off,
        _pct(m.handoff_rate),
        m.returned_to_bot,
        m.transferred,
        m.handoffs,
        m.abandoned,
        _pct(m.abandonment_rate),
        *_durations(m.first_response),
        *_durations(m.handling),
        *_durations(m.resolution),
    ]


def _period_label(start: datetime, granularity: str) -> str:
    return start.strftime("%d/%m/%Y %H:00" if granularity == "hour" else "%d/%m/%Y")


def report_tables(report: Report) -> list[Table]:
    """The report's tables, as the page's table view shows them."""
    unavailable = "Indisponível"
    breakdown_headers = [
        "Nome",
        "Conversas",
        "Contidas pelo bot",
        "Entradas na fila",
        "Abandonadas",
        "1ª resposta mediana (s)",
        "1ª resposta p90 (s)",
        "Atendimento mediano (s)",
        "Atendimento p90 (s)",
        "Satisfação média",
    ]

    def breakdowns(title: str, items: Sequence[Any]) -> Table:
        return Table(
            title,
            breakdown_headers,
            [
                [
                    b.label,
                    b.conversations,
                    b.contained,
                    b.handoffs,
                    b.abandoned,
                    *_durations(b.first_response),
                    *_durations(b.handling),
                    unavailable
                    if b.satisfaction_average is None
                    else b.satisfaction_average,
                ]
                for b in items
            ],
        )

    def satisfaction_groups(title: str, groups: Sequence[SatisfactionGroup]) -> Table:
        return Table(
            title,
            ["Nome", "Pesquisas", "Respostas", "Média", *(f"Nota {n}" for n in SCORES)],
            [
                [g.label, g.surveys, g.responses, g.average, *g.distribution]
                for g in groups
            ],
        )

    docs = report.documents
    csat = report.satisfaction
    return [
        Table(
            "Resumo",
            ["Período", *_MEASURE_HEADERS],
            [
                [
                    f"{report.start:%d/%m/%Y} a {report.end:%d/%m/%Y}",
                    *_measure_row(report.totals),
                ]
            ],
        ),
        Table(
            "Por período",
            ["Início (horário de Brasília)", *_MEASURE_HEADERS],
            [
                [_period_label(p.start, report.granularity), *_measure_row(p.measures)]
                for p in report.periods
            ],
        ),
        Table(
            "Motivos de transferência",
            ["Motivo", "Entradas na fila"],
            [[c.label, c.count] for c in report.handoff_reasons],
        ),
        breakdowns("Equipes", report.teams),
        breakdowns("Atendentes", report.attendants),
        breakdowns("Números de entrada", report.entry_points),
        Table(
            "Modelos enviados",
            ["Categoria", "Fora da janela de 24 h", "Dentro da janela"],
            [[t.category, t.outside_window, t.inside_window] for t in report.templates],
        ),
        Table(
            "Documentos",
            [
                "Recebidos",
                "Concluídos",
                "Falhas",
                "Páginas",
                "Páginas por OCR",
                "OCR (%)",
            ],
            [
                [
                    docs.received,
                    docs.completed,
                    docs.failed,
                    docs.pages,
                    docs.ocr_pages,
                    _pct(docs.ocr_share),
                ]
            ],
        ),
        Table(
            "Falhas de documentos",
            ["Código", "Documentos"],
            [[c.key, c.count] for c in docs.failures],
        ),
        Table(
            "Satisfação e bot",
            ["Medida", "Valor"],
            [
                [
                    "Satisfação (CSAT) média",
                    unavailable if csat.average is None else csat.average,
                ],
                ["Pesquisas enviadas", csat.surveys],
                ["Respostas", csat.responses],
                ["Taxa de resposta (%)", _pct(csat.response_rate)],
                ["Intenções, fallback e respostas do LLM", unavailable],
            ],
        ),
        satisfaction_groups("Satisfação por equipe", csat.teams),
        satisfaction_groups("Satisfação por atendente", csat.attendants),
    ]


def export_xlsx(report: Report) -> bytes:
    """The report as an XLSX workbook (write-only mode, literal text)."""
    workbook = Workbook(write_only=True)
    for table in report_tables(report):
        # Sheet titles: at most 31 characters, none of []:*?/\
        sheet = workbook.create_sheet(table.title[:31])
        sheet.append([literal(sheet, h) for h in table.headers])
        for row in table.rows:
            sheet.append([literal(sheet, value) for value in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".").replace(".", ",")
    if isinstance(value, int):
        return str(value)
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def export_csv(report: Report) -> str:
    """The report as CSV (``;``, a BOM so Excel reads UTF-8), one table after
    another."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    for position, table in enumerate(report_tables(report)):
        if position:
            writer.writerow([])
        writer.writerow([_csv_cell(table.title)])
        writer.writerow([_csv_cell(h) for h in table.headers])
        for row in table.rows:
            writer.writerow([_csv_cell(v) for v in row])
    return "\ufeff" + out.getvalue()
