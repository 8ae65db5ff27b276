"""A stand-in for the AWS sign-in service (``aws login``) that speaks its wire protocol on loopback.

moto has no ``signin``.  ``SigninServer`` answers ``CreateOAuth2Token`` as botocore calls it: rest-json
``POST /v1/token`` whose body IS ``tokenInput`` (``clientId``, ``grantType``, ``refreshToken``) and whose
answer IS ``tokenOutput`` (``accessToken`` {``accessKeyId``, ``secretAccessKey``, ``sessionToken``},
``tokenType``, ``expiresIn``, ``refreshToken``).  Point ``AWS_ENDPOINT_URL_SIGNIN`` at ``server.url``.

What it checks, as the service does:

- the ``DPoP`` header: a JWT with ``typ: dpop+jwt``, ``alg: ES256`` and the P-256 ``jwk`` of the key the
  sign-in was made with (``x``, ``y``); claims ``htm: POST``, ``htu`` = this request's URL, ``iat`` within
  five minutes of now, a ``jti`` never seen before; the signature ``r || s`` (64 bytes) verified;
- the refresh token: the sign-in's current one only — each is good for one refresh, then rotated
  (a used one is ``TOKEN_EXPIRED``); the client id the sign-in was made for.

Knobs: ``expires_in`` (the keys' lifetime), ``delay`` (seconds each refresh takes: lets concurrent callers
overlap), ``end(arn, error)`` (every later refresh of that sign-in is refused with ``error``:
``TOKEN_EXPIRED``, ``USER_CREDENTIALS_CHANGED``, ``INSUFFICIENT_PERMISSIONS``), ``answer`` (a body sent
instead of a good one: a hostile or broken service).  ``refreshes`` lists every request's outcome.

``sign_in(arn, left=…)`` plays ``aws login``: a fresh sign-in (its own EC key, ``EC PRIVATE KEY`` PEM,
as the AWS CLI writes it) whose cache data ``write_cache`` puts where botocore looks.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import string
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

__all__ = ["CLIENT_ID", "SigninServer", "write_cache"]

CLIENT_ID = "arn:aws:signin:::devtools/same-device"
IAT_SLACK = 300


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _key_id() -> str:
    return "ASIA" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(16))


@dataclass
class _SignIn:
    arn: str
    public: ec.EllipticCurvePublicKey
    refresh_token: str
    account_id: str
    ended: str | None = None


class _Refused(Exception):
    def __init__(self, status: int, kind: str, body: dict[str, str]) -> None:
        super().__init__(kind)
        self.status, self.kind, self.body = status, kind, body


def _denied(error: str, message: str) -> _Refused:
    return _Refused(403, "AccessDeniedException", {"error": error, "message": message})


def _invalid(message: str) -> _Refused:
    return _Refused(400, "ValidationException", {"message": message})


class SigninServer:
    def __init__(self) -> None:
        self.expires_in = 900
        self.delay = 0.0
        self.answer: Any = None
        #: Every refresh request's outcome: "refreshed", or the error it got.
        self.refreshes: list[str] = []
        self._lock = threading.Lock()
        self._sign_ins: dict[str, _SignIn] = {}  # by refresh token
        self._by_arn: dict[str, _SignIn] = {}
        self._jtis: set[str] = set()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                try:
                    if self.path != "/v1/token":
                        raise _Refused(404, "ResourceNotFoundException", {"message": "no such path"})
                    status, answer = 200, server._token(body, self.headers.get("DPoP"), server.url + self.path)
                    headers: dict[str, str] = {}
                except _Refused as exc:
                    status, answer, headers = exc.status, exc.body, {"x-amzn-ErrorType": exc.kind}
                    with server._lock:
                        server.refreshes.append(exc.body.get("error") or exc.kind)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="signin-stand-in", daemon=True)

    def __enter__(self) -> SigninServer:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()

    def env(self) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL_SIGNIN": self.url}

    # --- playing `aws login` ---------------------------------------------------------------
    def sign_in(
        self,
        arn: str,
        *,
        left: timedelta = timedelta(minutes=15),
        now: datetime | None = None,
        region: str | None = None,
    ) -> dict[str, Any]:
        """A new sign-in of *arn*, its keys with *left* to go at *now*: the cache file's data."""
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        ).decode()
        account = arn.split(":")[4]
        refresh = "rt-" + secrets.token_urlsafe(24)
        with self._lock:
            old = self._by_arn.get(arn)
            if old is not None:
                self._sign_ins.pop(old.refresh_token, None)
            sign_in = _SignIn(arn, key.public_key(), refresh, account)
            self._sign_ins[refresh] = sign_in
            self._by_arn[arn] = sign_in
        expires = (now or datetime.now(UTC)) + left
        data: dict[str, Any] = {
            "accessToken": {
                "accessKeyId": _key_id(),
                "secretAccessKey": secrets.token_urlsafe(30),
                "sessionToken": "st-" + secrets.token_urlsafe(60),
                "accountId": account,
                "expiresAt": expires.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
            "tokenType": "aws_sigv4",
            "clientId": CLIENT_ID,
            "refreshToken": refresh,
            "idToken": "id." + secrets.token_urlsafe(20),
            "dpopKey": pem,
        }
        if region:
            data["signInRegion"] = region
        return data

    def end(self, arn: str, error: str = "TOKEN_EXPIRED") -> None:
        with self._lock:
            self._by_arn[arn].ended = error

    def current_refresh_token(self, arn: str) -> str:
        with self._lock:
            return self._by_arn[arn].refresh_token

    def count(self, outcome: str = "refreshed") -> int:
        with self._lock:
            return self.refreshes.count(outcome)

    # --- the service -------------------------------------------------------------------------
    def _token(self, body: bytes, proof: str | None, url: str) -> Any:
        try:
            request = json.loads(body)
        except ValueError:
            raise _invalid("the body is not JSON") from None
        if not isinstance(request, dict) or request.get("grantType") != "refresh_token":
            raise _Refused(400, "ValidationException", {"error": "unsupported_grant_type", "message": "grant"})
        public = self._check_proof(proof, url)
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            sign_in = self._sign_ins.get(str(request.get("refreshToken")))
            if sign_in is None:
                raise _denied("TOKEN_EXPIRED", "The refresh token is not valid.")
            if request.get("clientId") != CLIENT_ID:
                raise _Refused(400, "ValidationException", {"error": "invalid_client", "message": "client"})
            if public.public_numbers() != sign_in.public.public_numbers():
                raise _Refused(400, "ValidationException", {"error": "invalid_request", "message": "DPoP key"})
            if sign_in.ended:
                raise _denied(sign_in.ended, "The sign-in session can't be refreshed.")
            del self._sign_ins[sign_in.refresh_token]
            sign_in.refresh_token = "rt-" + secrets.token_urlsafe(24)
            self._sign_ins[sign_in.refresh_token] = sign_in
            self.refreshes.append("refreshed")
            if self.answer is not None:
                return self.answer
            return {
                "accessToken": {
                    "accessKeyId": _key_id(),
                    "secretAccessKey": secrets.token_urlsafe(30),
                    "sessionToken": "st-" + secrets.token_urlsafe(60),
                },
                "tokenType": "aws_sigv4",
                "expiresIn": self.expires_in,
                "refreshToken": sign_in.refresh_token,
            }

    def _check_proof(self, proof: str | None, url: str) -> ec.EllipticCurvePublicKey:
        def bad(why: str) -> _Refused:
            return _Refused(400, "ValidationException", {"error": "invalid_request", "message": f"DPoP: {why}"})

        if not proof or proof.count(".") != 2:
            raise bad("missing")
        head_b64, claims_b64, signature_b64 = proof.split(".")
        try:
            header, claims = json.loads(_b64decode(head_b64)), json.loads(_b64decode(claims_b64))
            signature = _b64decode(signature_b64)
        except ValueError:
            raise bad("not a JWT") from None
        if header.get("typ") != "dpop+jwt" or header.get("alg") != "ES256":
            raise bad("header")
        jwk = header.get("jwk") or {}
        if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
            raise bad("jwk")
        x, y = (int.from_bytes(_b64decode(jwk.get(c, "")), "big") for c in ("x", "y"))
        try:
            public = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
        except ValueError:
            raise bad("jwk point") from None
        if len(signature) != 64:
            raise bad("signature length")
        der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
        try:
            public.verify(der, f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise bad("signature") from None
        if claims.get("htm") != "POST" or claims.get("htu") != url:
            raise bad("htm/htu")
        if not isinstance(claims.get("iat"), int) or abs(claims["iat"] - time.time()) > IAT_SLACK:
            raise bad("iat")
        with self._lock:
            jti = str(claims.get("jti") or "")
            if not jti or jti in self._jtis:
                raise bad("jti replayed")
            self._jtis.add(jti)
        return public


def cache_path(folder: Path, arn: str) -> Path:
    return folder / f"{hashlib.sha256(arn.encode()).hexdigest()}.json"


def write_cache(folder: Path, arn: str, data: dict[str, Any]) -> Path:
    """Write the cache file as the AWS CLI does (0600 in a 0700 folder)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = cache_path(folder, arn)
    path.write_text(json.dumps(data))
    path.chmod(0o600)
    return path
