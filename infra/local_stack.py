"""`make run`: the whole Atende system on 127.0.0.1, on embedded stand-ins.

- PostgreSQL: pgserver in ATENDE_DATA_DIR (survives restarts), migrated.
- AWS: a moto server (S3, KMS, SQS, DynamoDB, Step Functions, ...), in a
  process of its own (``infra/stack_roles.py aws``).
- API: the same Chalice app that is deployed, served by Chalice's local server
  in a process of its own (``api``).
- Documents: the Step Functions pipeline (real ASL) executed by moto, its
  Lambda tasks routed to the real handlers in moto's process; PaddleOCR on the
  shipped weights.
- WhatsApp: a Graph API stand-in that records what Atende sends, the
  conversation worker fed from the FIFO queue like Lambda's event source
  mapping (``worker``, one process per concurrent instance, restarted if it
  dies), the sweeper on a schedule (``sweeper``), and the simulator page.
- Console: sign-in through moto's Cognito user pool (demo attendants with a
  local password), live updates through infra/live_gateway.py (API Gateway's
  WebSocket API stand-in, the real route handler behind it).

A demo tenant is created on first run; its API key is kept in the data folder
(git-ignored, mode 0600) so later runs can print it again. moto keeps its state
in memory only, so on each start the tenants' KMS keys are created again.
Ctrl-C (or SIGTERM) stops everything.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "functions" / "api"))
sys.path.insert(0, str(ROOT))

# Dev-only WhatsApp credentials: the simulator signs with the same app secret.
DEV_WHATSAPP = {
    "WHATSAPP_APP_SECRET": "dev-app-secret",
    "WHATSAPP_VERIFY_TOKEN": "dev-verify-token",
    "WHATSAPP_ACCESS_TOKEN": "dev-access-token",
}
# Rasa's JWT secret, the worker's tenant-signing key, the action server's token.
BOT_SECRETS = ("RASA_JWT_SECRET", "ACTION_SIGNING_KEY", "ACTION_SERVER_TOKEN")
DEMO_PHONE_NUMBER_ID = "106540352242922"
DEMO_DISPLAY_NUMBER = "+55 11 4000-1234"
DEMO_WABA_ID = "102290129340398"  # its WhatsApp Business Account (templates)
QUEUE_NAME = "atende-conversations.fifo"
# Local-only sign-in for every attendant: moto's user pool lives in memory, so
# on each start the tenant's attendants get a pool user again, with this password.
LOCAL_PASSWORD = "Atende-local-2026"  # noqa: S105 (dev only, printed at start)
# The demo's consent text (version 1), so `make run` shows the consent step;
# admins publish new versions in the console (Privacidade).
DEMO_CONSENT_TEXT = (
    "Para te atender melhor, a Loja Exemplo guarda seu nome, seu número e o "
    "histórico desta conversa, e um assistente de IA privado pode ler suas "
    "mensagens. Seus dados não são vendidos nem compartilhados. Você autoriza? "
    "Você pode mudar de ideia quando quiser, e pedir seus dados ou a exclusão "
    "deles a qualquer momento."
)
# (e-mail, name, role, team). Sara leads "Financeiro", so a transfer has a
# team to pick; Ana has none and serves the general queue.
DEMO_ATTENDANTS = (
    ("admin@loja.example", "Alice Admin", "admin", None),
    ("supervisora@loja.example", "Sara Supervisora", "supervisor", "Financeiro"),
    ("ana@loja.example", "Ana Atendente", "attendant", None),
)

from atende import (  # noqa: E402
    aws,
    composition,
    consent,
    db,
    tenancy,
)
from atende.audit import SYSTEM_CONTEXT  # noqa: E402
from atende.config import get_settings  # noqa: E402
from atende.db.bootstrap import ensure_service_database  # noqa: E402
from atende.db.embedded import EmbeddedDatabase, start_embedded  # noqa: E402
from infra import pipeline_local  # noqa: E402
from infra.bot_processes import BotProcesses  # noqa: E402
from infra.graph_standin import GraphStandIn  # noqa: E402
from infra.handlers import load_handler  # noqa: E402
from infra.identity_pool import create_attendant_pool  # noqa: E402
from infra.live_gateway import LiveGateway  # noqa: E402
from infra.simulator import SimulatorServer, status_sender  # noqa: E402


def _create_queues() -> tuple[str, str]:
    """The conversation queue and its dead-letter queue, as template.yaml."""
    sqs = aws.new_client("sqs")
    dlq_url = sqs.create_queue(
        QueueName="atende-conversations-dlq.fifo",
        Attributes={"FifoQueue": "true", "MessageRetentionPeriod": "1209600"},
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    queue_url = sqs.create_queue(
        QueueName=QUEUE_NAME,
        Attributes={
            "FifoQueue": "true",
            # Short, so a worker killed mid-batch (locally, its process)
            # gets its records back soon; AWS uses 6 x the Lambda timeout.
            "VisibilityTimeout": "30",
            "RedrivePolicy": json.dumps(
                {
                    "deadLetterTargetArn": dlq_arn,
                    "maxReceiveCount": str(get_settings().worker_max_attempts),
                }
            ),
        },
    )["QueueUrl"]
    return str(queue_url), str(dlq_url)


def _register_demo_number(tenant_id: str) -> None:
    with db.tenant_transaction(tenant_id) as conn:
        conn.execute(
            "INSERT INTO whatsapp_numbers (tenant_id, phone_number_id,"
            " display_phone_number, waba_id) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (tenant_id, phone_number_id)"
            " DO UPDATE SET waba_id = EXCLUDED.waba_id",
            (tenant_id, DEMO_PHONE_NUMBER_ID, DEMO_DISPLAY_NUMBER, DEMO_WABA_ID),
        )


def _rekey_tenants(embedded: EmbeddedDatabase) -> None:
    """Give every stored tenant a KMS key in the fresh (in-memory) moto server.

    Uses the embedded superuser: listing all tenants is a cross-tenant task that
    the application role must not be able to do.
    """
    url = make_conninfo(
        embedded.admin_url, dbname=conninfo_to_dict(embedded.app_url)["dbname"]
    )
    with psycopg.connect(url) as conn:
        tenant_ids = [row[0] for row in conn.execute("SELECT id FROM tenants")]
        for tenant_id in tenant_ids:
            key_arn = tenancy.create_tenant_key(tenant_id)
            conn.execute(
                "UPDATE tenants SET kms_key_arn = %s WHERE id = %s",
                (key_arn, tenant_id),
            )


def _demo_tenant(data_dir: Path, name: str) -> dict[str, str]:
    """The demo tenant of this data folder, created on first run."""
    record_path = data_dir / "demo-tenant.json"
    if record_path.exists():
        record: dict[str, str] = json.loads(record_path.read_text())
        try:
            tenancy.authenticate_api_key(record["api_key"])
            return record
        except Exception:  # the database was reset: provision again
            record_path.unlink()
    provisioned = tenancy.create_tenant(name)
    record = {
        "tenant_id": str(provisioned.tenant.id),
        "name": provisioned.tenant.name,
        "api_key": provisioned.api_key,
    }
    record_path.touch(mode=0o600)
    record_path.write_text(json.dumps(record, indent=2))
    return record


def seed_demo_consent(tenant_id: str) -> consent.ConsentText:
    """The demo tenant's consent text, version 1 (kept when admins published
    others)."""
    with db.tenant_transaction(tenant_id) as conn:
        return consent.ensure_text(conn, DEMO_CONSENT_TEXT, context=SYSTEM_CONTEXT)


def _attendants_pool() -> None:
    """The attendants' user pool and console client in moto, as template.yaml."""
    pool_id, client_id = create_attendant_pool()
    os.environ["COGNITO_USER_POOL_ID"] = pool_id
    os.environ["COGNITO_CLIENT_ID"] = client_id
    get_settings.cache_clear()


def _sign_in_attendants(tenant_id: str) -> None:
    """Give the tenant's attendants (the demo ones first run) pool users again."""
    idp = aws.client("cognito-idp")
    pool_id = get_settings().cognito_user_pool_id
    with db.tenant_transaction(tenant_id) as conn:
        for email, name, role, team in DEMO_ATTENDANTS:
            conn.execute(
                "INSERT INTO attendants (tenant_id, email, display_name, role, team)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (tenant_id, email, name, role, team),
            )
        attendants = conn.execute("SELECT id, email FROM attendants").fetchall()
        for attendant in attendants:
            user = idp.admin_create_user(
                UserPoolId=pool_id,
                Username=attendant["email"],
                UserAttributes=[
                    {"Name": "email", "Value": attendant["email"]},
                    {"Name": "email_verified", "Value": "true"},
                    {"Name": "custom:tenant_id", "Value": tenant_id},
                ],
                MessageAction="SUPPRESS",
            )["User"]
            idp.admin_set_user_password(
                UserPoolId=pool_id,
                Username=attendant["email"],
                Password=LOCAL_PASSWORD,
                Permanent=True,
            )
            sub = next(a["Value"] for a in user["Attributes"] if a["Name"] == "sub")
            conn.execute(
                "UPDATE attendants SET identity_sub = %s WHERE id = %s",
                (sub, attendant["id"]),
            )


# In AWS the webhook never shares a CPU with the worker or Rasa. Here they
# share two cores, so what drains the queue yields to what answers Meta: under
# a burst the webhook stays fast and the backlog drains right after.
BACKGROUND = frozenset({"worker", "sweeper"})
BACKGROUND_NICENESS = 10


class Role:
    """One child process of the stack (``infra/stack_roles.py <name>``)."""

    def __init__(self, name: str, log_dir: Path, *, index: int | None = None) -> None:
        self.name = name
        suffix = "" if index is None else f"-{index}"
        self._log = log_dir / f"{name}{suffix}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    def start(self) -> Role:
        with self._log.open("ab") as out:
            argv = [sys.executable, str(ROOT / "infra" / "stack_roles.py"), self.name]
            if self.name in BACKGROUND:
                argv = ["nice", "-n", str(BACKGROUND_NICENESS), *argv]
            self.process = subprocess.Popen(  # noqa: S603 - our own script
                argv, env=dict(os.environ), stdout=out, stderr=subprocess.STDOUT
            )
        return self

    def revive(self) -> None:
        """Start it again if it died (a crash, or killed on purpose)."""
        if self.process is not None and self.process.poll() is not None:
            code = self.process.returncode
            self.restarts += 1
            print(f"  {self.name} stopped (exit {code}); starting it again", flush=True)
            self.start()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _wait_for_port(port: int, role: Role, within_s: float = 60) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        if role.process is not None and role.process.poll() is not None:
            raise RuntimeError(f"{role.name} exited; see its log in the data folder")
        time.sleep(0.1)
    raise RuntimeError(f"{role.name} did not open port {port}")


def _stop(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> int:
    for name, value in DEV_WHATSAPP.items():
        os.environ.setdefault(name, value)
    # The bot's secrets: from the environment, or new ones for this run.
    for name in BOT_SECRETS:
        os.environ.setdefault(name, secrets.token_urlsafe(32))
    settings = get_settings()
    os.environ.setdefault("RASA_URL", f"http://127.0.0.1:{settings.local_rasa_port}")
    # Meta's sent/delivered/read, signed like every webhook, back to the API.
    graph = GraphStandIn(
        port=settings.local_graph_port,
        on_status=status_sender(
            f"http://{settings.api_host}:{settings.api_port}/whatsapp/webhook",
            os.environ["WHATSAPP_APP_SECRET"],
            DEMO_DISPLAY_NUMBER,
        ),
    )
    os.environ.setdefault(
        "GRAPH_API_BASE_URL", f"http://127.0.0.1:{settings.local_graph_port}"
    )
    get_settings.cache_clear()
    settings = get_settings()
    if settings.env != "local":
        print("make run needs ATENDE_ENV=local", file=sys.stderr)
        return 2
    # Explicit: a shell that starts us in the background ignores SIGINT.
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    log_dir = settings.data_dir / "logs"
    log_dir.mkdir(exist_ok=True)

    embedded = start_embedded(settings.data_dir) if settings.embedded_database else None
    if embedded is not None:
        db.configure(embedded.app_url)
        # The role processes reach the same server through its app role.
        os.environ["DATABASE_URL"] = embedded.app_url
    # moto's state-machine executor calls its Lambda API on this port.
    os.environ["MOTO_PORT"] = str(settings.local_aws_port)
    aws_role = Role("aws", log_dir).start()
    roles = [aws_role]
    graph.start()
    live: LiveGateway | None = None
    bot: BotProcesses | None = None
    simulator: SimulatorServer | None = None
    try:
        _wait_for_port(settings.local_aws_port, aws_role)
        if embedded is not None:
            _rekey_tenants(embedded)
        queue_url, dlq_url = _create_queues()
        os.environ["CONVERSATION_QUEUE_URL"] = queue_url
        os.environ["CONVERSATION_DLQ_URL"] = dlq_url
        # The document pipeline: the real ASL executed by moto, its Lambda
        # tasks routed to functions/document_tasks in moto's process.
        pipeline_local.create_bucket(settings.documents_bucket)
        os.environ["DOCUMENT_PIPELINE_ARN"] = pipeline_local.deploy()
        get_settings.cache_clear()
        composition.reset()
        demo = _demo_tenant(settings.data_dir, settings.demo_tenant_name)
        _register_demo_number(demo["tenant_id"])
        seed_demo_consent(demo["tenant_id"])
        _attendants_pool()
        _sign_in_attendants(demo["tenant_id"])
        live = LiveGateway(
            load_handler("functions/console_live/handler.py").handler,
            port=settings.local_live_port,
        ).start()
        os.environ["CONSOLE_LIVE_URL"] = live.url
        os.environ["CONSOLE_LIVE_ENDPOINT"] = live.endpoint
        get_settings.cache_clear()

        bot_status = "not built (make bot): conversations go to attendants"
        if embedded is not None and BotProcesses.available():
            tracker_db = make_conninfo(embedded.admin_url, dbname="postgres")
            ensure_service_database(tracker_db, "rasa_tracker", "atende_rasa")
            socket_dir = conninfo_to_dict(embedded.app_url)["host"]
            # LGPD erasure deletes the customer's trackers too.
            os.environ["RASA_TRACKER_DB_URL"] = (
                f"postgresql://atende_rasa@/rasa_tracker?host={socket_dir}"
            )
            get_settings.cache_clear()
            bot = BotProcesses(
                niceness=BACKGROUND_NICENESS,
                rasa_port=settings.local_rasa_port,
                actions_port=settings.local_actions_port,
                tracker_url=os.environ["RASA_TRACKER_DB_URL"],
                app_env={
                    "DATABASE_URL": embedded.app_url,
                    "ATENDE_ENV": "local",
                    "CONSOLE_LIVE_ENDPOINT": live.endpoint,
                },
            )
            bot.start(log_dir)
            bot_status = f"{settings.rasa_url} (loading the model takes ~30 s)"

        os.environ.setdefault("ATENDE_ENV", "local")
        api_role = Role("api", log_dir).start()
        roles += [Role("sweeper", log_dir).start(), api_role]
        roles += [
            Role("worker", log_dir, index=i).start()
            for i in range(settings.local_workers)
        ]
        api = f"http://{settings.api_host}:{settings.api_port}"
        simulator = SimulatorServer(
            port=settings.simulator_port,
            webhook_url=f"{api}/whatsapp/webhook",
            graph_url=graph.url,
            app_secret=os.environ["WHATSAPP_APP_SECRET"],
            phone_number_id=DEMO_PHONE_NUMBER_ID,
            display_phone_number=DEMO_DISPLAY_NUMBER,
        ).start()
        _wait_for_port(settings.api_port, api_role)
        database = f"embedded in {settings.data_dir}" if embedded else "DATABASE_URL"
        print(
            "\nAtende is running locally\n"
            f"  API         {api}   (ready: {api}/health/ready)\n"
            f"  AWS (moto)  {settings.resolved_aws_endpoint_url}\n"
            f"  Graph API   {graph.url}   (stand-in; what Atende sent: "
            f"{graph.url}/_standin/requests)\n"
            f"  WhatsApp    business number {DEMO_DISPLAY_NUMBER}"
            f" (phone_number_id {DEMO_PHONE_NUMBER_ID})\n"
            f"  Simulator   {simulator.url}   (chat as a WhatsApp customer)\n"
            f"  Console     {api}/console   (attendants: "
            + ", ".join(email for email, *_rest in DEMO_ATTENDANTS)
            + f"; password {LOCAL_PASSWORD})\n"
            f"  Mailbox     {settings.local_mailbox_dir}   (e-mails: an invited"
            " attendant's temporary password)\n"
            f"  Rasa        {bot_status}\n"
            f"  PostgreSQL  {database}\n"
            f"  Demo tenant {demo['name']} ({demo['tenant_id']})\n"
            f"  API key     {demo['api_key']}\n"
            f"  Logs        {log_dir}\n"
            "Press Ctrl-C to stop.\n",
            flush=True,
        )
        while True:  # a role that dies is started again, as Lambda would
            time.sleep(1)
            for role in roles:
                role.revive()
    except KeyboardInterrupt:
        print("\nStopping...", flush=True)
    finally:
        for role in reversed(roles):
            role.stop()
        if simulator is not None:
            simulator.stop()
        if live is not None:
            live.stop()
        if bot is not None:
            bot.stop()
        graph.stop()
        db.close_pool()
        if embedded is not None:
            embedded.server.cleanup()
    print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
