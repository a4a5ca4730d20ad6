"""The document pipeline on moto: the real ASL, its Lambda tasks routed to the
real task handlers (used by `make run` and the integration tests).

moto executes state machines when its config says so; Lambda tasks then reach
its simple Lambda backend, whose ``invoke`` is routed here to the handlers in
functions/document_tasks, with Lambda's error contract (FunctionError header
and an ``errorType``/``errorMessage`` payload).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from atende import aws
from infra.handlers import load_handler
from infra.lambda_runtime import LocalContext

ROOT = Path(__file__).resolve().parents[1]
ASL = ROOT / "statemachines" / "document_pipeline.asl.json"
STATE_MACHINE_NAME = "atende-document-pipeline"

# ASL placeholder → (function name, handler attribute in document_tasks).
TASKS = {
    "InspectFunctionArn": ("atende-document-inspect", "inspect"),
    "ReadPageFunctionArn": ("atende-document-read-page", "read_page"),
    "OcrPageFunctionArn": ("atende-document-ocr-page", "read_page"),
    "ExtractFunctionArn": ("atende-document-extract", "extract"),
    "FailFunctionArn": ("atende-document-fail", "fail"),
    "PurgeFunctionArn": ("atende-document-purge", "purge"),
}

Handler = Callable[[dict[str, Any], Any], Any]


def enable_execution() -> None:
    """Tell moto to run state machines and use its Docker-free Lambda."""
    from moto.core.config import default_user_config

    default_user_config["stepfunctions"] = {"execute_state_machine": True}
    default_user_config["lambda"] = {"use_docker": False}


def _handlers() -> dict[str, Handler]:
    module = load_handler("functions/document_tasks/handler.py")
    return {name: getattr(module, attr) for name, attr in TASKS.values()}


def route_invocations(handlers: dict[str, Handler] | None = None) -> None:
    """Send moto's Lambda invocations to the real handlers."""
    from moto.awslambda_simple.models import LambdaSimpleBackend

    routes = handlers or _handlers()

    def invoke(
        self: Any,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: Any,
    ) -> bytes:
        name = function_name.rsplit(":", 1)[-1]
        handler = routes[name]
        event = json.loads(body) if body else {}
        try:
            result = handler(event, LocalContext(name))
        except Exception as exc:  # Lambda's contract for a function error
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(
                {"errorType": type(exc).__name__, "errorMessage": str(exc)}
            ).encode()
        return json.dumps(result).encode()

    LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]


def _empty_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "# routed to functions/document_tasks\n")
    return buffer.getvalue()


def deploy(*, page_concurrency: int = 10) -> str:
    """Create the task functions and the state machine in moto; returns its ARN."""
    iam = aws.client("iam")
    role_arn = iam.create_role(
        RoleName="atende-document-pipeline",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    lambda_client = aws.client("lambda")
    arns: dict[str, str] = {}
    for placeholder, (name, _attr) in TASKS.items():
        arns[placeholder] = lambda_client.create_function(
            FunctionName=name,
            Runtime="python3.11",
            Role=role_arn,
            Handler="handler.handler",
            Code={"ZipFile": _empty_zip()},
        )["FunctionArn"]
    definition = ASL.read_text()
    for placeholder, arn in arns.items():
        definition = definition.replace("${" + placeholder + "}", arn)
    parsed = json.loads(definition)
    parsed["States"]["ReadPages"]["MaxConcurrency"] = page_concurrency
    return str(
        aws.client("stepfunctions").create_state_machine(
            name=STATE_MACHINE_NAME, definition=json.dumps(parsed), roleArn=role_arn
        )["stateMachineArn"]
    )


def create_bucket(name: str) -> None:
    aws.client("s3").create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": "sa-east-1"}
    )
