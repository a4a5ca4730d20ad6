"""The local stack's API Gateway: Chalice's local server, routed as the
deployed API is (template.yaml: a few declared paths, ``/{proxy+}`` for the
rest), so a path without a route reaches the app, which answers 404 in the
API's error shape. Chalice's own stand-in answered 403 "Missing
Authentication Token" (in English) before the app ever saw it."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from chalice import local

PROXY = "/{proxy+}"


class ProxyRouteMatcher(local.RouteMatcher):
    """Chalice's matcher, falling back to the catch-all resource."""

    def match_route(self, url: str) -> local.MatchResult:
        try:
            return super().match_route(url)
        except ValueError:
            parsed = urlparse(url)
            query = parse_qs(parsed.query, keep_blank_values=True)
            return local.MatchResult(PROXY, {"proxy": parsed.path.lstrip("/")}, query)


def route_like_api_gateway() -> None:
    """Every local gateway built from now on matches as API Gateway does."""
    local.RouteMatcher = ProxyRouteMatcher  # type: ignore[misc]
