"""Live updates to open consoles over an API Gateway WebSocket API.

A console connects with its ID token (``?token=``); ``connect`` checks it and
records the connection for the tenant. After a change commits, ``publish``
posts a small event to every connection of the tenant through API Gateway's
management API (``POST /@connections/{id}``); locally infra/live_gateway.py
serves that same API. Events carry ids and kinds only, never personal data:
the console fetches what it shows through the API, which checks access and
audits it.

Publishing is best effort: a console that misses an event still sees the
change on its next fetch (it refetches on reconnect), and a failing push must
never undo or delay the change itself for long.

A deactivated attendant hears nothing more: ``disconnect_attendant`` forgets
and closes their connections (``DELETE /@connections/{id}``), ``connect``
records a connection only while the attendant is active (locking their row,
so it can't race a deactivation), and ``publish`` pushes only to active
attendants' connections.
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from atende import aws
from atende.config import get_settings
from atende.db import lookup_transaction, tenant_transaction
from atende.errors import Forbidden
from atende.identity import AttendantPrincipal, authenticate_bearer
from atende.observability import logger, metrics

__all__ = ["EventType", "connect", "disconnect", "disconnect_attendant", "publish"]

# message.status: a delivery status changed (only the open conversation cares).
# presence.changed: an attendant's presence changed (supervisors' load panel).
EventType = Literal[
    "queue.changed", "conversation.updated", "message.status", "presence.changed"
]

# API Gateway answers 410 Gone to a push until a connection's $connect has
# completed, so a connection recorded this recently is not gone, only not
# open yet: forgetting it would leave that console deaf until it reconnects.
CONNECT_GRACE = timedelta(seconds=30)

# Short: a worker or API call waits on these before returning.
_PUSH_CONFIG = Config(
    connect_timeout=2, read_timeout=2, retries={"mode": "standard", "max_attempts": 2}
)


@functools.cache
def _management_client(endpoint: str) -> Any:
    return aws.new_client(
        "apigatewaymanagementapi", endpoint_url=endpoint, config=_PUSH_CONFIG
    )


def connect(connection_id: str, token: str | None) -> AttendantPrincipal:
    """Accept a console connection whose token is valid; remember it.

    Raises:
        Unauthenticated / Forbidden: as for any console request, and Forbidden
            when the attendant was deactivated since the token was checked.
    """
    principal = authenticate_bearer(f"Bearer {token or ''}")
    with tenant_transaction(principal.tenant_id) as conn:
        # FOR SHARE: a deactivation committing meanwhile waits for this
        # connection to be recorded (and then closes it), or is seen here.
        active = conn.execute(
            "SELECT 1 FROM attendants WHERE id = %s AND active FOR SHARE",
            (principal.attendant_id,),
        ).fetchone()
        if active is None:
            raise Forbidden("Seu acesso ao console está desativado.")
        conn.execute(
            "INSERT INTO console_connections (tenant_id, connection_id, attendant_id)"
            " VALUES (current_tenant_id(), %s, %s) ON CONFLICT DO NOTHING",
            (connection_id, principal.attendant_id),
        )
    return principal


def disconnect(connection_id: str) -> tuple[UUID, UUID] | None:
    """Forget a connection (its tenant is known only through the row);
    returns whose it was (tenant id, attendant id), None if unknown."""
    with lookup_transaction(connection_id=connection_id) as conn:
        row = conn.execute(
            "DELETE FROM console_connections WHERE connection_id = %s"
            " RETURNING tenant_id, attendant_id",
            (connection_id,),
        ).fetchone()
    return (row["tenant_id"], row["attendant_id"]) if row else None


def disconnect_attendant(tenant_id: UUID, attendant_id: UUID) -> int:
    """Forget and close every open console of an attendant (deactivation);
    returns how many were closed. The rows go first: even if closing a socket
    fails, nothing is pushed to it again."""
    with tenant_transaction(tenant_id) as conn:
        connection_ids = [
            str(row["connection_id"])
            for row in conn.execute(
                "DELETE FROM console_connections WHERE attendant_id = %s"
                " RETURNING connection_id",
                (attendant_id,),
            ).fetchall()
        ]
    endpoint = get_settings().console_live_endpoint
    if not endpoint or not connection_ids:
        return 0
    client, closed = _management_client(endpoint), 0
    for connection_id in connection_ids:
        try:
            client.delete_connection(ConnectionId=connection_id)
            closed += 1
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "GoneException":
                logger.warning("closing a console failed", extra={"error": str(error)})
        except (BotoCoreError, OSError) as error:
            logger.warning("closing a console failed", extra={"error": str(error)})
    logger.info(
        "deactivated attendant's consoles closed",
        extra={"attendant_id": str(attendant_id), "closed": closed},
    )
    return closed


def _forget(tenant_id: UUID | str, connection_ids: list[str]) -> None:
    with tenant_transaction(tenant_id) as conn:
        conn.execute(
            "DELETE FROM console_connections WHERE connection_id = ANY(%s)",
            (connection_ids,),
        )


def publish(
    tenant_id: UUID | str,
    event: EventType,
    *,
    conversation_id: UUID | None = None,
) -> int:
    """Push ``event`` to the tenant's open consoles; returns how many got it.

    Call after the change has committed. Never raises.
    """
    endpoint = get_settings().console_live_endpoint
    if not endpoint:
        return 0
    body = json.dumps(
        {
            "type": event,
            "conversation_id": str(conversation_id) if conversation_id else None,
            "at": datetime.now(UTC).isoformat(),
        }
    ).encode()
    delivered, gone = 0, []
    try:
        with tenant_transaction(tenant_id) as conn:
            # connection id -> whether its $connect may still be under way
            connections = {
                str(row["connection_id"]): bool(row["connecting"])
                for row in conn.execute(
                    "SELECT c.connection_id, c.connected_at > now() - %s AS connecting"
                    " FROM console_connections c"
                    " JOIN attendants a ON a.tenant_id = c.tenant_id"
                    " AND a.id = c.attendant_id WHERE a.active",
                    (CONNECT_GRACE,),
                ).fetchall()
            }
        client = _management_client(endpoint)
        for connection_id, connecting in connections.items():
            try:
                client.post_to_connection(ConnectionId=connection_id, Data=body)
                delivered += 1
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") == "GoneException":
                    if not connecting:
                        gone.append(connection_id)
                else:
                    logger.warning("live push failed", extra={"event": event})
        if gone:
            _forget(tenant_id, gone)
    except (BotoCoreError, ClientError, OSError):
        logger.warning("live updates unavailable", extra={"event": event})
    except Exception:  # never let a push break the change that caused it
        logger.exception("live push error", extra={"event": event})
    if delivered:
        metrics.add_metric(name="ConsoleEventsPushed", unit="Count", value=delivered)
    return delivered
