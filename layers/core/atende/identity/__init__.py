"""Attendants' identity: Cognito sign-in and ID tokens in, a principal out.

The user pool proves who someone is (its ID token, RS256, checked against the
pool's published keys) and which tenant they belong to (``custom:tenant_id``).
The ``attendants`` row decides what they may do: its role and ``active`` flag
take effect at once, without waiting for tokens to expire. Locally the pool is
moto's, which issues the same tokens and serves the same key set.

- :mod:`~atende.identity.principal` — who is signed in, and their role.
- :mod:`~atende.identity.tokens` — ID tokens checked, principals built.
- :mod:`~atende.identity.sessions` — sign-in, first access, refresh.
- :mod:`~atende.identity.attendants` — inviting and managing attendants.
"""

from atende.identity.attendants import (
    Attendant,
    create_attendant,
    list_attendants,
    update_attendant,
)
from atende.identity.principal import TENANT_CLAIM, AttendantPrincipal, Role
from atende.identity.sessions import (
    NewPasswordRequired,
    Session,
    complete_new_password,
    refresh_session,
    sign_in,
)
from atende.identity.tokens import (
    IdentityNotConfigured,
    authenticate_bearer,
    clear_key_cache,
    verify_id_token,
)

__all__ = [
    "TENANT_CLAIM",
    "Attendant",
    "AttendantPrincipal",
    "IdentityNotConfigured",
    "NewPasswordRequired",
    "Role",
    "Session",
    "authenticate_bearer",
    "clear_key_cache",
    "complete_new_password",
    "create_attendant",
    "list_attendants",
    "refresh_session",
    "sign_in",
    "update_attendant",
    "verify_id_token",
]
