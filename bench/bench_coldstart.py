"""Cold starts of the Lambda handlers: INIT (import) and first call.

What runs is what ``sam build`` ships. The core layer is built as the
template builds it (``infra/lambda_deps.py build-layer``: the lock's versions
for the Lambda platform, compiled to bytecode) into a temporary folder; each
handler module is imported in a fresh interpreter started with ``-S`` (no
site-packages: ``sys.path`` is the function's folder, then the layer, like
``/var/task`` and ``/opt/python``), with the template's environment
(``ATENDE_ENV=aws``, Powertools, tracing on).

1. INIT: the median of 5 imports of each handler module, with the layer's
   bytecode (as shipped now) and without it (as SAM's pip builder shipped the
   layer before: Lambda's file system is read-only, so every cold start
   compiled every module again), next to ``python -S -c pass``.
2. First call: the handler invoked twice in one fresh process against local
   stand-ins (embedded PostgreSQL, moto server, the Graph API stand-in, a
   Rasa stand-in): the first call pays the connection, the AWS clients and
   what is imported lazily; the second is warm.
3. The packages that cost most at import (``-X importtime``, self time).
4. The OCR task (a container image): the same handler in the development
   environment (the image's packages), with the model folders prepared as the
   image bakes them; its first call loads the engine.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.results import machine, write_section  # noqa: E402

RUNS = 5
RUNS_WITHOUT_BYTECODE = 3
APP_SECRET = "bench-app-secret"  # noqa: S105 - local stand-in only
PHONE_NUMBER_ID = "106540352242922"
DISPLAY_NUMBER = "+55 11 4000-1234"
PROXY_URL = (
    "postgresql://atende_app@atende-bench.proxy-c0ffee.sa-east-1.rds.amazonaws.com"
    ":5432/atende?sslmode=require"
)


@dataclass
class Function:
    """One function of template.yaml: code folder, handler, memory, events."""

    name: str
    folder: str
    module: str
    attr: str
    memory_mb: int
    event_kind: str
    env: dict[str, str] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    image: bool = False


FUNCTIONS = [
    Function("ApiFunction", "api", "app", "app", 512, "POST /whatsapp/webhook"),
    Function(
        "ConversationWorkerFunction",
        "conversation_worker",
        "handler",
        "handler",
        512,
        "SQS batch, 1 text message (2 calls)",
    ),
    Function(
        "ConversationSweeperFunction",
        "conversation_sweeper",
        "handler",
        "handler",
        512,
        "schedule",
    ),
    Function(
        "ConsoleLiveFunction", "console_live", "handler", "handler", 512, "$disconnect"
    ),
    Function("RetentionFunction", "retention", "handler", "handler", 512, "schedule"),
    Function(
        "DocumentInspectFunction",
        "document_tasks",
        "handler",
        "inspect",
        512,
        "3-page PDF",
    ),
    Function(
        "DocumentReadPageFunction",
        "document_tasks",
        "handler",
        "read_page",
        1024,
        "one text-layer page",
    ),
    Function(
        "DocumentExtractFunction",
        "document_tasks",
        "handler",
        "extract",
        1024,
        "1 page, no LLM",
    ),
    Function(
        "DocumentPurgeFunction", "document_tasks", "handler", "purge", 512, "purge"
    ),
    Function(
        "DocumentOcrPageFunction (image)",
        "document_tasks",
        "handler",
        "read_page",
        3008,
        "one scanned page (OCR)",
        image=True,
    ),
]

# Runs in the fresh interpreter: import, then call the handler with each event.
_CHILD = r"""
import json, sys, time, uuid
started = time.perf_counter()
import importlib
cfg = json.loads(sys.argv[1])
module = importlib.import_module(cfg["module"])
handler = getattr(module, cfg["attr"])
imported = time.perf_counter()

class Context:
    function_name = cfg["name"]
    function_version = "$LATEST"
    memory_limit_in_mb = cfg["memory_mb"]
    invoked_function_arn = "arn:aws:lambda:sa-east-1:000000000000:function:" + cfg["name"]
    log_group_name = "/aws/lambda/" + cfg["name"]
    log_stream_name = "bench"
    def __init__(self):
        self.aws_request_id = str(uuid.uuid4())
    def get_remaining_time_in_millis(self):
        return 30000

calls, results = [], []
for event in cfg["events"]:
    t = time.perf_counter()
    result = handler(event, Context())
    calls.append((time.perf_counter() - t) * 1000)
    results.append(str(result)[:160])
print("COLDSTART " + json.dumps({
    "import_ms": (imported - started) * 1000, "calls_ms": calls, "results": results,
}))
"""

_IMPORT_ONLY = (
    "import importlib, json, sys, time\n"
    "t = time.perf_counter()\n"
    "importlib.import_module(sys.argv[1])\n"
    "print('COLDSTART ' + json.dumps((time.perf_counter() - t) * 1000))\n"
)


# -- stand-ins ------------------------------------------------------------------


class _RasaStandIn(BaseHTTPRequestHandler):
    """Rasa's REST channel: one reply per message; empty trackers."""

    turns = 0

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path.endswith("/webhook"):
            type(self).turns += 1
        reply = [
            {"recipient_id": body.get("sender"), "text": "Olá! Como posso ajudar?"}
        ]
        self._send(reply if self.path.endswith("/webhook") else {})

    def do_GET(self) -> None:
        self._send({"events": []})

    def _send(self, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args: Any) -> None:
        pass


@contextmanager
def _http_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Stage:
    """The stand-ins and what is seeded in them."""

    tmp: Path
    layer: Path
    aws_url: str
    app_url: str
    graph_url: str
    rasa_url: str
    queue_url: str = ""
    queue_arn: str = ""
    dlq_url: str = ""
    pipeline_arn: str = ""
    tenant_id: str = ""
    documents: list[str] = field(default_factory=list)
    scanned: str = ""
    ocr_models: Path | None = None
    graph: Any = None

    def base_env(self) -> dict[str, str]:
        """The template's Globals, pointed at the stand-ins."""
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.tmp),
            "LANG": "C.UTF-8",
            "ATENDE_ENV": "aws",
            "AWS_REGION": "sa-east-1",
            "AWS_DEFAULT_REGION": "sa-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_ENDPOINT_URL": self.aws_url,
            # No X-Ray daemon here: the tracer runs and drops its segments.
            "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
            "POWERTOOLS_SERVICE_NAME": "atende",
            "POWERTOOLS_METRICS_NAMESPACE": "Atende",
            "LOG_LEVEL": "INFO",
            "KMS_ALIAS_PREFIX": "alias/atende/tenant",
            # In AWS: DATABASE_PROXY_URL (RDS Proxy, IAM token); measured apart.
            "DATABASE_URL": self.app_url,
            "DB_POOL_MIN_SIZE": "1",
            "DB_POOL_MAX_SIZE": "1",
            "DOCUMENTS_BUCKET": "atende-bench-documents",
            "DOCUMENT_RESULT_TTL_HOURS": "24",
            "WHATSAPP_APP_SECRET": APP_SECRET,
            "WHATSAPP_VERIFY_TOKEN": "bench-verify-token",
            "WHATSAPP_ACCESS_TOKEN": "bench-access-token",
            "GRAPH_API_BASE_URL": self.graph_url,
            "RASA_URL": self.rasa_url,
            # In AWS: the *_ARN variables (Secrets Manager).
            "RASA_JWT_SECRET": "bench-rasa-jwt-secret-0123456789abcdef",
            "ACTION_SIGNING_KEY": "bench-action-signing-key-0123456789abcdef",
            "CONVERSATION_QUEUE_URL": self.queue_url,
            "CONVERSATION_DLQ_URL": self.dlq_url,
            "DOCUMENT_PIPELINE_ARN": self.pipeline_arn,
            "WORKER_MAX_ATTEMPTS": "5",
            "CONVERSATION_IDLE_TIMEOUT_MIN": "30",
            "RETENTION_MESSAGES_DAYS": "180",
        }


def _build_layer(target: Path) -> None:
    subprocess.run(  # noqa: S603 - our own script
        [
            sys.executable,
            str(ROOT / "infra" / "lambda_deps.py"),
            "build-layer",
            str(target),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def _seed(stage: Stage) -> None:
    """Queues, bucket, tenant, WhatsApp number, state machine, documents."""
    from atende import aws, db, tenancy
    from atende.audit import RequestContext
    from atende.config import get_settings
    from atende.documents import jobs
    from tests.support import documents as kit

    get_settings.cache_clear()
    aws.client.cache_clear()
    sqs = aws.client("sqs")
    stage.dlq_url = sqs.create_queue(
        QueueName="atende-bench-dlq.fifo", Attributes={"FifoQueue": "true"}
    )["QueueUrl"]
    stage.queue_url = sqs.create_queue(
        QueueName="atende-bench.fifo", Attributes={"FifoQueue": "true"}
    )["QueueUrl"]
    stage.queue_arn = sqs.get_queue_attributes(
        QueueUrl=stage.queue_url, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    aws.client("s3").create_bucket(
        Bucket="atende-bench-documents",
        CreateBucketConfiguration={"LocationConstraint": "sa-east-1"},
    )
    stage.pipeline_arn = aws.client("stepfunctions").create_state_machine(
        name="atende-bench-documents",
        definition=json.dumps(
            {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
        ),
        roleArn="arn:aws:iam::123456789012:role/bench",
    )["stateMachineArn"]
    os.environ["DOCUMENT_PIPELINE_ARN"] = stage.pipeline_arn
    os.environ["DOCUMENTS_BUCKET"] = "atende-bench-documents"
    get_settings.cache_clear()

    provisioned = tenancy.create_tenant("Bench Cold Start")
    stage.tenant_id = str(provisioned.tenant.id)
    with db.tenant_transaction(stage.tenant_id) as conn:
        conn.execute(
            "INSERT INTO whatsapp_numbers (tenant_id, phone_number_id,"
            " display_phone_number) VALUES (%s, %s, %s)",
            (stage.tenant_id, PHONE_NUMBER_ID, DISPLAY_NUMBER),
        )
    principal = tenancy.authenticate_api_key(provisioned.api_key)
    contract = kit.contract_pdf()
    for text in ("primeiro", "segundo"):
        document = kit.simple_pdf(pages=3, text=f"Contrato {text}: CPF 529.982.247-25.")
        context = RequestContext(principal.actor)
        job = jobs.submit(principal, document, context=context).job
        stage.documents.append(str(job.id))
    scan = kit.scanned_pdf(contract, dpi=150, rotation_deg=1.0, seed=42)
    stage.scanned = str(
        jobs.submit(principal, scan, context=RequestContext(principal.actor)).job.id
    )


def _webhook_event(text: str, user: str) -> dict[str, Any]:
    """API Gateway's REST proxy event for one signed webhook, as Meta sends it."""
    from atende.whatsapp.webhook import SIGNATURE_HEADER, sign
    from infra.simulator import SimulatedCustomer, text_payload

    customer = SimulatedCustomer(user_id=f"BR.{user}", phone=f"55119{user[-8:]}")
    payload = text_payload(
        text,
        customer,
        phone_number_id=PHONE_NUMBER_ID,
        display_phone_number=DISPLAY_NUMBER,
    )
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(body, APP_SECRET),
        "Host": "api.example",
    }
    return {
        "resource": "/whatsapp/webhook",
        "path": "/whatsapp/webhook",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/whatsapp/webhook",
            "httpMethod": "POST",
            "path": "/v1/whatsapp/webhook",
            "stage": "v1",
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "173.252.127.1"},
        },
        "body": body.decode(),
        "isBase64Encoded": False,
    }


def _queued_records(stage: Stage) -> list[dict[str, Any]]:
    """What the API enqueued, as SQS event records (one per invocation)."""
    from atende import aws

    got = aws.client("sqs").receive_message(
        QueueUrl=stage.queue_url,
        MaxNumberOfMessages=10,
        AttributeNames=["All"],
        VisibilityTimeout=600,
    )["Messages"]
    return [
        {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m["Attributes"],
                    "messageAttributes": {},
                    "md5OfBody": hashlib.md5(m["Body"].encode()).hexdigest(),  # noqa: S324 - SQS's checksum
                    "eventSource": "aws:sqs",
                    "eventSourceARN": stage.queue_arn,
                    "awsRegion": "sa-east-1",
                }
            ]
        }
        for m in got
    ]


def _events(fn: Function, stage: Stage) -> list[dict[str, Any]]:
    tenant, (first, second) = stage.tenant_id, stage.documents
    if fn.name == "ApiFunction":
        return [_webhook_event("oi", "1000000001"), _webhook_event("oi", "1000000002")]
    if fn.name == "ConversationWorkerFunction":
        return _queued_records(stage)[:2]
    if fn.name == "ConsoleLiveFunction":
        return [
            {"requestContext": {"routeKey": "$disconnect", "connectionId": f"c{i}="}}
            for i in (1, 2)
        ]
    if fn.attr == "inspect":
        return [{"tenant_id": tenant, "document_id": d} for d in (first, second)]
    if fn.image:
        doc = stage.scanned
        return [
            {"tenant_id": tenant, "document_id": doc, "index": i, "ocr": True}
            for i in (0, 1)
        ]
    if fn.attr == "read_page":
        return [
            {"tenant_id": tenant, "document_id": d, "index": 0, "ocr": False}
            for d in (first, second)
        ]
    if fn.attr == "extract":
        pages = [{"index": 0, "method": "text_layer"}]  # what read_page stored
        return [
            {"tenant_id": tenant, "document_id": d, "pages": pages}
            for d in (first, second)
        ]
    if fn.attr == "purge":
        return [{"tenant_id": tenant, "document_id": d} for d in (first, second)]
    return [{"source": "aws.events", "detail-type": "Scheduled Event"}] * 2


# -- measuring ------------------------------------------------------------------


def _child_env(fn: Function, stage: Stage) -> dict[str, str]:
    env = stage.base_env()
    code = str(ROOT / "functions" / fn.folder)
    if fn.image:
        # The image's packages: the development environment's (same lock).
        env["PYTHONPATH"] = f"{code}{os.pathsep}{ROOT / 'layers' / 'core'}"
        env["ATENDE_OCR_MODEL_DIR"] = str(stage.ocr_models)
        env["PADDLE_PDX_CACHE_HOME"] = str(stage.tmp / "paddlex-cache")
        env["PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK"] = "True"
    else:
        env["PYTHONPATH"] = f"{code}{os.pathsep}{stage.layer / 'python'}"
    return env


def _python(fn: Function, *extra: str) -> list[str]:
    # -S: no site-packages (the layer is on PYTHONPATH); -B: Lambda cannot
    # write bytecode next to the code.
    return [sys.executable, *([] if fn.image else ["-S"]), "-B", *extra]


def _marker(stdout: str) -> Any:
    for line in reversed(stdout.splitlines()):
        if line.startswith("COLDSTART "):
            return json.loads(line.removeprefix("COLDSTART "))
    raise RuntimeError(f"no result in the child's output:\n{stdout[-2000:]}")


def _run(argv: list[str], env: dict[str, str]) -> str:
    out = subprocess.run(  # noqa: S603 - our own interpreter
        argv, capture_output=True, text=True, env=env, cwd=env["HOME"], check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"{argv[-2:]} failed:\n{out.stderr[-3000:]}")
    return out.stdout


def _import_ms(fn: Function, stage: Stage, *, bytecode: bool, runs: int) -> float:
    env = _child_env(fn, stage)
    samples = []
    for _ in range(runs):
        extra = [] if bytecode else ["-X", f"pycache_prefix={stage.tmp / 'no-pyc'}"]
        argv = _python(fn, *extra, "-c", _IMPORT_ONLY, fn.module)
        samples.append(float(_marker(_run(argv, env))))
    return statistics.median(samples)


def _heaviest(fn: Function, stage: Stage, top: int = 4) -> list[tuple[str, float]]:
    env = _child_env(fn, stage)
    argv = _python(fn, "-X", "importtime", "-c", f"import {fn.module}")
    out = subprocess.run(  # noqa: S603
        argv, capture_output=True, text=True, env=env, cwd=env["HOME"], check=True
    )
    totals: dict[str, float] = {}
    for line in out.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
        if match:
            package = match[2].split(".")[0]
            totals[package] = totals.get(package, 0) + int(match[1]) / 1000
    return sorted(totals.items(), key=lambda kv: -kv[1])[:top]


def _calls(fn: Function, stage: Stage) -> dict[str, Any]:
    config = {
        "name": fn.name.split()[0],
        "module": fn.module,
        "attr": fn.attr,
        "memory_mb": fn.memory_mb,
        "events": fn.events,
    }
    result: dict[str, Any] = _marker(
        _run(_python(fn, "-c", _CHILD, json.dumps(config)), _child_env(fn, stage))
    )
    return result


def _startup_ms() -> float:
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-S", "-c", "pass"], check=True)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _iam_token_ms(stage: Stage) -> float:
    """DATABASE_PROXY_URL's first token: the boto3 rds client, then the presign."""
    code = (
        "import json, time\n"
        "from atende.db.iam import proxy_conninfo\n"
        "t = time.perf_counter()\n"
        f"proxy_conninfo({PROXY_URL!r})\n"
        "print('COLDSTART ' + json.dumps((time.perf_counter() - t) * 1000))\n"
    )
    env = {**stage.base_env(), "PYTHONPATH": str(stage.layer / "python")}
    return statistics.median(
        float(_marker(_run([sys.executable, "-S", "-B", "-c", code], env)))
        for _ in range(3)
    )


# -- the run --------------------------------------------------------------------


@contextmanager
def _stage() -> Iterator[Stage]:
    from moto.server import ThreadedMotoServer

    from atende import db
    from atende.db.embedded import start_embedded
    from infra.graph_standin import GraphStandIn
    from infra.stack_harness import free_port

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's access log

    with tempfile.TemporaryDirectory(prefix="atende-coldstart-") as name:
        tmp = Path(name)
        print("building the core layer (infra/lambda_deps.py build-layer)", flush=True)
        _build_layer(tmp / "layer")
        port = free_port()
        os.environ.update(
            {
                "ATENDE_ENV": "local",
                "ATENDE_DATA_DIR": str(tmp / "data"),
                "ATENDE_LOCAL_AWS_PORT": str(port),
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
            }
        )
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        moto.start()
        graph = GraphStandIn().start()
        embedded = start_embedded(tmp / "data")
        db.configure(embedded.app_url)
        try:
            with _http_server(_RasaStandIn) as rasa_url:
                stage = Stage(
                    tmp=tmp,
                    layer=tmp / "layer",
                    aws_url=f"http://127.0.0.1:{port}",
                    app_url=embedded.app_url,
                    graph_url=f"http://127.0.0.1:{graph.port}",
                    rasa_url=rasa_url,
                    graph=graph,
                )
                print("seeding the stand-ins", flush=True)
                _seed(stage)
                stage.ocr_models = _ocr_models(tmp)
                yield stage
        finally:
            db.close_pool()
            graph.stop()
            moto.stop()


def _ocr_models(tmp: Path) -> Path | None:
    """The model folders the OCR image bakes (None without the OCR extra)."""
    if importlib.util.find_spec("paddleocr") is None:
        return None
    target = tmp / "ocr-models"
    script = ROOT / "functions" / "ocr" / "prepare_models.py"
    subprocess.run(  # noqa: S603 - the image's own preparation script
        [sys.executable, str(script), str(target)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return target


def _ms(value: float) -> str:
    return f"{value:,.0f}"


def main() -> None:
    rows: list[dict[str, Any]] = []
    with _stage() as stage:
        startup = _startup_ms()
        token = _iam_token_ms(stage)
        for fn in FUNCTIONS:
            if fn.image and stage.ocr_models is None:
                continue
            print(f"measuring {fn.name}", flush=True)
            fn.events = _events(fn, stage)
            turns, sends = _RasaStandIn.turns, len(stage.graph.requests())
            calls = _calls(fn, stage)
            print(f"  returned: {calls['results']}", flush=True)
            if fn.name == "ConversationWorkerFunction":
                turns = _RasaStandIn.turns - turns
                sends = len(stage.graph.requests()) - sends
                fn.event_kind += f"; {turns} Rasa turns, {sends} Graph API calls in all"
            imports = _import_ms(fn, stage, bytecode=True, runs=RUNS)
            without = (
                None
                if fn.image
                else _import_ms(fn, stage, bytecode=False, runs=RUNS_WITHOUT_BYTECODE)
            )
            rows.append(
                {
                    "fn": fn,
                    "import": imports,
                    "without": without,
                    "calls": calls["calls_ms"],
                    "results": calls["results"],
                    "heaviest": _heaviest(fn, stage),
                }
            )
    _report(rows, startup, token)


def _report(rows: list[dict[str, Any]], startup: float, token: float) -> None:
    init_rows, call_rows = [], []
    for row in rows:
        fn: Function = row["fn"]
        without = "—" if row["without"] is None else _ms(row["without"])
        heavy = ", ".join(f"{name} {ms:.0f}" for name, ms in row["heaviest"])
        init_rows.append(
            f"| {fn.name} | {fn.memory_mb} | **{_ms(row['import'])}** | {without} | {heavy} |"
        )
        first, second = row["calls"][0], row["calls"][-1]
        call_rows.append(
            f"| {fn.name} | {fn.event_kind} | **{_ms(first)}** | {_ms(second)} |"
            f" {_ms(first - second)} |"
        )
    zipped = [r for r in rows if not r["fn"].image]
    saved = statistics.median(r["without"] - r["import"] for r in zipped)
    body = f"""
## Lambda cold starts (INIT and first call)

{machine()}. Every figure is a fresh interpreter on one core of this machine;
in Lambda a function gets CPU in proportion to its memory (one vCPU at 1,769 MB,
so about 0.29 vCPU at 512 MB), so expect these times to stretch there.

What runs is what `sam build` ships: the core layer built by
`infra/lambda_deps.py build-layer` (the lock's versions for python3.11 on
Amazon Linux 2, with bytecode), the function's code, `python -S` (only
the function folder and the layer on `sys.path`, as `/var/task` and
`/opt/python`) and the template's environment (`ATENDE_ENV=aws`, tracing on).
Interpreter start alone (`python -S -c pass`): {_ms(startup)} ms.

### INIT: importing the handler module (median of {RUNS} fresh processes)

| function | memory MB | import ms, with the layer's bytecode (shipped) | import ms without bytecode (SAM's pip builder, before) | heaviest packages at import (self ms) |
| --- | ---: | ---: | ---: | --- |
{chr(10).join(init_rows)}

Lambda's file system is read-only: a layer without `.pyc` files is compiled
again at every cold start. Shipping the bytecode saves a median
**{_ms(saved)} ms** per cold start of a zip function here. The OCR image's
figures are from the development environment (the image's packages).

### First call: the same fresh process, invoked twice

| function | event | first call ms | second call ms | first − second ms |
| --- | --- | ---: | ---: | ---: |
{chr(10).join(call_rows)}

The first call opens the pool's one connection (a Unix socket to the embedded
PostgreSQL here) and builds the AWS clients (moto server on 127.0.0.1). In AWS
the connection goes through RDS Proxy with an IAM token: building the first
token (the boto3 `rds` client, then the presign) took **{_ms(token)} ms** here,
plus a TLS handshake to the proxy. The OCR task's first call loads the
PaddleOCR engine. SnapStart, provisioned concurrency and their cost:
[docs/scale.md](../docs/scale.md#cold-starts).
"""
    write_section("coldstart", body)
    print(body)


if __name__ == "__main__":
    main()
