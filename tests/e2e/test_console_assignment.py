"""Issue 14's point 6 in Debian's chromium against `make run`'s stack:
assignment with presence. Ana chooses "Disponível" in the header; a handoff
goes to her by itself and appears live in "Minhas conversas"; the supervisor
sees her presence and load in Administração and a bad maximum is refused in
Portuguese; Ana going offline puts the conversation back in the queue.

The stack is shared: every presence is reset to offline at the end, so the
other tests' handoffs keep waiting in the queue for their claims.

Screenshots go to the test's folder; with ATENDE_UPDATE_SCREENSHOTS=1 they
replace docs/console/*.png.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.simulator import SimulatedCustomer
from infra.stack_harness import LocalStack
from tests.e2e.test_console_attention import (
    ARRIVAL_S,
    DOCS,
    VIEWPORT,
    _page,
    _says,
    _sql,
)
from tests.support.browser import shoot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.bot]

BETO = SimulatedCustomer(
    user_id="BR.5500000000000201", phone="5511955000201", name="Beto Alves"
)


def test_a_handoff_goes_to_the_available_attendant_live(
    bot_stack: LocalStack, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    _empty_desk(bot_stack)
    try:
        with _page(tmp_path) as (page, shots):
            ana = page.context.browser.new_page(viewport=VIEWPORT, locale="pt-BR")
            sign_in(ana, bot_stack.api, "ana@loja.example")
            presence = ana.get_by_label("Presença", exact=True)
            expect(presence).to_be_enabled(timeout=ARRIVAL_S * 1000)
            expect(presence).to_have_value("offline")
            presence.select_option("online")
            expect(ana.get_by_role("status")).to_contain_text("Presença: Disponível.")

            _says(bot_stack, BETO, "quero falar com um atendente")
            mine = ana.get_by_role("list", name="Minhas conversas")
            mine.get_by_role("button", name="Abrir conversa de Beto Alves").click(
                timeout=ARRIVAL_S * 1000
            )
            log = ana.get_by_role("log", name="Mensagens")
            expect(log).to_contain_text("Atribuída automaticamente a Ana Atendente")
            expect(
                ana.get_by_role("textbox", name="Mensagem", exact=True)
            ).to_be_visible()
            shoot(ana, shots, "17-assignment", docs=DOCS)

            sign_in(page, bot_stack.api, "supervisora@loja.example")
            page.get_by_role("button", name="Administração").click()
            panel = page.get_by_role("region", name="Presença e carga")
            row = panel.get_by_role("listitem").filter(has_text="Ana Atendente")
            expect(row).to_contain_text("Disponível")
            expect(row).to_contain_text("1 / 3 conversas")
            box = row.get_by_label("Máximo de conversas de Ana Atendente")
            box.fill("0")
            row.get_by_role("button", name="Salvar máximo de Ana Atendente").click()
            expect(page.get_by_role("alert")).to_contain_text(
                "O máximo de conversas simultâneas deve ser um número inteiro"
                " de 1 a 100."
            )
            box.fill("2")
            row.get_by_role("button", name="Salvar máximo de Ana Atendente").click()
            expect(row).to_contain_text("1 / 2 conversas")
            shoot(page, shots, "18-presence-and-load", docs=DOCS)

            # Ana goes offline: her conversation goes back to the queue, and
            # the supervisor's panel follows live.
            presence.select_option("offline")
            expect(row).to_contain_text("Offline")
            expect(row).to_contain_text("0 / 2 conversas")
            expect(
                ana.get_by_role("list", name="Fila de espera").get_by_role(
                    "button", name="Assumir conversa de Beto Alves"
                )
            ).to_be_visible()
    finally:
        _sql(
            bot_stack,
            "UPDATE attendant_presence SET presence = 'offline', chosen = 'offline',"
            " max_conversations = NULL",
            (),
        )


def _empty_desk(stack: LocalStack) -> None:
    """The stack is shared: handoffs other tests left waiting would go to Ana
    as soon as she is available, so the load she shows would depend on the
    order the tests ran in. They are closed first."""
    _sql(
        stack,
        "UPDATE handoffs SET resolved_at = now(), outcome = 'closed'"
        " WHERE resolved_at IS NULL",
        (),
    )
    _sql(
        stack,
        "UPDATE conversations SET state = 'closed', closed_at = now()"
        " WHERE state IN ('waiting_human', 'with_human')",
        (),
    )
