"""Real PaddleOCR (ONNX Runtime) on the PP-OCRv6 weights shipped in rapidocr.

The scan is made by code (``tests.support.documents.scanned_pdf``: 150 dpi,
noise, 1 degree rotation, JPEG) from the born-digital contract, whose text
layer is the ground truth for the character error rate.

Figures (CER, seconds per page, peak RSS) are printed: run with ``-s``.
"""

from __future__ import annotations

import resource
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from atende.documents import ocr, pdf
from tests.support import documents as kit

pytest.importorskip("paddleocr", reason="OCR extra not installed")
pytest.importorskip("rapidocr", reason="OCR weights (rapidocr) not installed")

pytestmark = pytest.mark.integration

MAX_CER = 0.02  # the goal is 0.01


def report(line: str) -> None:
    sys.stdout.write(f"\n[ocr] {line}\n")


@pytest.fixture(scope="module")
def contract() -> bytes:
    return kit.contract_pdf()


@pytest.fixture(scope="module")
def scan(contract: bytes) -> bytes:
    return kit.scanned_pdf(contract, dpi=150, rotation_deg=1.0, seed=42)


@pytest.fixture(scope="module")
def model_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ocr-models")
    ocr.prepare_model_dirs(root)
    return root


@pytest.fixture(scope="module")
def engine(model_root: Path) -> Iterator[ocr.OcrEngine]:
    ocr.reset_engine()
    started = time.perf_counter()
    built = ocr.get_engine(model_root)
    report(f"engine built in {time.perf_counter() - started:.2f} s")
    yield built
    ocr.reset_engine()


@pytest.fixture(scope="module")
def page1(engine: ocr.OcrEngine, scan: bytes) -> ocr.PageOcr:
    return ocr.ocr_pdf_page(scan, 0, engine=engine)


def test_model_dirs_wrap_the_shipped_weights(model_root: Path) -> None:
    dirs = ocr.ModelDirs.under(model_root)
    assert dirs.missing() == []
    det = yaml.safe_load((dirs.det / "inference.yml").read_text("utf-8"))
    rec = yaml.safe_load((dirs.rec / "inference.yml").read_text("utf-8"))
    assert det["Global"]["model_name"] == "PP-OCRv6_small_det"
    assert det["PostProcess"]["name"] == "DBPostProcess"
    assert rec["Global"]["model_name"] == "PP-OCRv6_small_rec"
    assert rec["PostProcess"]["name"] == "CTCLabelDecode"
    characters = rec["PostProcess"]["character_dict"]
    assert len(characters) == 18708
    assert set("áàâãéêíóôõúçÁÀÂÃÉÊÍÓÔÕÚÇºª§$@/") <= set(characters)
    # Idempotent: a second call leaves the files alone.
    before = (dirs.rec / "inference.onnx").stat().st_mtime_ns
    assert ocr.prepare_model_dirs(model_root) == dirs
    assert (dirs.rec / "inference.onnx").stat().st_mtime_ns == before


def test_scan_page1_finds_the_identifiers_and_amounts(page1: ocr.PageOcr) -> None:
    text = kit.normalise(page1.text)
    for kind, values in kit.PAGE1_ENTITIES.items():
        for value in values:
            assert value in text, f"{kind} {value!r} not read"
    assert page1.zoom == 1.5
    assert page1.mean_confidence >= 0.80
    assert all(0.0 <= line.confidence <= 1.0 for line in page1.lines)
    assert all(len(line.box) == 4 for line in page1.lines)


def test_character_error_rate_against_the_text_layer(
    page1: ocr.PageOcr, contract: bytes
) -> None:
    reference = pdf.page_text(contract, 0)
    rate = kit.cer(page1.text, reference)
    edits = kit.levenshtein(kit.normalise(page1.text), kit.normalise(reference))
    report(
        f"CER page 1 (150 dpi scan, 1 deg, noise) = {rate:.4%} "
        f"({edits} edits / "
        f"{len(kit.normalise(reference))} chars); mean confidence "
        f"{page1.mean_confidence:.4f}"
    )
    assert rate <= MAX_CER


def test_seconds_per_page_and_peak_rss(engine: ocr.OcrEngine, scan: bytes) -> None:
    started = time.perf_counter()
    image = pdf.render_page(scan, 1, 1.5)
    rendered = time.perf_counter()
    page2 = engine.read_page(image, zoom=1.5)
    done = time.perf_counter()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report(
        f"page 2 at zoom 1.5 ({image.shape[1]}x{image.shape[0]} px): "
        f"render {rendered - started:.2f} s + OCR {done - rendered:.2f} s; "
        f"peak RSS {peak_mb:.0f} MB"
    )
    assert "R$ 15.000,00" in kit.normalise(page2.text)


def test_low_confidence_is_retried_at_the_higher_zoom(
    engine: ocr.OcrEngine, scan: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    zooms: list[float | None] = []
    read_page = engine.read_page

    def spy(image: pdf.RgbImage, *, zoom: float | None = None) -> ocr.PageOcr:
        zooms.append(zoom)
        return read_page(image, zoom=zoom)

    monkeypatch.setattr(engine, "read_page", spy)
    result = ocr.ocr_pdf_page(scan, 2, engine=engine, min_confidence=1.01)
    assert zooms == [1.5, 2.0]
    assert result.zoom in (1.5, 2.0)
    report(f"page 3 retry: kept zoom {result.zoom}, mean {result.mean_confidence:.4f}")
    assert "15/03/2026" in kit.normalise(result.text)

    zooms.clear()
    ocr.ocr_pdf_page(scan, 2, engine=engine, min_confidence=1.01, retry_zoom=None)
    assert zooms == [1.5]


def test_the_engine_is_one_per_process(engine: ocr.OcrEngine) -> None:
    seen: list[ocr.OcrEngine] = []
    threads = [
        threading.Thread(target=lambda: seen.append(ocr.get_engine())) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == [engine] * 4


def test_missing_model_dirs_fail_fast(tmp_path: Path) -> None:
    with pytest.raises(ocr.OcrModelsMissing) as info:
        ocr.OcrEngine(ocr.ModelDirs.under(tmp_path / "nada"))
    assert info.value.code == "OCR_MODELOS_AUSENTES"
    assert "modelos" in info.value.user_message
    assert len(info.value.details["missing"]) == 4

    half = tmp_path / "metade"
    dirs = ocr.ModelDirs.under(half)
    dirs.det.mkdir(parents=True)
    (dirs.det / "inference.onnx").write_bytes(b"")
    assert len(dirs.missing()) == 3
    with pytest.raises(ocr.OcrModelsMissing):
        dirs.check()


def test_prepare_without_source_weights_fails(tmp_path: Path) -> None:
    with pytest.raises(ocr.OcrModelsMissing) as info:
        ocr.prepare_model_dirs(tmp_path / "alvo", source=tmp_path / "vazio")
    assert len(info.value.details["missing"]) == 2
    assert not (tmp_path / "alvo" / ocr.DET_MODEL_NAME).exists()


def test_text_rows_are_rebuilt_left_to_right() -> None:
    def line(text: str, x: float, y: float) -> ocr.OcrLine:
        box = ((x, y), (x + 50, y), (x + 50, y + 10), (x, y + 10))
        return ocr.OcrLine(text=text, confidence=0.9, box=box)

    lines = [line("b", 100, 1), line("c", 0, 30), line("a", 0, 0)]
    assert ocr.lines_to_text(lines) == "a b\nc"
    assert ocr.lines_to_text([]) == ""
