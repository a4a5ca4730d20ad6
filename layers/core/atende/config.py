"""Settings in one place.

Every variable is read from the environment (or a ``.env`` file in the working
directory) and documented in ``docs/configuration.md``. Nothing else in the code
reads ``os.environ`` for configuration.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[3]


class Settings(BaseSettings):
    """Runtime configuration of every Atende process."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Literal["local", "test", "aws"] = Field(
        default="local",
        validation_alias="ATENDE_ENV",
        description=(
            "`local`: embedded stand-ins (moto server on 127.0.0.1); `test`: moto "
            "in process; `aws`: a real deployment."
        ),
    )
    service_name: str = Field(
        default="atende", validation_alias="POWERTOOLS_SERVICE_NAME"
    )
    log_level: str = Field(default="INFO", validation_alias="LOG_LEVEL")
    data_dir: Path = Field(
        default=PROJECT_ROOT / ".data",
        validation_alias="ATENDE_DATA_DIR",
        description="Local state: embedded PostgreSQL data, demo API key.",
    )

    # Database. Without DATABASE_URL the embedded PostgreSQL is started.
    database_url: SecretStr | None = Field(
        default=None, validation_alias="DATABASE_URL"
    )
    database_proxy_url: str | None = Field(
        default=None,
        validation_alias="DATABASE_PROXY_URL",
        description=(
            "RDS Proxy URL without a password (postgresql://user@endpoint:5432/db):"
            " each new connection authenticates with an IAM token. Used when"
            " DATABASE_URL is unset, before DATABASE_SECRET_ARN."
        ),
    )
    database_owner_url: SecretStr | None = Field(
        default=None,
        validation_alias="DATABASE_OWNER_URL",
        description="Connection of the role that owns the schema; runs migrations.",
    )
    database_secret_arn: str | None = Field(
        default=None,
        validation_alias="DATABASE_SECRET_ARN",
        description="Secrets Manager secret with the application role's credentials.",
    )
    database_owner_secret_arn: str | None = Field(
        default=None,
        validation_alias="DATABASE_OWNER_SECRET_ARN",
        description="Secrets Manager secret of the schema owner (migrations only).",
    )
    db_pool_min_size: int = Field(default=1, ge=0, validation_alias="DB_POOL_MIN_SIZE")
    db_pool_max_size: int = Field(default=5, ge=1, validation_alias="DB_POOL_MAX_SIZE")
    db_statement_timeout_ms: int = Field(
        default=15_000, ge=0, validation_alias="DB_STATEMENT_TIMEOUT_MS"
    )

    # AWS. In `local`, boto3 talks to the moto server on 127.0.0.1.
    aws_region: str = Field(default="sa-east-1", validation_alias="AWS_REGION")
    aws_endpoint_url: str | None = Field(
        default=None, validation_alias="AWS_ENDPOINT_URL"
    )
    kms_alias_prefix: str = Field(
        default="alias/atende/tenant", validation_alias="KMS_ALIAS_PREFIX"
    )
    crypto_cache_capacity: int = Field(
        default=100, ge=1, validation_alias="CRYPTO_CACHE_CAPACITY"
    )
    crypto_cache_max_age_s: float = Field(
        default=300.0, gt=0, validation_alias="CRYPTO_CACHE_MAX_AGE_S"
    )
    crypto_cache_max_messages: int = Field(
        default=1000, ge=1, validation_alias="CRYPTO_CACHE_MAX_MESSAGES"
    )

    # WhatsApp Cloud API. In AWS the three secrets come from WHATSAPP_SECRET_ARN
    # (JSON with app_secret, verify_token, access_token).
    whatsapp_app_secret: SecretStr | None = Field(
        default=None, validation_alias="WHATSAPP_APP_SECRET"
    )
    whatsapp_verify_token: SecretStr | None = Field(
        default=None, validation_alias="WHATSAPP_VERIFY_TOKEN"
    )
    whatsapp_access_token: SecretStr | None = Field(
        default=None, validation_alias="WHATSAPP_ACCESS_TOKEN"
    )
    whatsapp_secret_arn: str | None = Field(
        default=None, validation_alias="WHATSAPP_SECRET_ARN"
    )
    graph_base_url: str = Field(
        default="https://graph.facebook.com", validation_alias="GRAPH_API_BASE_URL"
    )
    graph_api_version: str = Field(
        default="v23.0", validation_alias="GRAPH_API_VERSION"
    )
    whatsapp_send_rate_per_s: float = Field(
        default=80.0, gt=0, validation_alias="WHATSAPP_SEND_RATE_PER_S"
    )
    conversation_queue_url: str | None = Field(
        default=None, validation_alias="CONVERSATION_QUEUE_URL"
    )
    conversation_dlq_url: str | None = Field(
        default=None,
        validation_alias="CONVERSATION_DLQ_URL",
        description="The conversation queue's dead-letter queue (FIFO).",
    )
    worker_max_attempts: int = Field(
        default=5,
        ge=1,
        validation_alias="WORKER_MAX_ATTEMPTS",
        description=(
            "Deliveries of one queued update before the worker moves it to the"
            " dead-letter queue with its reason (below the queue's maxReceiveCount,"
            " which only catches crashes and timeouts)."
        ),
    )
    parked_status_ttl_min: float = Field(
        default=60.0, gt=0, validation_alias="PARKED_STATUS_TTL_MIN"
    )
    conversation_idle_timeout_min: float = Field(
        default=30.0, gt=0, validation_alias="CONVERSATION_IDLE_TIMEOUT_MIN"
    )
    # Longer than the longest turn (Rasa's timeout plus the database work);
    # a record whose turn is held comes back when the lease ends.
    bot_turn_lease_s: float = Field(
        default=30.0, gt=0, validation_alias="BOT_TURN_LEASE_S"
    )
    burst_window_ms: int = Field(
        default=2500,
        ge=0,
        le=60_000,
        validation_alias="BURST_WINDOW_MS",
        description=(
            "Messages a customer sends within this window of the first one"
            " waiting are answered as one bot turn; 0 answers each at once."
        ),
    )
    rasa_url: str = Field(default="http://127.0.0.1:5005", validation_alias="RASA_URL")
    rasa_tracker_db_url: SecretStr | None = Field(
        default=None,
        validation_alias="RASA_TRACKER_DB_URL",
        description="Rasa's SQL tracker store, for LGPD erasure of bot memory.",
    )
    rasa_tracker_db_secret_arn: str | None = Field(
        default=None,
        validation_alias="RASA_TRACKER_DB_SECRET_ARN",
        description="Secret of the tracker store's role (AWS), when no URL is set.",
    )
    rasa_timeout_s: float = Field(default=10.0, gt=0, validation_alias="RASA_TIMEOUT_S")
    # The bot's secrets (docs/security.md). In AWS the functions read them from
    # Secrets Manager (the *_ARN variables); ECS injects them into the tasks.
    rasa_jwt_secret: SecretStr | None = Field(
        default=None,
        validation_alias="RASA_JWT_SECRET",
        description="Signs the JWTs Rasa's callers send (Rasa's --jwt-secret).",
    )
    rasa_jwt_secret_arn: str | None = Field(
        default=None,
        validation_alias="RASA_JWT_SECRET_ARN",
        description="Secret holding RASA_JWT_SECRET (AWS), when it is not set.",
    )
    action_signing_key: SecretStr | None = Field(
        default=None,
        validation_alias="ACTION_SIGNING_KEY",
        description=(
            "HMAC key of the tenant the worker signs into a message's metadata and"
            " the action server verifies (at least 32 characters)."
        ),
    )
    action_signing_key_arn: str | None = Field(
        default=None,
        validation_alias="ACTION_SIGNING_KEY_SECRET_ARN",
        description="Secret holding ACTION_SIGNING_KEY (AWS), when it is not set.",
    )
    action_signature_max_age_s: float = Field(
        default=300.0,
        gt=0,
        validation_alias="ACTION_SIGNATURE_MAX_AGE_S",
        description="How long a signed tenant opens its data to the action server.",
    )
    action_server_token: SecretStr | None = Field(
        default=None,
        validation_alias="ACTION_SERVER_TOKEN",
        description="Bearer token Rasa sends the action server (which requires it).",
    )

    # Private LLM (Ollama). Unset: the bot runs degraded (handoff instead of
    # generated answers) and says so.
    ollama_host: str | None = Field(default=None, validation_alias="OLLAMA_HOST")
    ollama_model: str = Field(default="llama3:8b", validation_alias="OLLAMA_MODEL")
    ollama_timeout_s: float = Field(
        default=20.0, gt=0, validation_alias="OLLAMA_TIMEOUT_S"
    )

    # Document pipeline.
    documents_bucket: str = Field(
        default="atende-documents-local", validation_alias="DOCUMENTS_BUCKET"
    )
    document_pipeline_arn: str | None = Field(
        default=None, validation_alias="DOCUMENT_PIPELINE_ARN"
    )
    document_max_bytes: int = Field(
        default=20 * 1024 * 1024, gt=0, validation_alias="DOCUMENT_MAX_BYTES"
    )
    document_max_pages: int = Field(
        default=200, gt=0, validation_alias="DOCUMENT_MAX_PAGES"
    )
    document_result_ttl_hours: float = Field(
        default=24.0, gt=0, validation_alias="DOCUMENT_RESULT_TTL_HOURS"
    )
    document_max_running: int = Field(
        default=50, gt=0, validation_alias="DOCUMENT_MAX_RUNNING_EXECUTIONS"
    )
    # Each tenant's share of the pipeline: one tenant's burst leaves room for
    # the others (documents.limits).
    document_max_running_per_tenant: int = Field(
        default=10, gt=0, validation_alias="DOCUMENT_MAX_RUNNING_PER_TENANT"
    )
    api_rate_limit_per_minute: int = Field(
        default=60, gt=0, validation_alias="API_RATE_LIMIT_PER_MINUTE"
    )

    # LGPD: access exports and retention.
    public_api_url: str = Field(
        default="http://127.0.0.1:8000",
        validation_alias="PUBLIC_API_URL",
        description="Public base URL of the API, for links sent to customers.",
    )
    lgpd_export_link_ttl_min: float = Field(
        default=15.0, gt=0, validation_alias="LGPD_EXPORT_LINK_TTL_MIN"
    )
    retention_messages_days: int = Field(
        default=180, ge=1, le=3650, validation_alias="RETENTION_MESSAGES_DAYS"
    )
    retention_exports_hours: int = Field(
        default=24, ge=1, le=48, validation_alias="RETENTION_EXPORTS_HOURS"
    )
    retention_batch_size: int = Field(
        default=500, ge=1, le=10_000, validation_alias="RETENTION_BATCH_SIZE"
    )
    retention_max_batches: int = Field(
        default=100, ge=1, validation_alias="RETENTION_MAX_BATCHES"
    )

    # OCR. Production bakes the model dirs into the OCR image; unset, they are
    # prepared from the rapidocr wheel into a temporary folder.
    ocr_model_dir: Path | None = Field(
        default=None, validation_alias="ATENDE_OCR_MODEL_DIR"
    )
    ocr_cpu_threads: int = Field(default=2, ge=1, validation_alias="OCR_CPU_THREADS")
    ocr_memory_arena: bool = Field(
        default=True,
        validation_alias="OCR_MEMORY_ARENA",
        description="ONNX Runtime's CPU arena: faster, ~0.4 GB more peak memory.",
    )

    # Attendant console. Sign-in is a Cognito user pool (moto's locally);
    # live updates go through an API Gateway WebSocket API (locally
    # infra/live_gateway.py, which speaks the same management API).
    cognito_user_pool_id: str | None = Field(
        default=None, validation_alias="COGNITO_USER_POOL_ID"
    )
    cognito_client_id: str | None = Field(
        default=None, validation_alias="COGNITO_CLIENT_ID"
    )
    console_live_url: str | None = Field(
        default=None,
        validation_alias="CONSOLE_LIVE_URL",
        description="wss:// URL the console's browser connects to.",
    )
    console_live_endpoint: str | None = Field(
        default=None,
        validation_alias="CONSOLE_LIVE_ENDPOINT",
        description="https:// management endpoint that pushes to connections.",
    )

    # Local stack.
    api_host: str = Field(default="127.0.0.1", validation_alias="ATENDE_API_HOST")
    api_port: int = Field(default=8000, validation_alias="ATENDE_API_PORT")
    local_aws_port: int = Field(default=4566, validation_alias="ATENDE_LOCAL_AWS_PORT")
    # The local conversation worker: concurrent pollers (Lambda's concurrency)
    # and how often the sweeper runs (EventBridge's rate in AWS).
    local_workers: int = Field(default=4, ge=1, validation_alias="ATENDE_LOCAL_WORKERS")
    local_sweep_every_s: float = Field(
        default=5.0, gt=0, validation_alias="ATENDE_LOCAL_SWEEP_EVERY_S"
    )
    local_rasa_port: int = Field(
        default=5005, validation_alias="ATENDE_LOCAL_RASA_PORT"
    )
    local_actions_port: int = Field(
        default=5055, validation_alias="ATENDE_LOCAL_ACTIONS_PORT"
    )
    local_graph_port: int = Field(
        default=8089, validation_alias="ATENDE_LOCAL_GRAPH_PORT"
    )
    simulator_port: int = Field(default=8090, validation_alias="ATENDE_SIMULATOR_PORT")
    local_live_port: int = Field(
        default=8091, validation_alias="ATENDE_LOCAL_LIVE_PORT"
    )
    demo_tenant_name: str = Field(
        default="Loja Exemplo", validation_alias="ATENDE_DEMO_TENANT_NAME"
    )

    @property
    def embedded_database(self) -> bool:
        """True when no external database is configured."""
        return (
            self.database_url is None
            and self.database_proxy_url is None
            and self.database_secret_arn is None
        )

    @property
    def local_mailbox_dir(self) -> Path:
        """Where the local stack writes the e-mails Cognito would send."""
        return self.data_dir / "mailbox"

    @property
    def resolved_aws_endpoint_url(self) -> str | None:
        """Endpoint for boto3: explicit, the local moto server, or AWS itself."""
        if self.aws_endpoint_url:
            return self.aws_endpoint_url
        if self.env == "local":
            return f"http://127.0.0.1:{self.local_aws_port}"
        return None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once; tests call ``cache_clear``)."""
    return Settings()
