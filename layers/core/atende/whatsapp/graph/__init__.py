"""WhatsApp Cloud API (Meta Graph API) client: sends messages and files, marks
them read.

One :class:`GraphClient` per business phone number. It

- validates Meta's limits locally (button and list sizes, text lengths) and
  fails with :class:`~atende.errors.InvalidInput` before any HTTP call;
- enforces the 24-hour customer service window when the caller says when the
  customer last wrote (:func:`ensure_within_window`);
- paces sends with a token bucket (80 messages/s by default, Meta's default
  throughput per number);
- retries throttling, 5xx and network failures with exponential backoff and
  full jitter, honouring ``Retry-After``; other 4xx fail at once;
- fails fast through a :class:`CircuitBreaker` while Meta keeps failing.

Recipients are a phone number (``to``) or, since the 2026 usernames rollout, a
business-scoped user ID (BSUID, e.g. ``BR.1502576394655843``) sent in the
``recipient`` field; when both are known the phone wins, as it does at Meta.

The access token is never logged nor put in an exception message or ``repr``.

Modules:

- :mod:`~atende.whatsapp.graph.errors` — what a call can fail with, Meta's
  retryable error codes.
- :mod:`~atende.whatsapp.graph.limits` — Meta's limits, the 24-hour window,
  template checks.
- :mod:`~atende.whatsapp.graph.resilience` — circuit breaker and token bucket.
- :mod:`~atende.whatsapp.graph.values` — recipients, list rows, sent messages,
  media.
- :mod:`~atende.whatsapp.graph.client` — :class:`GraphClient`, the HTTP calls.
- :mod:`~atende.whatsapp.graph.media_calls` — the media calls (a received
  file's URL and bytes; uploading, sending, deleting ours).
"""

from __future__ import annotations

from atende.whatsapp.graph.client import GraphClient
from atende.whatsapp.graph.errors import (
    CircuitOpenError,
    GraphApiError,
    OutsideCustomerWindow,
    WhatsAppUnavailable,
)
from atende.whatsapp.graph.limits import (
    CUSTOMER_WINDOW,
    check_template,
    ensure_within_window,
)
from atende.whatsapp.graph.resilience import CircuitBreaker, TokenBucket
from atende.whatsapp.graph.values import (
    ListRow,
    ListSection,
    MediaInfo,
    MessageTemplate,
    Recipient,
    SentMessage,
    TemplatePage,
)

__all__ = [
    "CUSTOMER_WINDOW",
    "CircuitBreaker",
    "CircuitOpenError",
    "GraphApiError",
    "GraphClient",
    "ListRow",
    "ListSection",
    "MediaInfo",
    "MessageTemplate",
    "OutsideCustomerWindow",
    "Recipient",
    "SentMessage",
    "TemplatePage",
    "TokenBucket",
    "WhatsAppUnavailable",
    "check_template",
    "ensure_within_window",
]
