"""Process wiring: every long-lived part, built once per process from the settings.

The one place that knows how the packages fit together: the conversation engine
with its Rasa client and Graph API clients (one per business number), the
update queue and its dead-letter queue, the tenant directory, the channel's
secrets. Handlers and the CLI ask for parts here; packages never import it.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from pydantic import SecretStr

from atende import aws
from atende.bot import RasaClient
from atende.config import get_settings
from atende.conversations.bursts import TurnDue, TurnQueue
from atende.conversations.dead_letters import DeadLetterQueue
from atende.conversations.engine import ConversationEngine, EngineConfig
from atende.errors import ServiceUnavailable
from atende.whatsapp.graph import GraphClient
from atende.whatsapp.webhook import TenantDirectory, UpdateQueue


class ChannelNotConfigured(ServiceUnavailable):
    code = "CANAL_NAO_CONFIGURADO"
    message = "O canal WhatsApp não está configurado neste ambiente."


@dataclass(frozen=True)
class WhatsAppSecrets:
    app_secret: str
    verify_token: str
    access_token: str

    def __repr__(self) -> str:
        return "WhatsAppSecrets(***)"


@lru_cache(maxsize=1)
def secrets() -> WhatsAppSecrets:
    """From WHATSAPP_SECRET_ARN (JSON) in AWS, or the WHATSAPP_* variables."""
    settings = get_settings()
    if settings.whatsapp_secret_arn:
        raw = aws.client("secretsmanager").get_secret_value(
            SecretId=settings.whatsapp_secret_arn
        )
        values = json.loads(raw["SecretString"])
        return WhatsAppSecrets(
            values["app_secret"], values["verify_token"], values["access_token"]
        )
    parts = (
        settings.whatsapp_app_secret,
        settings.whatsapp_verify_token,
        settings.whatsapp_access_token,
    )
    if any(p is None for p in parts):
        raise ChannelNotConfigured()
    app_secret, verify_token, access_token = (p.get_secret_value() for p in parts if p)
    return WhatsAppSecrets(app_secret, verify_token, access_token)


def _secret(value: SecretStr | None, arn: str | None) -> str | None:
    """A plain secret: from the environment, or the secret string at ``arn``."""
    if value is not None:
        return value.get_secret_value()
    if arn:
        raw = aws.client("secretsmanager").get_secret_value(SecretId=arn)
        return str(raw["SecretString"])
    return None


@lru_cache(maxsize=1)
def rasa_jwt_secret() -> str | None:
    """Signs the JWTs sent to Rasa (RASA_JWT_SECRET or RASA_JWT_SECRET_ARN)."""
    settings = get_settings()
    return _secret(settings.rasa_jwt_secret, settings.rasa_jwt_secret_arn)


@lru_cache(maxsize=1)
def action_signing_key() -> str | None:
    """Signs (worker) and verifies (action server) the tenant in Rasa's metadata."""
    settings = get_settings()
    return _secret(settings.action_signing_key, settings.action_signing_key_arn)


@lru_cache(maxsize=1)
def directory() -> TenantDirectory:
    return TenantDirectory()


@lru_cache(maxsize=1)
def queue() -> UpdateQueue:
    url = get_settings().conversation_queue_url
    if not url:
        raise ChannelNotConfigured()
    return UpdateQueue(url)


@lru_cache(maxsize=1)
def dead_letters() -> DeadLetterQueue:
    url = get_settings().conversation_dlq_url
    if not url:
        raise ChannelNotConfigured()
    return DeadLetterQueue(url)


_graph_clients: dict[str, GraphClient] = {}
_graph_lock = threading.Lock()


def graph_client(phone_number_id: str) -> GraphClient:
    """One client per business number: its own send rate and circuit breaker."""
    with _graph_lock:
        client = _graph_clients.get(phone_number_id)
        if client is None:
            settings = get_settings()
            client = GraphClient(
                phone_number_id=phone_number_id,
                access_token=secrets().access_token,
                base_url=settings.graph_base_url,
                api_version=settings.graph_api_version,
                rate_per_second=settings.whatsapp_send_rate_per_s,
            )
            _graph_clients[phone_number_id] = client
        return client


@lru_cache(maxsize=1)
def engine() -> ConversationEngine:
    settings = get_settings()
    return ConversationEngine(
        bot=RasaClient(
            settings.rasa_url,
            jwt_secret=rasa_jwt_secret(),
            signing_key=action_signing_key(),
            timeout_s=settings.rasa_timeout_s,
        ),
        graph_for=graph_client,
        config=EngineConfig(
            idle_timeout=timedelta(minutes=settings.conversation_idle_timeout_min),
            turn_lease=timedelta(seconds=settings.bot_turn_lease_s),
            parked_status_ttl=timedelta(minutes=settings.parked_status_ttl_min),
            burst_window=timedelta(milliseconds=settings.burst_window_ms),
        ),
        schedule_turn=_schedule_turn,
    )


def _schedule_turn(due: TurnDue) -> None:
    """A burst's turn record, through the conversation queue (resolved when
    used: only the worker, which has the queue, stores bursts)."""
    TurnQueue(queue().queue_url).schedule(due)


def reset() -> None:
    """Forget every built part (tests, settings changes)."""
    for cached in (
        secrets,
        rasa_jwt_secret,
        action_signing_key,
        directory,
        queue,
        dead_letters,
        engine,
    ):
        cached.cache_clear()
    with _graph_lock:
        for client in _graph_clients.values():
            client.close()
        _graph_clients.clear()
