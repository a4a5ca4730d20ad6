"""Issue 14's points 7 and 3 in Debian's chromium against `make run`'s stack
(real Rasa and action server, the Graph API stand-in): an admin sets business
hours (bad input refused in Portuguese; today a holiday), a customer who asks
for a person hears when one will answer and waits in the queue marked "Fora do
horário"; the contact panel beside a conversation, whole for an admin (with
the LGPD actions) and with the CPF masked for an attendant.

Screenshots go to the test's folder; with ATENDE_UPDATE_SCREENSHOTS=1 they
replace docs/console/*.png.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from atende.tenancy.business_hours import SAO_PAULO
from infra.simulator import SimulatedCustomer
from infra.stack_harness import LocalStack, wait_for
from tests.e2e.test_console_attention import ARRIVAL_S, DOCS, _page, _says, _sql
from tests.support.browser import shoot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.bot]

ICARO = SimulatedCustomer(
    user_id="BR.5500000000000214", phone="5511955000214", name="Ícaro Souza"
)
RUTE = SimulatedCustomer(
    user_id="BR.5500000000000215", phone="5511955000215", name="Rute Andrade"
)
CPF = "529.982.247-25"


def _sends_to(stack: LocalStack, customer: SimulatedCustomer) -> list[str]:
    return [
        s["body"]["text"]["body"]
        for s in stack.graph_sends()
        if s["body"].get("to") == customer.phone and s["body"].get("type") == "text"
    ]


def test_outside_business_hours_the_customer_hears_when_and_the_queue_says_so(
    bot_stack: LocalStack, tmp_path: Path
) -> None:
    """Point 7: the admin's page refuses a day that ends before it starts,
    saves the week with today as a holiday, and the handoff that follows is
    told when a person answers and queued "Fora do horário"."""
    from playwright.sync_api import expect

    today = datetime.now(UTC).astimezone(SAO_PAULO).date().isoformat()
    try:
        with _page(tmp_path) as (page, shots):
            page.set_viewport_size({"width": 1280, "height": 1500})
            sign_in(page, bot_stack.api, "admin@loja.example")
            link = page.get_by_role("link", name="Horário de atendimento")
            expect(link).to_be_visible()
            link.click()
            expect(page.get_by_role("status")).to_have_text(
                "Horário de atendimento carregado."
            )
            # Bad input: the API's rule, in Portuguese, and nothing saved.
            page.get_by_label("Segunda: fecha às").fill("07:00")
            save = page.get_by_role("button", name="Salvar horário de atendimento")
            save.click()
            expect(page.get_by_role("alert")).to_contain_text(
                "Na segunda-feira, o fim (7h) deve ser depois do início (8h)."
            )
            page.get_by_label("Segunda: fecha às").fill("18:00")
            page.get_by_label("Sábado: aberto").check()
            page.get_by_label("Sábado: fecha às").fill("12:00")
            page.get_by_label("Data", exact=True).fill(today)
            page.get_by_label("Nome do feriado").fill("Feriado municipal")
            page.get_by_role("button", name="Adicionar feriado").click()
            page.get_by_text("Feriados nacionais sugeridos", exact=True).click()
            suggested = page.get_by_role("list", name="Feriados nacionais sugeridos")
            suggested.get_by_role("button", name="Adicionar: Natal").first.click()
            save.click()
            expect(page.get_by_role("status")).to_have_text(
                "Horário de atendimento salvo."
            )
            expect(page.locator("#hours-now")).to_contain_text(
                "Fechado agora. Horário: seg\N{EN DASH}sex, 8h\N{EN DASH}18h;"
                " sáb, 8h\N{EN DASH}12h."
            )
            holidays = page.get_by_role("list", name="Feriados", exact=True)
            expect(holidays).to_contain_text("Feriado municipal")
            expect(holidays).to_contain_text("Natal")
            page.get_by_text("Feriados nacionais sugeridos", exact=True).click()
            page.get_by_role(
                "heading", name="Horário da semana"
            ).scroll_into_view_if_needed()
            shoot(page, shots, "21-business-hours", docs=DOCS)

            before = len(_sends_to(bot_stack, ICARO))
            _says(bot_stack, ICARO, "quero falar com um atendente")
            wait_for(
                lambda: len(_sends_to(bot_stack, ICARO)) > before,
                ARRIVAL_S,
                "the bot's answer",
            )
            told = _sends_to(bot_stack, ICARO)[-1]
            assert told.startswith(
                "Nosso horário de atendimento é seg\N{EN DASH}sex, 8h\N{EN DASH}18h;"
                " sáb, 8h\N{EN DASH}12h. Sua conversa já está na fila: uma pessoa"
                " vai te responder "
            ), told
            assert "em instantes" not in told

            page.get_by_role("link", name="Voltar ao console").click()
            card = (
                page.get_by_role("list", name="Fila de espera")
                .get_by_role("listitem")
                .filter(has_text="Ícaro Souza")
            )
            expect(card).to_contain_text("Fora do horário", timeout=ARRIVAL_S * 1000)
    finally:
        # The shared stack goes back to always open for the other tests.
        _sql(bot_stack, "DELETE FROM business_hours", ())


def _customer_id(stack: LocalStack, customer: SimulatedCustomer) -> Any:
    rows = _sql(
        stack, "SELECT id FROM customers WHERE wa_user_id = %s", (customer.user_id,)
    )
    return rows[0][0]


def test_the_contact_panel_shows_the_customer_whole_to_admins_masked_to_others(
    bot_stack: LocalStack, tmp_path: Path
) -> None:
    """Point 3: the panel beside the conversation (consent, past
    conversations, data given) opens on demand and is audited; the admin sees
    the whole CPF and the LGPD actions (asked before they happen), an
    attendant the masked CPF and none."""
    from playwright.sync_api import expect

    _says(bot_stack, RUTE, "quero falar com um atendente")
    wait_for(
        lambda: _sql(
            bot_stack,
            "SELECT 1 FROM conversations v JOIN customers c ON c.id = v.customer_id"
            " WHERE c.wa_user_id = %s AND v.state = 'waiting_human'",
            (RUTE.user_id,),
        ),
        ARRIVAL_S,
        "Rute's handoff",
    )
    customer = _customer_id(bot_stack, RUTE)
    _sql(
        bot_stack,
        "INSERT INTO contacts (tenant_id, customer_id, kind, value, found_by)"
        " SELECT tenant_id, id, 'cpf', %s, 'validator' FROM customers WHERE id = %s",
        (CPF, customer),
    )
    with _page(tmp_path) as (page, shots):
        page.set_viewport_size({"width": 1440, "height": 900})
        sign_in(page, bot_stack.api, "admin@loja.example")
        page.get_by_role("list", name="Fila de espera").get_by_role(
            "button", name="Ver conversa de Rute Andrade"
        ).click(timeout=ARRIVAL_S * 1000)
        context = page.get_by_role("complementary", name="Contexto da conversa")
        toggle = context.get_by_role("button", name="Ver ficha do cliente")
        expect(toggle).to_have_attribute("aria-expanded", "false")
        toggle.click()
        panel = context.locator("#contact-body")
        expect(panel).to_contain_text(f"CPF: {CPF}")
        expect(panel).to_contain_text("+55 11 95500-0215")
        expect(panel).to_contain_text("Consentimento")
        past = context.get_by_role("list", name="Conversas")
        expect(past.get_by_role("listitem").first).to_contain_text(
            "Esta conversa · Na fila"
        )
        expect(
            context.get_by_role("button", name="Ocultar ficha do cliente")
        ).to_have_attribute("aria-expanded", "true")
        erase = context.get_by_role("button", name="Apagar dados de Rute Andrade")
        expect(
            context.get_by_role("button", name="Exportar dados de Rute Andrade")
        ).to_be_visible()
        shoot(page, shots, "22-contact-panel", docs=DOCS)
        # Erasure is asked first; cancelling leaves everything as it was.
        erase.click()
        dialog = page.get_by_role("dialog", name="Apagar os dados do cliente?")
        expect(dialog).to_contain_text("Não é possível desfazer.")
        dialog.get_by_role("button", name="Cancelar").click()
        expect(dialog).to_be_hidden()
        assert _sql(
            bot_stack,
            "SELECT erased_at FROM customers WHERE id = %s",
            (customer,),
        ) == [(None,)]

        page.get_by_role("button", name="Sair").click()
        sign_in(page, bot_stack.api, "ana@loja.example")
        page.get_by_role("list", name="Fila de espera").get_by_role(
            "button", name="Ver conversa de Rute Andrade"
        ).click(timeout=ARRIVAL_S * 1000)
        context.get_by_role("button", name="Ver ficha do cliente").click()
        expect(panel).to_contain_text("CPF: ***.***.***-25")
        expect(panel).not_to_contain_text(CPF)
        expect(panel).to_contain_text("CPF mascarado")
        expect(context.get_by_role("button", name="Apagar dados")).to_have_count(0)

    looked = _sql(
        bot_stack,
        "SELECT a.email FROM audit_events e JOIN attendants a"
        " ON a.id::text = e.actor_id WHERE e.action = 'CUSTOMER_LOOKED_UP'"
        " AND e.subject_id = %s AND e.details->>'by' = 'contact_panel' ORDER BY e.id",
        (str(customer),),
    )
    assert looked == [("admin@loja.example",), ("ana@loja.example",)]
