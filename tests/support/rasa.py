"""Rasa's side of a turn, as the action server receives it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from rasa_sdk import Tracker

from atende.bot.signing import sign_tenant
from tests.support.channel import ACTION_SIGNING_KEY, Channel


def tracker_for(
    ch: Channel,
    conversation_id: UUID,
    text: str,
    intent: str,
    *,
    metadata: dict[str, Any] | None = None,
    confidence: float = 0.97,
    ranking: list[tuple[str, float]] | None = None,
    **slots: Any,
) -> Tracker:
    """The tracker of a turn; its metadata as the worker signs it, unless given."""
    if metadata is None:
        metadata = sign_tenant(
            ACTION_SIGNING_KEY, tenant_id=ch.tenant_id, sender=str(conversation_id)
        )
    message = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": [
            {"name": name, "confidence": score}
            for name, score in ranking or [(intent, confidence)]
        ],
        "entities": [],
        "metadata": metadata,
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
