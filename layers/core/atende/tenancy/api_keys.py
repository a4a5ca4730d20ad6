"""API keys: random, shown once, stored as a SHA-256 hash plus a short prefix.

Keys carry 256 bits of randomness, so a fast hash is enough (no password
stretching needed) and lets authentication find the key by its hash.
"""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "atd_"
_READABLE_CHARS = 12


def generate_api_key() -> str:
    """A new API key (``atd_`` + 43 URL-safe characters)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(raw_key: str) -> bytes:
    """The stored form of a key."""
    return hashlib.sha256(raw_key.encode()).digest()


def readable_prefix(raw_key: str) -> str:
    """The part of a key kept readable, to tell keys apart in the console."""
    return raw_key[:_READABLE_CHARS]


def looks_like_api_key(raw_key: str) -> bool:
    """Cheap shape check before touching the database."""
    return raw_key.startswith(KEY_PREFIX) and 20 <= len(raw_key) <= 100
