"""The conversation engine: one WhatsApp update in; stored state and replies out.

Exactly-once per inbound message, across redeliveries and concurrent workers:
the message is stored once per ``(tenant_id, wamid)``, and its bot turn is
claimed with a lease (pending → running → done) before Rasa is called. Replies
go to an outbox in the same transaction that completes the turn, and the outbox
is then delivered; a redelivered update whose turn is done only flushes the
outbox, so a worker that died after the turn loses nothing.

With a burst window (``EngineConfig.burst_window``), typed messages wait: each
is stored with its turn pending and a turn record is queued
(``atende.conversations.bursts``); when the window of the first pending message
has passed, :meth:`ConversationEngine.run_due_turn` claims every message
pending by then under the same lease and runs ONE turn, texts joined in order.
A message arriving later is the first of the next burst: the window never
grows, so a single message waits no longer than it. A tap or a media message
ends the burst and is answered at once, after the texts before it.

Nothing here waits on the queue's retries except a turn another worker holds:
a status for an unknown message is parked (applied when its message is
recorded, dropped at its TTL), and replies WhatsApp can't take now stay in the
outbox with a retry budget of their own, relayed by the sweeper.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from uuid import UUID

from atende import live
from atende.bot import BotReply, BotUnavailable
from atende.contacts import capture_from_message, capture_names_and_addresses
from atende.conversations import assignment, store
from atende.conversations import messages_ptbr as texts
from atende.conversations.bursts import TurnDue
from atende.conversations.consent_prompt import ask_if_due, asks_something
from atende.conversations.store import State, TurnClaim
from atende.db import directory_transaction, tenant_transaction
from atende.errors import InvalidInput
from atende.observability import logger, metrics
from atende.tenancy.hours import closed_notice
from atende.whatsapp.graph import (
    CircuitOpenError,
    GraphApiError,
    GraphClient,
    ListRow,
    ListSection,
    OutsideCustomerWindow,
    Recipient,
    SentMessage,
)
from atende.whatsapp.updates import (
    InboundMessage,
    StatusUpdate,
    Update,
    UserIdUpdate,
    update_from_json,
)

# Conversations whose new messages open consoles must hear about.
_WITH_PEOPLE = (State.WAITING_HUMAN, State.WITH_HUMAN)


class RetryLater(Exception):
    """The update can't be finished now; the queue must deliver it again.

    Raised only while another worker holds the message's bot turn: ``after``
    is what is left of its lease, when the turn can be taken over if that
    worker died. The worker's attempt budget ends in the dead-letter queue.
    """

    def __init__(self, message: str, *, after: timedelta) -> None:
        super().__init__(message)
        self.after = after


class NotDue(RetryLater):
    """A burst's window is still open: its turn record comes back after
    ``after`` (whole seconds, what SQS visibility takes)."""


class Bot(Protocol):
    def respond(
        self, *, tenant_id: UUID, sender: str, text: str, metadata: dict[str, str]
    ) -> list[BotReply]: ...

    def replies_to(self, *, sender: str, wamid: str) -> list[BotReply] | None: ...

    def resume(self, sender: str) -> None: ...

    def with_people(self, sender: str) -> None: ...


@dataclass(frozen=True)
class EngineConfig:
    idle_timeout: timedelta = timedelta(minutes=30)
    turn_lease: timedelta = timedelta(seconds=60)
    # How long a status for an unknown message waits for it.
    parked_status_ttl: timedelta = timedelta(hours=1)
    # Attempts per reply before it is marked failed; the waits between them
    # double from send_retry_base up to send_retry_max (~40 min in all).
    send_attempts: int = 10
    send_retry_base: timedelta = timedelta(seconds=5)
    send_retry_max: timedelta = timedelta(minutes=10)
    # Typed messages within this window of the first pending one are one
    # turn; zero answers each message at once.
    burst_window: timedelta = timedelta(0)
    # Less than this left of a window is waited out in the worker (the
    # queue's visibility counts whole seconds).
    burst_sleep_max: timedelta = timedelta(seconds=1)

    def send_backoff(self, attempts: int) -> timedelta:
        return min(self.send_retry_base * (1 << (attempts - 1)), self.send_retry_max)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ConversationEngine:
    """Applies updates for any tenant; stateless between calls."""

    def __init__(
        self,
        *,
        bot: Bot,
        graph_for: Callable[[str], GraphClient],
        config: EngineConfig | None = None,
        clock: Callable[[], datetime] = _utcnow,
        schedule_turn: Callable[[TurnDue], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.bot = bot
        self._graph_for = graph_for
        self._config = config or EngineConfig()
        self._clock = clock
        self._schedule_turn = schedule_turn
        self._sleep = sleep
        if self._config.burst_window and schedule_turn is None:
            raise ValueError("a burst window needs a queue for its turn records")

    def handle(self, tenant_id: UUID, update: Update) -> None:
        """Apply one update of ``tenant_id``.

        Raises:
            RetryLater: another worker holds the message's bot turn.
        """
        if isinstance(update, InboundMessage):
            self._inbound(tenant_id, update)
        elif isinstance(update, StatusUpdate):
            self._status(tenant_id, update)
        elif isinstance(update, UserIdUpdate):
            previous = update.previous_user_id or update.previous_wa_id
            if previous:
                with tenant_transaction(tenant_id) as conn:
                    store.change_customer_id(
                        conn,
                        old_user_id=previous,
                        new_user_id=update.user_id,
                        phone=update.wa_id,
                    )
        else:
            logger.warning(
                "webhook-level error from Meta", extra={"update": update.KIND}
            )

    # -- inbound messages ------------------------------------------------

    def _inbound(self, tenant_id: UUID, msg: InboundMessage) -> None:
        with tenant_transaction(tenant_id) as conn:
            customer = store.upsert_customer(
                conn,
                user_id=msg.customer_key,
                phone=msg.wa_id,
                username=msg.username,
                display_name=msg.profile_name,
                parent_user_id=msg.parent_user_id,
            )
            found = store.find_inbound(conn, msg.wamid)
            if found is None:
                # A satisfaction rating or comment belongs to the closed
                # conversation it rates, never to the bot.
                answered = store.answer_survey(
                    conn,
                    customer_id=customer.id,
                    reply_id=msg.interactive.id if msg.interactive else None,
                    text=msg.text if msg.type == "text" else None,
                    at=max(self._clock(), msg.timestamp),
                )
                if answered is not None:
                    conversation = store.get_conversation(
                        conn, answered.conversation_id
                    )
                else:
                    conversation, _closed = store.open_conversation(
                        conn,
                        customer_id=customer.id,
                        phone_number_id=msg.phone_number_id,
                        now=max(self._clock(), msg.timestamp),
                        idle_timeout=self._config.idle_timeout,
                    )
                message_id, _new = store.record_inbound(
                    conn,
                    conversation_id=conversation.id,
                    wamid=msg.wamid,
                    type_=msg.type,
                    body=msg.text,
                    media_ref=msg.media.id if msg.media else None,
                    payload=msg.to_json(),
                    wa_timestamp=msg.timestamp,
                    # With people, the bot still hears text: it acknowledges
                    # and answers LGPD requests (conversations.waiting).
                    needs_turn=conversation.state is State.BOT
                    or (conversation.state in _WITH_PEOPLE and bool(msg.text)),
                )
                store.touch_inbound(conn, conversation.id, msg.timestamp)
                # Validated contact data is kept only with consent (LGPD).
                capture_from_message(
                    conn, customer_id=customer.id, message_id=message_id, text=msg.text
                )
                metrics.add_metric(name="InboundMessages", unit="Count", value=1)
            else:
                message_id, conversation_id = found
                conversation = store.get_conversation(conn, conversation_id)
            # Only the bot's own conversations wait for the rest of a burst;
            # with people, the bot's acknowledgement goes at once.
            bursting = bool(self._config.burst_window) and (
                conversation.state is State.BOT
            )
            if bursting:
                first = store.first_pending(conn, conversation.id)
            else:
                claim = store.claim_turn(
                    conn, message_id, lease=self._config.turn_lease
                )

        if bursting:
            if msg.type != store.JOINABLE:
                self._run_bursts(tenant_id, conversation.id)
            elif first is not None:
                assert self._schedule_turn is not None
                self._schedule_turn(
                    TurnDue(tenant_id, conversation.id, msg.customer_key, first)
                )
            self.deliver_outbox(tenant_id, conversation.id)
            return
        turned = claim in (TurnClaim.CLAIMED, TurnClaim.TAKEN_OVER)
        with_people = conversation.state in _WITH_PEOPLE
        if found is None and with_people and not turned:
            live.publish(
                tenant_id, "conversation.updated", conversation_id=conversation.id
            )
        if claim is TurnClaim.BUSY:
            raise RetryLater(
                "bot turn held by another worker", after=self._config.turn_lease
            )
        if turned:
            self._bot_turn(
                tenant_id,
                conversation.id,
                message_id,
                msg,
                taken_over=claim is TurnClaim.TAKEN_OVER,
                with_people=with_people,
            )
        self.deliver_outbox(tenant_id, conversation.id)
        if turned and with_people:
            # Once the bot answered, so consoles show its acknowledgement too.
            live.publish(
                tenant_id, "conversation.updated", conversation_id=conversation.id
            )
        if turned and msg.text and conversation.state is State.BOT:
            # After the replies went out, so the LLM never delays an answer;
            # kept only with consent, and only from the bot's own turns.
            capture_names_and_addresses(
                tenant_id,
                customer_id=conversation.customer_id,
                message_id=message_id,
                text=msg.text,
            )

    def _bot_turn(
        self,
        tenant_id: UUID,
        conversation_id: UUID,
        message_id: UUID,
        msg: InboundMessage,
        *,
        taken_over: bool = False,
        joined: Sequence[UUID] = (),
        with_people: bool = False,
    ) -> None:
        replies: list[BotReply] | None
        handed_off = False
        if msg.text:
            try:
                if with_people:
                    # Even when the handoff wasn't the bot's (Rasa was down).
                    self.bot.with_people(str(conversation_id))
                # A worker that died mid-turn may have died after Rasa ran it:
                # then its replies are in Rasa's tracker, and running the turn
                # again would run it twice.
                replies = (
                    self.bot.replies_to(sender=str(conversation_id), wamid=msg.wamid)
                    if taken_over
                    else None
                )
                if replies is None:
                    replies = self.bot.respond(
                        tenant_id=tenant_id,
                        sender=str(conversation_id),
                        text=_text_for_bot(msg),
                        metadata={"wamid": msg.wamid},
                    )
                else:
                    metrics.add_metric(name="BotTurnsRecovered", unit="Count", value=1)
            except BotUnavailable:
                replies = None
        else:
            replies = [BotReply(texts.ONLY_TEXT_UNDERSTOOD)]
        with tenant_transaction(tenant_id) as conn:
            if replies is None:
                # Rasa down: a person takes over rather than leaving silence.
                if (
                    store.get_conversation(conn, conversation_id, lock=True).state
                    is State.BOT
                ):
                    # Outside business hours: when a person answers, queued.
                    closed = closed_notice(conn, datetime.now(UTC))
                    store.request_handoff(
                        conn,
                        conversation_id,
                        reason="bot_unavailable",
                        summary=None,
                        outside_hours=closed is not None,
                    )
                    store.enqueue_outbound(
                        conn,
                        conversation_id=conversation_id,
                        body=texts.HANDOFF_BOT_UNAVAILABLE
                        if closed is None
                        else f"{texts.BOT_UNAVAILABLE} {closed}",
                    )
                    handed_off = True
                metrics.add_metric(name="BotUnavailableHandoffs", unit="Count", value=1)
            else:
                for reply in replies:
                    store.enqueue_outbound(
                        conn,
                        conversation_id=conversation_id,
                        body=reply.text,
                        type_="interactive" if reply.buttons else "text",
                        payload={
                            "buttons": [[b.payload, b.title] for b in reply.buttons]
                        },
                    )
                # LGPD consent, when nothing else is pending.
                ask_if_due(
                    conn, conversation_id, question_pending=asks_something(replies)
                )
            store.complete_turn(conn, message_id)
            store.complete_turns(conn, joined)  # the burst's other messages
        if handed_off:
            live.publish(tenant_id, "queue.changed", conversation_id=conversation_id)

    # -- bursts ----------------------------------------------------------

    def run_due_turn(self, due: TurnDue) -> None:
        """Run the turn a burst's turn record announces, once its window is over.

        Raises:
            NotDue: the window is still open for longer than the worker waits.
            RetryLater: another worker holds the conversation's turn.
        """
        wait = self._run_bursts(due.tenant_id, due.conversation_id)
        if wait is not None and wait <= self._config.burst_sleep_max:
            self._sleep(wait.total_seconds())
            wait = self._run_bursts(due.tenant_id, due.conversation_id)
        if wait is not None:
            raise NotDue(
                "burst window still open",
                after=timedelta(seconds=int(wait.total_seconds())),
            )

    def _run_bursts(self, tenant_id: UUID, conversation_id: UUID) -> timedelta | None:
        """Run the conversation's due turns, oldest first; returns how long the
        window of the pending ones is still open (None: nothing waits)."""
        while True:
            with tenant_transaction(tenant_id) as conn:
                burst = store.claim_burst(
                    conn,
                    conversation_id,
                    window=self._config.burst_window,
                    lease=self._config.turn_lease,
                )
            if burst.claim is TurnClaim.BUSY:
                raise RetryLater("bot turn held by another worker", after=burst.wait)
            if burst.claim is TurnClaim.NOT_DUE:
                return burst.wait
            if burst.claim is TurnClaim.DONE:
                return None
            in_order = [update_from_json(m.payload) for m in burst.messages]
            msg = in_order[-1]
            assert isinstance(msg, InboundMessage)
            if len(in_order) > 1:
                joined = "\n".join(
                    m.text for m in in_order if isinstance(m, InboundMessage) and m.text
                )
                msg = dataclasses.replace(msg, text=joined)
            *earlier, lead = burst.messages
            self._bot_turn(
                tenant_id,
                conversation_id,
                lead.id,
                msg,
                taken_over=burst.claim is TurnClaim.TAKEN_OVER,
                joined=[m.id for m in earlier],
            )
            self.deliver_outbox(tenant_id, conversation_id)
            if msg.text and burst.customer_id:  # after the replies went out
                capture_names_and_addresses(
                    tenant_id,
                    customer_id=burst.customer_id,
                    message_id=lead.id,
                    text=msg.text,
                )

    # -- outbound --------------------------------------------------------

    def graph(self, phone_number_id: str) -> GraphClient:
        """The Graph API client of a business number (the console uploads
        files with it before queueing them)."""
        return self._graph_for(phone_number_id)

    def deliver_outbox(self, tenant_id: UUID, conversation_id: UUID) -> int:
        """Send the conversation's pending replies, in order; returns how many
        are left waiting.

        When WhatsApp is throttling or down, the first reply that could not go
        (and those after it, to keep the order) stays in the outbox with a
        backoff; the sweeper's relay tries again. A reply out of attempts is
        marked failed (``ENVIO_ESGOTADO``) and the next ones go on.
        """
        waiting = 0
        with tenant_transaction(tenant_id) as conn:
            items = store.lock_outbox(conn, conversation_id)
            if not items:
                return 0
            conversation = store.get_conversation(conn, conversation_id)
            customer = store.recipient_of(conn, conversation_id)
            to = _recipient(customer.wa_user_id, customer.phone)
            graph = self._graph_for(conversation.phone_number_id or "")
            for position, item in enumerate(items):
                if item.backing_off:
                    # Each new message of the customer would otherwise spend
                    # an attempt while WhatsApp is still refusing.
                    waiting = len(items) - position
                    break
                try:
                    sent = _send(graph, to, item, conversation.last_inbound_at)
                    applied = store.mark_sent(conn, item.id, sent.wamid)
                    if applied:
                        metrics.add_metric(
                            name="ParkedStatusesApplied", unit="Count", value=applied
                        )
                except (OutsideCustomerWindow, InvalidInput) as error:
                    # Refused before reaching Meta: recorded, and the replies
                    # after it still go.
                    store.mark_failed(
                        conn, item.id, code=error.code, title=error.user_message
                    )
                except (TypeError, ValueError):
                    logger.exception("malformed outbox item")
                    store.mark_failed(
                        conn,
                        item.id,
                        code="MENSAGEM_MALFORMADA",
                        title="Mensagem malformada; não foi enviada.",
                    )
                except (CircuitOpenError, GraphApiError) as error:
                    if isinstance(error, GraphApiError) and not error.retryable:
                        store.mark_failed(
                            conn,
                            item.id,
                            code=str(error.graph_code or error.code),
                            title=error.title or error.user_message,
                        )
                    elif item.send_attempts + 1 >= self._config.send_attempts:
                        logger.error(
                            "reply out of send attempts",
                            extra={"attempts": item.send_attempts + 1},
                        )
                        metrics.add_metric(
                            name="OutboxSendsExhausted", unit="Count", value=1
                        )
                        store.mark_failed(
                            conn,
                            item.id,
                            code=texts.SEND_EXHAUSTED_CODE,
                            title=texts.SEND_EXHAUSTED,
                        )
                    else:
                        attempts = item.send_attempts + 1
                        store.defer_send(
                            conn,
                            item.id,
                            attempts=attempts,
                            retry_in=self._config.send_backoff(attempts),
                        )
                        waiting = len(items) - position
                        metrics.add_metric(
                            name="OutboxSendsDeferred", unit="Count", value=1
                        )
                        break
                if item.payload.get("secret"):
                    # One-time links: they reach the customer, never the history.
                    store.redact(conn, item.id, texts.ONE_TIME_LINKS_HIDDEN)
        return waiting

    def relay_outboxes(self, tenant_id: UUID) -> int:
        """Deliver replies whose next attempt is due (the sweeper's relay);
        returns how many conversations it tried."""
        with tenant_transaction(tenant_id) as conn:
            due = store.due_outboxes(conn)
        for conversation_id in due:
            try:
                self.deliver_outbox(tenant_id, conversation_id)
            except Exception:
                # One conversation's failure never stops the others'.
                logger.exception("outbox relay failed for one conversation")
        return len(due)

    def send_notice(
        self,
        *,
        phone_number_id: str,
        wa_user_id: str,
        phone: str | None,
        text: str,
        last_inbound_at: datetime | None,
    ) -> str:
        """Send one text outside the outbox, to a customer whose conversations
        are gone (told their erasure is done): nothing about it is stored.
        Returns Meta's wamid.

        Raises:
            OutsideCustomerWindow: the customer last wrote over 24 hours ago.
            GraphApiError, CircuitOpenError: WhatsApp refused or is down.
        """
        graph = self._graph_for(phone_number_id)
        to = _recipient(wa_user_id, phone)
        return graph.send_text(to, text, last_inbound_at=last_inbound_at).wamid

    # -- statuses --------------------------------------------------------

    def _status(self, tenant_id: UUID, status: StatusUpdate) -> None:
        first_error = status.errors[0] if status.errors else None
        error_code = str(first_error.code) if first_error else None
        error_title = first_error.title if first_error else None
        with tenant_transaction(tenant_id) as conn:
            store.lock_wamid(conn, status.wamid)
            applied = store.apply_status(
                conn,
                wamid=status.wamid,
                status=status.status,
                error_code=error_code,
                error_title=error_title,
            )
            if applied is None and status.status in store.PARKABLE_STATUSES:
                # Not (yet) ours: a send whose row commits after Meta's first
                # status, a message sent by another tool on the same number,
                # one already erased. Kept for a while, never retried.
                store.park_status(
                    conn,
                    wamid=status.wamid,
                    status=status.status,
                    error_code=error_code,
                    error_title=error_title,
                    customer_key=status.customer_key,
                    ttl=self._config.parked_status_ttl,
                )
                metrics.add_metric(name="StatusesParked", unit="Count", value=1)
            moved = store.conversation_of_wamid(conn, status.wamid) if applied else None
        if moved is not None:  # the open console shows "Entregue"/"Lida" now
            live.publish(tenant_id, "message.status", conversation_id=moved)

    # -- inactivity ------------------------------------------------------

    def close_idle(self, tenant_id: UUID) -> int:
        """Close this tenant's idle conversations with a goodbye; returns how many."""
        cutoff = self._clock() - self._config.idle_timeout
        with tenant_transaction(tenant_id) as conn:
            idle = store.idle_conversations(conn, older_than=cutoff)
            now = self._clock()
            for conversation in idle:
                store.close_conversation(conn, conversation.id, reason="inactivity")
                # One a person handled is rated, like one the console closes;
                # the survey's text says why it closed.
                if not store.offer_survey(
                    conn,
                    conversation.id,
                    now=now,
                    text=store.SURVEY_AFTER_INACTIVITY,
                ):
                    store.enqueue_outbound(
                        conn,
                        conversation_id=conversation.id,
                        body=texts.CLOSED_FOR_INACTIVITY,
                    )
        for conversation in idle:
            if conversation.state in _WITH_PEOPLE:  # consoles drop it from view
                live.publish(
                    tenant_id, "queue.changed", conversation_id=conversation.id
                )
            self.deliver_outbox(tenant_id, conversation.id)
        return len(idle)

    def close_idle_everywhere(self) -> int:
        """Run :meth:`close_idle` for every tenant."""
        return self.sweep_everywhere().closed

    def sweep(self, tenant_id: UUID) -> SweepReport:
        """The scheduled upkeep of one tenant: idle conversations closed,
        unanswered assignments re-queued, due replies relayed, parked
        statuses past their TTL dropped."""
        closed = self.close_idle(tenant_id)
        requeued = assignment.sweep(tenant_id)
        relayed = self.relay_outboxes(tenant_id)
        with tenant_transaction(tenant_id) as conn:
            expired = store.expire_parked_statuses(conn)
        if expired:
            metrics.add_metric(
                name="ParkedStatusesExpired", unit="Count", value=expired
            )
        return SweepReport(
            closed=closed,
            relayed=relayed,
            expired_statuses=expired,
            requeued=requeued,
        )

    def sweep_everywhere(self) -> SweepReport:
        """:meth:`sweep` for every tenant; one tenant's failure spares the rest."""
        with directory_transaction() as conn:
            tenant_ids = [r["id"] for r in conn.execute("SELECT id FROM tenants")]
        total = SweepReport()
        for tenant_id in tenant_ids:
            try:
                total += self.sweep(tenant_id)
            except Exception:
                logger.exception("sweep failed for one tenant")
        return total


@dataclass(frozen=True)
class SweepReport:
    closed: int = 0
    relayed: int = 0
    expired_statuses: int = 0
    requeued: int = 0  # unanswered past the assignment timeout

    def __add__(self, other: SweepReport) -> SweepReport:
        return SweepReport(
            self.closed + other.closed,
            self.relayed + other.relayed,
            self.expired_statuses + other.expired_statuses,
            self.requeued + other.requeued,
        )


# Files attendants send (uploaded to Meta first, atende.console.media).
OUTBOUND_MEDIA = frozenset({"image", "document", "audio"})


def _send(
    graph: GraphClient,
    to: Recipient,
    item: store.OutboxItem,
    last_inbound_at: datetime | None,
) -> SentMessage:
    template = item.payload.get("template")
    if item.type == "template" and isinstance(template, dict):
        return graph.send_template(
            to,
            str(template["name"]),
            language=str(template.get("language") or "pt_BR"),
            components=template.get("components") or (),
            last_inbound_at=last_inbound_at,
        )
    media = item.payload.get("media")
    if item.type in OUTBOUND_MEDIA and isinstance(media, dict):  # the console's
        return graph.send_media(
            to,
            item.type,
            str(media["id"]),
            caption=media.get("caption"),
            filename=media.get("filename"),
            last_inbound_at=last_inbound_at,
        )
    listed = item.payload.get("list")
    if isinstance(listed, dict):  # e.g. the satisfaction survey
        rows = [ListRow(id=str(r[0]), title=str(r[1])) for r in listed["rows"]]
        return graph.send_list(
            to,
            item.body,
            str(listed["button"]),
            [ListSection(rows=rows)],
            last_inbound_at=last_inbound_at,
        )
    buttons = [(str(b[0]), str(b[1])) for b in item.payload.get("buttons") or ()]
    if buttons:
        try:
            return graph.send_buttons(
                to, item.body, buttons, last_inbound_at=last_inbound_at
            )
        except InvalidInput:
            # More than WhatsApp's 3 reply buttons, or titles over 20 characters:
            # the options still reach the customer, as text.
            logger.warning("buttons sent as text", extra={"buttons": len(buttons)})
            options = "\n".join(f"• {title}" for _payload, title in buttons)
            return graph.send_text(
                to, f"{item.body}\n\n{options}", last_inbound_at=last_inbound_at
            )
    return graph.send_text(to, item.body, last_inbound_at=last_inbound_at)


def _text_for_bot(msg: InboundMessage) -> str:
    """What Rasa reads: a tap on one of the bot's buttons sends the button's
    payload (``/intent``, taken as is, never guessed by the NLU); typed text
    never starts with ``/``, so words can't pose as a tap (consent is decided
    only by a tap, see bot/actions)."""
    tapped = msg.interactive.id if msg.interactive else None
    if tapped and tapped.startswith("/"):
        return tapped
    return (msg.text or "").lstrip("/ ") or "?"


def _recipient(wa_user_id: str, phone: str | None) -> Recipient:
    keyed = Recipient.parse(wa_user_id)
    return Recipient(user_id=keyed.user_id, phone=phone or keyed.phone)
