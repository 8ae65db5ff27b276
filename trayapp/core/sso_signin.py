"""Signing in to IAM Identity Center the way the AWS CLI does: in the user's browser.

Authorization code with PKCE (RFC 7636, S256): trayapp listens on ``127.0.0.1`` only, on a port
the system picks (core/sso_callback.py), opens the authorize page with a fresh ``state``, and takes
the code only from a callback that carries that same ``state`` (anything else on the port is
answered 400 and ignored); the code is worthless without the verifier, which never leaves this
process.  Device authorization (RFC 8628) is the fallback: the user opens a page and confirms a
short code; the page and the code are checked first (core/sso_answers.py).  The browser is given a
private page that forwards it (:func:`open_browser`), never the address itself.  Both give up after
:data:`SIGN_IN_LIMIT` seconds.  The OIDC client is botocore's ``sso-oidc``, its answers bounded
(core/sso_wire.py).
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
from typing import Any

from trayapp.core import sso_answers, sso_wire
from trayapp.core.errors import SsoSignInFailed
from trayapp.core.sso_callback import Callback
from trayapp.core.sso_config import SsoSession
from trayapp.i18n import _

SIGN_IN_LIMIT = 600.0
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


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
                client = self._session.create_client(service, region, config=config)
                self._clients[service, region] = sso_wire.bound(client)  # answers of at most 1 MB
            return self._clients[service, region]


def print_device_code(code: DeviceCode) -> None:
    import sys

    text = _("To sign in to '{session}', open {url} and confirm the code {code}.")
    print(text.format(session=code.session, url=code.verification_uri, code=code.user_code), file=sys.stderr)


def open_browser(url: str) -> bool:
    """The user's browser (``BROWSER`` first, as Python's ``webbrowser`` and ``xdg-open`` do), given
    only the ``file://`` address of a private page that forwards it to *url*: the authorize URL's
    ``state`` and code challenge, or a device page's code, are on no command line another local
    user could read (``ps``) and use to sign this user in with their own identity."""
    from trayapp.core.console import open_signin_page

    return open_signin_page(url, label=_("Continue to the sign-in page"))


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(64)  # 86 characters of [A-Za-z0-9_-]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=")
    return verifier, challenge.decode("ascii")


def authorization_code(
    oidc: Any, session: SsoSession, client: dict[str, Any], opener: Opener, limit: float = SIGN_IN_LIMIT
) -> dict[str, Any]:
    """CreateToken's answer after the user approved in the browser."""
    verifier, challenge = _pkce()
    state = secrets.token_urlsafe(32)
    with Callback(state) as server:
        redirect = server.redirect_uri
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
        opener(f"{oidc.meta.endpoint_url.rstrip('/')}/authorize?{encoded}")
        answer = server.wait(limit)
    if answer is None:
        raise SsoSignInFailed(session=session.name, reason=_("no answer came from the browser within 10 minutes"))
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
    endpoint = str(oidc.meta.endpoint_url)
    answer = oidc.start_device_authorization(
        clientId=client["clientId"], clientSecret=client["clientSecret"], startUrl=session.start_url
    )
    start = sso_answers.device_start(answer, endpoint, session.start_url)  # its pages and code, checked
    notice(DeviceCode(session.name, start.user_code, start.verification_uri, start.verification_uri_complete))
    interval = float(start.interval)
    deadline = time.monotonic() + min(limit, float(start.expires_in))
    errors = oidc.exceptions
    while time.monotonic() < deadline:
        sleep(interval)
        try:
            return dict(
                oidc.create_token(
                    clientId=client["clientId"],
                    clientSecret=client["clientSecret"],
                    grantType=DEVICE_GRANT,
                    deviceCode=start.device_code,
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
