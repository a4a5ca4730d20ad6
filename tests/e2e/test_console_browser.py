"""The attendant console in a real browser (Debian's chromium, driven by Playwright)
against `make run`'s whole stack: Rasa, the action server, moto's Cognito, the
live-update gateway, the Graph API stand-in.

An attendant signs in, sees a handoff arrive (pushed, not polled), claims it,
loads the older messages of a long history, replies, sees the reply reach the
Graph API stand-in, and returns the conversation to the bot, which then answers
the customer again.

Screenshots of the main screens go to the test's folder; with
ATENDE_UPDATE_SCREENSHOTS=1 they replace docs/console/*.png.
"""

from __future__ import annotations

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
from tests.e2e.test_console_attention import _sql
from tests.support.browser import LOCAL_PASSWORD, chromium_path, shoot

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.e2e, pytest.mark.bot]
DOCS = ROOT / "docs" / "console"
# The live push must beat the console's 20-second fallback poll by far.
HANDOFF_VISIBLE_WITHIN_S = 10


# The customer of this test (other tests on the shared stack have their own).
MARIA = SimulatedCustomer(
    user_id="BR.5500000000000001", phone="5511955000001", name="Maria Souza"
)


def _customer_says(stack: LocalStack, text: str) -> None:
    payload = text_payload(
        text,
        MARIA,
        phone_number_id=PHONE_NUMBER_ID,
        display_phone_number=DISPLAY_PHONE_NUMBER,
    )
    assert post_signed(stack.webhook, payload, APP_SECRET) == 200


def _sends_to_maria(stack: LocalStack) -> list[dict[str, Any]]:
    return [s for s in stack.graph_sends() if s["body"].get("to") == MARIA.phone]


def _older_history(stack: LocalStack, count: int) -> None:
    """Messages from the day before in Maria's open conversation: more than
    the page the console opens on."""
    import psycopg

    with psycopg.connect(stack.database_url()) as conn:
        conn.execute(
            "INSERT INTO messages (tenant_id, conversation_id, direction, type, body,"
            " created_at)"
            " SELECT v.tenant_id, v.id, 'inbound', 'text', 'mensagem antiga ' || n,"
            " now() - interval '1 day' + n * interval '1 second'"
            " FROM conversations v JOIN customers c ON c.id = v.customer_id,"
            " generate_series(0, %s - 1) AS n"
            " WHERE c.wa_user_id = %s AND v.state <> 'closed'",
            (count, MARIA.user_id),
        )


def test_sign_in_see_handoff_claim_reply_and_return_to_bot(
    bot_stack: LocalStack, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    api = bot_stack.api
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), args=["--no-sandbox"]
        )
        page = browser.new_page(
            viewport={"width": 1280, "height": 800},
            locale="pt-BR",
            timezone_id="America/Sao_Paulo",
        )
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            page.goto(f"{api}/console")
            shoot(page, shots, "01-sign-in", docs=DOCS)

            # A wrong password is refused with a readable message.
            page.get_by_label("E-mail").fill("ana@loja.example")
            page.get_by_label("Senha", exact=True).fill("senha-errada")
            page.get_by_role("button", name="Entrar").click()
            expect(page.get_by_role("alert")).to_contain_text("E-mail ou senha")

            page.get_by_label("Senha", exact=True).fill(LOCAL_PASSWORD)
            page.get_by_role("button", name="Entrar").click()
            expect(page.get_by_role("heading", name="Fila de espera")).to_be_visible()
            queue = page.get_by_role("list", name="Fila de espera")

            # The customer asks for a person; the handoff is pushed to the page.
            _customer_says(bot_stack, "quero falar com um atendente")
            claim = queue.get_by_role("button", name="Assumir conversa de Maria Souza")
            expect(claim).to_be_visible(timeout=HANDOFF_VISIBLE_WITHIN_S * 1000)
            expect(page.get_by_role("status")).to_contain_text("Maria Souza")
            shoot(page, shots, "02-queue-with-handoff", docs=DOCS)
            _older_history(bot_stack, 60)

            claim.click()
            view = page.locator("[data-state]").first
            expect(view).to_have_attribute("data-state", "with_human")
            expect(
                page.get_by_role("heading", name="Maria Souza", exact=True)
            ).to_be_visible()
            log = page.get_by_role("log", name="Mensagens")
            expect(log).to_contain_text("quero falar com um atendente")

            # A long history opens on its latest page; older ones on request.
            older = page.get_by_role("button", name="Carregar mensagens anteriores")
            expect(older).to_be_visible()
            expect(log).not_to_contain_text("mensagem antiga 0")
            older.click()
            expect(log.get_by_role("listitem").first).to_contain_text(
                "mensagem antiga 0"
            )
            expect(older).to_be_hidden()
            expect(page.get_by_role("status")).to_contain_text(
                "mensagens anteriores carregadas"
            )

            sent_before = len(_sends_to_maria(bot_stack))
            page.get_by_role("textbox", name="Mensagem", exact=True).fill(
                "Olá, Maria! Sou a Ana. Como posso ajudar?"
            )
            page.get_by_role("button", name="Enviar", exact=True).click()
            wait_for(
                lambda: len(_sends_to_maria(bot_stack)) > sent_before,
                15,
                "the reply to go out",
            )
            reply = _sends_to_maria(bot_stack)[-1]["body"]
            assert reply["type"] == "text"
            assert reply["text"]["body"] == "Olá, Maria! Sou a Ana. Como posso ajudar?"
            expect(log).to_contain_text("Olá, Maria! Sou a Ana.")
            expect(log).to_contain_text("Enviada")

            # The customer answers; the open conversation shows it live.
            _customer_says(bot_stack, "preciso da segunda via do boleto")
            expect(log).to_contain_text(
                "preciso da segunda via do boleto", timeout=10_000
            )
            shoot(page, shots, "03-conversation", docs=DOCS)

            page.get_by_role("button", name="Devolver ao bot").click()
            expect(page.get_by_role("status")).to_contain_text(
                "Conversa devolvida ao bot", timeout=10_000
            )
            expect(
                page.get_by_role("list", name="Minhas conversas")
            ).not_to_contain_text("Maria Souza")

            # An admin moves Ana to the billing team.
            page.get_by_role("button", name="Sair").click()
            page.get_by_label("E-mail").fill("admin@loja.example")
            page.get_by_label("Senha", exact=True).fill(LOCAL_PASSWORD)
            page.get_by_role("button", name="Entrar").click()
            page.get_by_role("button", name="Administração").click()
            expect(page.get_by_role("heading", name="Atendentes")).to_be_focused()
            page.get_by_role("button", name="Editar Ana Atendente").click()
            page.get_by_label("Equipe (vazio: nenhuma)").fill("financeiro")
            page.get_by_role("button", name="Salvar alterações").click()
            expect(page.get_by_role("status")).to_contain_text("alterações salvas")
            expect(page.get_by_role("row", name="Ana Atendente")).to_contain_text(
                "financeiro"
            )
            shoot(page, shots, "04-attendants", docs=DOCS)
            assert errors == []
        finally:
            browser.close()
            _restore_ana_team(bot_stack)

    # The bot has the conversation again and answers the customer.
    before = len(_sends_to_maria(bot_stack))
    _customer_says(bot_stack, "oi, bom dia")
    wait_for(lambda: len(_sends_to_maria(bot_stack)) > before, 60, "the bot's answer")
    import psycopg

    with psycopg.connect(bot_stack.database_url()) as conn:
        states = conn.execute(
            "SELECT v.state, v.assigned_attendant_id FROM conversations v"
            " JOIN customers c ON c.id = v.customer_id WHERE c.wa_user_id = %s",
            (MARIA.user_id,),
        ).fetchall()
    assert states == [("bot", None)]


def _restore_ana_team(stack: LocalStack) -> None:
    """The stack is shared: Ana goes back to no team, so the other tests'
    handoffs (team-less) stay hers to take."""
    _sql(
        stack,
        "UPDATE attendants SET team = NULL WHERE email = %s",
        ("ana@loja.example",),
    )
