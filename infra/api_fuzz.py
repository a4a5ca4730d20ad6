"""Fuzz the public API with schemathesis (its CLI, `st run`) against a running
API: every operation of its /openapi.json, every phase (examples, boundary
coverage, random fuzzing, stateful sequences), every check. Used by the suite
with a small budget (tests/e2e/test_api_fuzz.py) and by `make bench` full size.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ST = Path(sys.executable).with_name("st")
CONFIG = Path(__file__).with_name("api_fuzz.toml")


@dataclass(frozen=True)
class FuzzOutcome:
    exit_code: int
    operations: int
    test_cases: int
    failures: int
    output: str


def run_fuzz(
    api: str, api_key: str, *, max_examples: int, seed: int = 20261201
) -> FuzzOutcome:
    """One `st run` against ``api``; the counts come from its JSON report."""
    with tempfile.TemporaryDirectory(prefix="atende-fuzz-") as tmp:
        report = Path(tmp) / "report.json"
        done = subprocess.run(  # noqa: S603 - our own arguments
            [
                str(ST),
                "--config-file",
                str(CONFIG),
                "run",
                f"{api}/openapi.json",
                "--url",
                api,
                "--header",
                f"X-API-Key:{api_key}",
                "--max-examples",
                str(max_examples),
                "--seed",
                str(seed),
                "--report",
                "json",
                "--report-json-path",
                str(report),
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        summary = json.loads(report.read_text()) if report.exists() else {}
    return FuzzOutcome(
        exit_code=done.returncode,
        output=done.stdout[-20000:] + done.stderr[-5000:],
        **_counts(summary),
    )


def _counts(summary: dict[str, Any]) -> dict[str, int]:
    return {
        "operations": int((summary.get("operations") or {}).get("tested", 0)),
        "test_cases": int((summary.get("test_cases") or {}).get("generated", 0)),
        "failures": sum(int(f.get("count", 0)) for f in summary.get("failures") or []),
    }
