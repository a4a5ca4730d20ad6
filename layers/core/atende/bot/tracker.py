"""Rasa's tracker store: the bot's own record of every turn (its SQL store's
``events`` table, keyed by ``sender_id`` = our conversation id). Read for the
reports' bot measures, deleted by LGPD erasure and retention."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg

from atende.config import get_settings
from atende.db.secrets import conninfo_from_secret

#: The slot ``action_llm_answer`` sets: whether the LLM's answer came from the
#: tenant's knowledge base (True) or was its "não sei" (False).
GROUNDED_SLOT = "llm_fundamentada"
#: The slot that puts the dialogue in "people have the conversation"
#: (bot/domain.yml): set at a handoff, cleared by the restart of a return.
WITH_PEOPLE_SLOT = "atendimento_humano"
#: Actions that ask the customer to choose between likely intents.
CLARIFY_ACTIONS: frozenset[str] = frozenset({"action_esclarecer"})


def tracker_store_url() -> str | None:
    """Rasa's tracker store, when the bot is deployed (settings or secret)."""
    settings = get_settings()
    if settings.rasa_tracker_db_url is not None:
        return settings.rasa_tracker_db_url.get_secret_value()
    if settings.rasa_tracker_db_secret_arn is not None:
        return conninfo_from_secret(settings.rasa_tracker_db_secret_arn)
    return None


@dataclass(frozen=True)
class BotEvent:
    """One thing the bot did or understood, as the reports count it."""

    tracker_event_id: int
    conversation_id: str
    at: datetime
    kind: str  # "intent", "llm_answer", "dont_know" or "clarification"
    intent: str | None = None


def _classify(
    row: tuple[int, str, str, float | None, str | None, str | None, str | None],
) -> BotEvent | None:
    event_id, sender_id, type_name, timestamp, intent_name, action_name, data = row
    at = datetime.fromtimestamp(timestamp or 0, UTC)
    if type_name == "user":
        intent = intent_name
        if not intent and data:
            parsed = json.loads(data).get("parse_data") or {}
            intent = (parsed.get("intent") or {}).get("name")
        return BotEvent(event_id, sender_id, at, "intent", intent or "desconhecida")
    if type_name == "action" and action_name in CLARIFY_ACTIONS:
        return BotEvent(event_id, sender_id, at, "clarification")
    if type_name == "slot" and data:
        slot = json.loads(data)
        if slot.get("name") == GROUNDED_SLOT and isinstance(slot.get("value"), bool):
            kind = "llm_answer" if slot["value"] else "dont_know"
            return BotEvent(event_id, sender_id, at, kind)
    return None


def bot_events(tracker_db_url: str, conversation_ids: Sequence[str]) -> list[BotEvent]:
    """The counted events of these conversations, oldest first."""
    if not conversation_ids:
        return []
    with psycopg.connect(tracker_db_url) as tracker_db:
        rows = tracker_db.execute(
            "SELECT id, sender_id, type_name, timestamp, intent_name, action_name, data"
            " FROM events WHERE sender_id = ANY(%s)"
            " AND type_name IN ('user', 'action', 'slot', 'restart') ORDER BY id",
            (list(conversation_ids),),
        ).fetchall()
    # While people have a conversation the bot only acknowledges the
    # customer's messages: they are not the bot's to count.
    with_people: set[str] = set()
    found = []
    for row in rows:
        sender_id, type_name, data = row[1], row[2], row[6]
        if type_name == "restart":
            with_people.discard(sender_id)
            continue
        if type_name == "slot" and data:
            slot = json.loads(data)
            if slot.get("name") == WITH_PEOPLE_SLOT:
                if slot.get("value") is True:
                    with_people.add(sender_id)
                else:
                    with_people.discard(sender_id)
                continue
        if type_name == "user" and sender_id in with_people:
            continue
        if (event := _classify(row)) is not None:
            found.append(event)
    return found


def delete_trackers(tracker_db_url: str, sender_ids: Sequence[str]) -> int:
    """Delete these conversations' trackers; returns how many events went."""
    if not sender_ids:
        return 0
    with psycopg.connect(tracker_db_url, autocommit=True) as tracker_db:
        return tracker_db.execute(
            "DELETE FROM events WHERE sender_id = ANY(%s)", (list(sender_ids),)
        ).rowcount
