"""Bake the OCR model dirs into the container image (run by the Dockerfile).

Usage: ``python prepare_models.py TARGET [--smoke]``

Writes ``TARGET/PP-OCRv6_small_det`` and ``TARGET/PP-OCRv6_small_rec`` from
the installed rapidocr wheel (nothing is downloaded). ``--smoke`` then builds
the engine over them and reads a blank image, so an image whose native
libraries do not load (onnxruntime, OpenCV) fails at build time instead of on
the first scanned page.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("--")]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    from atende.documents.ocr import get_engine, prepare_model_dirs

    dirs = prepare_model_dirs(Path(args[0]))
    print(f"OCR models ready: {dirs.det} {dirs.rec}")
    if "--smoke" in argv:
        import numpy as np

        page = get_engine(Path(args[0])).read_page(
            np.full((64, 256, 3), 255, dtype=np.uint8)
        )
        print(f"OCR engine loads (blank page: {len(page.lines)} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
