"""moto's SQS made fit for a burst from several processes (the local stack
only; moto is pinned). Nothing in AWS runs this.

1. Linear sends. moto 5.2's ``Queue.attributes`` builds every attribute on each
   access, and three of them count the queue's messages, each message's
   visibility computed from a fresh timestamp. ``send_message`` reads
   ``attributes`` three times just to learn ``ContentBasedDeduplication``, so
   each send cost O(messages in the queue): with a few hundred waiting, 80% of
   moto's CPU went there and the local webhook took 10-20 requests/s. The
   attributes become a read-only mapping that computes a value when it is read
   (the same values moto's own property returns).
2. No lost messages. ``Queue.delete_message`` rebuilds the message list without
   the queue's lock while ``add_message`` appends under it: a message enqueued
   during a delete vanished (the soak lost 3 of 240 acknowledged messages with
   four workers deleting while the API enqueued). Sends, deletes, receives and
   visibility changes of one queue now take that lock (a re-entrant condition,
   which a long poll releases while it waits).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any


class _QueueAttributes(Mapping[str, Any]):
    """moto's ``Queue.attributes`` dict, computed per key on demand."""

    def __init__(self, queue: Any) -> None:
        self._queue = queue
        names = list(queue.BASE_ATTRIBUTES)
        if queue.fifo_queue:
            names += queue.FIFO_ATTRIBUTES
        if queue.kms_master_key_id:
            names += queue.KMS_ATTRIBUTES
        self._names = list(dict.fromkeys(names))

    def __getitem__(self, name: str) -> Any:
        from moto.core.utils import camelcase_to_underscores

        if name not in self._names:
            raise KeyError(name)
        value = getattr(self._queue, camelcase_to_underscores(name))
        if name == "RedrivePolicy" and value:
            value = json.dumps(value)
        if isinstance(value, bool):
            value = str(value).lower()
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def _locked_queue_method(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(queue: Any, *args: Any, **kwargs: Any) -> Any:
        with queue._messages_lock:
            return method(queue, *args, **kwargs)

    return locked


def _locked_backend_method(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(backend: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        with backend.get_queue(queue_name)._messages_lock:
            return method(backend, queue_name, *args, **kwargs)

    return locked


def apply() -> None:
    """Patch moto's SQS queues (idempotent)."""
    from moto.sqs.models import Queue, SQSBackend

    Queue.attributes = property(_QueueAttributes)  # type: ignore[assignment]
    if getattr(Queue.add_message, "__wrapped__", None) is None:
        Queue.add_message = _locked_queue_method(Queue.add_message)  # type: ignore[method-assign]
        Queue.delete_message = _locked_queue_method(Queue.delete_message)  # type: ignore[method-assign]
        for name in ("receive_message", "change_message_visibility"):
            setattr(SQSBackend, name, _locked_backend_method(getattr(SQSBackend, name)))
