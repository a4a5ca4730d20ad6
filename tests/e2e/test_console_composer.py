"""Issue 14, point 9 in Debian's chromium against `make run`'s stack (real
Rasa, the Graph API stand-in): outside the 24-hour window free text is blocked
up front and the approved templates are offered with their category,
variables, preview and charge; the template reaches the stand-in filled; the
holder's typing reaches Meta's typing indicator; who holds the conversation
is always in its header.

Screenshots go to the test's folder; with ATENDE_UPDATE_SCREENSHOTS=1 they
replace docs/console/*.png.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra.simulator import SimulatedCustomer
from infra.stack_harness import LocalStack, get_json, wait_for
from tests.e2e.test_console_attention import ARRIVAL_S, DOCS, _page, _says, _sql
from tests.support.browser import shoot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.bot]

BEA = SimulatedCustomer(
    user_id="BR.5500000000000241", phone="5511955000241", name="Bea Nunes"
)
DITO = SimulatedCustomer(
    user_id="BR.5500000000000242", phone="5511955000242", name="Dito Alves"
)


def _template_sends(stack: LocalStack, name: str) -> list[dict[str, Any]]:
    bodies = [r["body"] for r in stack.graph_sends()]
    return [
        b["template"]
        for b in bodies
        if b["type"] == "template" and b["template"]["name"] == name
    ]


def test_outside_the_window_only_approved_templates_with_their_variables(
    bot_stack: LocalStack, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    with _page(tmp_path) as (page, shots):
        sign_in(page, bot_stack.api, "supervisora@loja.example")
        _says(bot_stack, BEA, "quero falar com um atendente")
        page.get_by_role("list", name="Fila de espera").get_by_role(
            "button", name="Assumir conversa de Bea Nunes"
        ).click(timeout=ARRIVAL_S * 1000)
        box = page.get_by_role("textbox", name="Mensagem", exact=True)
        expect(box).to_be_focused()
        expect(page.locator("#conv-holder")).to_have_text("Quem atende: você")

        # A day later: the composer knows before anyone types.
        _sql(
            bot_stack,
            "UPDATE conversations SET last_inbound_at = now() - interval '25 hours'"
            " WHERE customer_id = (SELECT id FROM customers WHERE wa_user_id = %s)"
            " AND state = 'with_human'",
            (BEA.user_id,),
        )
        page.reload()
        page.get_by_role("list", name="Minhas conversas").get_by_role(
            "button", name="Abrir conversa de Bea Nunes"
        ).click()
        expect(page.get_by_role("heading", name="Bea Nunes")).to_be_focused()
        form = page.locator("#template-form")
        expect(form).to_contain_text("Janela de 24 h fechada em")
        expect(form).to_contain_text("texto livre bloqueado")
        expect(box).to_be_hidden()
        picker = page.get_by_label("Modelo aprovado")
        # The pending and rejected ones are listed for supervisors, greyed.
        expect(
            picker.get_by_role(
                "option", name="pesquisa_satisfacao (utilidade) — em análise"
            )
        ).to_be_disabled()
        expect(
            picker.get_by_role(
                "option", name="oferta_relampago (marketing) — rejeitado"
            )
        ).to_be_disabled()
        page.get_by_role("button", name="Atualizar modelos").click()
        expect(page.get_by_role("status")).to_contain_text(
            "Modelos atualizados: 3 aprovados."
        )

        picker.select_option("promocao_clientes|pt_BR")
        expect(page.locator("#template-charge")).to_have_text(
            "Modelo de marketing: mensagem cobrada pela Meta."
        )
        picker.select_option("atualizacao_pedido|pt_BR")
        expect(page.locator("#template-about")).to_have_text(
            "Categoria: utilidade · 2 variáveis"
        )
        expect(page.locator("#template-charge")).to_have_text(
            "Modelo de utilidade: mensagem cobrada pela Meta."
        )
        page.get_by_label("Variável {{1}}").fill("Bea")
        page.get_by_label("Variável {{2}}").fill("A-1234")
        expect(page.locator("#template-preview")).to_contain_text(
            "Prévia: Olá, Bea! Seu pedido A-1234 teve uma atualização."
        )
        shoot(page, shots, "23-templates", docs=DOCS)
        # A blank variable: said at its field, nothing sent.
        page.get_by_label("Variável {{2}}").fill(" ")
        page.get_by_role("button", name="Enviar modelo").click()
        expect(page.get_by_role("alert")).to_contain_text(
            "Preencha a variável {{2}} do modelo antes de enviar."
        )
        expect(page.get_by_label("Variável {{2}}")).to_be_focused()
        assert _template_sends(bot_stack, "atualizacao_pedido") == []
        page.get_by_label("Variável {{2}}").fill("A-1234")
        page.get_by_role("button", name="Enviar modelo").click()
        expect(page.get_by_role("status")).to_contain_text("Modelo enviado")
        log = page.get_by_role("log", name="Mensagens")
        expect(log).to_contain_text("[modelo: atualizacao_pedido] Olá, Bea! Seu pedido")
        wait_for(
            lambda: _template_sends(bot_stack, "atualizacao_pedido"),
            10,
            "the template at the Graph stand-in",
        )
        sent = _template_sends(bot_stack, "atualizacao_pedido")
        assert [s["components"] for s in sent] == [
            [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "Bea"},
                        {"type": "text", "text": "A-1234"},
                    ],
                }
            ]
        ]


def test_the_holders_typing_reaches_whatsapp_and_the_header_says_who_holds_it(
    bot_stack: LocalStack, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    with _page(tmp_path) as (page, shots):
        # A supervisor: still reads the conversation once it is back with the bot.
        sign_in(page, bot_stack.api, "supervisora@loja.example")
        _says(bot_stack, DITO, "quero falar com um atendente")
        queue = page.get_by_role("list", name="Fila de espera")
        queue.get_by_role("button", name="Ver conversa de Dito Alves").click(
            timeout=ARRIVAL_S * 1000
        )
        holder = page.locator("#conv-holder")
        expect(holder).to_have_text("Quem atende: ninguém ainda (fila de espera)")
        page.get_by_role("button", name="Assumir", exact=True).click()
        expect(holder).to_have_text("Quem atende: você")
        (wamid,) = _sql(
            bot_stack,
            "SELECT m.wamid FROM messages m"
            " JOIN conversations v ON v.id = m.conversation_id"
            " JOIN customers c ON c.id = v.customer_id WHERE c.wa_user_id = %s"
            " AND m.direction = 'inbound' ORDER BY m.created_at DESC LIMIT 1",
            (DITO.user_id,),
        )[0]

        def typing_seen() -> list[dict[str, Any]]:
            _status, calls = get_json(f"{bot_stack.graph}/_standin/typing")
            return [c for c in calls if c.get("message_id") == wamid]

        assert typing_seen() == []
        box = page.get_by_role("textbox", name="Mensagem", exact=True)
        box.press_sequentially("Olá, Dito! Já vou ver o seu pedido")
        wait_for(typing_seen, 10, "the typing indicator at the Graph stand-in")
        assert typing_seen() == [
            {
                "messaging_product": "whatsapp",
                "status": "read",
                "message_id": wamid,
                "typing_indicator": {"type": "text"},
            }
        ]  # once for the whole sentence: throttled
        expect(
            page.get_by_text("O cliente vê “digitando…” no WhatsApp.")
        ).to_be_visible()
        shoot(page, shots, "24-typing-holder", docs=DOCS)
        page.get_by_role("button", name="Enviar", exact=True).click()
        expect(
            page.get_by_text("O cliente vê “digitando…” no WhatsApp.")
        ).to_be_hidden()
        page.get_by_role("button", name="Devolver ao bot").click()
        expect(holder).to_have_text("Quem atende: o bot", timeout=ARRIVAL_S * 1000)
