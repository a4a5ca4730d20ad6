"""Client of the Rasa server (REST channel).

``sender`` is the conversation id, and the tenant travels in the message metadata,
signed (``atende.bot.signing``), so the action server can open the right tenant
transaction and no other. Every call carries a JWT for its conversation. Rasa
being down, failing or refusing is reported as :class:`BotUnavailable`; the
conversation engine answers it with a handoff, never with silence.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx

from atende.bot.signing import rasa_token, sign_tenant
from atende.bot.tracker import WITH_PEOPLE_SLOT
from atende.errors import DependencyFailed
from atende.observability import logger

__all__ = ["BotButton", "BotReply", "BotUnavailable", "RasaClient"]


class BotUnavailable(DependencyFailed):
    code = "BOT_INDISPONIVEL"
    message = "O assistente virtual está indisponível no momento."


@dataclass(frozen=True)
class BotButton:
    title: str
    payload: str


@dataclass(frozen=True)
class BotReply:
    """One bot utterance: text and optional quick-reply buttons."""

    text: str
    buttons: tuple[BotButton, ...] = field(default=())


class RasaClient:
    """Sends a customer's text to Rasa and returns its replies.

    ``jwt_secret`` (Rasa's) and ``signing_key`` (the action server's) are needed
    only by the calls that use them: without them those calls are refused here,
    with an error log, rather than sent unauthenticated.
    """

    def __init__(
        self,
        base_url: str,
        *,
        jwt_secret: str | None,
        signing_key: str | None,
        timeout_s: float = 10.0,
        attempts: int = 2,
        retry_delay_s: float = 0.3,
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._url = self._base_url + "/webhooks/rest/webhook"
        self._http = http or httpx.Client(timeout=timeout_s)
        self._jwt_secret = jwt_secret
        self._signing_key = signing_key
        self._attempts = attempts
        self._retry_delay_s = retry_delay_s
        self._sleep = sleep

    def _auth(self, sender: str) -> dict[str, str]:
        if not self._jwt_secret:
            logger.error("rasa secret not configured (RASA_JWT_SECRET)")
            raise BotUnavailable()
        return {
            "Authorization": f"Bearer {rasa_token(self._jwt_secret, sender=sender)}"
        }

    def _signed(self, tenant_id: UUID, sender: str) -> dict[str, str]:
        try:
            return sign_tenant(
                self._signing_key or "", tenant_id=tenant_id, sender=sender
            )
        except ValueError:
            logger.error("action signing key not configured (ACTION_SIGNING_KEY)")
            raise BotUnavailable() from None

    def respond(
        self,
        *,
        tenant_id: UUID,
        sender: str,
        text: str,
        metadata: Mapping[str, Any],
    ) -> list[BotReply]:
        """The bot's replies to ``text`` from conversation ``sender``.

        ``tenant_id`` goes into the metadata with its signature.
        Only a call that never reached Rasa is tried again: one that timed out
        or failed after Rasa got it may have run the turn (a second call would
        run it twice).

        Raises:
            BotUnavailable: Rasa unreachable, refusing, or no usable answer.
        """
        body = {
            "sender": sender,
            "message": text,
            "metadata": {**metadata, **self._signed(tenant_id, sender)},
        }
        headers = self._auth(sender)
        for attempt in range(1, self._attempts + 1):
            try:
                response = self._http.post(self._url, json=body, headers=headers)
                _check_credentials(response)
                if response.status_code < 500:
                    response.raise_for_status()
                    return _parse_replies(response.json())
                logger.warning("rasa error", extra={"status": response.status_code})
                break  # Rasa may have taken the turn before failing: no second one
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                # Never reached Rasa: safe to try again.
                logger.warning(
                    "rasa unreachable",
                    extra={"error": type(exc).__name__, "attempt": attempt},
                )
            except (httpx.TransportError, httpx.HTTPStatusError, ValueError) as exc:
                # Sent, but no usable answer (a hung or restarting Rasa): it may
                # still run the turn, so sending it again could run it twice.
                logger.warning(
                    "rasa failed mid-turn", extra={"error": type(exc).__name__}
                )
                break
            if attempt < self._attempts:
                self._sleep(self._retry_delay_s * attempt)
        raise BotUnavailable()

    def replies_to(self, *, sender: str, wamid: str) -> list[BotReply] | None:
        """What the bot answered the message ``wamid``, if Rasa already ran its
        turn (from the conversation's tracker); None if it never saw it.

        Raises:
            BotUnavailable: Rasa unreachable or refusing.
        """
        url = f"{self._base_url}/conversations/{sender}/tracker"
        headers = self._auth(sender)
        try:
            response = self._http.get(
                url, params={"include_events": "ALL"}, headers=headers
            )
            _check_credentials(response)
            response.raise_for_status()
            events = response.json().get("events") or []
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            logger.warning(
                "rasa tracker unreadable", extra={"error": type(exc).__name__}
            )
            raise BotUnavailable() from exc
        return _replies_after(events, wamid)

    def resume(self, sender: str) -> None:
        """Resume a conversation the bot paused at a handoff (tracker events API).

        The dialogue also restarts: what the person handled is done, and the
        bot's policies, trained on fresh conversations, answer the next message
        (after a bare resume they only listened).

        Raises:
            BotUnavailable: Rasa unreachable or refusing.
        """
        url = f"{self._base_url}/conversations/{sender}/tracker/events"
        headers = self._auth(sender)
        try:
            response = self._http.post(
                url,
                params={"include_events": "NONE"},
                json=[{"event": "resume"}, {"event": "restart"}],
                headers=headers,
            )
            _check_credentials(response)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            logger.warning("rasa resume failed", extra={"error": type(exc).__name__})
            raise BotUnavailable() from exc

    def with_people(self, sender: str) -> None:
        """Tell the dialogue that people have the conversation (the slot its
        rules read: acknowledge, answer only LGPD requests), also when the
        handoff wasn't the bot's own (Rasa down at the time) or its tracker
        was paused by an older bot.

        Raises:
            BotUnavailable: Rasa unreachable or refusing.
        """
        url = f"{self._base_url}/conversations/{sender}/tracker/events"
        headers = self._auth(sender)
        try:
            response = self._http.post(
                url,
                params={"include_events": "NONE"},
                json=[
                    {"event": "resume"},
                    {"event": "slot", "name": WITH_PEOPLE_SLOT, "value": True},
                ],
                headers=headers,
            )
            _check_credentials(response)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            logger.warning(
                "rasa with-people mark failed", extra={"error": type(exc).__name__}
            )
            raise BotUnavailable() from exc


def _check_credentials(response: httpx.Response) -> None:
    """Rasa refusing our token is a configuration fault, not a passing one."""
    if response.status_code in (401, 403):
        logger.error(
            "rasa refused the credentials", extra={"status": response.status_code}
        )
        raise BotUnavailable()


def _replies_after(events: list[Any], wamid: str) -> list[BotReply] | None:
    """The bot utterances that followed the user event of ``wamid``."""
    start = None
    for index, event in enumerate(events):
        if (
            isinstance(event, dict)
            and event.get("event") == "user"
            and (event.get("metadata") or {}).get("wamid") == wamid
        ):
            start = index
    if start is None:
        return None
    utterances = []
    for event in events[start + 1 :]:
        if not isinstance(event, dict) or event.get("event") == "user":
            break
        if event.get("event") == "bot":
            buttons = (event.get("data") or {}).get("buttons")
            utterances.append({"text": event.get("text"), "buttons": buttons})
    return _parse_replies(utterances)


def _parse_replies(payload: Any) -> list[BotReply]:
    if not isinstance(payload, list):
        raise ValueError("Rasa answered something other than a list")
    replies = []
    for item in payload:
        if not isinstance(item, dict) or not item.get("text"):
            continue  # images, custom payloads: not sent to WhatsApp
        buttons = tuple(
            BotButton(title=str(b.get("title", "")), payload=str(b.get("payload", "")))
            for b in item.get("buttons") or ()
            if isinstance(b, dict)
        )
        replies.append(BotReply(text=str(item["text"]), buttons=buttons))
    return replies
