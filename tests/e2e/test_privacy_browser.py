"""The admins' Privacidade (LGPD) page (issue 18, points 4 and 6) in a real
browser against `make run`'s stack: the demo's consent text is there and a new
version is published after a confirmation; a customer who asked in the chat
to be erased is found by number in another format, their request is listed
with its deadline (an overdue one highlighted), and erasing it, after a
confirmation, tells the customer on WhatsApp.

Screenshots go to the test's folder; with ATENDE_UPDATE_SCREENSHOTS=1 they
replace docs/console/*.png.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from infra.simulator import SimulatedCustomer, post_signed, text_payload
from infra.stack_harness import (
    APP_SECRET,
    DISPLAY_PHONE_NUMBER,
    PHONE_NUMBER_ID,
    LocalStack,
    wait_for,
)
from tests.support.browser import chromium_path, shoot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.bot]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "console"

BEATRIZ = SimulatedCustomer(
    user_id="BR.5500000000000018", phone="5511955000018", name="Beatriz Lima"
)
LATE = SimulatedCustomer(
    user_id="BR.5500000000000019", phone="5521955000019", name="Carlos Prado"
)


def _say(
    stack: LocalStack, who: SimulatedCustomer, text: str, *, tap: str | None = None
) -> None:
    """``who`` writes ``text``, or taps the reply button ``tap`` titled ``text``."""
    payload = text_payload(
        text,
        who,
        phone_number_id=PHONE_NUMBER_ID,
        display_phone_number=DISPLAY_PHONE_NUMBER,
    )
    if tap is not None:
        message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
        del message["text"]
        message["type"] = "interactive"
        message["interactive"] = {
            "type": "button_reply",
            "button_reply": {"id": tap, "title": text},
        }
    assert post_signed(stack.webhook, payload, APP_SECRET) == 200


def _asks_to_confirm(stack: LocalStack, who: SimulatedCustomer) -> bool:
    return any(
        s["body"].get("to") == who.phone and "/afirmar" in json.dumps(s["body"])
        for s in stack.graph_sends()
    )


def _asks_erasure(stack: LocalStack, who: SimulatedCustomer) -> None:
    """The chat journey: the customer asks, the bot asks to confirm, they tap
    "Sim, quero excluir", and the bot opens the request with a protocol."""
    _say(stack, who, "quero apagar meus dados")
    # Minutes, not seconds: on a shared machine Rasa may be slow.
    wait_for(lambda: _asks_to_confirm(stack, who), 240, "the bot's confirmation")
    _say(stack, who, "Sim, quero excluir", tap="/afirmar")
    wait_for(lambda: _erasure_request(stack, who), 240, "the erasure request")


def _one(stack: LocalStack, query: str, *params: Any) -> dict[str, Any] | None:
    with psycopg.connect(stack.database_url(), row_factory=dict_row) as conn:
        return conn.execute(query, params).fetchone()


def _erasure_request(stack: LocalStack, who: SimulatedCustomer) -> Any:
    return _one(
        stack,
        "SELECT r.id, r.customer_id FROM lgpd_requests r JOIN customers c"
        " ON c.id = r.customer_id WHERE c.wa_user_id = %s AND r.kind = 'erasure'",
        who.user_id,
    )


def test_admin_publishes_consent_finds_a_customer_and_erases_with_notice(
    bot_stack: LocalStack, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    # Beatriz asks the bot to erase her data (the bot gives her a protocol).
    _asks_erasure(bot_stack, BEATRIZ)
    request = _erasure_request(bot_stack, BEATRIZ)
    assert request is not None
    protocol = str(request["id"]).split("-")[0].upper()
    # Carlos asked 20 days ago and nobody answered: past LGPD's 15 days.
    _asks_erasure(bot_stack, LATE)
    with psycopg.connect(bot_stack.database_url()) as conn:
        conn.execute(
            "UPDATE lgpd_requests SET requested_at = now() - interval '20 days'"
            " WHERE id = %s",
            (_erasure_request(bot_stack, LATE)["id"],),
        )

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
            sign_in(page, bot_stack.api, "admin@loja.example")
            link = page.get_by_role("link", name="Privacidade (LGPD)")
            expect(link).to_be_visible()
            link.click()
            expect(
                page.get_by_role("heading", name="Atende — Privacidade (LGPD)")
            ).to_be_visible()
            expect(page.get_by_role("status")).to_contain_text("Privacidade carregada")

            # Point 4: the demo ships version 1; a new one after confirming.
            versions = page.get_by_role("table", name="Versões publicadas")
            first = versions.get_by_role("row", name="Versão 1 (em uso)")
            expect(first).to_contain_text("Sistema (texto inicial)")
            expect(first).to_contain_text("Você autoriza?")
            page.get_by_label("Nova versão").fill(
                "Podemos guardar seus dados para te atender? Você pode mudar de"
                " ideia quando quiser."
            )
            page.get_by_role("button", name="Publicar nova versão…").click()
            dialog = page.get_by_role("dialog", name="Publicar a versão 2?")
            expect(dialog).to_be_visible()
            shoot(page, shots, "privacy-02-publish-confirm", docs=DOCS)
            dialog.get_by_role("button", name="Publicar versão 2").click()
            second = versions.get_by_role("row", name="Versão 2 (em uso)")
            expect(second).to_contain_text("Alice Admin")
            expect(versions.get_by_role("row", name="Versão 1 (em uso)")).to_have_count(
                0
            )

            # Point 6: the requests, with the deadline; the late one stands out.
            requests = page.get_by_role("table", name="Pedidos LGPD")
            mine = requests.get_by_role("row", name=protocol)
            expect(mine).to_contain_text("Beatriz Lima")
            expect(mine).to_contain_text("Cliente, no WhatsApp")
            expect(mine).to_contain_text("Será avisado ao concluir")
            late = requests.locator("tr.overdue")
            expect(late).to_have_count(1)
            expect(late).to_contain_text("Carlos Prado")
            expect(late).to_contain_text("atrasado há 5 dias")

            # Found by number written another way.
            page.get_by_label("Telefone, @usuário, nome ou protocolo").fill(
                "+55 (11) 95500-0018"
            )
            page.get_by_role("button", name="Buscar", exact=True).click()
            found = page.get_by_role("table", name="Clientes encontrados: 1")
            expect(found).to_contain_text("Beatriz Lima")
            expect(found).to_contain_text("+55 11 95500-0018")
            expect(found).to_contain_text("Exclusão dos dados")
            shoot(
                page,
                shots,
                "privacy-01-requests-search-consent",
                full_page=True,
                docs=DOCS,
            )

            # Erasure from the request, after a confirmation; she is told.
            mine.get_by_role("button", name="Apagar dados…").click()
            dialog = page.get_by_role("dialog", name="Apagar os dados do cliente?")
            expect(dialog).to_contain_text("Não é possível desfazer")
            shoot(page, shots, "privacy-03-erase-confirm", docs=DOCS)
            dialog.get_by_role("button", name="Cancelar").click()
            expect(dialog).to_be_hidden()
            assert _one(
                bot_stack,
                "SELECT 1 FROM customers WHERE id = %s AND erased_at IS NULL",
                request["customer_id"],
            )
            mine.get_by_role("button", name="Apagar dados…").click()
            dialog.get_by_role("button", name="Apagar definitivamente").click()
            expect(page.get_by_role("status")).to_contain_text(
                "O cliente foi avisado pelo WhatsApp."
            )
            expect(requests.get_by_role("row", name=protocol)).to_have_count(0)
            assert not errors, errors
        finally:
            browser.close()

    notices = [
        s["body"]["text"]["body"]
        for s in bot_stack.graph_sends()
        if s["body"].get("to") == BEATRIZ.phone and s["body"].get("type") == "text"
    ]
    assert any(f"protocolo {protocol}" in n and "concluído" in n for n in notices), (
        notices
    )
    assert _one(
        bot_stack,
        "SELECT 1 FROM customers WHERE id = %s AND erased_at IS NOT NULL",
        request["customer_id"],
    )
