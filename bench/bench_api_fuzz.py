"""The public API fuzzed full size: schemathesis against a local stack, every
operation of /openapi.json, 300 examples per operation and phase (the suite
runs 20). Not a speed figure: the count of what was tried and what failed,
with the time it took. (No baseline: a fuzzer has no "other tool" to beat.)"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.results import machine, write_section
from infra.api_fuzz import run_fuzz
from infra.stack_harness import LocalStack

EXAMPLES = 300


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="atende-bench-fuzz-") as tmp:
        stack = LocalStack(Path(tmp)).start()
        try:
            stack.wait_healthy()
            started = time.perf_counter()
            outcome = run_fuzz(stack.api, stack.demo["api_key"], max_examples=EXAMPLES)
            elapsed = time.perf_counter() - started
        finally:
            stack.stop()
    print(outcome.output[-3000:])
    write_section(
        "api_fuzz",
        f"""
## Public API fuzzing (schemathesis)

{machine()}

`st run` against the local stack's `/openapi.json` with the demo tenant's key,
{EXAMPLES} examples per operation and phase, every check (infra/api_fuzz.toml).

| operations | test cases | failures | exit code | time |
|---:|---:|---:|---:|---:|
| {outcome.operations} | {outcome.test_cases} | {outcome.failures} | {outcome.exit_code} | {elapsed:.0f} s |
""",
    )


if __name__ == "__main__":
    main()
