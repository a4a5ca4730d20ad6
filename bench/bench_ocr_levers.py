"""OCR levers, one at a time from the current defaults: time and accuracy.

6 generated scans (the contract's 3 pages, 2 noise seeds), every variant an
engine of its own in one process, the variants' order rotating every page.
Every variant runs on one intra-op thread but the last, so its CPU time (the
figure least moved by the shared machine's load) is the work itself; wall time
is given too.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_ocr import KINDS, _kinds  # noqa: E402
from tests.support import documents as kit  # noqa: E402

SEEDS = (42, 7)

# name: (engine keyword arguments, ocr_pdf_page keyword arguments). On one
# intra-op thread, so CPU time is the work itself (two threads add spinning).
ONE = {"cpu_threads": 1}
VARIANTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "current defaults (rec batch 1, det long side ≤ 960, zoom 1.5), 1 thread": (
        ONE,
        {},
    ),
    "rec batch 6 (the previous default)": ({**ONE, "rec_batch_size": 6}, {}),
    "rec batch 16": ({**ONE, "rec_batch_size": 16}, {}),
    "detection on the full render (the previous default)": (
        {**ONE, "det_limit": ("min", 64)},
        {},
    ),
    "both previous defaults (rec batch 6, full render)": (
        {**ONE, "rec_batch_size": 6, "det_limit": ("min", 64)},
        {},
    ),
    "zoom 1.0": (ONE, {"zoom": 1.0}),
    "zoom 1.25": (ONE, {"zoom": 1.25}),
    "zoom 2.0 (the retry's)": (ONE, {"zoom": 2.0}),
    "ONNX Runtime CPU arena off": ({**ONE, "memory_arena": False}, {}),
    "2 intra-op threads (the configured default)": ({}, {}),
}


def run() -> str:
    from atende.documents import ocr, pdf
    from bench.results import machine

    contract = kit.contract_pdf()
    truths = [pdf.page_text(contract, i) for i in range(3)]
    wanted = [_kinds(t) for t in truths]
    scans = [
        kit.scanned_pdf(contract, dpi=150, rotation_deg=1.0, seed=s) for s in SEEDS
    ]
    dirs = ocr.prepare_model_dirs(ocr.DEFAULT_CACHE_DIR)
    readers: dict[str, Callable[[bytes, int], str]] = {}
    for name, (engine_kw, page_kw) in VARIANTS.items():
        engine = ocr.OcrEngine(dirs, **engine_kw)

        def read(scan: bytes, index: int, e: Any = engine, kw: Any = page_kw) -> str:
            return ocr.ocr_pdf_page(scan, index, engine=e, **kw).text

        read(scans[0], 0)  # warm-up
        readers[name] = read
    names = list(readers)
    wall: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    cer: dict[str, list[float]] = {n: [] for n in names}
    found = dict.fromkeys(names, 0)
    total = 0
    load_before = os.getloadavg()
    pages = [(scan, index) for scan in scans for index in range(3)]
    for turn, (scan, index) in enumerate(pages):
        total += len(wanted[index])
        for name in names[turn % len(names) :] + names[: turn % len(names)]:
            started, cpu_started = time.perf_counter(), time.process_time()
            text = readers[name](scan, index)
            wall[name].append(time.perf_counter() - started)
            cpu[name].append(time.process_time() - cpu_started)
            cer[name].append(kit.cer(text, truths[index]))
            got = _kinds(text)
            found[name] += sum(item in got for item in wanted[index])
    load_after = os.getloadavg()
    base = statistics.median(cpu[names[0]])
    rows = "\n".join(
        f"| {n} | {statistics.median(cpu[n]):.2f} | {statistics.median(cpu[n]) / base:.2f}× |"
        f" {statistics.median(wall[n]):.2f} | {max(cer[n]):.2%} / {statistics.mean(cer[n]):.2%} |"
        f" {found[n]}/{total} |"
        for n in names
    )
    return f"""
## OCR levers, one at a time

{machine()}; load average {load_before[0]:.1f} before, {load_after[0]:.1f} after
(1 min; 2 cores shared with other work).

{len(pages)} generated scans (the contract's 3 pages, {len(SEEDS)} noise seeds), one
engine per variant in one process, the variants' order rotating every page;
medians per page. Recall counts {", ".join(KINDS)} (the validators' finds in the
born-digital text found again in the OCR text).

| variant | CPU s/page | vs current | wall s/page | CER max / mean | entities |
| --- | ---: | ---: | ---: | ---: | ---: |
{rows}

Not rerun here (they need packages outside the lock), measured once for issue 16
on this machine (2026-12-01, 6 pages, 1 thread, alternating as above). Int8
dynamic quantization of the recognition model (onnxruntime.quantization, `onnx`
installed aside; wall s/page at load 4–5, rec batch 6): MatMul/Gemm only 3.95
vs 3.98 s, CER max 0.23%, no gain; every op (Conv included) 3.84 s but CER max
1.27% (mean 0.97%), rejected. The PP-OCRv4 mobile weights of the
`rapidocr-onnxruntime` 1.4.4 wheel (CPU s/page, current defaults otherwise):
detection 2.01 vs 2.05 s (no gain: detection is ~11% of a page); recognition
1.75 vs 2.05 s but CER max 18.8% and 10/24 entities: its dictionary has no ã,
õ, ç, â, ê or ô. The rapidocr 3.10 wheel ships no other detection or
recognition weights than PP-OCRv6 small.
"""


def main() -> None:
    from bench.results import write_section

    body = run()
    write_section("ocr_levers", body)
    print(body)


if __name__ == "__main__":
    main()
