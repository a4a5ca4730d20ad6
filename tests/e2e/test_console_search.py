"""Issue 14's point 5 in Debian's chromium against `make run`'s stack: the
search box above the lists finds conversations by words of their messages
(excerpt highlighted, text only: a customer's markup stays text), by phone
however it is typed and by name; Esc brings the lists back; a result opens
the conversation; bad input gets the API's message in Portuguese.

Screenshots go to the test's folder; with ATENDE_UPDATE_SCREENSHOTS=1 they
replace docs/console/*.png.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.simulator import SimulatedCustomer
from infra.stack_harness import LocalStack
from tests.e2e.test_console_attention import ARRIVAL_S, DOCS, _page, _says
from tests.support.browser import shoot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.bot]

BIANCA = SimulatedCustomer(
    user_id="BR.5500000000001601", phone="5511955001601", name="Bianca Freitas"
)


def test_search_finds_conversations_by_words_phone_and_name(
    bot_stack: LocalStack, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    with _page(tmp_path) as (page, shots):
        sign_in(page, bot_stack.api, "supervisora@loja.example")
        queue = page.get_by_role("list", name="Fila de espera")
        expect(page.get_by_role("heading", name="Fila de espera")).to_be_visible()
        _says(
            bot_stack, BIANCA, "<img src=x onerror=alert(1)> a geladeira veio amassada"
        )
        _says(bot_stack, BIANCA, "quero falar com um atendente")
        expect(
            queue.get_by_role("listitem").filter(has_text="Bianca Freitas")
        ).to_be_visible(timeout=ARRIVAL_S * 1000)

        box = page.get_by_role("searchbox", name="Buscar conversas")
        box.focus()
        box.fill("geladeiras amassadas")  # stemmed: the plural finds the singular
        box.press("Enter")
        results = page.get_by_role("list", name="Resultados da busca")
        card = results.get_by_role("listitem").filter(has_text="Bianca Freitas")
        expect(card).to_be_visible()
        expect(card).to_contain_text("Encontrada por: mensagem")
        expect(card.locator("mark")).to_have_text(["geladeira", "amassada"])
        # The customer's markup is shown as text, never run as HTML.
        expect(card).to_contain_text("<img src=x onerror=alert(1)>")
        expect(results.locator("img")).to_have_count(0)
        # The results replace the lists.
        expect(page.get_by_role("heading", name="Fila de espera")).to_be_hidden()
        expect(page.get_by_role("status")).to_contain_text("conversa(s) encontrada(s)")
        shoot(page, shots, "16-search", docs=DOCS)

        box.press("Escape")
        expect(box).to_have_value("")
        expect(box).to_be_focused()
        expect(results).to_be_hidden()
        expect(page.get_by_role("heading", name="Fila de espera")).to_be_visible()

        # A phone however it is typed; a name; then the result opens.
        box.fill("(11) 95500-1601")
        box.press("Enter")
        expect(card).to_contain_text("Encontrada por: telefone")
        expect(card).to_contain_text("•••• 1601")
        box.fill("bianca")
        box.press("Enter")
        expect(card).to_contain_text("Encontrada por: nome")
        card.get_by_role("button", name="Abrir conversa de Bianca Freitas").click()
        expect(
            page.get_by_role("heading", name="Bianca Freitas", exact=True)
        ).to_be_visible()

        # Too short: the API's code, in Portuguese, on the page.
        box.fill("a")
        box.press("Enter")
        expect(page.get_by_role("alert")).to_contain_text(
            "Digite um telefone (com DDD), um @usuário, um nome"
        )
