"""The local stack's parts that AWS runs apart, each in a process of its own.

In AWS the API, the conversation worker and the AWS services never share an
interpreter. Locally they did, and under a burst the webhook, the worker's
turns and moto's request handling fought over one GIL (24 webhooks/s at 32
senders, connections reset). ``infra/local_stack.py`` starts one process per
role with the environment it prepared, and restarts a role that dies::

    python infra/stack_roles.py aws      # moto; the document pipeline's tasks run here
    python infra/stack_roles.py api      # the Chalice app (API Gateway's part)
    python infra/stack_roles.py worker   # one conversation worker (SQS FIFO poller)
    python infra/stack_roles.py sweeper  # the sweeper on its schedule

SIGTERM stops a role cleanly.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "functions" / "api"))
sys.path.insert(0, str(ROOT))

from atende.config import get_settings  # noqa: E402
from infra.handlers import load_handler  # noqa: E402

_stopping = threading.Event()


def _on_signal(_signum: int, _frame: FrameType | None) -> None:
    _stopping.set()


def run_aws() -> None:
    """moto on ATENDE_LOCAL_AWS_PORT, Lambda tasks routed to our handlers."""
    from moto.server import ThreadedMotoServer

    from infra import local_mailbox, moto_speedups, pipeline_local

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's access log
    moto_speedups.apply()
    # Invitations' temporary passwords, e-mailed into a folder (no mail server).
    local_mailbox.deliver_to(get_settings().local_mailbox_dir)
    pipeline_local.enable_execution()
    pipeline_local.route_invocations()
    server = ThreadedMotoServer(
        ip_address="127.0.0.1", port=get_settings().local_aws_port, verbose=False
    )
    server.start()
    _stopping.wait()
    server.stop()


def _any_method(handler: Any, name: str) -> Any:
    if name.startswith("do_"):
        return handler._generic_handle
    raise AttributeError(name)


def run_api() -> None:
    """The same Chalice app that is deployed, on Chalice's threaded local server.

    Through ``create_local_server``, which gives the app a thread-local
    ``current_request``: built directly, concurrent requests read each other's
    bodies (the soak saw webhooks acknowledged for a message while another
    was enqueued twice). The accept backlog takes a burst (http.server's
    default of 5 reset connections).
    """
    from app import app  # functions/api/app.py
    from chalice import local
    from chalice.config import Config

    from atende import aws, composition, db
    from infra.local_api import route_like_api_gateway

    # What a Lambda instance builds on its first request, built before the
    # first burst: otherwise 32 requests at once each build a boto3 client.
    for service in ("sqs", "s3", "kms", "stepfunctions", "cognito-idp"):
        aws.client(service)
    composition.secrets()
    composition.queue()
    composition.directory()
    db.get_pool().wait()

    # Every method reaches the app, which answers 405 in the API's error
    # shape (http.server answers a method it has no do_X for with a 501 page).
    local.ChaliceRequestHandler.__getattr__ = _any_method
    route_like_api_gateway()  # a path without a route: the app's 404
    local.ThreadedHTTPServer.request_queue_size = 256
    local.ThreadedHTTPServer.daemon_threads = True
    settings = get_settings()
    server = local.create_local_server(
        app, Config(), settings.api_host, settings.api_port
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _stopping.wait()
    server.shutdown()


def run_worker() -> None:
    """One instance of the conversation worker, fed by Lambda's event source
    mapping's loop. The stack starts ATENDE_LOCAL_WORKERS of them (Lambda's
    concurrency): one poller per process, as one Lambda instance serves one
    batch at a time (Powertools' batch processor and metrics keep per-process
    state). FIFO hands each message group to one of them at a time."""
    from infra.lambda_runtime import SqsPoller

    worker = load_handler("functions/conversation_worker/handler.py")
    poller = SqsPoller(os.environ["CONVERSATION_QUEUE_URL"], worker.handler, "worker")
    poller.start()
    _stopping.wait()
    poller.stop()
    poller.join(timeout=10)


def run_sweeper() -> None:
    """The sweeper on its EventBridge schedule."""
    from infra.lambda_runtime import Schedule

    sweeper = load_handler("functions/conversation_sweeper/handler.py")
    schedule = Schedule(get_settings().local_sweep_every_s, sweeper.handler, "sweeper")
    schedule.start()
    # The report facts, every 5 minutes as in AWS (ReportsRefreshFunction).
    reports = load_handler("functions/reports_refresh/handler.py")
    refresh = Schedule(300, reports.handler, "reports")
    refresh.start()
    _stopping.wait()
    for running in (schedule, refresh):
        running.stop()
        running.join(timeout=10)


ROLES = {
    "aws": run_aws,
    "api": run_api,
    "worker": run_worker,
    "sweeper": run_sweeper,
}


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in ROLES:
        print(f"usage: stack_roles.py {{{','.join(ROLES)}}}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    ROLES[argv[0]]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
