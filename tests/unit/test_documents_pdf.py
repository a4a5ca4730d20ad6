"""Upload validation, page inspection and text layer of PDFs made by code."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest

from atende.documents import pdf
from atende.errors import AtendeError, InvalidInput, PayloadTooLarge, http_status
from tests.support import documents as kit


@pytest.fixture(scope="module")
def contract() -> bytes:
    return kit.contract_pdf()


@pytest.fixture(scope="module")
def scan(contract: bytes) -> bytes:
    return kit.scanned_pdf(contract)


def _raises(data: bytes, **caps: int) -> AtendeError:
    with pytest.raises(AtendeError) as info:
        pdf.validate_upload(data, **caps)
    return info.value


@pytest.mark.parametrize(
    ("make", "error", "code", "status", "words"),
    [
        (kit.empty, pdf.EmptyUpload, "ARQUIVO_VAZIO", 400, "vazio"),
        (kit.not_a_pdf, pdf.NotAPdf, "NAO_E_PDF", 415, "não é um PDF"),
        (kit.docx_like, pdf.NotAPdf, "NAO_E_PDF", 415, "formato PDF"),
        (kit.encrypted_pdf, pdf.PdfProtected, "PDF_PROTEGIDO", 400, "senha"),
        (kit.truncated_pdf, pdf.PdfCorrupt, "PDF_CORROMPIDO", 400, "corrompido"),
        (kit.garbled_pdf, pdf.PdfCorrupt, "PDF_CORROMPIDO", 400, "corrompido"),
        (kit.zero_page_pdf, pdf.PdfWithoutPages, "PDF_SEM_PAGINAS", 400, "página"),
    ],
)
def test_bad_uploads_are_refused_with_a_stable_code(
    make: Callable[[], bytes],
    error: type[AtendeError],
    code: str,
    status: int,
    words: str,
) -> None:
    exc = _raises(make())
    assert type(exc) is error
    assert exc.code == code
    assert http_status(exc) == status
    assert words in exc.user_message
    assert exc.to_body()["error"]["code"] == code


def test_upload_over_the_size_cap_is_413_and_names_the_cap(contract: bytes) -> None:
    exc = _raises(contract, max_bytes=10 * 1024)
    assert isinstance(exc, pdf.PdfTooLarge)
    assert isinstance(exc, PayloadTooLarge)
    assert exc.code == "PDF_GRANDE_DEMAIS"
    assert http_status(exc) == 413
    assert "até 10 KB" in exc.user_message
    assert exc.details == {"max_bytes": 10 * 1024, "size_bytes": len(contract)}


def test_default_size_cap_is_20_mb_in_the_message() -> None:
    big = kit.simple_pdf() + b"\n%" + b"x" * (20 * 1024 * 1024)
    exc = _raises(big)
    assert isinstance(exc, pdf.PdfTooLarge)
    assert "Envie um PDF de até 20 MB." in exc.user_message


def test_upload_over_the_page_cap_names_the_cap() -> None:
    exc = _raises(kit.many_pages_pdf(5), max_pages=4)
    assert isinstance(exc, pdf.PdfTooManyPages)
    assert isinstance(exc, InvalidInput)
    assert exc.code == "PDF_PAGINAS_DEMAIS"
    assert "até 4 páginas" in exc.user_message
    assert "5 páginas" in exc.user_message
    assert exc.details == {"max_pages": 4, "page_count": 5}


def test_page_cap_is_inclusive() -> None:
    assert pdf.validate_upload(kit.many_pages_pdf(4), max_pages=4).page_count == 4


def test_size_cap_is_checked_before_parsing() -> None:
    # Not even a PDF, but too big: the size is what the user must fix first.
    exc = _raises(b"x" * 2048, max_bytes=1024)
    assert isinstance(exc, pdf.PdfTooLarge)


def test_good_contract_is_described(contract: bytes) -> None:
    info = pdf.validate_upload(contract)
    assert info == pdf.PdfInfo(
        page_count=3,
        sha256_hex=hashlib.sha256(contract).hexdigest(),
        size_bytes=len(contract),
    )


def test_header_is_found_within_the_first_1024_bytes(contract: bytes) -> None:
    assert pdf.validate_upload(kit.with_leading_junk(contract, 1000)).page_count == 3
    exc = _raises(kit.with_leading_junk(contract, 1100))
    assert isinstance(exc, pdf.NotAPdf)


def test_owner_password_only_is_readable_and_accepted() -> None:
    # Permission-only encryption opens without a password: nothing to ask.
    assert pdf.validate_upload(kit.owner_locked_pdf()).page_count == 1


def test_every_error_message_is_portuguese_and_actionable() -> None:
    errors = [
        pdf.EmptyUpload,
        pdf.PdfTooLarge,
        pdf.NotAPdf,
        pdf.PdfProtected,
        pdf.PdfCorrupt,
        pdf.PdfWithoutPages,
        pdf.PdfTooManyPages,
    ]
    codes = {cls.code for cls in errors}
    assert len(codes) == len(errors)
    for cls in errors:
        assert any(verb in cls.message.lower() for verb in ("envie", "remova"))


def test_born_digital_pages_have_a_text_layer(contract: bytes) -> None:
    pages = pdf.inspect_pages(contract)
    assert [p.index for p in pages] == [0, 1, 2]
    assert all(p.has_text_layer and not p.needs_ocr for p in pages)
    assert all(p.text_chars > 500 for p in pages)


def test_scanned_pages_need_ocr(scan: bytes) -> None:
    pages = pdf.inspect_pages(scan)
    assert len(pages) == 3
    assert all(p.needs_ocr and p.text_chars == 0 for p in pages)


def test_thin_text_layer_counts_as_none() -> None:
    stamp = kit.simple_pdf(text="p. 1")  # "p. 1 Página 1." = 9 letters/digits
    (page,) = pdf.inspect_pages(stamp)
    assert page.needs_ocr
    (page,) = pdf.inspect_pages(stamp, min_text_chars=5)
    assert page.has_text_layer


def test_page_text_finds_the_cpfs_in_reading_order(contract: bytes) -> None:
    text = pdf.page_text(contract, 0)
    for cpf in kit.EXPECTED_ENTITIES["cpf"]:
        assert cpf in text
    assert text.index("CONTRATANTE") < text.index("CONTRATADA")
    assert "Conceição Araújo" in text
    flat = " ".join(text.split())
    for cnpj in kit.EXPECTED_ENTITIES["cnpj"]:
        assert cnpj in flat


def test_every_expected_entity_is_in_the_text_layer(contract: bytes) -> None:
    flat = " ".join(" ".join(pdf.page_text(contract, i).split()) for i in range(3))
    for values in kit.EXPECTED_ENTITIES.values():
        for value in values:
            assert value in flat


def test_page_index_out_of_range(contract: bytes) -> None:
    with pytest.raises(IndexError):
        pdf.page_text(contract, 3)
    with pytest.raises(IndexError):
        pdf.render_page(contract, -1)


def test_inspection_refuses_bad_inputs_too() -> None:
    with pytest.raises(pdf.PdfProtected):
        pdf.inspect_pages(kit.encrypted_pdf())
    with pytest.raises(pdf.NotAPdf):
        pdf.page_text(kit.not_a_pdf(), 0)


def test_render_page_gives_rgb_at_the_zoom(contract: bytes) -> None:
    image = pdf.render_page(contract, 0, 1.5)
    assert image.dtype.name == "uint8"
    assert image.shape == (1263, 893, 3)  # A4 (595 x 842 pt) x 1.5
    assert image.flags.writeable
    assert 0 < image.mean() < 255


def test_render_page_is_capped_in_pixels(contract: bytes) -> None:
    image = pdf.render_page(contract, 0, 4.0, max_pixels=500_000)
    assert image.shape[0] * image.shape[1] <= 500_000 * 1.01
    with pytest.raises(ValueError, match="zoom"):
        pdf.render_page(contract, 0, 0)
