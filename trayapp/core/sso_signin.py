"""Signing in to IAM Identity Center the way the AWS CLI does: in the user's browser.

Authorization code with PKCE (RFC 7636, S256): trayapp listens on ``127.0.0.1`` only, on a port
the system picks, opens the authorize page with a fresh ``state``, and takes the code only from a
callback that carries that same ``state`` (anything else on the port is answered 400 and ignored);
the code is worthless without the verifier, which never leaves this process.  Device authorization
(RFC 8628) is the fallback: the user opens a page and confirms a short code.  Both give up after
:data:`SIGN_IN_LIMIT` seconds.  The OIDC client is botocore's ``sso-oidc``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from trayapp.core.errors import SsoSignInFailed
from trayapp.core.sso_config import SsoSession
from trayapp.i18n import _

SIGN_IN_LIMIT = 600.0
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
CALLBACK_PATH = "/oauth/callback"  # registered without the port (core/sso_registration.py, RFC 8252)

_DONE_PAGE = (
    b"<!doctype html><meta charset=utf-8><title>trayapp</title>"
    b"<p>Signed in. You can close this tab and return to trayapp.</p>"
)


@dataclass(frozen=True)
class DeviceCode:
    """What the user needs to confirm a device sign-in (no secret: the code is shown to them)."""

    session: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None


Opener = Callable[[str], object]


class SsoClients:
    """botocore's unsigned ``sso-oidc`` and ``sso`` clients, one botocore session for all regions
    (``AWS_ENDPOINT_URL_SSO_OIDC`` / ``AWS_ENDPOINT_URL_SSO`` are honoured by botocore)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._session: Any = None
        self._clients: dict[tuple[str, str], Any] = {}

    def __call__(self, service: str, region: str) -> Any:
        with self._lock:
            if (service, region) not in self._clients:
                from botocore import UNSIGNED
                from botocore.config import Config

                from trayapp.core import aws_clients

                self._session = self._session or aws_clients.session()
                # SSO OIDC and the portal take no SigV4 signature: the bearer token is the proof.
                config = aws_clients.client_config().merge(Config(signature_version=UNSIGNED))
                self._clients[service, region] = self._session.create_client(service, region, config=config)
            return self._clients[service, region]


def print_device_code(code: DeviceCode) -> None:
    import sys

    text = _("To sign in to '{session}', open {url} and confirm the code {code}.")
    print(text.format(session=code.session, url=code.verification_uri, code=code.user_code), file=sys.stderr)


def open_browser(url: str) -> bool:
    """The user's browser (``BROWSER`` first, as Python's ``webbrowser`` and ``xdg-open`` do)."""
    import webbrowser

    return webbrowser.open(url)


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(64)  # 86 characters of [A-Za-z0-9_-]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=")
    return verifier, challenge.decode("ascii")


class _Callback(HTTPServer):
    """The loopback listener: the first request with the right ``state`` ends the wait."""

    def __init__(self, state: str) -> None:
        super().__init__(("127.0.0.1", 0), _CallbackHandler)
        self.expected_state = state
        self.result: dict[str, str] | None = None
        self.done = threading.Event()


class _CallbackHandler(BaseHTTPRequestHandler):
    server: _Callback

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        state = query.get("state", "")
        if url.path != CALLBACK_PATH or not secrets.compare_digest(state, self.server.expected_state):
            self.send_error(400)  # another program on this machine guessing at the port
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(_DONE_PAGE)))
        self.end_headers()
        self.wfile.write(_DONE_PAGE)
        if self.server.result is None:
            self.server.result = query
            self.server.done.set()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the query holds the code: never logged


def authorization_code(
    oidc: Any, session: SsoSession, client: dict[str, Any], opener: Opener, limit: float = SIGN_IN_LIMIT
) -> dict[str, Any]:
    """CreateToken's answer after the user approved in the browser."""
    verifier, challenge = _pkce()
    state = secrets.token_urlsafe(32)
    server = _Callback(state)
    redirect = f"http://127.0.0.1:{server.server_address[1]}{CALLBACK_PATH}"
    query = {
        "response_type": "code",
        "client_id": client["clientId"],
        "redirect_uri": redirect,
        "state": state,
        "code_challenge_method": "S256",
        "scopes": " ".join(session.scopes),
        "code_challenge": challenge,
    }
    # Percent-encoded as the AWS CLI does (scopes joined with %20, not '+').
    encoded = urllib.parse.urlencode(query, quote_via=urllib.parse.quote)
    url = f"{oidc.meta.endpoint_url.rstrip('/')}/authorize?{encoded}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    try:
        opener(url)
        if not server.done.wait(limit):
            raise SsoSignInFailed(session=session.name, reason=_("no answer came from the browser within 10 minutes"))
    finally:
        server.shutdown()
        server.server_close()
    answer = server.result or {}
    if "code" not in answer:
        error = answer.get("error", "")
        reason = _("the sign-in was refused in the browser") if error else _("the browser sent no code")
        raise SsoSignInFailed(session=session.name, reason=reason)
    return dict(
        oidc.create_token(
            clientId=client["clientId"],
            clientSecret=client["clientSecret"],
            grantType="authorization_code",
            code=answer["code"],
            redirectUri=redirect,
            codeVerifier=verifier,
        )
    )


def device_authorization(
    oidc: Any,
    session: SsoSession,
    client: dict[str, Any],
    notice: Callable[[DeviceCode], object],
    limit: float = SIGN_IN_LIMIT,
    sleep: Callable[[float], object] = time.sleep,
) -> dict[str, Any]:
    """CreateToken's answer after the user confirmed the code on the device page."""
    start = oidc.start_device_authorization(
        clientId=client["clientId"], clientSecret=client["clientSecret"], startUrl=session.start_url
    )
    notice(DeviceCode(session.name, start["userCode"], start["verificationUri"], start.get("verificationUriComplete")))
    interval = float(start.get("interval") or 5)
    deadline = time.monotonic() + min(limit, float(start.get("expiresIn") or limit))
    errors = oidc.exceptions
    while time.monotonic() < deadline:
        sleep(interval)
        try:
            return dict(
                oidc.create_token(
                    clientId=client["clientId"],
                    clientSecret=client["clientSecret"],
                    grantType=DEVICE_GRANT,
                    deviceCode=start["deviceCode"],
                )
            )
        except errors.AuthorizationPendingException:
            continue
        except errors.SlowDownException:
            interval += 5
        except errors.AccessDeniedException:
            raise SsoSignInFailed(
                session=session.name, reason=_("the sign-in was refused on the device page")
            ) from None
        except errors.ExpiredTokenException:
            break
    raise SsoSignInFailed(session=session.name, reason=_("the code was not confirmed within 10 minutes"))
