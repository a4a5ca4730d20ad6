"""`make bench`: run every benchmark and record it in bench/RESULTS.md."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import (
    bench_api_fuzz,
    bench_assignment,
    bench_bot,
    bench_coldstart,
    bench_console,
    bench_documents,
    bench_lgpd,
    bench_ocr,
    bench_ocr_levers,
    bench_reports,
    bench_rls,
    bench_search,
    bench_soak,
    bench_webhook,
)

BENCHMARKS = {
    "rls": bench_rls.main,
    "webhook": bench_webhook.main,
    "bot": bench_bot.main,
    "documents": bench_documents.main,
    "ocr": bench_ocr.main,
    "ocr_levers": bench_ocr_levers.main,
    "lgpd": bench_lgpd.main,
    "console": bench_console.main,
    "assignment": bench_assignment.main,
    "reports": bench_reports.main,
    "search": bench_search.main,
    "soak": bench_soak.main,
    "coldstart": bench_coldstart.main,
    "api_fuzz": bench_api_fuzz.main,
}


def main(argv: list[str]) -> int:
    selected = argv or list(BENCHMARKS)
    for name in selected:
        print(f"== {name}", flush=True)
        BENCHMARKS[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
