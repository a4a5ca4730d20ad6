"""Fixtures of the integration tests: a provisioned WhatsApp channel, the
attendants' user pool, a Rasa tracker store, the storage guard's refusals. The
helpers they use live in ``tests/support``; the session database and moto come
from ``tests/conftest.py``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from atende.db.embedded import EmbeddedDatabase
from tests.support.channel import Channel, open_channel
from tests.support.identity import IdentityPool, open_identity_pool
from tests.support.lgpd import TrackerStore, open_tracker_store
from tests.support.storage import RefusedKeys, watch_refused_keys


@pytest.fixture
def channel(
    database: EmbeddedDatabase, aws_mock: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Channel]:
    """A tenant with a business number, moto's FIFO queue and dead-letter
    queue, the Graph API stand-in and a Rasa stand-in wired into the engine."""
    yield from open_channel(database, aws_mock, monkeypatch)


@pytest.fixture
def identity_pool(
    database: EmbeddedDatabase, aws_mock: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[IdentityPool]:
    """moto's user pool and console client, as template.yaml declares them."""
    yield from open_identity_pool(database, aws_mock, monkeypatch)


@pytest.fixture
def tracker_store(database: EmbeddedDatabase) -> Iterator[TrackerStore]:
    """A throw-away Rasa tracker database on the session's server."""
    yield from open_tracker_store(database)


@pytest.fixture
def refused_keys() -> Iterator[RefusedKeys]:
    """Stored S3 references the storage guard refused: metric and log lines."""
    yield from watch_refused_keys()
