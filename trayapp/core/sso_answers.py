"""Every answer of IAM Identity Center checked before anything is written, shown or opened.

A sign-in server may be hostile or broken (a proxy's page, a man in the middle on a custom
endpoint, a bug): each field trayapp uses is checked for its type and range here, and anything
else is :class:`~trayapp.core.errors.SsoMalformedAnswer`, one sentence that names the field and
never quotes its value (it may be a token).  What is shown to the user (a device code) is
stripped of control characters, so no terminal escape or bidirectional override reaches a
terminal or a notification; a page address reaches the browser only when it is https on the
sign-in service's own host (:func:`own_page`), so no value can become a browser option.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from trayapp.core import errors
from trayapp.core.sts import Credentials
from trayapp.i18n import _

#: Tokens, secrets and codes: visible ASCII only (no space, no line break), bounded.
_OPAQUE = re.compile(r"[\x21-\x7e]{1,16384}")
_KEY_ID = re.compile(r"[A-Z0-9]{16,128}")  # as STS writes them
MAX_TOKEN_SECONDS = 90 * 86400  # IAM Identity Center's longest session
MAX_DEVICE_SECONDS = 86400
MAX_INTERVAL = 60
MAX_URL = 2048
MAX_USER_CODE = 64


@dataclass(frozen=True)
class NewToken:
    """CreateToken's answer, checked: the access token, how long it lasts, the refresh token."""

    access_token: str = field(repr=False)
    expires_in: int
    refresh_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Registration:
    """RegisterClient's answer, checked."""

    client_id: str
    client_secret: str = field(repr=False)
    expires_at: datetime


@dataclass(frozen=True)
class DeviceStart:
    """StartDeviceAuthorization's answer, checked: the pages are the service's own, the code printable."""

    device_code: str = field(repr=False)
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: int
    interval: int


def printable(text: str) -> str:
    """*text* without control, format (bidirectional overrides), private-use or unassigned
    characters, nor line and paragraph separators: safe to print on a terminal or in a notice."""
    return "".join(c for c in text if unicodedata.category(c)[0] != "C" and unicodedata.category(c) not in ("Zl", "Zp"))


class _Checker:
    def __init__(self, answer: object, endpoint: str) -> None:
        self.endpoint = endpoint
        if not isinstance(answer, Mapping):
            raise self.refuse(_("it is not a JSON object"))
        self.answer: Mapping[str, Any] = answer

    def refuse(self, reason: str) -> errors.SsoMalformedAnswer:
        return errors.SsoMalformedAnswer(endpoint=self.endpoint, reason=reason)

    def opaque(self, name: str, *, optional: bool = False) -> str | None:
        value = self.answer.get(name)
        if value is None and optional:
            return None
        if not isinstance(value, str) or not _OPAQUE.fullmatch(value):
            raise self.refuse(_("its {field} is not a short text of visible characters").format(field=name))
        return value

    def required(self, name: str) -> str:
        value = self.opaque(name)
        assert value is not None
        return value

    def whole(self, name: str, low: int, high: int, *, default: int | None = None) -> int:
        value = self.answer.get(name)
        if value is None and default is not None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            reason = _("its {field} is not a whole number from {low} to {high}")
            raise self.refuse(reason.format(field=name, low=low, high=high))
        return value


def new_token(answer: object, endpoint: str) -> NewToken:
    """CreateToken's answer (any grant), or one sentence."""
    check = _Checker(answer, endpoint)
    return NewToken(
        check.required("accessToken"),
        check.whole("expiresIn", 1, MAX_TOKEN_SECONDS),
        check.opaque("refreshToken", optional=True),
    )


def registration(answer: object, endpoint: str, now: datetime) -> Registration:
    """RegisterClient's answer: an id, a secret and an expiry in the future (at most ten years)."""
    check = _Checker(answer, endpoint)
    low = int(now.timestamp()) + 1
    expires = check.whole("clientSecretExpiresAt", low, low + 10 * 366 * 86400)
    return Registration(
        check.required("clientId"), check.required("clientSecret"), datetime.fromtimestamp(expires, UTC)
    )


def device_start(answer: object, endpoint: str, start_url: str) -> DeviceStart:
    """StartDeviceAuthorization's answer: pages on the service's own host, a printable code."""
    check = _Checker(answer, endpoint)
    code = check.answer.get("userCode")
    shown = printable(code)[: MAX_USER_CODE + 1] if isinstance(code, str) else ""
    if not shown.strip() or len(shown) > MAX_USER_CODE:
        raise check.refuse(_("its userCode is not a short printable code"))
    pages: dict[str, str | None] = {}
    for name in ("verificationUri", "verificationUriComplete"):
        value = check.answer.get(name)
        if value is None and name == "verificationUriComplete":
            pages[name] = None
        elif isinstance(value, str) and own_page(value, endpoint, start_url):
            pages[name] = value
        else:
            raise check.refuse(_("its {field} is not an https page of the sign-in service").format(field=name))
    return DeviceStart(
        check.required("deviceCode"),
        shown.strip(),
        pages["verificationUri"] or "",
        pages["verificationUriComplete"],
        check.whole("expiresIn", 1, MAX_DEVICE_SECONDS, default=600),
        check.whole("interval", 1, MAX_INTERVAL, default=5),
    )


def role_credentials(answer: object, endpoint: str, now: datetime) -> Credentials:
    """GetRoleCredentials' answer: an access key id as STS writes them, a secret and a token of
    visible characters (no line break: nothing can be injected into the credentials file), an
    expiry (epoch ms) in the future."""
    check = _Checker(answer, endpoint)
    inner = check.answer.get("roleCredentials")
    check = _Checker(inner, endpoint)
    key_id = check.answer.get("accessKeyId")
    if not isinstance(key_id, str) or not _KEY_ID.fullmatch(key_id):
        raise check.refuse(_("its accessKeyId is not an access key id"))
    secret, token = check.required("secretAccessKey"), check.required("sessionToken")
    low = int(now.timestamp() * 1000) + 1
    expires = check.whole("expiration", low, low + 366 * 86400 * 1000)
    return Credentials(key_id, secret, token, datetime.fromtimestamp(expires / 1000, UTC))


def expiry(token: NewToken, now: datetime) -> datetime:
    return now + timedelta(seconds=token.expires_in)


def own_page(url: str, endpoint: str, start_url: str = "") -> bool:
    """Whether *url* may be handed to a browser: https (plain http only when the endpoint itself
    is http on this computer, a local stand-in), no user name, on the endpoint's own host and
    port, on the AWS device page beside it (``oidc.REGION.DOMAIN`` → ``device.sso.REGION.DOMAIN``)
    or on the start URL's host — never anything a browser could take for an option."""
    if len(url) > MAX_URL or not re.fullmatch(r"[\x21-\x7e]+", url):
        return False
    try:
        page, service = urllib.parse.urlsplit(url), urllib.parse.urlsplit(endpoint)
        port, service_port = _port(page), _port(service)
        start = urllib.parse.urlsplit(start_url) if start_url else None
        start_port = _port(start) if start is not None else None
    except ValueError:
        return False
    if page.username is not None or page.password is not None or not page.hostname:
        return False
    if page.scheme != "https" and not (page.scheme == "http" == service.scheme and _loopback(page.hostname)):
        return False
    own = {(service.hostname, service_port)}
    if service.hostname and service.hostname.startswith("oidc."):
        own.add(("device.sso." + service.hostname[len("oidc.") :], service_port))
    if start is not None and start.scheme == "https" and start.hostname:
        own.add((start.hostname, start_port))
    return (page.hostname, port) in own


def _port(parts: urllib.parse.SplitResult) -> int | None:
    return parts.port or {"https": 443, "http": 80}.get(parts.scheme)


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
