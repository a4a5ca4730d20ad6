"""The soak of the WhatsApp channel, bounded, as a correctness test: ordinary
messy traffic and faults against the real local stack, then every message
accounted for. `make bench` runs the full-size scenario and records figures;
here nothing is timed."""

from __future__ import annotations

import pytest

from infra.soak import SoakPlan, run_soak
from infra.stack_harness import LocalStack

pytestmark = [pytest.mark.e2e, pytest.mark.bot]

PLAN = SoakPlan(
    messages=240,
    customers=24,
    concurrency=12,
    unknown_statuses=24,
    redelivered=24,
    poisoned=2,
    graph_throttles=6,
    rasa_pause_s=4.0,
    kill_worker=True,
    drain_timeout_s=300,
)


def test_every_message_stored_once_and_answered_once_under_faults(
    bot_stack: LocalStack,
) -> None:
    report = run_soak(bot_stack, PLAN)

    assert report.acknowledged == PLAN.messages, report.errors
    assert report.lost == [] and report.stored_twice == []
    assert report.turned_twice == [], "Rasa ran a turn twice"
    assert report.stuck == 0 and report.outbox_pending == 0
    # Every reply the database says went out reached WhatsApp once.
    assert report.graph_sends == report.replies_sent
    # Only the deliberately poisoned records end in the dead-letter queue.
    assert sorted(report.dead_letters) == sorted(report.poisoned_groups)
    assert report.worker_killed_at_s is not None and report.rasa_paused is not None
    assert report.turns > 0
