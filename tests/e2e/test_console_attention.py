"""Issue 18's attendant points (8-12) in Debian's chromium against `make run`'s
stack (real Rasa, the live gateway, the Graph API stand-in): handoff reasons in
words, one CPF mask; transfer to an existing team with a note; the activity
timeline and live delivery statuses; the tab-title count, sound and desktop
notification, the one-screen layout; the composer's limit, the watching
supervisor's reason, the confirmed deactivation.

Screenshots go to the test's folder; with ATENDE_UPDATE_SCREENSHOTS=1 they
replace docs/console/*.png.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from infra.simulator import SimulatedCustomer, post_signed, status_payload, text_payload
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
VIEWPORT: Any = {"width": 1280, "height": 800}
ARRIVAL_S = 30  # the bot's turn, then the live push

PAULO = SimulatedCustomer(
    user_id="BR.5500000000000181", phone="5511955000181", name="Paulo Reis"
)
LUCAS = SimulatedCustomer(
    user_id="BR.5500000000000182", phone="5511955000182", name="Lucas Prado"
)
LARA = SimulatedCustomer(
    user_id="BR.5500000000000183", phone="5511955000183", name="Lara Dias"
)
NORA = SimulatedCustomer(
    user_id="BR.5500000000000185", phone="5511955000185", name="Nora Lins"
)
TEO = SimulatedCustomer(
    user_id="BR.5500000000000186", phone="5511955000186", name="Teo Ramos"
)
OTTO = SimulatedCustomer(
    user_id="BR.5500000000000184", phone="5511955000184", name="Otto Nunes"
)

# The browser's notifications and sound, observed: what the page asked for.
OBSERVE_ATTENTION = """
window.__notes = [];
window.__tones = 0;
class FakeNotification {
  constructor(title, options) {
    window.__notes.push({ title, body: (options || {}).body });
  }
}
FakeNotification.permission = "default";
FakeNotification.requestPermission = async () => {
  FakeNotification.permission = "granted";
  return "granted";
};
window.Notification = FakeNotification;
const RealAudio = window.AudioContext;
window.AudioContext = class extends RealAudio {
  createOscillator() { window.__tones += 1; return super.createOscillator(); }
};
"""


# What reaches furthest down the page (when the page is taller than the screen).
FURTHEST_DOWN = """
[...document.querySelectorAll("body *")]
  .map((e) => [e.getBoundingClientRect().bottom, `${e.tagName}#${e.id}.${e.className}`])
  .sort((a, b) => b[0] - a[0]).slice(0, 5)
"""


def _says(stack: LocalStack, customer: SimulatedCustomer, text: str) -> None:
    payload = text_payload(
        text,
        customer,
        phone_number_id=PHONE_NUMBER_ID,
        display_phone_number=DISPLAY_PHONE_NUMBER,
    )
    assert post_signed(stack.webhook, payload, APP_SECRET) == 200


def _sql(stack: LocalStack, query: str, params: tuple[Any, ...]) -> list[Any]:
    import psycopg

    with psycopg.connect(stack.database_url()) as conn:
        cursor = conn.execute(query, params)
        return cursor.fetchall() if cursor.description else []


@contextmanager
def _page(tmp_path: Path, *, observe: bool = False) -> Iterator[tuple[Any, Path]]:
    from playwright.sync_api import sync_playwright

    shots = tmp_path / "screenshots"
    shots.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), args=["--no-sandbox", "--lang=pt-BR"]
        )
        try:
            page = browser.new_page(
                viewport=VIEWPORT, locale="pt-BR", timezone_id="America/Sao_Paulo"
            )
            if observe:
                page.add_init_script(OBSERVE_ATTENTION)
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            yield page, shots
            assert errors == []
        finally:
            browser.close()


def test_handoff_reason_is_true_in_words_and_the_cpf_masked_alike(
    bot_stack: LocalStack, tmp_path: Path
) -> None:
    """Point 8: a customer without consent isn't "IA indisponível"; no raw
    codes; the CPF reads the same in the summary and the history."""
    from playwright.sync_api import expect

    with _page(tmp_path) as (page, shots):
        sign_in(page, bot_stack.api, "supervisora@loja.example")
        expect(page.get_by_role("heading", name="Fila de espera")).to_be_visible()
        _says(bot_stack, PAULO, "como vai estar o clima amanhã")
        queue = page.get_by_role("list", name="Fila de espera")
        card = queue.get_by_role("listitem").filter(has_text="Paulo Reis")
        expect(card).to_be_visible(timeout=ARRIVAL_S * 1000)
        expect(card).to_contain_text("Sem consentimento para IA")
        _sql(
            bot_stack,
            "INSERT INTO messages (tenant_id, conversation_id, direction, type, body)"
            " SELECT v.tenant_id, v.id, 'inbound', 'text', 'meu cpf é 529.982.247-25'"
            " FROM conversations v JOIN customers c ON c.id = v.customer_id"
            " WHERE c.wa_user_id = %s AND v.state <> 'closed'",
            (PAULO.user_id,),
        )
        card.get_by_role("button", name="Ver conversa de Paulo Reis").click()
        context = page.get_by_role("complementary", name="Contexto da conversa")
        expect(context).to_contain_text("Motivo: Sem consentimento para IA")
        log = page.get_by_role("log", name="Mensagens")
        expect(log).to_contain_text("meu cpf é ***.***.***-25")
        expect(log).to_contain_text("Encaminhada para atendimento: Sem consentimento")
        body = page.locator("body")
        for raw in (
            "IA indisponível",
            "llm indisponivel",
            "529.982.247-25",
            "sem_consentimento",
        ):
            expect(body).not_to_contain_text(raw)
        shoot(page, shots, "07-handoff-reason", docs=DOCS)


def test_delivery_statuses_update_live_in_the_open_conversation(
    bot_stack: LocalStack, tmp_path: Path
) -> None:
    """Point 10: Meta's delivered/read reach the open conversation at once,
    with no customer message to trigger a refresh."""
    from playwright.sync_api import expect

    with _page(tmp_path) as (page, _):
        sign_in(page, bot_stack.api, "supervisora@loja.example")
        _says(bot_stack, LUCAS, "quero falar com um atendente")
        page.get_by_role("list", name="Fila de espera").get_by_role(
            "button", name="Assumir conversa de Lucas Prado"
        ).click(timeout=ARRIVAL_S * 1000)
        page.get_by_role("textbox", name="Mensagem", exact=True).fill(
            "Vou verificar, Lucas."
        )
        page.get_by_role("button", name="Enviar", exact=True).click()
        log = page.get_by_role("log", name="Mensagens")
        reply = log.get_by_role("listitem").filter(has_text="Vou verificar, Lucas.")
        expect(reply).to_contain_text("Enviada")

        def reply_wamid() -> str | None:
            rows = _sql(
                bot_stack,
                "SELECT wamid FROM messages WHERE body = %s AND wamid IS NOT NULL",
                ("Vou verificar, Lucas.",),
            )
            return str(rows[0][0]) if rows else None

        wait_for(reply_wamid, 15, "the reply's wamid")
        wamid = reply_wamid()
        assert wamid is not None
        for status, shown in (("delivered", "Entregue"), ("read", "Lida")):
            payload = status_payload(
                wamid,
                status,
                LUCAS,
                phone_number_id=PHONE_NUMBER_ID,
                display_phone_number=DISPLAY_PHONE_NUMBER,
            )
            assert post_signed(bot_stack.webhook, payload, APP_SECRET) == 200
            # Pushed: well before the 20-second fallback poll.
            expect(reply).to_contain_text(shown, timeout=8_000)


def test_transfer_picks_a_team_with_a_note_and_the_timeline_tells_it(
    bot_stack: LocalStack, tmp_path: Path
) -> None:
    """Points 9 and 10: the teams come from the API (the demo's "Financeiro",
    Sara's, out of the box), the note reaches the next attendant, each move is
    in the timeline."""
    from playwright.sync_api import expect

    with _page(tmp_path) as (page, shots):
        sign_in(page, bot_stack.api, "supervisora@loja.example")
        _says(bot_stack, NORA, "quero falar com um atendente")
        page.get_by_role("list", name="Fila de espera").get_by_role(
            "button", name="Assumir conversa de Nora Lins"
        ).click(timeout=ARRIVAL_S * 1000)

        page.get_by_role("button", name="Transferir").click()
        dialog = page.get_by_role("dialog", name="Transferir conversa")
        team = dialog.get_by_role("combobox", name="Equipe")
        expect(team.locator("option", has_text="Financeiro")).to_have_count(1)
        team.select_option("Financeiro")
        dialog.get_by_label("Nota para quem recebe (opcional)").fill(
            "Quer parcelar em 3x; cadastro conferido."
        )
        shoot(page, shots, "08-transfer", docs=DOCS)
        dialog.get_by_role("button", name="Confirmar transferência").click()
        expect(page.get_by_role("status")).to_contain_text(
            "Conversa transferida para equipe Financeiro"
        )
        log = page.get_by_role("log", name="Mensagens")
        expect(log).to_contain_text("Sara Supervisora assumiu a conversa")
        expect(log).to_contain_text(
            "Transferida por Sara Supervisora para a equipe Financeiro"
        )
        note = log.get_by_role("listitem").filter(has_text="Quer parcelar em 3x")
        expect(note).to_contain_text("Nota interna · Sara Supervisora")

        page.get_by_role("button", name="Devolver ao bot").click()
        expect(log).to_contain_text(
            "Devolvida ao bot por Sara Supervisora", timeout=10_000
        )
        shoot(page, shots, "09-timeline", docs=DOCS)


def test_new_handoffs_get_attention_and_the_page_is_one_screen(
    bot_stack: LocalStack, tmp_path: Path
) -> None:
    """Point 11: the tab title counts who waits; sound (off by default,
    remembered) and a desktop notification (asked on a click); "Minhas
    conversas" first; the open conversation stays in view."""
    from playwright.sync_api import expect

    with _page(tmp_path, observe=True) as (page, shots):
        sign_in(page, bot_stack.api, "supervisora@loja.example")
        mine = page.get_by_role("heading", name="Minhas conversas")
        queue_title = page.get_by_role("heading", name="Fila de espera")
        expect(queue_title).to_be_visible()
        assert mine.bounding_box()["y"] < queue_title.bounding_box()["y"]

        sound = page.get_by_label("Som ao chegar conversa na fila")
        expect(sound).not_to_be_checked()
        sound.check()
        page.reload()
        expect(page.get_by_label("Som ao chegar conversa na fila")).to_be_checked()
        page.get_by_role("button", name="Ativar notificações do navegador").click()
        expect(
            page.get_by_role("group", name="Avisos de novas conversas")
        ).to_contain_text("Notificações do navegador ativadas.")

        _says(bot_stack, LARA, "quero falar com um atendente")
        claim = page.get_by_role("list", name="Fila de espera").get_by_role(
            "button", name="Assumir conversa de Lara Dias"
        )
        expect(claim).to_be_visible(timeout=ARRIVAL_S * 1000)
        expect(page).to_have_title(re.compile(r"^\(\d+\) Atende — Console$"))
        notes = page.evaluate("window.__notes")
        assert any("Lara Dias" in (n["body"] or "") for n in notes), notes
        assert page.evaluate("window.__tones") > 0

        # Keyboard only: Tab to Lara's "Assumir", Enter, type, Ctrl+Enter.
        expect(page.get_by_label("Som ao chegar conversa na fila")).to_be_focused()
        for _ in range(30):
            page.keyboard.press("Tab")
            focused = page.evaluate("document.activeElement.textContent")
            if focused == "Assumir conversa de Lara Dias":
                break
        else:
            pytest.fail("Tab never reached Lara's claim button")
        page.keyboard.press("Enter")
        title = page.get_by_role("heading", name="Lara Dias", exact=True)
        expect(page.get_by_role("textbox", name="Mensagem", exact=True)).to_be_focused()
        page.keyboard.type("Oi, Lara! Já vejo isso.")
        page.keyboard.press("Control+Enter")
        expect(page.get_by_role("status")).to_contain_text("Mensagem enviada")
        # One screen: the lists scroll on their own, the conversation stays.
        height = page.evaluate("document.documentElement.scrollHeight")
        print(f"supervisor page height: {height} px")
        assert height <= VIEWPORT["height"], page.evaluate(FURTHEST_DOWN)
        shoot(page, shots, "10-layout", docs=DOCS)
        page.get_by_role("navigation", name="Conversas").evaluate(
            "n => { n.scrollTop = n.scrollHeight; }"
        )
        page.mouse.move(150, 700)
        page.mouse.wheel(0, 3000)
        box = title.bounding_box()
        assert box is not None and 0 <= box["y"] < VIEWPORT["height"], box
        assert page.evaluate("window.scrollY") == 0


def test_a_supervisor_watching_sees_who_holds_it_and_may_take_over(
    bot_stack: LocalStack, tmp_path: Path
) -> None:
    """Point 12: no reply box, and the reason why; "Assumir atendimento"."""
    from playwright.sync_api import expect

    with _page(tmp_path) as (page, shots):
        ana = page.context.browser.new_page(viewport=VIEWPORT, locale="pt-BR")
        sign_in(ana, bot_stack.api, "ana@loja.example")
        _says(bot_stack, OTTO, "quero falar com um atendente")
        ana.get_by_role("list", name="Fila de espera").get_by_role(
            "button", name="Assumir conversa de Otto Nunes"
        ).click(timeout=ARRIVAL_S * 1000)
        expect(ana.get_by_role("textbox", name="Mensagem", exact=True)).to_be_visible()

        sign_in(page, bot_stack.api, "supervisora@loja.example")
        page.get_by_role("list", name="Todas as conversas").get_by_role(
            "button", name="Acompanhar conversa de Otto Nunes"
        ).click()
        expect(page.get_by_text("Esta conversa está com Ana Atendente")).to_be_visible()
        expect(page.get_by_role("textbox", name="Mensagem", exact=True)).to_be_hidden()
        shoot(page, shots, "11-watching", docs=DOCS)
        page.get_by_role("button", name="Assumir atendimento").click()
        expect(page.get_by_role("textbox", name="Mensagem", exact=True)).to_be_focused()
        expect(page.get_by_role("log", name="Mensagens")).to_contain_text(
            "Sara Supervisora assumiu o atendimento (estava com Ana Atendente)"
        )


def test_the_composer_counts_and_never_cuts_silently(
    bot_stack: LocalStack, tmp_path: Path
) -> None:
    """Point 12: 5,000 pasted characters stay 5,000, the counter says so, and
    sending is refused with the numbers."""
    from playwright.sync_api import expect

    with _page(tmp_path) as (page, shots):
        sign_in(page, bot_stack.api, "supervisora@loja.example")
        _says(bot_stack, TEO, "quero falar com um atendente")
        page.get_by_role("list", name="Fila de espera").get_by_role(
            "button", name="Assumir conversa de Teo Ramos"
        ).click(timeout=ARRIVAL_S * 1000)
        box = page.get_by_role("textbox", name="Mensagem", exact=True)
        expect(box).to_be_focused()
        sends = len(bot_stack.graph_sends())
        box.fill("a" * 5000)
        assert box.evaluate("b => b.value.length") == 5000  # nothing cut
        expect(page.get_by_text("5.000/4.096 — passou 904")).to_be_visible()
        page.get_by_role("button", name="Enviar", exact=True).click()
        expect(page.get_by_role("alert")).to_contain_text(
            "A mensagem tem 5.000 caracteres e o limite do WhatsApp é 4.096"
        )
        expect(box).to_be_focused()
        shoot(page, shots, "12-composer-limit", docs=DOCS)
        assert len(bot_stack.graph_sends()) == sends


def test_deactivating_an_attendant_asks_first(
    bot_stack: LocalStack, tmp_path: Path
) -> None:
    """Point 12: "Desativar" opens a confirmation; "Cancelar" changes nothing."""
    from playwright.sync_api import expect

    with _page(tmp_path) as (page, shots):
        sign_in(page, bot_stack.api, "admin@loja.example")
        page.get_by_role("button", name="Administração").click()
        page.get_by_role("button", name="Convidar atendente").click()
        page.get_by_label("Nome do convidado").fill("Bruno Teste")
        page.get_by_label("E-mail do convidado").fill("bruno.teste@loja.example")
        page.get_by_role("button", name="Enviar convite").click()
        row = page.get_by_role("row", name="Bruno Teste")
        expect(row).to_contain_text("Ativo")

        row.get_by_role("button", name="Desativar Bruno Teste").click()
        dialog = page.get_by_role("dialog", name="Desativar atendente")
        expect(dialog).to_contain_text("Bruno Teste perde o acesso ao console")
        expect(dialog.get_by_role("button", name="Cancelar")).to_be_focused()
        shoot(page, shots, "13-confirm-deactivate", docs=DOCS)
        dialog.get_by_role("button", name="Cancelar").click()
        expect(row).to_contain_text("Ativo")
        row.get_by_role("button", name="Desativar Bruno Teste").click()
        page.get_by_role("button", name="Confirmar desativação").click()
        expect(row).to_contain_text("Inativo")
