"""The reports page in a real browser (Debian's chromium, Playwright) against
`make run`'s stack: a supervisor opens "Relatórios" from the console, picks the
range with the keyboard, sees the numbers of the hand-built history
(tests/support/reports.py) in cards, charts and their tables, and downloads
the XLSX.

Screenshots go to the test's folder; with ATENDE_UPDATE_SCREENSHOTS=1 they
replace docs/reports/*.png.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg.rows import dict_row

from atende.reports.refresh import refresh_tenant
from infra.stack_harness import LocalStack
from tests.support.browser import LOCAL_PASSWORD, chromium_path, shoot
from tests.support.reports import build, rate, scenario

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.e2e, pytest.mark.bot]
DOCS = ROOT / "docs" / "reports"


def _seed_history(stack: LocalStack) -> None:
    """The hand-built history in the demo tenant, refreshed as the scheduled
    function would."""
    tenant_id = UUID(stack.demo["tenant_id"])
    with psycopg.connect(stack.database_url(), row_factory=dict_row) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant_id),))
        rate(conn, build(conn, tenant_id, scenario()))
        refresh_tenant(conn, full=True)


def _focus_order(page: Any, presses: int) -> list[str]:
    """What Tab focuses, in order (a date input's day, month and year parts
    count once)."""
    order: list[str] = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const e = document.activeElement;"
            " return e.id || e.textContent.trim().slice(0, 30); }"
        )
        if not order or order[-1] != focused:
            order.append(focused)
    return order


def test_supervisor_reads_reports_with_keyboard_charts_and_tables(
    bot_stack: LocalStack, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    _seed_history(bot_stack)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), args=["--no-sandbox", "--lang=pt-BR"]
        )
        page = browser.new_page(
            viewport={"width": 1280, "height": 900},
            locale="pt-BR",
            timezone_id="America/Sao_Paulo",
            accept_downloads=True,
        )
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on(
            "console",
            lambda msg: errors.append(msg.text) if msg.type == "error" else None,
        )
        try:
            page.goto(f"{bot_stack.api}/console")
            page.get_by_label("E-mail").fill("supervisora@loja.example")
            page.get_by_label("Senha", exact=True).fill(LOCAL_PASSWORD)
            page.get_by_role("button", name="Entrar").click()
            link = page.get_by_role("link", name="Relatórios")
            expect(link).to_be_visible()
            link.click()
            expect(
                page.get_by_role("heading", name="Atende — Relatórios")
            ).to_be_visible()

            # Every control is reachable with Tab, in reading order.
            order = _focus_order(page, 30)
            controls = [
                "f-de",
                "f-ate",
                "f-granularidade",
                "f-equipe",
                "f-atendente",
                "f-entrada",
                "Aplicar",
                "export-xlsx",
                "export-csv",
                "Ver dados em tabela",
            ]
            assert set(controls) <= set(order), order
            positions = [order.index(c) for c in controls]
            assert positions == sorted(positions), order

            page.get_by_label("De", exact=True).fill("2025-03-10")
            page.get_by_label("Até", exact=True).fill("2025-03-11")
            page.get_by_role("button", name="Aplicar").focus()
            page.keyboard.press("Enter")
            expect(page.get_by_role("status")).to_contain_text("Relatórios carregados")

            cards = page.locator("#summary")
            expect(cards.locator("div", has_text="Conversas").first).to_contain_text(
                "7"
            )
            expect(cards.locator("div", has_text="Contenção pelo bot")).to_contain_text(
                "33,3%"
            )
            expect(cards.locator("div", has_text="1ª resposta humana")).to_contain_text(
                "6 min"
            )
            expect(cards.locator("div", has_text="1ª resposta humana")).to_contain_text(
                "p90: 14 min 24 s"
            )
            csat_card = cards.locator("div", has_text="Satisfação")
            expect(csat_card).to_contain_text("3,0 de 5")
            expect(csat_card).to_contain_text("3 respostas de 4 pesquisas (75%)")
            expect(page.locator("#freshness")).to_contain_text("atualização a cada 5")

            # The charts are drawn, named for assistive technology, and their
            # data is one keyboard press away as a table.
            for name in ("Conversas: bot e pessoas", "Tempo até a primeira resposta"):
                chart = page.get_by_role("img", name=name)
                expect(chart).to_be_visible()
                expect(chart.locator("canvas")).to_have_count(1)
            shoot(page, shots, "01-reports", full_page=True, docs=DOCS)

            summary = page.locator("summary").first
            summary.focus()
            page.keyboard.press("Enter")
            periods = page.get_by_role("table", name="Conversas por período")
            expect(periods).to_be_visible()
            row = periods.get_by_role("row", name="10/03/2025")
            expect(row).to_contain_text("3")
            expect(periods.get_by_role("row", name="11/03/2025")).to_contain_text("4")
            teams = page.get_by_role("table", name="Por equipe", exact=True)
            expect(teams.get_by_role("row", name="suporte")).to_contain_text("3")
            expect(
                page.get_by_role("table", name="Medidas do bot e satisfação")
            ).to_contain_text("Indisponível")
            by_attendant = page.get_by_role("table", name="Satisfação por atendente")
            # Ana: two surveys, two answers, 4,0, one 3 and one 5.
            expect(
                by_attendant.get_by_role("row", name="Ana").get_by_role("cell")
            ).to_have_text(["2", "2", "4,0", "0", "0", "1", "0", "1"])
            by_attendant.scroll_into_view_if_needed()
            shoot(page, shots, "04-satisfaction", docs=DOCS)
            periods.scroll_into_view_if_needed()
            shoot(page, shots, "02-table-view", docs=DOCS)

            # Hourly, filtered to one team: the charts redraw.
            page.get_by_label("Agrupar", exact=True).select_option("hour")
            page.get_by_label("Equipe", exact=True).select_option("suporte")
            page.get_by_role("button", name="Aplicar").click()
            expect(cards.locator("div", has_text="Abandono")).to_contain_text("1 de 3")
            page.locator("#chart-volume").scroll_into_view_if_needed()
            shoot(page, shots, "03-hourly-team", docs=DOCS)

            with page.expect_download() as download:
                page.get_by_role("button", name="Baixar XLSX").click()
            saved = tmp_path / download.value.suggested_filename
            download.value.save_as(saved)
            assert saved.name == "relatorio-2025-03-10-a-2025-03-11.xlsx"
            assert saved.read_bytes()[:2] == b"PK"
            assert errors == []
        finally:
            browser.close()
