"""Rasa's side of a turn, as the action server receives it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from rasa_sdk import Tracker

from tests.support.channel import Channel


def tracker_for(
    ch: Channel, conversation_id: UUID, text: str, intent: str, **slots: Any
) -> Tracker:
    message = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.97},
        "entities": [],
        "metadata": {"tenant_id": str(ch.tenant_id)},
    }
    events = [
        {
            "event": "user",
            "text": text,
            "parse_data": message,
            "metadata": message["metadata"],
        }
    ]
    return Tracker(
        sender_id=str(conversation_id),
        slots=slots,
        latest_message=message,
        events=events,
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )
