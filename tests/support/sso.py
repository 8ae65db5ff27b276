"""An IAM Identity Center (SSO) stand-in that speaks the real wire protocol on loopback.

moto has no SSO.  ``SsoServer`` is one small threaded HTTP server that answers both REST-JSON
services botocore calls, so point both variables at ``server.url``::

    AWS_ENDPOINT_URL_SSO_OIDC=server.url   # sso-oidc: RegisterClient, StartDeviceAuthorization, CreateToken
    AWS_ENDPOINT_URL_SSO=server.url        # sso (the portal): GetRoleCredentials, ListAccounts, …

OIDC
    ``POST /client/register``, ``POST /device_authorization``, ``POST /token`` (grant types
    ``authorization_code`` with PKCE S256, ``urn:ietf:params:oauth:grant-type:device_code`` and
    ``refresh_token``; refresh tokens rotate: each is good for one refresh), and ``GET /authorize``
    (the page a browser opens), which approves at once and answers 302 to the loopback
    ``redirect_uri`` with ``code`` and ``state``; ``GET /device?user_code=`` approves a device code.
    Errors are HTTP 400/401 with ``{"error": …}`` and ``x-amzn-ErrorType``, as the real service.
Portal
    ``GET /federation/credentials``, ``GET /assignment/accounts``, ``GET /assignment/roles``,
    ``POST /logout``; the bearer token in ``x-amz-sso_bearer_token``.  ``POST /federation`` answers
    the console's getSigninToken (point ``TRAYAPP_SIGNIN_URL`` at it).

Every request is recorded in ``requests`` (``SsoRequest``: the operation, its fields).  Knobs:
``token_seconds`` (access token lifetime), ``registration_seconds``, ``interval`` (device polling),
``deny`` (the user refuses in the browser), ``refuse_refresh`` (every refresh is ``invalid_grant``),
``assignments`` (account id → (name, [roles])), ``hostile`` (operation → one of :data:`HOSTILE`: the
answer a hostile or broken server gives instead of the real one, until the key is removed);
a large or hostile directory: ``page_size``,
``throttle_every`` (every Nth listing answered 429), ``endless`` (pages that never end),
``raw_accounts`` (entries listed as they are); ``hostile_directory()`` is one such directory.

``browser_script(path)`` writes a ``BROWSER`` program that opens the URL it is given with curl,
following redirects — the authorize page's redirect lands on the app's loopback callback.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import shlex
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["DEVICE_GRANT", "HOSTILE", "CustomDomain", "SsoRequest", "SsoServer", "browser_script", "hostile_directory"]

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_OIDC_ERRORS = {
    "authorization_pending": "AuthorizationPendingException",
    "slow_down": "SlowDownException",
    "expired_token": "ExpiredTokenException",
    "access_denied": "AccessDeniedException",
    "invalid_grant": "InvalidGrantException",
    "invalid_client": "InvalidClientException",
    "invalid_request": "InvalidRequestException",
    "unsupported_grant_type": "UnsupportedGrantTypeException",
}


#: A handler's answer: status, body (JSON, or a page as text), extra headers.
Reply = tuple[int, Any, dict[str, str]]


@dataclass(frozen=True)
class SsoRequest:
    operation: str
    fields: dict[str, Any]
    token: str | None = None  # the portal's bearer token
    at: float = field(default_factory=time.monotonic)


class _Error(Exception):
    def __init__(self, status: int, kind: str, error: str, description: str = "") -> None:
        super().__init__(kind)
        self.status, self.kind, self.error, self.description = status, kind, error, description


def _oidc_error(error: str, description: str = "", status: int = 400) -> _Error:
    return _Error(401 if error == "invalid_client" else status, _OIDC_ERRORS[error], error, description)


class SsoServer:
    def __init__(self, *, token_seconds: int = 3600, registration_seconds: int = 90 * 86400) -> None:
        self.token_seconds = token_seconds
        self.registration_seconds = registration_seconds
        self.interval = 1
        self.deny = False
        self.refuse_refresh = False
        self.assignments: dict[str, tuple[str, list[str]]] = {
            "111111111111": ("Production", ["Admin", "ReadOnly"]),
            "222222222222": ("Sandbox", ["Developer"]),
        }
        self.requests: list[SsoRequest] = []
        self.lock = threading.Lock()
        self.clients: dict[str, dict[str, Any]] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.devices: dict[str, dict[str, Any]] = {}
        self.access: dict[str, float] = {}  # token → expiry (epoch)
        self.refresh: dict[str, str] = {}  # refresh token → client id
        self._httpd: ThreadingHTTPServer | None = None
        self.hostile: dict[str, str] = {}  # operation → one of HOSTILE: how it is answered instead
        self._stopped = threading.Event()

    # --- lifecycle ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> SsoServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server._handle(self)

            do_POST = do_GET

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._stopped.set()  # a "silent" answer ends
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    def env(self) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL_SSO_OIDC": self.url, "AWS_ENDPOINT_URL_SSO": self.url}

    def operations(self, *names: str) -> list[SsoRequest]:
        with self.lock:
            return [r for r in self.requests if not names or r.operation in names]

    def grants(self) -> list[str]:
        return [r.fields.get("grantType", "") for r in self.operations("CreateToken")]

    def expire_access_tokens(self) -> None:
        with self.lock:
            self.access = dict.fromkeys(self.access, 0.0)

    def approve(self, user_code: str) -> bool:
        with self.lock:
            for device in self.devices.values():
                if device["userCode"] == user_code:
                    device["approved"] = True
                    return True
        return False

    # --- the wire ------------------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parsed = urllib.parse.urlsplit(h.path)
        query = dict(urllib.parse.parse_qsl(parsed.query))
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {}
        token = h.headers.get("x-amz-sso_bearer_token")
        routes = {
            ("POST", "/client/register"): ("RegisterClient", self._register),
            ("POST", "/device_authorization"): ("StartDeviceAuthorization", self._device),
            ("POST", "/token"): ("CreateToken", self._token),
            ("GET", "/authorize"): ("Authorize", self._authorize),
            ("GET", "/device"): ("ApproveDevice", self._approve_page),
            ("GET", "/federation/credentials"): ("GetRoleCredentials", self._role_credentials),
            ("GET", "/assignment/accounts"): ("ListAccounts", self._accounts),
            ("GET", "/assignment/roles"): ("ListAccountRoles", self._roles),
            ("POST", "/logout"): ("Logout", self._logout),
            ("POST", "/federation"): ("GetSigninToken", self._signin_token),  # the console's, for TRAYAPP_SIGNIN_URL
        }
        found = routes.get((h.command, parsed.path))
        if found is None:
            self._send(h, 404, {"message": "no such operation"}, "ResourceNotFoundException")
            return
        operation, handler = found
        fields = {**query, **body}
        with self.lock:
            self.requests.append(SsoRequest(operation, fields, token))
        try:
            with self.lock:
                status, payload, headers = handler(fields, token)
        except _Error as exc:
            error = {"error": exc.error, "error_description": exc.description} if exc.error else {}
            self._send(h, exc.status, error or {"message": exc.description}, exc.kind)
            return
        kind = self.hostile.get(operation)
        if kind is not None:
            _send_hostile(h, kind, status, payload, self._stopped)
            return
        self._send(h, status, payload, None, headers)

    @staticmethod
    def _send(
        h: BaseHTTPRequestHandler, status: int, payload: Any, kind: str | None, headers: dict[str, str] | None = None
    ) -> None:
        data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
        h.send_response(status)
        h.send_header("Content-Type", "text/html" if isinstance(payload, str) else "application/json")
        h.send_header("Content-Length", str(len(data)))
        if kind:
            h.send_header("x-amzn-ErrorType", kind)
        for key, value in (headers or {}).items():
            h.send_header(key, value)
        h.end_headers()
        h.wfile.write(data)

    # --- OIDC ------------------------------------------------------------------------------------
    def _register(self, f: dict[str, Any], _token: str | None) -> Reply:
        if not f.get("clientName") or f.get("clientType") != "public":
            raise _oidc_error("invalid_request", "clientName and clientType=public are required")
        client_id, secret = "client-" + secrets.token_hex(8), "secret-" + secrets.token_hex(16)
        now = int(time.time())
        self.clients[client_id] = {
            "secret": secret,
            "expires": now + self.registration_seconds,
            "grantTypes": f.get("grantTypes") or [DEVICE_GRANT, "refresh_token"],
            "redirectUris": f.get("redirectUris") or [],
        }
        reply = {"clientId": client_id, "clientSecret": secret, "clientIdIssuedAt": now}
        reply["clientSecretExpiresAt"] = now + self.registration_seconds
        return 200, reply, {}

    def _client(self, f: dict[str, Any], grant: str | None = None) -> dict[str, Any]:
        client = self.clients.get(f.get("clientId", ""))
        if client is None or client["secret"] != f.get("clientSecret") or client["expires"] < time.time():
            raise _oidc_error("invalid_client", "unknown or expired client")
        if grant is not None and grant not in client["grantTypes"]:
            raise _Error(400, "UnauthorizedClientException", "unauthorized_client", "grant not registered")
        return client

    def _device(self, f: dict[str, Any], _token: str | None) -> Reply:
        self._client(f, DEVICE_GRANT)
        if not str(f.get("startUrl", "")).startswith("https://"):
            raise _oidc_error("invalid_request", "startUrl must be https")
        device, user = secrets.token_urlsafe(24), "-".join(secrets.token_hex(2).upper() for _ in range(2))
        self.devices[device] = {"userCode": user, "clientId": f["clientId"], "approved": False, "expires": 600}
        self.devices[device]["deadline"] = time.time() + 600
        page = f"{self.url}/device"
        reply = {"deviceCode": device, "userCode": user, "verificationUri": page, "expiresIn": 600}
        reply |= {"verificationUriComplete": f"{page}?user_code={user}", "interval": self.interval}
        return 200, reply, {}

    def _authorize(self, f: dict[str, Any], _token: str | None) -> Reply:
        client = self.clients.get(f.get("client_id", ""))
        redirect = f.get("redirect_uri", "")
        parts = urllib.parse.urlsplit(redirect)
        registered = {urllib.parse.urlsplit(u).path for u in client["redirectUris"]} if client else set()
        if client is None or parts.hostname != "127.0.0.1" or parts.path not in registered:
            return 400, "<p>unknown client or redirect_uri</p>", {}
        if f.get("response_type") != "code" or f.get("code_challenge_method") != "S256" or not f.get("state"):
            return 400, "<p>PKCE S256 and state are required</p>", {}
        if self.deny:
            answer = {"error": "access_denied", "state": f["state"]}
        else:
            code = secrets.token_urlsafe(24)
            self.codes[code] = {"clientId": f["client_id"], "redirect": redirect, "challenge": f["code_challenge"]}
            answer = {"code": code, "state": f["state"]}
        return 302, "", {"Location": redirect + "?" + urllib.parse.urlencode(answer)}

    def _approve_page(self, f: dict[str, Any], _token: str | None) -> Reply:
        for device in self.devices.values():
            if device["userCode"] == f.get("user_code"):
                device["approved"] = not self.deny
                return 200, "<p>approved</p>", {}
        return 404, "<p>no such code</p>", {}

    def _token(self, f: dict[str, Any], _token: str | None) -> Reply:
        grant = f.get("grantType", "")
        if grant == "authorization_code":
            self._client(f, grant)
            found = self.codes.pop(f.get("code", ""), None)
            verifier = f.get("codeVerifier", "")
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if found is None or found["clientId"] != f["clientId"] or found["redirect"] != f.get("redirectUri"):
                raise _oidc_error("invalid_grant", "unknown code")
            if found["challenge"] != challenge:
                raise _oidc_error("invalid_grant", "code_verifier does not match")
        elif grant == DEVICE_GRANT:
            self._client(f, grant)
            device = self.devices.get(f.get("deviceCode", ""))
            if device is None or device["clientId"] != f["clientId"]:
                raise _oidc_error("invalid_grant", "unknown device code")
            if device["deadline"] < time.time():
                raise _oidc_error("expired_token", "device code expired")
            if self.deny:
                raise _oidc_error("access_denied", "the user refused")
            if not device["approved"]:
                raise _oidc_error("authorization_pending", "")
            del self.devices[f["deviceCode"]]
        elif grant == "refresh_token":
            self._client(f, grant)
            owner = self.refresh.pop(f.get("refreshToken", ""), None)
            if self.refuse_refresh or owner != f["clientId"]:
                raise _oidc_error("invalid_grant", "refresh token is not valid")
        else:
            raise _oidc_error("unsupported_grant_type", grant)
        access, refresh = "at-" + secrets.token_urlsafe(32), "rt-" + secrets.token_urlsafe(32)
        self.access[access] = time.time() + self.token_seconds
        self.refresh[refresh] = f["clientId"]
        reply = {"accessToken": access, "tokenType": "Bearer", "expiresIn": self.token_seconds}
        return 200, reply | {"refreshToken": refresh}, {}

    # --- the portal --------------------------------------------------------------------------------
    def _bearer(self, token: str | None) -> None:
        if token is None or self.access.get(token, 0) < time.time():
            raise _Error(401, "UnauthorizedException", "", "Session token not found or invalid")

    def _role_credentials(self, f: dict[str, Any], token: str | None) -> Reply:
        self._bearer(token)
        account = self.assignments.get(f.get("account_id", ""))
        if account is None or f.get("role_name") not in account[1]:
            raise _Error(403, "ForbiddenException", "", "No access")
        expiration = int((time.time() + 3600) * 1000)
        creds: dict[str, str | int] = {
            "accessKeyId": "ASIA" + secrets.token_hex(8).upper(),
            "secretAccessKey": secrets.token_hex(20),
        }
        creds |= {"sessionToken": "sso-session-" + secrets.token_hex(16), "expiration": expiration}
        return 200, {"roleCredentials": creds}, {}

    def _accounts(self, f: dict[str, Any], token: str | None) -> Reply:
        self._bearer(token)
        accounts: list[Any] = [
            {"accountId": a, "accountName": name, "emailAddress": f"aws+{a}@example.com"}
            for a, (name, _roles) in self.assignments.items()
        ]
        return self._listing("accountList", accounts + list(self.raw_accounts), f)

    def _roles(self, f: dict[str, Any], token: str | None) -> Reply:
        self._bearer(token)
        _name, roles = self.assignments.get(f.get("account_id", ""), ("", []))
        return self._listing("roleList", [{"roleName": r, "accountId": f.get("account_id")} for r in roles], f)

    # --- a large or hostile directory: paging, throttling (ListAccounts, ListAccountRoles) ---------
    #: Items per page (the real portal pages its listings with ``nextToken``); None: one page.
    page_size: int | None = None
    #: Every Nth listing (one page of one list) is answered HTTP 429 ``TooManyRequestsException``
    #: the first ``throttle_times`` times it is asked; 0: never.
    throttle_every: int = 0
    throttle_times: int = 1
    #: A server that never ends: past the last item, empty pages each with a new ``nextToken``.
    endless: bool = False
    #: Entries put into ``accountList`` as they are (duplicates, missing or odd fields).
    raw_accounts: tuple[Any, ...] = ()
    #: Listing requests answered 429 so far.
    throttled: int = 0
    #: Each listing page asked for: [its number, how often it was refused] (None: start counting afresh).
    pages_asked: dict[tuple[str, str, str], list[int]] | None = None

    def _listing(self, key: str, items: list[Any], f: dict[str, Any]) -> Reply:
        if self.throttle_every:
            if self.pages_asked is None:
                self.pages_asked = {}
            page_id = (key, str(f.get("account_id", "")), str(f.get("next_token", "")))
            seen = self.pages_asked.setdefault(page_id, [len(self.pages_asked) + 1, 0])
            if seen[0] % self.throttle_every == 0 and seen[1] < self.throttle_times:
                seen[1] += 1
                self.throttled += 1
                raise _Error(429, "TooManyRequestsException", "", "Rate exceeded")
        try:
            start = int(base64.urlsafe_b64decode(str(f.get("next_token", ""))).decode() or 0)
        except ValueError:
            raise _Error(400, "InvalidRequestException", "", "bad nextToken") from None
        size = self.page_size or max(len(items), 1)
        if f.get("max_result"):
            size = min(size, int(f["max_result"]))
        page: dict[str, Any] = {key: items[start : start + size]}
        if start + size < len(items) or self.endless:
            page["nextToken"] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
        return 200, page, {}

    def _signin_token(self, f: dict[str, Any], token: str | None) -> Reply:
        return 200, {"SigninToken": "signin-" + secrets.token_hex(8)}, {}

    def _logout(self, f: dict[str, Any], token: str | None) -> Reply:
        self.access.pop(token or "", None)
        return 200, {}, {}


#: One sign-in and one SSO profile on it, as ``aws configure sso`` writes them.
CORP_CONFIG = """\
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1
sso_registration_scopes = sso:account:access

[profile corp-admin]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = Admin
region = eu-central-1
"""


#: Reads trayapp's private forwarding page (``file://…``) as a browser does: the address it sends
#: the browser on to (its ``<meta http-equiv="refresh">``); any other URL is printed as it is.
_FORWARDED = (
    "import html,re,sys,urllib.parse,urllib.request\n"
    "url = sys.argv[1]\n"
    "if url.startswith('file:'):\n"
    "    page = open(urllib.request.url2pathname(urllib.parse.urlsplit(url).path), encoding='utf-8').read()\n"
    '    url = html.unescape(re.search(r\'http-equiv="refresh" content="0;url=([^"]*)"\', page).group(1))\n'
    "print(url)\n"
)


def browser_script(path: Path, log: Path | None = None, forwarded_log: Path | None = None) -> Path:
    """A ``BROWSER`` program: curl follows the URL (trayapp's private forwarding page, then the
    authorize page, which redirects to the app's loopback callback); each URL it was given (its
    command line) is appended to *log*, and the address the page forwarded to, to *forwarded_log*."""
    record = f'printf "%s\\n" "$1" >> "{log}"\n' if log else ""
    forwarded = f'url=$("{sys.executable}" -I -c {shlex.quote(_FORWARDED)} "$1") || exit 1\n'
    if forwarded_log:
        forwarded += f'printf "%s\\n" "$url" >> "{forwarded_log}"\n'
    body = f'#!/bin/sh\n{record}{forwarded}exec curl -sS -L -o /dev/null --max-time 30 "$url"\n'
    path.write_text(body, encoding="utf-8")
    path.chmod(0o755)
    return path


class CustomDomain:
    """An organisation's own start URL: ``https://localhost:PORT/start`` with a certificate from a
    test CA (``ca_file``, for ``AWS_CA_BUNDLE``), answering every request with ``status`` and
    ``location`` (a redirect to the AWS access portal, by default).  ``head_status`` answers HEAD
    alone (405: the client must fall back to GET); ``silent`` accepts and never answers.  Every
    request is recorded in ``requests`` as (method, path)."""

    def __init__(self, folder: Path, location: str = "https://d-9067a1b2c3.awsapps.com/start/") -> None:
        self.folder = folder
        self.location: str | None = location
        self.status = 302
        self.head_status: int | None = None
        self.silent = False
        self.requests: list[tuple[str, str]] = []
        self.ca_file = folder / "custom-domain-ca.pem"
        self._httpd: ThreadingHTTPServer | None = None
        self._stop = threading.Event()

    @property
    def url(self) -> str:
        assert self._httpd is not None
        return f"https://localhost:{self._httpd.server_address[1]}/start"

    def __enter__(self) -> CustomDomain:
        import ssl

        import trustme

        ca = trustme.CA()
        ca.cert_pem.write_to_path(str(self.ca_file))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert("localhost").configure_cert(context)
        domain = self

        class Handler(BaseHTTPRequestHandler):
            def do_HEAD(self) -> None:
                domain.requests.append((self.command, self.path))
                if domain.silent:
                    domain._stop.wait(30)
                    return
                status = domain.head_status if self.command == "HEAD" and domain.head_status else domain.status
                self.send_response(status)
                if domain.location is not None and status in (301, 302, 303, 307, 308):
                    self.send_header("Location", domain.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_HEAD

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()


# --- a hostile or broken server ---------------------------------------------------------------------

HUGE = 200 * 1024 * 1024
#: The hostile answers ``SsoServer.hostile`` knows (each for any operation unless it says which).
HOSTILE = {
    "huge": "200 MB of JSON, its length declared",
    "huge-unsized": "200 MB of JSON, no length: read until the connection closes",
    "silent": "the request is read and never answered",
    "bad-json": "a cut-off JSON object",
    "huge-number": "expiresIn 1e400 (a float beyond any time)",
    "huge-integer": "expiresIn of 5,000 digits",
    "deep": "an object nested 100,000 deep",
    "negative-expiry": "the real answer with expiresIn -3600 (CreateToken)",
    "object-token": "the real answer with an object as accessToken (CreateToken)",
    "server-error": "HTTP 500 InternalServerException",
    "throttled": "HTTP 429 TooManyRequestsException",
    "option-page": "verificationUriComplete a browser option (StartDeviceAuthorization)",
    "foreign-page": "verificationUriComplete on another host (StartDeviceAuthorization)",
    "escaped-code": "userCode with terminal escapes and a bidi override (StartDeviceAuthorization)",
}
#: What ``escaped-code`` hides around the real code.
ESCAPES = "\x1b]0;owned\x07\x1b[2J\u202e", "\x1b[0m\r\n"


def _send_hostile(h: BaseHTTPRequestHandler, kind: str, status: int, payload: Any, stopped: threading.Event) -> None:
    if kind not in HOSTILE:
        raise ValueError(f"unknown hostile answer {kind!r}")
    if kind == "silent":
        stopped.wait(120)  # until the stand-in stops: the client gives up first
        return
    headers: dict[str, str] = {}
    if kind == "server-error":
        status, headers = 500, {"x-amzn-ErrorType": "InternalServerException"}
        body = b'{"message": "internal error"}'
    elif kind == "throttled":
        status, headers = 429, {"x-amzn-ErrorType": "TooManyRequestsException"}
        body = b'{"message": "Too many requests"}'
    elif kind == "bad-json":
        body = b'{"accessToken": "at-cut-off'
    elif kind == "huge-number":
        body = b'{"accessToken": "at-x", "tokenType": "Bearer", "expiresIn": 1e400}'
    elif kind == "huge-integer":
        body = b'{"accessToken": "at-x", "tokenType": "Bearer", "expiresIn": ' + b"9" * 5000 + b"}"
    elif kind == "deep":
        body = b'{"accessToken": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    elif kind in ("huge", "huge-unsized"):
        _send_huge(h, sized=kind == "huge")
        return
    else:
        body = json.dumps(_tampered(kind, dict(payload))).encode()
    try:
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            h.send_header(key, value)
        h.end_headers()
        h.wfile.write(body)
    except OSError:
        pass  # the client went away


def _tampered(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    if kind == "negative-expiry":
        return payload | {"expiresIn": -3600}
    if kind == "object-token":
        return payload | {"accessToken": {"token": payload.get("accessToken")}}
    if kind == "option-page":
        return payload | {"verificationUriComplete": "--renderer-cmd-prefix=touch /tmp/trayapp-owned"}
    if kind == "foreign-page":
        return payload | {"verificationUriComplete": "https://sso.example.net/device?user_code=X"}
    before, after = ESCAPES
    return payload | {"userCode": before + str(payload.get("userCode")) + after}


def _send_huge(h: BaseHTTPRequestHandler, *, sized: bool) -> None:
    """A JSON object of :data:`HUGE` bytes, written as fast as the client reads."""
    head, tail = b'{"accessToken": "', b'", "expiresIn": 3600}'
    block = b"a" * (1 << 20)
    try:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        if sized:
            h.send_header("Content-Length", str(HUGE))
        h.end_headers()  # unsized: HTTP/1.0, the body ends when the connection closes
        h.wfile.write(head)
        for _ in range(HUGE // len(block) - 1):
            h.wfile.write(block)
        h.wfile.write(b"a" * (len(block) - len(head) - len(tail)) + tail)
    except OSError:
        pass  # the client stopped reading and closed: what a bounded reader does
    h.close_connection = True


def hostile_directory() -> dict[str, tuple[str, list[str]]]:
    """A directory (account id → (name, [roles])) that tries to break the config file: a header
    closed early, line breaks, a ``[profile x]`` injection, comment marks, control characters, a
    huge name, names equal after sanitising, bad account ids and role names.  Two entries are
    usable as they are: ``333333333333`` (``Team``/``Deploy``) and ``444444444444`` (``Ops``/``Admin``)."""
    return {
        "333333333333": ("Team", ["Deploy"]),
        "444444444444": ("Ops", ["Admin", "Bad]Role", "x\n[profile evil]", "#comment", "a" * 65]),
        "555555555555": ("Evil]\n[profile evil]\ncredential_process = sh -c id\n[x", ["Admin"]),
        "666666666666": ("tab\there\x1b[31m red \x00; # not a comment", ["ReadOnly"]),
        "777777777777": ("N" * 5000, ["Admin"]),
        "888888888888": ("Team!", ["Deploy"]),  # 'team-deploy' again once sanitised
        "999999999999": ("TEAM", ["deploy"]),
        "deploy": ("Team", ["Admin"]),  # the id of issue 30: not 12 digits
        "12345678901\n": ("Newline", ["Admin"]),
        "１２３４５６７８９０１２": ("Fullwidth digits", ["Admin"]),
        "000000000001": ("Ünïcödé Prödüctïön", ["Admin"]),
        "000000000002": ("\u202eevil\u200b", ["Admin"]),
    }
