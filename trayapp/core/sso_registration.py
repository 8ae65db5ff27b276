"""One OIDC client registration per sign-in, shared with the AWS CLI v2.

AWS throttles RegisterClient, so the AWS CLI v2 keeps its registration in the token cache folder
and reuses it until it expires; trayapp reads and writes the same file:

``~/.aws/sso/cache/<sha1(json.dumps({"tool": "botocore", "startUrl": URL, "region": SSO_REGION,
"scopes": SCOPES, "session_name": NAME}, sort_keys=True))>.json`` holding ``clientId``,
``clientSecret``, ``expiresAt`` and, as the CLI writes them, ``scopes`` and ``grantTypes``.

* ``startUrl`` is the start URL as configured (not the resolved one), ``scopes`` the
  ``sso_registration_scopes`` as configured (``null`` when unset), ``session_name`` the
  ``[sso-session]``'s name (``null`` for a legacy profile).
* A browser (PKCE) sign-in uses a registration with the ``authorization_code`` grant (registered
  with ``authorization_code`` + ``refresh_token``, the redirect URI ``http://127.0.0.1/oauth/callback``
  and the resolved start URL as issuer); a device sign-in one without it (registered with no grant
  types).  Either replaces the other's when the flow changes, as the CLI's fetchers do.
* A registration with less than 15 minutes left is not reused (the CLI's ``_EXPIRY_WINDOW``).
* The client's name is ``botocore-client-<session>`` (legacy: ``botocore-client-<epoch seconds>``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from trayapp.core import sso_answers, sso_cache
from trayapp.core.errors import TrayappError
from trayapp.core.sso_config import DEFAULT_SCOPES, SsoSession

Flow = Literal["pkce", "device"]
#: The grants of a browser sign-in's registration (the CLI's ``SSOTokenFetcherAuth._AUTH_GRANT_TYPES``).
PKCE_GRANTS = ("authorization_code", "refresh_token")
#: The redirect URI registered; the sign-in uses it with the loopback listener's port (RFC 8252).
REDIRECT_URI = "http://127.0.0.1/oauth/callback"
#: A registration with less left than this is not reused.
EXPIRY_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class Registration:
    client_id: str
    client_secret: str = field(repr=False)
    expires_at: datetime
    scopes: tuple[str, ...] | None = None
    grant_types: tuple[str, ...] | None = None

    @property
    def flow(self) -> Flow:
        return "pkce" if "authorization_code" in (self.grant_types or ()) else "device"

    def as_client(self) -> dict[str, str]:
        """The fields the sign-in's OIDC calls take."""
        return {"clientId": self.client_id, "clientSecret": self.client_secret}

    def as_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "clientId": self.client_id,
            "clientSecret": self.client_secret,
            "expiresAt": self.expires_at.astimezone(UTC).strftime(sso_cache.TIME_FORMAT),
        }
        if self.scopes is not None:
            data["scopes"] = list(self.scopes)
        if self.grant_types is not None:
            data["grantTypes"] = list(self.grant_types)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Registration | None:
        client_id, secret = data.get("clientId"), data.get("clientSecret")
        expires_text = data.get("expiresAt")
        expires = sso_cache.parse_time(expires_text) if isinstance(expires_text, str) else None
        if not isinstance(client_id, str) or not isinstance(secret, str) or not client_id or expires is None:
            return None
        return cls(client_id, secret, expires, _strings(data.get("scopes")), _strings(data.get("grantTypes")))


def _strings(value: object) -> tuple[str, ...] | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def cache_key(session: SsoSession) -> str:
    """The AWS CLI's ``_registration_cache_key``: its file name without ``.json``."""
    args = {
        "tool": "botocore",
        "startUrl": session.start_url,
        "region": session.region,
        "scopes": list(session.scopes) if session.scopes_set else None,
        "session_name": None if session.legacy else session.name,
    }
    return hashlib.sha1(json.dumps(args, sort_keys=True).encode("utf-8")).hexdigest()


def cache_path(session: SsoSession, environ: Mapping[str, str] | None = None) -> Path:
    return sso_cache.cache_dir(environ) / f"{cache_key(session)}.json"


def client_name(session: SsoSession, now: datetime) -> str:
    return f"botocore-client-{int(now.timestamp()) if session.legacy else session.name}"


def read(path: Path) -> Registration | None:
    data = sso_cache.read_json(path)
    return Registration.from_json(data) if data is not None else None


def usable(registration: Registration | None, flow: Flow, now: datetime) -> bool:
    return registration is not None and registration.flow == flow and registration.expires_at - now >= EXPIRY_WINDOW


def registration(
    oidc: Any,
    session: SsoSession,
    flow: Flow,
    *,
    issuer_url: str,
    now: datetime,
    environ: Mapping[str, str] | None = None,
    on_register: Callable[[], object] | None = None,
    endpoint: str = "",
) -> Registration:
    """The cached registration for *flow* while it lasts, else a new one (written for the CLI too).
    Both are checked as an answer of the service at *endpoint* is: a cached file is another tool's
    word, and one that fails the check is replaced, not used."""
    path = cache_path(session, environ)
    found = read(path)
    if found is not None and usable(found, flow, now) and _sound(found, endpoint, now):
        return found
    made = register(oidc, session, flow, issuer_url=issuer_url, now=now, endpoint=endpoint)
    if on_register is not None:
        on_register()
    sso_cache.write_json(path, made.as_json())
    return made


def _sound(found: Registration, endpoint: str, now: datetime) -> bool:
    as_answer = {
        "clientId": found.client_id,
        "clientSecret": found.client_secret,
        "clientSecretExpiresAt": int(found.expires_at.timestamp()),
    }
    try:
        sso_answers.registration(as_answer, endpoint, now)
    except TrayappError:
        return False
    return True


def register(
    oidc: Any, session: SsoSession, flow: Flow, *, issuer_url: str, now: datetime, endpoint: str = ""
) -> Registration:
    """RegisterClient as the AWS CLI's fetcher for *flow* calls it."""
    kwargs: dict[str, Any] = {"clientName": client_name(session, now), "clientType": "public"}
    if flow == "pkce":
        scopes: list[str] | None = list(session.scopes) if session.scopes_set else list(DEFAULT_SCOPES)
        kwargs |= {
            "grantTypes": list(PKCE_GRANTS),
            "redirectUris": [REDIRECT_URI],
            "issuerUrl": issuer_url,
            "scopes": scopes,
        }
        grants: tuple[str, ...] | None = PKCE_GRANTS
    else:
        scopes = list(session.scopes) if session.scopes_set else None
        if scopes:
            kwargs["scopes"] = scopes
        grants = None
    answer = sso_answers.registration(oidc.register_client(**kwargs), endpoint, now)  # checked before use
    return Registration(
        answer.client_id,
        answer.client_secret,
        answer.expires_at,
        tuple(scopes) if scopes else None,
        grants,
    )


def forget(session: SsoSession, client_id: str, environ: Mapping[str, str] | None = None) -> None:
    """Remove the cached registration if it is still *client_id*'s (the service refused it)."""
    path = cache_path(session, environ)
    found = read(path)
    if found is not None and found.client_id == client_id:
        sso_cache.remove(path)
