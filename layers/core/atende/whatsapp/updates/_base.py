"""What every update type shares: ``to_json()`` and the encoding behind it.

Every update exposes ``phone_number_id``, ``customer_key`` (the FIFO group key
with the tenant), ``dedup_id`` and ``to_json()``;
:func:`~atende.whatsapp.updates.codec.update_from_json` restores the exact same
object from ``to_json()``'s output.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar


class _UpdateBase:
    """Serialization shared by every update type."""

    __slots__ = ()
    KIND: ClassVar[str]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; :func:`update_from_json` restores the object.

        Returns:
            The fields (datetimes as ISO 8601, decimals as text) plus ``kind``.
        """
        encoded: dict[str, Any] = _encode(self)
        return {"kind": self.KIND, **encoded}


def _encode(value: Any) -> Any:
    """Dataclasses, tuples, datetimes and decimals as JSON-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)
        }
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple | list):
        return [_encode(item) for item in value]
    if isinstance(value, Mapping):
        return {str(k): _encode(v) for k, v in value.items()}
    return value
