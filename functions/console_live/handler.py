"""API Gateway WebSocket routes of the console's live updates.

``$connect`` authenticates the console (its ID token in ``?token=``: browsers
can't set headers on WebSockets) and records the connection; ``$disconnect``
forgets it. The attendant's presence follows
(``atende.conversations.assignment``): away when their last console drops,
online again on reconnect if they had chosen online. Consoles send nothing:
any other route is acknowledged and ignored. Pushing is done by
``atende.live.publish`` through the management API.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from atende import live
from atende.conversations import assignment
from atende.errors import AtendeError, http_status
from atende.observability import logger


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], _context: LambdaContext) -> dict[str, Any]:
    request = event.get("requestContext") or {}
    route, connection_id = request.get("routeKey"), str(request.get("connectionId"))
    if route == "$connect":
        token = (event.get("queryStringParameters") or {}).get("token")
        try:
            principal = live.connect(connection_id, token)
        except AtendeError as error:
            logger.info("console connection refused", extra={"code": error.code})
            return {"statusCode": http_status(error)}
        logger.info(
            "console connected", extra={"attendant_id": str(principal.attendant_id)}
        )
        assignment.console_connected(principal.tenant_id, principal.attendant_id)
    elif route == "$disconnect":
        owner = live.disconnect(connection_id)
        if owner is not None:
            assignment.console_disconnected(*owner)
    return {"statusCode": 200}
