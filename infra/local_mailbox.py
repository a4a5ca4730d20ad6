"""The local stack's mailbox: the e-mail Cognito sends an invited attendant.

In AWS, inviting an attendant (``admin_create_user`` without a password) makes
Cognito generate a temporary password and e-mail it with the pool's
``InviteMessageTemplate``; the first sign-in then asks for a new password.
moto sends nothing and keeps no password, so locally an invitee could never
sign in. Here moto's Cognito does what Cognito does, except that the e-mail is
written to a folder (``.local/mailbox/`` under ``make run``), one ``.eml``
file per message, readable as text.
"""

from __future__ import annotations

import functools
import secrets
import string
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

SENDER = "no-reply@verificationemail.com"  # Cognito's default sender
_DEFAULT_TEMPLATE = {
    "EmailSubject": "Your temporary password",
    "EmailMessage": "Your username is {username} and temporary password is {####}.",
}


def temporary_password() -> str:
    """One that meets the pool's policy (12+ characters of every class)."""
    classes = (string.ascii_lowercase, string.ascii_uppercase, string.digits, "!#%+-")
    chosen = [secrets.choice(c) for c in classes]
    chosen += [secrets.choice(string.ascii_letters + string.digits) for _ in range(10)]
    secrets.SystemRandom().shuffle(chosen)
    return "".join(chosen)


def _write(mailbox: Path, to: str, subject: str, body: str) -> Path:
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    mailbox.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = mailbox / f"{stamp}-{to}.eml"
    path.write_bytes(bytes(message))
    path.chmod(0o600)  # a password: the owner's eyes only
    return path


def mailing(original: Callable[..., Any], mailbox: Path) -> Callable[..., Any]:
    """moto's ``CognitoIdpBackend.admin_create_user``, inviting as Cognito does."""

    @functools.wraps(original)
    def admin_create_user(
        backend: Any,
        user_pool_id: str,
        username: str,
        message_action: str,
        temporary_password_: str,
        attributes: list[dict[str, str]],
    ) -> Any:
        invites = message_action not in ("SUPPRESS", "RESEND")
        password = temporary_password_ or (temporary_password() if invites else None)
        user = original(
            backend, user_pool_id, username, message_action, password, attributes
        )
        if invites:
            config = backend.describe_user_pool(user_pool_id).extended_config
            template = {
                **_DEFAULT_TEMPLATE,
                **(config.get("AdminCreateUserConfig") or {}).get(
                    "InviteMessageTemplate", {}
                ),
            }
            address = next(
                (a["Value"] for a in attributes if a["Name"] == "email"), username
            )
            body = (
                template["EmailMessage"]
                .replace("{username}", username)
                .replace("{####}", str(password))
            )
            _write(mailbox, address, template["EmailSubject"], body)
        return user

    return admin_create_user


def deliver_to(mailbox: Path) -> None:
    """From now on, this process's moto e-mails invitations into ``mailbox``."""
    from moto.cognitoidp.models import CognitoIdpBackend

    CognitoIdpBackend.admin_create_user = mailing(  # type: ignore[method-assign]
        CognitoIdpBackend.admin_create_user, mailbox
    )
