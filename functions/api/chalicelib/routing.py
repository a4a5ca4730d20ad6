"""API Gateway's catch-all resource, dispatched as Chalice dispatches.

template.yaml declares a few paths and sends every other one through
``/{proxy+}``. Such an event names that resource, not the route, and Chalice
dispatches on the resource: without this, every route served only by the
proxy (console, LGPD, reports, the contract) would be a 500 in AWS. The path
is matched here as API Gateway matches declared resources (a literal segment
before a parameter); a path that matches no route is left to the app's
catch-all route, a 404 in the API's error shape.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

PROXY = "/{proxy+}"


def _is_parameter(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def match(path: str, routes: Iterable[str]) -> tuple[str, dict[str, str]] | None:
    """The route ``path`` falls under and its path parameters, if any."""
    parts = path.rstrip("/").split("/") if path != "/" else [""]
    found: list[tuple[tuple[bool, ...], str, dict[str, str]]] = []
    for route in routes:
        segments = route.split("/")
        if route == PROXY or len(segments) != len(parts):
            continue
        captured: dict[str, str] = {}
        for segment, part in zip(segments, parts, strict=True):
            if _is_parameter(segment) and part:
                captured[segment[1:-1]] = part
            elif segment != part:
                break
        else:
            literal = tuple(not _is_parameter(s) for s in segments)
            found.append((literal, route, captured))
    if not found:
        return None
    _literal, route, captured = max(found, key=lambda entry: entry[0])
    return route, captured


def route_event(event: dict[str, Any], routes: Iterable[str]) -> dict[str, Any]:
    """``event`` as if API Gateway had declared the route it falls under."""
    context = event.get("requestContext") or {}
    proxied = (event.get("pathParameters") or {}).get("proxy")
    if context.get("resourcePath") != PROXY or proxied is None:
        return event
    found = match("/" + proxied, routes)
    if found is None:
        return event
    route, parameters = found
    return {
        **event,
        "resource": route,
        "pathParameters": parameters or None,
        "requestContext": {**context, "resourcePath": route},
    }
