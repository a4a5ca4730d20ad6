"""The WhatsApp Cloud API channel.

- :mod:`~atende.whatsapp.updates` — typed webhook updates and their parser.
- :mod:`~atende.whatsapp.webhook` — signature, subscription check, enqueue.
- :mod:`~atende.whatsapp.graph` — the Graph API client (retries, breaker, rate).
- :mod:`~atende.whatsapp.media` — media fetched once into the tenant's store.

The channel knows nothing of conversations: :mod:`atende.composition` builds
the engine that uses it.
"""
