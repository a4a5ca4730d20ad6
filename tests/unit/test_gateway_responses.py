"""API Gateway's own refusals (template.yaml, the Api's GatewayResponses)
use the API's error shape, codes and statuses (issue 18, point 13): a client
parses one shape whether the gateway or the function refused it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cfnlint.decode import decode

from atende import errors

ROOT = Path(__file__).resolve().parents[2]


def _codes(kind: type[errors.AtendeError]) -> dict[str, type[errors.AtendeError]]:
    found = {kind.code: kind}
    for sub in kind.__subclasses__():
        found.update(_codes(sub))
    return found


def _gateway_responses() -> dict[str, Any]:
    template, matches = decode(str(ROOT / "template.yaml"))
    assert template is not None, matches
    responses: dict[str, Any] = template["Resources"]["Api"]["Properties"][
        "GatewayResponses"
    ]
    return responses


def test_the_gateway_answers_in_the_api_s_error_shape() -> None:
    responses = _gateway_responses()
    assert {
        "MISSING_AUTHENTICATION_TOKEN",
        "THROTTLED",
        "REQUEST_TOO_LARGE",
        "DEFAULT_4XX",
        "DEFAULT_5XX",
    } <= set(responses)
    codes = _codes(errors.AtendeError)
    for kind, response in responses.items():
        body = json.loads(response["ResponseTemplates"]["application/json"])
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
        error_kind = codes[body["error"]["code"]]  # a code errors.py defines
        if "StatusCode" in response:
            assert int(response["StatusCode"]) == errors.status_of(error_kind), kind
    # No route for the method: a 404, in Portuguese, pointing at the reference.
    missing = responses["MISSING_AUTHENTICATION_TOKEN"]
    assert missing["StatusCode"] == "404"
    assert "/docs" in missing["ResponseTemplates"]["application/json"]
