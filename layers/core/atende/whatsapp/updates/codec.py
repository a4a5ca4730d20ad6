"""Restoring an update from its ``to_json()`` output: :func:`update_from_json`.

``to_json()`` (on every update) writes the fields with datetimes as ISO 8601,
decimals as text and tuples as lists, plus the update's ``kind``;
:func:`update_from_json` picks the class by ``kind`` and rebuilds each field
from the class's type hints, so the result equals the original.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any, Union, get_args, get_origin, get_type_hints

from atende.whatsapp.updates.kinds import _KINDS, Update

__all__ = ["update_from_json"]


def update_from_json(data: Mapping[str, Any]) -> Update:
    """Restore an update from :meth:`to_json` output.

    Args:
        data: What ``update.to_json()`` returned (possibly through JSON text).

    Returns:
        An update equal to the original.

    Raises:
        ValueError: ``data`` is not a serialized update.
    """
    if not isinstance(data, Mapping):
        raise ValueError("a serialized update must be an object")
    cls = _KINDS.get(str(data.get("kind")))
    if cls is None:
        raise ValueError(f"unknown update kind: {data.get('kind')!r}")
    update: Update = _from_dict(cls, data)
    return update


@cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _from_dict(cls: type, data: Any) -> Any:
    if not isinstance(data, Mapping):
        raise ValueError(f"{cls.__name__}: expected an object")
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            raise ValueError(f"{cls.__name__}: missing {f.name!r}")
        kwargs[f.name] = _decode(
            hints[f.name], data[f.name], f"{cls.__name__}.{f.name}"
        )
    return cls(**kwargs)


def _decode(tp: Any, value: Any, where: str) -> Any:
    """Rebuild a value of type ``tp`` from its :func:`_encode` form."""
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in get_args(tp):
            return None
        inner = [arg for arg in get_args(tp) if arg is not type(None)]
        return _decode(inner[0], value, where)
    if origin is tuple:
        if not isinstance(value, list):
            raise ValueError(f"{where}: expected a list")
        item_tp = get_args(tp)[0]
        return tuple(_decode(item_tp, item, where) for item in value)
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ValueError(f"{where}: expected an object")
        return dict(value)
    if tp is datetime:
        if not isinstance(value, str):
            raise ValueError(f"{where}: expected an ISO 8601 datetime")
        return datetime.fromisoformat(value)
    if tp is Decimal:
        if not isinstance(value, str):
            raise ValueError(f"{where}: expected a decimal as text")
        return Decimal(value)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{where}: expected a number")
        return float(value)
    if tp in (str, int, bool):
        if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
            raise ValueError(f"{where}: expected {tp.__name__}")
        return value
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _from_dict(tp, value)
    raise ValueError(f"{where}: unsupported type {tp!r}")
