"""What the console's use cases return: plain values, turned into JSON by the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from atende.conversations.store import State

__all__ = [
    "ActivityView",
    "CannedResponseView",
    "ConversationDetail",
    "ConversationItem",
    "CustomerView",
    "HandoffView",
    "LabelView",
    "LocationView",
    "MediaView",
    "MessageView",
    "MessagesPage",
    "NoteView",
    "Queue",
    "QueueItem",
    "StateChange",
]


@dataclass(frozen=True)
class LabelView:
    id: UUID
    name: str
    color: str  # "#rrggbb"


@dataclass(frozen=True)
class CannedResponseView:
    """A canned response: the team's (everyone's) or the attendant's own."""

    id: UUID
    scope: str  # "team" | "personal"
    shortcut: str  # typed after "/" in the composer
    title: str
    body: str  # may carry {{nome}}, {{protocolo}}, {{atendente}}
    updated_at: datetime


@dataclass(frozen=True)
class NoteView:
    """A private note: seen by the team in the timeline, never sent."""

    id: UUID
    body: str
    created_at: datetime
    attendant: str | None


@dataclass(frozen=True)
class QueueItem:
    conversation_id: UUID
    customer: str
    phone: str | None  # masked: the last four digits
    reason: str
    reason_label: str  # the reason in words
    summary: str | None  # CPFs masked
    priority: int
    team: str | None
    requested_at: datetime
    waiting_s: int
    labels: list[LabelView]
    # Asked for outside business hours: the customer was told when.
    outside_hours: bool = False


@dataclass(frozen=True)
class Queue:
    queue: list[QueueItem]  # a page, the head of the queue first
    total: int  # everything waiting
    next_cursor: str | None  # None: the end of the queue


@dataclass(frozen=True)
class ConversationItem:
    conversation_id: UUID
    state: State
    team: str | None
    customer: str
    assigned_attendant_id: UUID | None
    attendant: str | None
    last_activity_at: datetime
    labels: list[LabelView]


@dataclass(frozen=True)
class CustomerView:
    id: UUID  # what the LGPD export and erasure take
    name: str
    phone: str | None
    username: str | None


@dataclass(frozen=True)
class HandoffView:
    reason: str
    reason_label: str
    summary: str | None
    requested_at: datetime


@dataclass(frozen=True)
class ActivityView:
    """Something people or the bot did to the conversation, in words
    ("Ana assumiu a conversa"), from its audit trail."""

    id: str
    action: str
    text: str
    created_at: datetime


@dataclass(frozen=True)
class MediaView:
    """A message's file, served by ``…/messages/{id}/media`` (fetched from
    Meta once, stored encrypted, every access audited)."""

    kind: str  # image, audio, video, document, sticker
    mime_type: str | None
    filename: str | None
    voice: bool  # a voice note recorded in WhatsApp


@dataclass(frozen=True)
class LocationView:
    latitude: float | None
    longitude: float | None
    name: str | None
    address: str | None


@dataclass(frozen=True)
class MessageView:
    id: UUID
    direction: str
    type: str
    body: str | None
    status: str
    error_code: str | None
    error_title: str | None
    created_at: datetime
    attendant: str | None
    media: MediaView | None = None
    location: LocationView | None = None


@dataclass(frozen=True)
class MessagesPage:
    messages: list[MessageView]  # oldest first
    older_cursor: str | None  # None: the conversation's first message is here


@dataclass(frozen=True)
class ConversationDetail:
    conversation_id: UUID
    state: State
    team: str | None
    assigned_attendant_id: UUID | None
    attendant: str | None
    opened_at: datetime
    closed_at: datetime | None
    close_reason: str | None
    customer: CustomerView
    protocol: str  # what the customer is told ({{protocolo}} in canned responses)
    window_open: bool
    window_ends_at: datetime | None
    handoff: HandoffView | None
    messages: list[MessageView]  # the latest page, oldest first
    older_cursor: str | None  # where the page before it starts
    notes: list[NoteView]  # private, the latest 200, oldest first
    labels: list[LabelView]
    activity: list[ActivityView]  # the latest 100, oldest first


@dataclass(frozen=True)
class StateChange:
    """Where a conversation is after an action."""

    conversation_id: UUID
    state: State
