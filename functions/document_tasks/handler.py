"""Step Functions task handlers of the document pipeline (thin: one use case each).

Domain errors leave as ``PipelineTaskError`` whose message is JSON with the
stable code and PT-BR message, so the Catch path records them as they are.
Transient problems leave as ``TransientError``, which the state machine retries.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from atende.documents import jobs
from atende.errors import AtendeError, DependencyFailed
from atende.observability import logger

Event = dict[str, Any]


class PipelineTaskError(Exception):
    """A permanent failure of a task; its message is ``{"code", "message"}``."""


class TransientError(Exception):
    """A failure worth retrying (throttling, a dependency briefly down)."""


def task(fn: Callable[[Event], Any]) -> Callable[[Event, Any], Any]:
    @functools.wraps(fn)
    def handler(event: Event, _context: Any) -> Any:
        logger.append_keys(document_id=event.get("document_id"), task=fn.__name__)
        try:
            return fn(event)
        except (DependencyFailed, BotoCoreError, ClientError) as exc:
            logger.warning(
                "transient task failure", extra={"error": type(exc).__name__}
            )
            raise TransientError(type(exc).__name__) from exc
        except AtendeError as exc:
            raise PipelineTaskError(
                json.dumps({"code": exc.code, "message": exc.user_message})
            ) from exc

    return handler


@task
def inspect(event: Event) -> list[dict[str, Any]]:
    return jobs.inspect(event["tenant_id"], event["document_id"])


@task
def read_page(event: Event) -> dict[str, Any]:
    return jobs.read_page(
        event["tenant_id"],
        event["document_id"],
        int(event["index"]),
        use_ocr=bool(event["ocr"]),
    )


@task
def extract(event: Event) -> dict[str, Any]:
    return jobs.extract(event["tenant_id"], event["document_id"], event["pages"])


@task
def fail(event: Event) -> None:
    code, message = jobs.failure_from_state(event.get("error"))
    jobs.fail(event["tenant_id"], event["document_id"], code=code, message=message)


@task
def purge(event: Event) -> dict[str, int]:
    return {"deleted": jobs.purge(event["tenant_id"], event["document_id"])}
