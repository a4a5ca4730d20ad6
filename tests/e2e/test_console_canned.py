"""Issue 14's points 1 and 10 in Debian's chromium against `make run`'s stack:
canned responses ("/atalho" in the composer, variables filled from the open
conversation, an unfilled one blocks sending) and keyboard shortcuts with
their help overlay.

Screenshots go to the test's folder; with ATENDE_UPDATE_SCREENSHOTS=1 they
replace docs/console/*.png.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.simulator import SimulatedCustomer
from infra.stack_harness import LocalStack
from tests.e2e.test_console_attention import ARRIVAL_S, DOCS, _page, _says, _sql
from tests.support.browser import shoot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.bot]

RITA = SimulatedCustomer(
    user_id="BR.5500000000000191", phone="5511955000191", name="Rita Melo"
)
CAIO = SimulatedCustomer(
    user_id="BR.5500000000000192", phone="5511955000192", name="Caio Lima"
)


def test_a_canned_response_is_inserted_with_slash_and_filled_variables(
    bot_stack: LocalStack, tmp_path: Path
) -> None:
    """Point 1: a supervisor creates a team response in Administração; in the
    composer "/sau" lists it (a listbox driven by the keyboard), Enter inserts
    it with the customer's and the attendant's names and the conversation's
    protocol; a variable left unfilled blocks sending."""
    from playwright.sync_api import expect

    with _page(tmp_path) as (page, shots):
        sign_in(page, bot_stack.api, "supervisora@loja.example")
        page.get_by_role("button", name="Administração").click()
        panel = page.get_by_role("region", name="Respostas rápidas")
        panel.get_by_label("Disponível para").select_option("team")
        panel.get_by_label("Atalho").fill("saudacao")
        panel.get_by_label("Título").fill("Saudação")
        panel.get_by_label("Texto da resposta").fill(
            "Olá, {{nome}}! Sou {{atendente}}. Seu protocolo: {{protocolo}}."
        )
        panel.get_by_role("button", name="Criar resposta rápida").click()
        expect(page.get_by_role("status")).to_contain_text(
            "Resposta rápida /saudacao criada."
        )
        expect(
            panel.get_by_role("listitem").filter(has_text="/saudacao")
        ).to_contain_text("Equipe")
        # The same shortcut again: the API's code, in Portuguese, on the page.
        panel.get_by_label("Atalho").fill("saudacao")
        panel.get_by_label("Título").fill("Outra")
        panel.get_by_label("Texto da resposta").fill("Oi")
        panel.get_by_role("button", name="Criar resposta rápida").click()
        expect(page.get_by_role("alert")).to_contain_text(
            "Já existe uma resposta rápida /saudacao"
        )
        page.get_by_role("button", name="Voltar ao atendimento").click()

        _says(bot_stack, RITA, "quero falar com um atendente")
        page.get_by_role("list", name="Fila de espera").get_by_role(
            "button", name="Assumir conversa de Rita Melo"
        ).click(timeout=ARRIVAL_S * 1000)
        box = page.get_by_role("textbox", name="Mensagem", exact=True)
        expect(box).to_be_focused()
        box.press_sequentially("/sau")
        suggestions = page.get_by_role("listbox", name="Respostas rápidas")
        option = suggestions.get_by_role("option").filter(has_text="/saudacao")
        expect(option).to_have_attribute("aria-selected", "true")
        expect(box).to_have_attribute("aria-activedescendant", "canned-option-0")
        expect(option).to_have_id("canned-option-0")
        shoot(page, shots, "14-canned-responses", docs=DOCS)
        box.press("Escape")  # closes the list, keeps the text
        expect(suggestions).to_be_hidden()
        expect(box).to_have_value("/sau")
        box.press("d")
        expect(option).to_be_visible()
        box.press("Enter")
        expect(suggestions).to_be_hidden()
        [(conversation_id,)] = _sql(
            bot_stack,
            "SELECT v.id FROM conversations v JOIN customers c ON c.id = v.customer_id"
            " WHERE c.wa_user_id = %s AND v.state = 'with_human'",
            (RITA.user_id,),
        )
        protocol = str(conversation_id).split("-")[0].upper()
        expect(page.locator("#conv-protocol")).to_have_text(f"Protocolo {protocol}")
        filled = f"Olá, Rita Melo! Sou Sara Supervisora. Seu protocolo: {protocol}."
        expect(box).to_have_value(filled)

        # A variable typed by hand is not filled: refused on the page, nothing
        # sent, and the blank is selected so typing replaces it.
        box.press("End")
        box.press_sequentially(" Oi, {{nome}}")
        box.press("Control+Enter")
        expect(page.get_by_role("alert")).to_contain_text(
            "Preencha {{nome}} antes de enviar"
        )
        log = page.get_by_role("log", name="Mensagens")
        expect(log).not_to_contain_text("Sou Sara Supervisora")
        box.press_sequentially("Rita")
        expect(box).to_have_value(filled + " Oi, Rita")
        box.press("Control+Enter")
        expect(log).to_contain_text(f"Seu protocolo: {protocol}. Oi, Rita")
        sent = _sql(
            bot_stack,
            "SELECT count(*) FROM messages WHERE body LIKE %s",
            ("%{{%",),
        )
        assert sent == [(0,)]


def test_keyboard_shortcuts_and_their_help(
    bot_stack: LocalStack, tmp_path: Path
) -> None:
    """Point 10: "?" opens the list of shortcuts (a dialog; Esc closes it and
    focus returns); Alt+N opens the next waiting conversation, Alt+A claims
    it, Alt+O goes to the private note; an attendant manages their own canned
    responses."""
    from playwright.sync_api import expect

    with _page(tmp_path) as (page, shots):
        sign_in(page, bot_stack.api, "ana@loja.example")
        queue_title = page.get_by_role("heading", name="Fila de espera")
        expect(queue_title).to_be_focused()
        page.keyboard.press("?")
        help_dialog = page.get_by_role("dialog", name="Atalhos de teclado")
        expect(help_dialog).to_be_visible()
        for keys in ("Alt + N", "Alt + A", "Alt + O", "Ctrl + Enter"):
            expect(help_dialog).to_contain_text(keys)
        shoot(page, shots, "15-shortcuts-help", docs=DOCS)
        page.keyboard.press("Escape")
        expect(help_dialog).to_be_hidden()
        expect(queue_title).to_be_focused()

        _says(bot_stack, CAIO, "quero falar com um atendente")
        queue = page.get_by_role("list", name="Fila de espera")
        expect(
            queue.get_by_role("listitem").filter(has_text="Caio Lima")
        ).to_be_visible(timeout=ARRIVAL_S * 1000)
        first = queue.get_by_role("listitem").first.locator("strong").first.inner_text()
        page.keyboard.press("Alt+KeyN")
        title = page.get_by_role("heading", name=first, exact=True)
        expect(title).to_be_focused()
        page.keyboard.press("Alt+KeyA")
        expect(page.get_by_role("status")).to_contain_text("Conversa assumida.")
        box = page.get_by_role("textbox", name="Mensagem", exact=True)
        expect(box).to_be_focused()
        # "?" while typing is text, not the help.
        box.press("?")
        expect(box).to_have_value("?")
        expect(help_dialog).to_have_count(0)
        page.keyboard.press("Alt+KeyO")
        expect(
            page.get_by_label("Nota interna (só a equipe vê; não vai para o cliente)")
        ).to_be_focused()

        # An attendant's own canned responses: no team scope for them.
        page.get_by_role("button", name="Respostas rápidas").click()
        panel = page.get_by_role("region", name="Respostas rápidas")
        expect(panel.get_by_label("Disponível para")).to_be_hidden()
        panel.get_by_label("Atalho").fill("tchau-ana")
        panel.get_by_label("Título").fill("Despedida")
        panel.get_by_label("Texto da resposta").fill("Até logo, {{nome}}!")
        panel.get_by_role("button", name="Criar resposta rápida").click()
        item = panel.get_by_role("listitem").filter(has_text="/tchau-ana")
        expect(item).to_contain_text("Pessoal")
        item.get_by_role("button", name="Excluir resposta /tchau-ana").click()
        expect(item).to_have_count(0)
