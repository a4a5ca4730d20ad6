"""Test documents made by code: no binary fixtures are committed.

- :func:`contract_pdf`: a born-digital 3-page PT-BR service contract, with
  :data:`EXPECTED_ENTITIES` (what a correct extraction finds in it).
- :func:`scanned_pdf`: the same pages as an image-only "scan" (150 dpi,
  noise, slight rotation, JPEG), with no text layer.
- Builders for bad uploads: encrypted, truncated, garbled, zero pages, too
  many pages, not a PDF, empty.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pymupdf
from PIL import Image

# A TTF with every Portuguese glyph (and typographic dashes and quotes);
# without one, Base-14 Helvetica (Latin-1 only) is used and the text below
# stays within Latin-1 so both render the same characters.
_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
)
A4 = pymupdf.paper_rect("a4")
MARGIN = 64.0

_PAGES: tuple[tuple[str, ...], ...] = (
    (
        "CONTRATO DE PRESTAÇÃO DE SERVIÇOS DE MANUTENÇÃO",
        "Pelo presente instrumento particular, as partes abaixo qualificadas "
        "celebram este contrato, que se regerá pelas cláusulas seguintes.",
        "CONTRATANTE: Maria da Conceição Araújo, brasileira, casada, "
        "empresária, inscrita no CPF sob o nº 529.982.247-25, residente na "
        "Avenida Paulista, 1000, apto. 52, Bela Vista, São Paulo/SP, "
        "CEP 01310-100, telefone +55 11 98765-4321, e-mail "
        "maria.araujo@exemplo.com.br.",
        "CONTRATADA: Refrigeração Ipê Ltda., inscrita no CNPJ sob o nº "
        "11.222.333/0001-81, com sede na Rua da Assembleia, 10, sala 1203, "
        "Centro, Rio de Janeiro/RJ, CEP 20011-000, telefone (21) 3456-7890, "
        "e-mail contato@refrigeracaoipe.com.br, neste ato representada por "
        "seu sócio João Luís Gonçalves, CPF 111.444.777-35.",
        "INTERVENIENTE: Ipê Serviços Técnicos S.A., inscrita no CNPJ sob o "
        "nº 12.ABC.345/01DE-35, garantidora das obrigações da CONTRATADA.",
        "CLÁUSULA 1ª - DO OBJETO. A CONTRATADA prestará serviços de "
        "manutenção preventiva e corretiva dos aparelhos de ar-condicionado "
        "instalados no imóvel da CONTRATANTE, incluindo limpeza, recarga de "
        "gás e substituição de peças desgastadas.",
        "Resumo financeiro: valor global de R$ 15.000,00 (quinze mil reais), "
        "com sinal de R$ 1.234,56 (mil, duzentos e trinta e quatro reais e "
        "cinquenta e seis centavos) pago na assinatura.",
    ),
    (
        "CLÁUSULA 2ª - DO PREÇO E DO PAGAMENTO. Pelos serviços, a "
        "CONTRATANTE pagará à CONTRATADA o valor global de R$ 15.000,00 "
        "(quinze mil reais). O sinal de R$ 1.234,56 será pago em 15/03/2026 "
        "e o saldo, em parcelas mensais iguais, por transferência bancária "
        "ou PIX para a conta indicada pela CONTRATADA.",
        "Parágrafo único. O atraso no pagamento sujeitará a CONTRATANTE à "
        "multa de 2% (dois por cento) e a juros de mora de 1% (um por cento) "
        "ao mês, calculados sobre o valor em atraso.",
        "CLÁUSULA 3ª - DO PRAZO. Este contrato vigorará por 12 (doze) meses, "
        "a contar de 1º de abril de 2026, com término em 31/03/2027, podendo "
        "ser renovado por acordo escrito entre as partes.",
        "CLÁUSULA 4ª - DAS OBRIGAÇÕES DA CONTRATADA. Executar os serviços "
        "com técnicos habilitados, fornecer as peças de reposição mediante "
        "orçamento prévio, atender chamados de emergência em até 24 (vinte "
        "e quatro) horas e emitir relatório técnico após cada visita.",
        "CLÁUSULA 5ª - DAS OBRIGAÇÕES DA CONTRATANTE. Permitir o acesso dos "
        "técnicos ao imóvel em horário comercial, efetuar os pagamentos nas "
        "datas ajustadas e comunicar qualquer defeito pelo telefone "
        "(21) 3456-7890 ou pelo e-mail contato@refrigeracaoipe.com.br.",
    ),
    (
        "CLÁUSULA 6ª - DA RESCISÃO. Qualquer das partes poderá rescindir "
        "este contrato mediante aviso prévio de 30 (trinta) dias. Havendo "
        "descumprimento de cláusula, a parte inocente poderá rescindi-lo de "
        "imediato, sem prejuízo de perdas e danos.",
        "CLÁUSULA 7ª - DA PROTEÇÃO DE DADOS. As partes tratarão os dados "
        "pessoais recebidos em razão deste contrato apenas para a sua "
        "execução, conforme a Lei nº 13.709/2018 (LGPD).",
        "CLÁUSULA 8ª - DO FORO. Fica eleito o foro da Comarca de São "
        "Paulo/SP para dirimir quaisquer dúvidas oriundas deste contrato, "
        "com renúncia a qualquer outro, por mais privilegiado que seja.",
        "E, por estarem assim justas e contratadas, as partes assinam o "
        "presente instrumento em 2 (duas) vias de igual teor.",
        "São Paulo, 15/03/2026.",
        "Maria da Conceição Araújo - CONTRATANTE",
        "Refrigeração Ipê Ltda. - CONTRATADA (João Luís Gonçalves)",
        "Ipê Serviços Técnicos S.A. - INTERVENIENTE",
    ),
)

#: What a correct extraction finds in :func:`contract_pdf` (surface forms as
#: printed; CPF/CNPJ values pass their check digits).
EXPECTED_ENTITIES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "cpf": ("529.982.247-25", "111.444.777-35"),
        "cnpj": ("11.222.333/0001-81", "12.ABC.345/01DE-35"),
        "phone": ("+55 11 98765-4321", "(21) 3456-7890"),
        "email": ("maria.araujo@exemplo.com.br", "contato@refrigeracaoipe.com.br"),
        "cep": ("01310-100", "20011-000"),
        "date": ("15/03/2026", "1º de abril de 2026", "31/03/2027"),
        "amount": ("R$ 15.000,00", "R$ 1.234,56"),
        "person": ("Maria da Conceição Araújo", "João Luís Gonçalves"),
        "organization": ("Refrigeração Ipê Ltda.", "Ipê Serviços Técnicos S.A."),
        "contract_object": (
            "manutenção preventiva e corretiva dos aparelhos de ar-condicionado",
        ),
        "contract_term": ("12 (doze) meses",),
    }
)

#: The entity kinds found on page 1 (index 0) of the contract.
PAGE1_ENTITIES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "cpf": EXPECTED_ENTITIES["cpf"],
        "cnpj": EXPECTED_ENTITIES["cnpj"],
        "amount": EXPECTED_ENTITIES["amount"],
        "cep": EXPECTED_ENTITIES["cep"],
    }
)


def contract_paragraphs() -> tuple[tuple[str, ...], ...]:
    """The contract's paragraphs, page by page (the source of truth)."""
    return _PAGES


def _font_file() -> str | None:
    for candidate in _FONT_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    return None


def contract_pdf() -> bytes:
    """A born-digital 3-page PT-BR service contract (A4, text layer)."""
    font_file = _font_file()
    font_kwargs: dict[str, str] = (
        {"fontname": "body", "fontfile": font_file}
        if font_file
        else {"fontname": "helv"}
    )
    doc = pymupdf.open()
    try:
        doc.set_metadata({"title": "Contrato de prestação de serviços"})
        for number, paragraphs in enumerate(_PAGES, start=1):
            page = doc.new_page(width=A4.width, height=A4.height)
            y = MARGIN
            for i, paragraph in enumerate(paragraphs):
                size = 13.0 if (number == 1 and i == 0) else 11.0
                box = pymupdf.Rect(MARGIN, y, A4.width - MARGIN, A4.height - MARGIN)
                left = page.insert_textbox(
                    box, paragraph, fontsize=size, lineheight=1.35, **font_kwargs
                )
                if left < 0:
                    raise ValueError(f"page {number} overflows")
                used = box.height - left
                y += used + size * 0.9
            page.insert_text(
                (A4.width - MARGIN - 40, A4.height - MARGIN / 2),
                f"{number}/{len(_PAGES)}",
                fontsize=9,
                **font_kwargs,
            )
        doc.subset_fonts()
        return bytes(doc.tobytes(garbage=3, deflate=True))
    finally:
        doc.close()


def _scan_page(
    page: pymupdf.Page,
    *,
    dpi: int,
    rotation_deg: float,
    noise: float,
    rng: np.random.Generator,
) -> bytes:
    pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY, alpha=False)
    gray = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width)
    image = Image.fromarray(gray, mode="L")
    if rotation_deg:
        image = image.rotate(
            rotation_deg, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255
        )
    pixels = np.asarray(image, dtype=np.float64)
    # Paper grain plus sensor noise, then a light speckle of dust.
    pixels = pixels + rng.normal(0.0, noise, size=pixels.shape)
    speckle = rng.random(pixels.shape) < 0.0008
    pixels[speckle] = rng.integers(0, 120, size=int(speckle.sum()))
    scanned = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode="L")
    out = io.BytesIO()
    scanned.save(out, format="JPEG", quality=80)
    return out.getvalue()


def scanned_pdf(
    source: bytes,
    *,
    dpi: int = 150,
    rotation_deg: float = 1.0,
    noise: float = 12.0,
    seed: int = 42,
) -> bytes:
    """An image-only "scan" of ``source``: no text layer on any page.

    Each page is rendered in gray at ``dpi``, rotated by ``rotation_deg``,
    given Gaussian noise (``noise`` = standard deviation in gray levels) and
    dust, JPEG-compressed and placed as the whole page.
    """
    rng = np.random.default_rng(seed)
    src = pymupdf.open(stream=source, filetype="pdf")
    out = pymupdf.open()
    try:
        for page in src:
            jpeg = _scan_page(
                page, dpi=dpi, rotation_deg=rotation_deg, noise=noise, rng=rng
            )
            target = out.new_page(width=page.rect.width, height=page.rect.height)
            target.insert_image(target.rect, stream=jpeg)
        return bytes(out.tobytes(garbage=3, deflate=True))
    finally:
        src.close()
        out.close()


# -- bad uploads ----------------------------------------------------------------


def simple_pdf(pages: int = 1, text: str = "Documento de teste com texto.") -> bytes:
    """A small valid PDF with ``pages`` pages of text."""
    doc = pymupdf.open()
    try:
        for number in range(1, pages + 1):
            page = doc.new_page(width=A4.width, height=A4.height)
            page.insert_text((MARGIN, MARGIN), f"{text} Página {number}.", fontsize=11)
        return bytes(doc.tobytes())
    finally:
        doc.close()


def encrypted_pdf(user_pw: str = "segredo") -> bytes:
    """A PDF that needs a password to open (AES-256)."""
    doc = pymupdf.open(stream=simple_pdf(), filetype="pdf")
    try:
        return bytes(
            doc.tobytes(
                encryption=pymupdf.PDF_ENCRYPT_AES_256,
                user_pw=user_pw,
                owner_pw=user_pw + "-dono",
            )
        )
    finally:
        doc.close()


def owner_locked_pdf() -> bytes:
    """Encrypted with an owner password only: opens (and reads) without one."""
    doc = pymupdf.open(stream=simple_pdf(), filetype="pdf")
    try:
        return bytes(
            doc.tobytes(
                encryption=pymupdf.PDF_ENCRYPT_AES_256,
                owner_pw="dono",
                permissions=int(pymupdf.PDF_PERM_ACCESSIBILITY),
            )
        )
    finally:
        doc.close()


def truncated_pdf(fraction: float = 0.5) -> bytes:
    """A valid PDF cut short (an interrupted upload)."""
    data = contract_pdf()
    return data[: int(len(data) * fraction)]


def garbled_pdf(seed: int = 7) -> bytes:
    """A PDF header followed by random bytes: nothing a reader can rebuild."""
    rng = np.random.default_rng(seed)
    return b"%PDF-1.7\n" + rng.integers(0, 256, size=4096, dtype=np.uint8).tobytes()


def zero_page_pdf() -> bytes:
    """A well-formed PDF whose page tree is empty (PyMuPDF refuses to save one)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [] /Count 0 >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def dense_text_pdf(chars: int, pages: int = 1) -> bytes:
    """Pages whose text layers hold at least ``chars`` characters each, in a 1 pt
    font: generated or hidden text, a few KB of PDF for a lot of text."""
    line = ("palavra " * 100)[:800]
    text = "\n".join([line] * (chars // len(line) + 1))
    doc = pymupdf.open()
    try:
        for _ in range(pages):
            page = doc.new_page(width=A4.width, height=A4.height)
            page.insert_text((MARGIN, MARGIN), text, fontsize=1)
        return bytes(doc.tobytes(deflate=True))
    finally:
        doc.close()


def many_pages_pdf(pages: int) -> bytes:
    """A valid PDF with ``pages`` pages (for page-cap tests)."""
    return simple_pdf(pages)


def with_leading_junk(data: bytes, junk: int) -> bytes:
    """``data`` preceded by ``junk`` bytes (readers accept up to 1024)."""
    return b"\x00" * junk + data


def not_a_pdf() -> bytes:
    """A PNG image: clearly not a PDF."""
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (255, 255, 255)).save(out, format="PNG")
    return out.getvalue()


def docx_like() -> bytes:
    """The opening bytes of a ZIP (DOCX/XLSX) file."""
    return b"PK\x03\x04" + b"\x00" * 64


def empty() -> bytes:
    return b""


def page_texts(data: bytes) -> Sequence[str]:
    """Text layer of each page (for checks in tests)."""
    doc = pymupdf.open(stream=data, filetype="pdf")
    try:
        return [page.get_text("text", sort=True) for page in doc]
    finally:
        doc.close()


# -- measuring OCR -------------------------------------------------------------


def normalise(text: str) -> str:
    return " ".join(text.split())


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions), O(len(a)*len(b))."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            )
        previous = current
    return previous[-1]


def cer(hypothesis: str, reference: str) -> float:
    ref = normalise(reference)
    return levenshtein(normalise(hypothesis), ref) / max(len(ref), 1)
