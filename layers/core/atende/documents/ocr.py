"""OCR adapter: PaddleOCR on ONNX Runtime with explicit model dirs.

The weights are the PP-OCRv6 *small* detection and recognition models shipped
(as ONNX) in the ``rapidocr`` wheel. :func:`prepare_model_dirs` wraps them as
PaddleX model dirs (``inference.onnx`` + ``inference.yml``), which
``PaddleOCR(engine="onnxruntime")`` runs without paddlepaddle. Production bakes
the dirs into the OCR container image (``prepare_model_dirs`` at build time);
elsewhere they are prepared once into a cache dir at first use. Nothing is ever
downloaded: PaddleX's model-source check is disabled and its cache lives in a
temporary dir (Lambda: ``/tmp``).

Document orientation, unwarping and text-line orientation models stay off (the
text-line classifier flipped lines on a page rotated by 1 degree).
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml

from atende.documents.pdf import render_page
from atende.errors import AtendeError

DET_MODEL_NAME = "PP-OCRv6_small_det"
REC_MODEL_NAME = "PP-OCRv6_small_rec"
# Files inside rapidocr's package (``rapidocr/models/``).
_RAPIDOCR_FILES = {
    DET_MODEL_NAME: "PP-OCRv6_det_small.onnx",
    REC_MODEL_NAME: "PP-OCRv6_rec_small.onnx",
}
MODEL_FILE = "inference.onnx"
CONFIG_FILE = "inference.yml"
DEFAULT_CACHE_DIR = Path(tempfile.gettempdir()) / "atende-ocr-models"
DEFAULT_PDX_CACHE_HOME = Path(tempfile.gettempdir()) / "paddlex-cache"
DEFAULT_CPU_THREADS = 2

# Detection: DB post-processing as released for PP-OCRv5/v6 (paddlex
# ``inference_meta._meta_det``); the pipeline passes the same values.
DET_THRESH = 0.3
DET_BOX_THRESH = 0.6
DET_UNCLIP_RATIO = 1.5
REC_IMAGE_SHAPE = (3, 48, 320)
# Measured on the generated 150-dpi scans (bench/bench_ocr.py): recognition is
# most of a page's time, and one line per run beats batches of 6 (a batch is
# padded to its widest line) by about a quarter at the same text. Detection
# on the long side capped at 960 px instead of the full render (PaddleX's
# default for PP-OCRv6 is "min side >= 64", i.e. never smaller) costs no
# entity and a few hundredths of a percent of CER.
DEFAULT_REC_BATCH_SIZE = 1
DEFAULT_DET_LIMIT: tuple[str, int] = ("max", 960)


class OcrModelsMissing(AtendeError):
    """The OCR model dirs are absent or incomplete (a deployment fault)."""

    code = "OCR_MODELOS_AUSENTES"
    message = (
        "O reconhecimento de texto (OCR) está indisponível: os modelos não foram "
        "instalados. A equipe técnica precisa corrigir a instalação; envie o "
        "documento novamente mais tarde."
    )


class OcrFailed(AtendeError):
    """The OCR engine failed on a page."""

    code = "OCR_FALHOU"
    message = (
        "Não foi possível ler o texto de uma página digitalizada. Tente "
        "novamente; se persistir, envie uma digitalização mais nítida."
    )


# -- model dirs -----------------------------------------------------------------


@dataclass(frozen=True)
class ModelDirs:
    """PaddleX model dirs for text detection and recognition."""

    det: Path
    rec: Path

    @classmethod
    def under(cls, root: Path) -> ModelDirs:
        return cls(det=root / DET_MODEL_NAME, rec=root / REC_MODEL_NAME)

    def missing(self) -> list[Path]:
        """Required files that are absent."""
        return [
            path
            for folder in (self.det, self.rec)
            for path in (folder / MODEL_FILE, folder / CONFIG_FILE)
            if not path.is_file()
        ]

    def check(self) -> None:
        """Raise :class:`OcrModelsMissing` unless every file is in place."""
        missing = self.missing()
        if missing:
            raise OcrModelsMissing(missing=[str(p) for p in missing])


def rapidocr_models_dir() -> Path:
    """Where the installed ``rapidocr`` wheel keeps its ONNX weights.

    Found without importing rapidocr (which would pull in its own runtime).
    """
    spec = find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        raise OcrModelsMissing(reason="rapidocr não instalado")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def _det_config() -> dict[str, Any]:
    return {
        "Global": {"model_name": DET_MODEL_NAME},
        "PreProcess": {
            "transform_ops": [
                {"DecodeImage": {"channel_first": False, "img_mode": "BGR"}},
                {"DetLabelEncode": None},
                {"DetResizeForTest": {"resize_long": 960}},
                {
                    "NormalizeImage": {
                        "mean": [0.485, 0.456, 0.406],
                        "std": [0.229, 0.224, 0.225],
                        "scale": "1./255.",
                        "order": "hwc",
                    }
                },
                {"ToCHWImage": None},
                {"KeepKeys": {"keep_keys": ["image", "shape", "polys", "ignore_tags"]}},
            ]
        },
        "PostProcess": {
            "name": "DBPostProcess",
            "thresh": DET_THRESH,
            "box_thresh": DET_BOX_THRESH,
            "max_candidates": 1000,
            "unclip_ratio": DET_UNCLIP_RATIO,
        },
    }


def _rec_config(characters: list[str]) -> dict[str, Any]:
    return {
        "Global": {"model_name": REC_MODEL_NAME},
        "PreProcess": {
            "transform_ops": [
                {"DecodeImage": {"channel_first": False, "img_mode": "BGR"}},
                {"MultiLabelEncode": {"gtc_encode": "NRTRLabelEncode"}},
                {"RecResizeImg": {"image_shape": list(REC_IMAGE_SHAPE)}},
                {
                    "KeepKeys": {
                        "keep_keys": [
                            "image",
                            "label_ctc",
                            "label_gtc",
                            "length",
                            "valid_ratio",
                        ]
                    }
                },
            ]
        },
        "PostProcess": {"name": "CTCLabelDecode", "character_dict": characters},
    }


def read_rec_dictionary(onnx_file: Path) -> list[str]:
    """The recognition model's characters, from its ONNX metadata.

    ``character`` holds one symbol per line; CTC adds a blank (index 0) and a
    space (last), so the classifier width must be ``len(chars) + 2``.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(
        str(onnx_file), sess_options=options, providers=["CPUExecutionProvider"]
    )
    metadata = session.get_modelmeta().custom_metadata_map
    raw = metadata.get("character")
    if not raw:
        raise OcrModelsMissing(reason=f"{onnx_file.name} sem dicionário")
    characters = str(raw).split("\n")
    if characters and characters[-1] == "":
        characters.pop()
    classes = session.get_outputs()[0].shape[-1]
    if isinstance(classes, int) and classes != len(characters) + 2:
        raise OcrModelsMissing(
            reason=f"dicionário com {len(characters)} símbolos para {classes} classes"
        )
    return characters


def _complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in (MODEL_FILE, CONFIG_FILE))


def _write_model_dir(folder: Path, onnx_source: Path, config: dict[str, Any]) -> None:
    """Write one model dir atomically (a temp sibling renamed into place)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        shutil.copyfile(onnx_source, staging / MODEL_FILE)
        with (staging / CONFIG_FILE).open("w", encoding="utf-8") as fh:
            yaml.safe_dump(config, fh, allow_unicode=True, sort_keys=False)
        if folder.exists() and not _complete(folder):
            shutil.rmtree(folder)
        try:
            os.replace(staging, folder)
        except OSError:
            if not _complete(folder):  # else a concurrent writer got there first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def prepare_model_dirs(target: Path, *, source: Path | None = None) -> ModelDirs:
    """Build the PaddleX model dirs under ``target`` (idempotent).

    Used at image build time (production) and at first use (tests, local).

    Args:
        target: Folder that will hold ``PP-OCRv6_small_det/`` and
            ``PP-OCRv6_small_rec/``, each with ``inference.onnx`` and
            ``inference.yml``.
        source: Folder with rapidocr's ONNX files (default: the installed wheel).

    Raises:
        OcrModelsMissing: The source weights are not available.
    """
    dirs = ModelDirs.under(target)
    if not dirs.missing():
        return dirs
    source = source or rapidocr_models_dir()
    det_onnx = source / _RAPIDOCR_FILES[DET_MODEL_NAME]
    rec_onnx = source / _RAPIDOCR_FILES[REC_MODEL_NAME]
    absent = [str(p) for p in (det_onnx, rec_onnx) if not p.is_file()]
    if absent:
        raise OcrModelsMissing(missing=absent)
    _write_model_dir(dirs.det, det_onnx, _det_config())
    _write_model_dir(dirs.rec, rec_onnx, _rec_config(read_rec_dictionary(rec_onnx)))
    dirs.check()
    return dirs


# -- results --------------------------------------------------------------------

Point = tuple[float, float]


@dataclass(frozen=True)
class OcrLine:
    """One recognised text line: text, confidence (0..1), polygon in pixels."""

    text: str
    confidence: float
    box: tuple[Point, ...]

    @property
    def top(self) -> float:
        return min(y for _, y in self.box)

    @property
    def bottom(self) -> float:
        return max(y for _, y in self.box)

    @property
    def left(self) -> float:
        return min(x for x, _ in self.box)


@dataclass(frozen=True)
class PageOcr:
    """OCR of one page.

    ``mean_confidence`` is weighted by characters (0.0 when nothing was read);
    ``zoom`` is the render scale that produced it, when known.
    """

    text: str
    mean_confidence: float
    lines: list[OcrLine]
    zoom: float | None = None


def _mean_confidence(lines: Sequence[OcrLine]) -> float:
    weights = [max(len(line.text.strip()), 1) for line in lines]
    if not lines:
        return 0.0
    total = sum(w * line.confidence for w, line in zip(weights, lines, strict=True))
    return total / sum(weights)


def lines_to_text(lines: Sequence[OcrLine]) -> str:
    """Lines grouped into rows (top to bottom, left to right within a row)."""
    if not lines:
        return ""
    heights = [line.bottom - line.top for line in lines]
    tolerance = max(statistics.median(heights) * 0.5, 1.0)
    rows: list[list[OcrLine]] = []
    for line in sorted(lines, key=lambda ln: (ln.top + ln.bottom) / 2):
        center = (line.top + line.bottom) / 2
        if rows:
            row = rows[-1]
            row_center = statistics.fmean((ln.top + ln.bottom) / 2 for ln in row)
            if abs(center - row_center) <= tolerance:
                row.append(line)
                continue
        rows.append([line])
    return "\n".join(
        " ".join(ln.text for ln in sorted(row, key=lambda ln: ln.left)) for row in rows
    )


# -- engine ---------------------------------------------------------------------

RgbImage = npt.NDArray[np.uint8]


class OcrEngine:
    """PaddleOCR (det + rec, ONNX Runtime, CPU) over explicit model dirs."""

    def __init__(
        self,
        dirs: ModelDirs,
        *,
        cpu_threads: int = DEFAULT_CPU_THREADS,
        memory_arena: bool = True,
        rec_batch_size: int = DEFAULT_REC_BATCH_SIZE,
        det_limit: tuple[str, int] = DEFAULT_DET_LIMIT,
        pdx_cache_home: Path = DEFAULT_PDX_CACHE_HOME,
    ) -> None:
        """Build the pipeline.

        Args:
            dirs: Prepared model dirs (checked first: :class:`OcrModelsMissing`).
            cpu_threads: ONNX Runtime intra-op threads.
            memory_arena: ONNX Runtime's CPU arena; off lowers peak memory
                (about 1.2 GB to 0.8 GB per A4 page) at some cost in speed.
            rec_batch_size: Text lines per recognition run.
            det_limit: Detection input size rule, ``("max", n)`` (long side
                at most ``n`` px) or ``("min", n)``.
            pdx_cache_home: PaddleX's cache (unless PADDLE_PDX_CACHE_HOME is set).
        """
        dirs.check()  # fail fast, before the (slow) import
        # PaddleX reads these at import time: set them first. Its cache is
        # written even with explicit model dirs; the source check would
        # otherwise reach out to model hosts.
        os.environ.setdefault("PADDLE_PDX_CACHE_HOME", str(pdx_cache_home))
        os.environ["PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK"] = "True"
        from paddleocr import PaddleOCR

        self.dirs = dirs
        self._lock = threading.Lock()
        self._ocr: Any = PaddleOCR(
            text_detection_model_name=DET_MODEL_NAME,
            text_detection_model_dir=str(dirs.det),
            text_recognition_model_name=REC_MODEL_NAME,
            text_recognition_model_dir=str(dirs.rec),
            use_doc_orientation_classify=False,
            use_doc_unwarping=False,
            use_textline_orientation=False,
            text_det_thresh=DET_THRESH,
            text_det_box_thresh=DET_BOX_THRESH,
            text_det_unclip_ratio=DET_UNCLIP_RATIO,
            text_rec_score_thresh=0.0,
            text_recognition_batch_size=rec_batch_size,
            text_det_limit_type=det_limit[0],
            text_det_limit_side_len=det_limit[1],
            engine="onnxruntime",
            engine_config={
                "intra_op_num_threads": cpu_threads,
                "inter_op_num_threads": 1,
                "enable_cpu_mem_arena": memory_arena,
                # Planned per input shape; with one line per run every shape
                # differs, so it only adds memory (peak 0.64 -> 0.53 GB).
                "enable_mem_pattern": False,
            },
            device="cpu",
        )

    def read_page(self, image: RgbImage, *, zoom: float | None = None) -> PageOcr:
        """OCR an RGB ``uint8`` image of shape (h, w, 3)."""
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError("expected an RGB image of shape (h, w, 3)")
        bgr = np.ascontiguousarray(image[:, :, ::-1])
        try:
            with self._lock:  # one predictor, not re-entrant
                results = list(self._ocr.predict(bgr))
        except AtendeError:
            raise
        except Exception as exc:
            raise OcrFailed() from exc
        lines: list[OcrLine] = []
        for result in results:
            for text, score, poly in zip(
                result["rec_texts"],
                result["rec_scores"],
                result["rec_polys"],
                strict=True,
            ):
                if not str(text).strip():
                    continue
                box = tuple((float(x), float(y)) for x, y in np.asarray(poly))
                lines.append(OcrLine(text=str(text), confidence=float(score), box=box))
        return PageOcr(
            text=lines_to_text(lines),
            mean_confidence=_mean_confidence(lines),
            lines=lines,
            zoom=zoom,
        )


_engine: OcrEngine | None = None
_engine_lock = threading.Lock()


def get_engine(
    model_dir: Path | None = None,
    *,
    cpu_threads: int = DEFAULT_CPU_THREADS,
    memory_arena: bool = True,
) -> OcrEngine:
    """The process-wide engine, built on first call (thread-safe).

    Args:
        model_dir: Folder with prepared model dirs (production: baked into the
            image; must be complete). Without it, the dirs are prepared into
            :data:`DEFAULT_CACHE_DIR` from the installed rapidocr wheel.
        cpu_threads: ONNX Runtime intra-op threads.
        memory_arena: See :class:`OcrEngine`.

    Only the first call's arguments count.
    """
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                if model_dir is not None:
                    dirs = ModelDirs.under(model_dir)
                else:
                    dirs = prepare_model_dirs(DEFAULT_CACHE_DIR)
                _engine = OcrEngine(
                    dirs, cpu_threads=cpu_threads, memory_arena=memory_arena
                )
    return _engine


def reset_engine() -> None:
    """Forget the process-wide engine (tests)."""
    global _engine
    with _engine_lock:
        _engine = None


def ocr_pdf_page(
    data: bytes,
    index: int,
    *,
    zoom: float = 1.5,
    retry_zoom: float | None = 2.0,
    min_confidence: float = 0.80,
    engine: OcrEngine | None = None,
) -> PageOcr:
    """OCR one PDF page (0-based).

    The page is read at ``zoom``; when its mean confidence is below
    ``min_confidence`` it is read again at ``retry_zoom`` and the better of
    the two (higher mean confidence; the first on a tie) is returned.
    """
    engine = engine or get_engine()
    first = engine.read_page(render_page(data, index, zoom), zoom=zoom)
    if retry_zoom is None or first.mean_confidence >= min_confidence:
        return first
    second = engine.read_page(render_page(data, index, retry_zoom), zoom=retry_zoom)
    return second if second.mean_confidence > first.mean_confidence else first
