"""Tolerant readers of a payload's fields.

Unknown keys are ignored; a member of the wrong type reads as absent, except
where the envelope's shape is at stake (lists of objects), which raises
:class:`~atende.errors.InvalidInput`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from atende.errors import InvalidInput


def _invalid(path: str) -> InvalidInput:
    return InvalidInput(
        "O webhook do WhatsApp tem um formato inválido: era esperado um objeto.",
        path=path,
    )


def _list(
    container: Mapping[str, Any], key: str, path: str, *, required: bool = False
) -> list[Any]:
    """A list member; absent is empty unless ``required``; else InvalidInput."""
    value = container.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list):
        raise InvalidInput(
            "O webhook do WhatsApp tem um formato inválido: era esperada uma lista.",
            path=path,
        )
    return value


def _objects(container: Mapping[str, Any], key: str, path: str) -> list[Any]:
    """A list of objects; a non-object item raises InvalidInput."""
    items = _list(container, key, path)
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise _invalid(f"{path}[{i}]")
    return items


def _is_obj(container: Mapping[str, Any], key: str) -> bool:
    return isinstance(container.get(key), Mapping)


def _obj(container: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """An optional sub-object; anything else reads as empty."""
    value = container.get(key)
    return value if isinstance(value, Mapping) else {}


def _text(container: Mapping[str, Any], key: str) -> str | None:
    """A string member (integers become text); empty or absent is None."""
    value = container.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value:
        return value
    return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


def _timestamp(value: Any) -> datetime | None:
    """Epoch seconds (string or number) as an aware UTC datetime."""
    seconds = _int(value)
    if seconds is None or seconds < 0:
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
