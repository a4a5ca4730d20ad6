"""Error codes, their HTTP mapping, settings and API key helpers."""

from __future__ import annotations

import pytest

from atende import errors
from atende.config import Settings
from atende.tenancy.api_keys import (
    generate_api_key,
    hash_api_key,
    looks_like_api_key,
    readable_prefix,
)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.InvalidInput(), 400),
        (errors.Unauthenticated(), 401),
        (errors.Forbidden(), 403),
        (errors.NotFound(), 404),
        (errors.Conflict(), 409),
        (errors.PayloadTooLarge(), 413),
        (errors.UnsupportedMediaType(), 415),
        (errors.RateLimited(retry_after_s=3), 429),
        (errors.DependencyFailed(), 502),
        (errors.ServiceUnavailable(retry_after_s=10), 503),
        (errors.DecryptionRefused(), 500),
        (errors.AtendeError(), 500),
    ],
)
def test_each_error_kind_has_its_status(error: errors.AtendeError, status: int) -> None:
    assert errors.http_status(error) == status


def test_subclasses_inherit_the_status_of_their_kind() -> None:
    class PdfTooBig(errors.PayloadTooLarge):
        code = "PDF_GRANDE_DEMAIS"
        message = "O PDF excede 20 MB."

    error = PdfTooBig()
    assert errors.http_status(error) == 413
    assert error.to_body() == {
        "error": {"code": "PDF_GRANDE_DEMAIS", "message": "O PDF excede 20 MB."}
    }


def test_retry_after_header() -> None:
    assert errors.http_headers(errors.RateLimited(retry_after_s=7)) == {
        "Retry-After": "7"
    }
    assert errors.http_headers(errors.NotFound()) == {}


def test_error_details_are_included() -> None:
    body = errors.InvalidInput("Página inválida.", field="page").to_body()
    assert body == {
        "error": {
            "code": "ENTRADA_INVALIDA",
            "message": "Página inválida.",
            "details": {"field": "page"},
        }
    }


def test_settings_defaults_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ATENDE_ENV", raising=False)
    settings = Settings()
    assert settings.env == "local"
    assert settings.aws_region == "sa-east-1"
    assert settings.embedded_database
    assert settings.resolved_aws_endpoint_url == "http://127.0.0.1:4566"

    monkeypatch.setenv("ATENDE_ENV", "aws")
    monkeypatch.setenv(
        "DATABASE_SECRET_ARN", "arn:aws:secretsmanager:sa-east-1:1:secret:x"
    )
    settings = Settings()
    assert settings.resolved_aws_endpoint_url is None
    assert not settings.embedded_database


def test_settings_reject_bad_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATENDE_ENV", "producao")
    with pytest.raises(ValueError, match="ATENDE_ENV"):
        Settings()


def test_database_url_is_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:senha@h/db")
    assert "senha" not in repr(Settings())


def test_api_keys_are_random_hashed_and_prefixed() -> None:
    first, second = generate_api_key(), generate_api_key()
    assert first != second and looks_like_api_key(first)
    assert len(hash_api_key(first)) == 32 and hash_api_key(first) != hash_api_key(
        second
    )
    assert readable_prefix(first) == first[:12] and first.startswith("atd_")
    assert not looks_like_api_key("sk_live_whatever")
