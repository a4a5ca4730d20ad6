"""Issue 14's point 4 in Debian's chromium against `make run`'s stack: media
both ways. The customer, on the simulator page, sends a photo: it appears
inline in the open conversation, live. The attendant attaches a PDF with a
caption: the customer (the Graph stand-in, and the simulator page) receives
it, and the console's timeline shows it.

Screenshots go to the test's folder; with ATENDE_UPDATE_SCREENSHOTS=1 they
replace docs/console/*.png.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from urllib.request import urlopen

import pytest

from infra.simulator import customer_for, replies_for
from infra.stack_harness import LocalStack
from tests.e2e.test_console_attention import ARRIVAL_S, DOCS, VIEWPORT, _page
from tests.support.browser import shoot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.bot]

VERA_PHONE = "5511955000251"  # a phone no other test uses: the simulator shows by phone
VERA = customer_for(phone=VERA_PHONE, name="Vera Campos")
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def _png(width: int = 96, height: int = 64) -> bytes:
    """A small real PNG (a teal receipt-like block) the browser can draw."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(
        b"\x00"
        + b"".join(
            bytes((18, 140, 126)) if 8 < x < width - 8 and y % 12 < 8 else b"\xff" * 3
            for x in range(width)
        )
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_a_photo_shows_live_and_a_pdf_reaches_the_customer(
    bot_stack: LocalStack, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    simulator = f"http://127.0.0.1:{bot_stack.ports['simulator']}"
    photo = tmp_path / "comprovante.png"
    photo.write_bytes(_png())
    with _page(tmp_path) as (page, shots):
        browser = page.context.browser
        assert browser is not None
        customer = browser.new_page(viewport=VIEWPORT, locale="pt-BR")
        customer.goto(simulator)
        customer.get_by_label("telefone").fill(VERA_PHONE)
        customer.get_by_label("nome", exact=True).fill("Vera Campos")
        customer.get_by_label("Mensagem", exact=True).fill(
            "quero falar com um atendente"
        )
        customer.get_by_role("button", name="Enviar", exact=True).click()

        sign_in(page, bot_stack.api, "supervisora@loja.example")
        page.get_by_role("list", name="Fila de espera").get_by_role(
            "button", name="Assumir conversa de Vera Campos"
        ).click(timeout=ARRIVAL_S * 1000)
        log = page.get_by_role("log", name="Mensagens")
        expect(log).to_contain_text("quero falar com um atendente")

        # The customer sends a photo with a caption from the simulator page.
        customer.get_by_label("Mensagem", exact=True).fill("Segue o comprovante")
        customer.get_by_label("Enviar foto").set_input_files(str(photo))
        image = log.get_by_role("img", name="Imagem: Segue o comprovante")
        expect(image).to_be_visible(timeout=ARRIVAL_S * 1000)  # live, no reload
        assert image.evaluate("img => img.naturalWidth") == 96
        assert image.get_attribute("src", timeout=1000).startswith("blob:")

        # The attendant attaches a PDF with a caption.
        attach = page.get_by_role("button", name="Anexar arquivo")
        expect(attach).to_have_attribute("aria-expanded", "false")
        attach.press("Enter")  # keyboard reachable
        expect(page.get_by_label("Arquivo", exact=True)).to_be_focused()
        page.get_by_label("Arquivo", exact=True).set_input_files(
            {"name": "boleto-marco.pdf", "mimeType": "application/pdf", "buffer": PDF}
        )
        page.get_by_label("Legenda do arquivo (opcional)").fill("Seu boleto de março")
        page.get_by_role("button", name="Enviar arquivo").click()
        expect(page.get_by_role("status")).to_contain_text(
            "PDF enviado(a): boleto-marco.pdf"
        )
        expect(
            log.get_by_role("button", name="Baixar boleto-marco.pdf (documento)")
        ).to_be_visible()
        expect(log).to_contain_text("Seu boleto de março")
        expect(attach).to_be_focused()  # the fields folded after sending
        expect(image).to_be_visible()
        shoot(page, shots, "19-media", docs=DOCS)

        # A wrong file is refused in Portuguese, before anything is sent.
        attach.click()
        page.get_by_label("Arquivo", exact=True).set_input_files(
            {"name": "nota.txt", "mimeType": "text/plain", "buffer": b"oi"}
        )
        page.get_by_role("button", name="Enviar arquivo").click()
        expect(page.get_by_role("alert")).to_contain_text("Tipo de arquivo não aceito")

        # The customer got the PDF: the Graph stand-in holds our bytes, and
        # the simulator page shows it as a file to open.
        [sent] = [
            r for r in replies_for(bot_stack.graph, VERA) if r.get("media") is not None
        ]
        assert sent["media"]["kind"] == "document"
        assert sent["media"]["filename"] == "boleto-marco.pdf"
        assert sent["text"] == "Seu boleto de março"
        with urlopen(  # noqa: S310 - the local stand-in
            f"{bot_stack.graph}/_standin/media/{sent['media']['id']}", timeout=5
        ) as r:
            assert r.read() == PDF
        customer.bring_to_front()
        expect(
            customer.get_by_role("link", name="Arquivo: boleto-marco.pdf")
        ).to_be_visible(timeout=10_000)
        shoot(customer, shots, "20-simulator-media", docs=DOCS)
