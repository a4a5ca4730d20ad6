"""Property-based fuzzing of the public API with schemathesis against the local
stack: every operation of /openapi.json, valid and invalid inputs (examples,
boundary coverage, random fuzzing), with the demo tenant's key. No 5xx, and
every response (status, headers, body) as the contract says. A bounded budget
here; `make bench` runs it full size (bench/bench_api_fuzz.py)."""

from __future__ import annotations

import pytest

from infra.api_fuzz import run_fuzz
from infra.stack_harness import LocalStack

pytestmark = pytest.mark.e2e


def test_the_api_keeps_its_contract(bot_stack: LocalStack) -> None:
    outcome = run_fuzz(bot_stack.api, bot_stack.demo["api_key"], max_examples=20)
    assert outcome.operations >= 5, outcome.output
    assert outcome.failures == 0, outcome.output
    assert outcome.exit_code == 0, outcome.output
