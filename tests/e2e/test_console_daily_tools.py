"""The console's daily tools (issue 14) in a real browser against `make run`'s
stack: the satisfaction survey after a person closes a conversation, answered
on WhatsApp and read on the Relatórios page.

Screenshots go to the test's folder; with ATENDE_UPDATE_SCREENSHOTS=1 they
replace docs/console/*.png.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.simulator import SimulatedCustomer, post_signed, text_payload
from infra.stack_harness import (
    APP_SECRET,
    DISPLAY_PHONE_NUMBER,
    PHONE_NUMBER_ID,
    LocalStack,
    wait_for,
)
from tests.support.browser import chromium_path, shoot, sign_in
from tests.support.channel import as_list_reply

pytestmark = [pytest.mark.e2e, pytest.mark.bot]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "console"

JOANA = SimulatedCustomer(
    user_id="BR.5500000000000014", phone="5511955000014", name="Joana Lima"
)


def _payload(text: str) -> dict[str, Any]:
    return text_payload(
        text,
        JOANA,
        phone_number_id=PHONE_NUMBER_ID,
        display_phone_number=DISPLAY_PHONE_NUMBER,
    )


def _sends_to_joana(stack: LocalStack) -> list[dict[str, Any]]:
    return [
        s["body"] for s in stack.graph_sends() if s["body"].get("to") == JOANA.phone
    ]


def test_a_closed_conversation_is_rated_on_whatsapp_and_reported(
    bot_stack: LocalStack, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

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
        )
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            sign_in(page, bot_stack.api, "supervisora@loja.example")
            expect(page.get_by_role("heading", name="Fila de espera")).to_be_visible()
            assert (
                post_signed(
                    bot_stack.webhook,
                    _payload("quero falar com um atendente"),
                    APP_SECRET,
                )
                == 200
            )
            queue = page.get_by_role("list", name="Fila de espera")
            queue.get_by_role("button", name="Assumir conversa de Joana Lima").click(
                timeout=30_000
            )
            page.get_by_role("textbox", name="Mensagem", exact=True).fill(
                "Pronto, Joana: boleto reenviado."
            )
            page.get_by_role("button", name="Enviar", exact=True).click()
            log = page.get_by_role("log", name="Mensagens")
            expect(log).to_contain_text("boleto reenviado")

            page.get_by_role("button", name="Encerrar").click()
            page.get_by_label("Motivo do encerramento").fill("Resolvido")
            page.get_by_role("button", name="Confirmar encerramento").click()
            expect(page.get_by_role("status")).to_contain_text("Conversa encerrada")

            # The survey reaches WhatsApp as a list; Joana picks "5 - Excelente".
            wait_for(
                lambda: any(
                    s.get("type") == "interactive" for s in _sends_to_joana(bot_stack)
                ),
                15,
                "the satisfaction survey",
            )
            survey = [
                s for s in _sends_to_joana(bot_stack) if s.get("type") == "interactive"
            ][-1]["interactive"]
            assert survey["type"] == "list"
            best = survey["action"]["sections"][0]["rows"][0]
            assert best["title"] == "5 - Excelente"
            picked = as_list_reply(_payload("x"), best["id"], best["title"])
            assert post_signed(bot_stack.webhook, picked, APP_SECRET) == 200
            wait_for(
                lambda: (
                    _sends_to_joana(bot_stack)[-1].get("text", {}).get("body", "")
                ).startswith("Obrigado pela avaliação"),
                15,
                "the thanks for the rating",
            )
            comment = _payload("Atendimento rápido, obrigada!")
            assert post_signed(bot_stack.webhook, comment, APP_SECRET) == 200
            wait_for(
                lambda: (
                    _sends_to_joana(bot_stack)[-1].get("text", {}).get("body")
                    == "Comentário registrado. Obrigado!"
                ),
                15,
                "the thanks for the comment",
            )

            # The supervisor reads it on the Relatórios page (last 30 days).
            page.get_by_role("link", name="Relatórios").click()
            expect(page.get_by_role("status")).to_contain_text("Relatórios carregados")
            card = page.locator("#summary div", has_text="Satisfação")
            expect(card).to_contain_text("5,0 de 5")
            by_attendant = page.get_by_role("table", name="Satisfação por atendente")
            expect(
                by_attendant.get_by_role("row", name="Sara Supervisora").get_by_role(
                    "cell"
                )
            ).to_have_text(["1", "1", "5,0", "0", "0", "0", "0", "1"])
            page.get_by_role(
                "heading", name="Satisfação (CSAT)"
            ).scroll_into_view_if_needed()
            shoot(page, shots, "05-satisfaction", docs=DOCS)
            assert errors == []
        finally:
            browser.close()


RITA = SimulatedCustomer(
    user_id="BR.5500000000000015", phone="5511955000015", name="Rita Alves"
)


def test_private_notes_and_labels(bot_stack: LocalStack, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

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
        )
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            sign_in(page, bot_stack.api, "supervisora@loja.example")
            page.get_by_role("button", name="Administração").click()
            labels_panel = page.get_by_role("region", name="Etiquetas")
            expect(labels_panel).to_be_visible()
            page.get_by_label("Nome da etiqueta").fill("Cliente VIP")
            page.get_by_label("Cor da etiqueta").fill("#8c1d18")
            page.get_by_role("button", name="Criar etiqueta").click()
            expect(page.get_by_role("status")).to_contain_text(
                "Etiqueta Cliente VIP criada"
            )
            page.get_by_role("button", name="Voltar ao atendimento").click()

            payload = text_payload(
                "quero falar com um atendente",
                RITA,
                phone_number_id=PHONE_NUMBER_ID,
                display_phone_number=DISPLAY_PHONE_NUMBER,
            )
            assert post_signed(bot_stack.webhook, payload, APP_SECRET) == 200
            queue = page.get_by_role("list", name="Fila de espera")
            queue.get_by_role("button", name="Assumir conversa de Rita Alves").click(
                timeout=30_000
            )

            # A private note: in the timeline, marked, never sent.
            page.get_by_label("Nota interna").fill("Cliente pediu retorno às 15h.")
            page.get_by_role("button", name="Salvar nota").click()
            expect(page.get_by_role("status")).to_contain_text("Nota interna salva")
            log = page.get_by_role("log", name="Mensagens")
            note = log.get_by_role("listitem").filter(has_text="retorno às 15h")
            expect(note).to_contain_text("Nota interna · Sara Supervisora")
            expect(note).to_have_class("msg note")

            # A label on the conversation, then the lists filtered by it.
            page.get_by_label("Adicionar etiqueta").select_option(label="Cliente VIP")
            page.get_by_role("button", name="Adicionar", exact=True).click()
            expect(page.get_by_role("status")).to_contain_text(
                "Etiqueta Cliente VIP adicionada"
            )
            mine = page.get_by_role("list", name="Minhas conversas")
            expect(
                mine.get_by_role("listitem").filter(has_text="Rita Alves")
            ).to_contain_text("Cliente VIP")
            page.get_by_label("Filtrar por etiqueta").select_option(label="Cliente VIP")
            expect(page.get_by_role("status")).to_contain_text(
                "Mostrando conversas com a etiqueta Cliente VIP"
            )
            expect(mine.get_by_role("listitem")).to_have_count(1)
            shoot(page, shots, "06-notes-and-labels", docs=DOCS)
            # The note stayed here. (Counting all sends is not the property: the shared
            # stack's other customers, e.g. a burst window's late turn, send meanwhile.)
            assert not [
                s
                for s in bot_stack.graph_sends()
                if "retorno às 15h" in json.dumps(s["body"], ensure_ascii=False)
            ]

            page.get_by_role("button", name="Remover etiqueta Cliente VIP").click()
            expect(page.get_by_role("status")).to_contain_text(
                "Etiqueta Cliente VIP removida"
            )
            expect(mine.get_by_role("listitem")).to_have_count(0)
            assert errors == []
        finally:
            browser.close()
