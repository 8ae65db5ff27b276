"""Local STS endpoints for tests.

``MotoServer``
    moto's real HTTP server (``python -m moto.server``) on a free port.  Point botocore
    at it with ``AWS_ENDPOINT_URL_STS=server.url``.  moto accepts any MFA code and
    any duration.

``FaultSts``
    A small threaded HTTP server that speaks the STS Query API
    (``AssumeRole``, ``GetSessionToken``, ``GetCallerIdentity``) with programmable
    failures, for what moto cannot do: wrong/reused MFA code, wrong serial,
    AccessDenied, ExpiredToken, InvalidClientTokenId, duration too long,
    throttling, a hang, a malformed body.  Each request takes the next behaviour
    from a queue (``push``); when the queue is empty the default (``success``)
    applies.  Every request is recorded in ``requests``.

``refused_url()``
    A URL where nothing listens (re-exported from ``procs``).
"""

from __future__ import annotations

import collections
import datetime as dt
import http.client
import re
import secrets
import string
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from xml.sax.saxutils import escape

from .procs import (
    START_TIMEOUT,
    HarnessError,
    ManagedProcess,
    free_port,
    log_tail,
    refused_url,
    wait_until,
)

__all__ = [
    "PRESETS",
    "Behaviour",
    "FaultSts",
    "Hang",
    "Malformed",
    "MotoServer",
    "StsError",
    "StsRequest",
    "Success",
    "refused_url",
]

STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
DEFAULT_ACCOUNT = "123456789012"
DEFAULT_USER_ARN = f"arn:aws:iam::{DEFAULT_ACCOUNT}:user/test-user"


# --------------------------------------------------------------------------- moto
class MotoServer:
    """``python -m moto.server -H 127.0.0.1 -p PORT`` on a free port.

    ``url`` is ``http://127.0.0.1:PORT``; ``reset()`` clears moto's state.  *env* is added to its
    environment (libfaketime's, say); ``stop()`` then ``start()`` again takes the same port
    (the network gone and back).
    """

    def __init__(
        self, *, timeout: float = START_TIMEOUT, log_dir: Path | None = None, env: Mapping[str, str] | None = None
    ) -> None:
        self.timeout = timeout
        self.log_dir = log_dir
        self.extra_env = dict(env or {})
        self.port: int | None = None
        self.start_seconds: float | None = None
        self._proc: ManagedProcess | None = None
        self._tmp: Any = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise HarnessError("MotoServer is not started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _answers(self) -> bool:
        assert self.port is not None
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
        try:
            conn.request("GET", "/moto-api/")
            conn.getresponse().read()
            return True
        except OSError:
            return False
        finally:
            conn.close()

    def start(self) -> MotoServer:
        import tempfile

        from .desktop import clean_base_env

        t0 = time.monotonic()
        if self.log_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="trayapp-moto-")
            self.log_dir = Path(self._tmp.name)
        env = clean_base_env()
        env.update(HOME=str(self.log_dir), AWS_EC2_METADATA_DISABLED="true", **self.extra_env)
        last_error: HarnessError | None = None
        fixed = self.port
        for _attempt in range(3):  # the free port can be taken between probe and bind
            self.port = fixed or free_port()
            self._proc = ManagedProcess(
                f"moto-{self.port}",
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                env=env,
                log_dir=self.log_dir,
                cwd=self.log_dir,
            )
            try:
                wait_until(f"moto server on port {self.port}", self._answers, self.timeout, proc=self._proc)
            except HarnessError as exc:
                self._proc.stop()
                last_error = exc
                if "Address already in use" in log_tail(self._proc.log_path):
                    continue
                raise
            self.start_seconds = time.monotonic() - t0
            return self
        assert last_error is not None
        raise last_error

    def reset(self) -> None:
        """Forget every role, user and session moto has seen (``POST /moto-api/reset``)."""
        assert self.port is not None
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request("POST", "/moto-api/reset")
            conn.getresponse().read()
        finally:
            conn.close()

    def stop(self, *, keep_port: bool = False) -> None:
        """Stop the server (by PID); with *keep_port*, a later ``start()`` listens on the same port."""
        if self._proc is not None:
            self._proc.stop()
            self._proc = None
        if keep_port:
            return
        self.port = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


# ---------------------------------------------------------------------- behaviours
@dataclass(frozen=True)
class StsError:
    """Answer with STS's error XML.  ``message`` may use ``{RoleArn}``, ``{SerialNumber}``,
    ``{DurationSeconds}``, ``{Action}``, ``{caller_arn}`` (request fields)."""

    code: str
    message: str
    status: int = 403
    type: str = "Sender"


@dataclass(frozen=True)
class Hang:
    """Read the request, then send nothing for *seconds* (ended early by ``stop()``),
    then close the connection without an answer."""

    seconds: float = 30.0


@dataclass(frozen=True)
class Malformed:
    """HTTP *status* with a body that is not valid STS XML."""

    body: str = "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>"
    status: int = 200
    content_type: str = "text/xml"


@dataclass(frozen=True)
class Success:
    """A valid response for the action (generated credentials; the Expiration is
    ``now + DurationSeconds`` unless *expiration* is given)."""

    expiration: dt.datetime | None = None


Behaviour = StsError | Hang | Malformed | Success

MFA_INVALID = "MultiFactorAuthentication failed with invalid MFA one time pass code."
MFA_BAD_SERIAL = (
    "MultiFactorAuthentication failed, unable to validate MFA code. Please verify your MFA "
    "serial number is valid and associated with this user."
)

#: The presets, with the exact messages STS returns.
PRESETS: dict[str, Behaviour] = {
    "success": Success(),
    "wrong_code": StsError("AccessDenied", MFA_INVALID),
    "reused_code": StsError("AccessDenied", MFA_INVALID),
    "wrong_serial": StsError("AccessDenied", MFA_BAD_SERIAL),
    "not_authorised": StsError(
        "AccessDenied",
        "User: {caller_arn} is not authorized to perform: sts:AssumeRole on resource: {RoleArn}",
    ),
    "expired_token": StsError("ExpiredToken", "The security token included in the request is expired"),
    "invalid_token": StsError("InvalidClientTokenId", "The security token included in the request is invalid."),
    "duration_too_long": StsError(
        "ValidationError",
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        400,
    ),
    "duration_chained": StsError(
        "ValidationError",
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
        400,
    ),
    "throttling": StsError("Throttling", "Rate exceeded", 400),
    "hang": Hang(),
    "malformed": Malformed(),
}


class StsRequest(dict[str, str]):
    """The form fields of one request (``req["TokenCode"]``), plus ``.path``,
    ``.headers`` and ``.access_key`` (the key id in the SigV4 Authorization header)."""

    def __init__(self, fields: dict[str, str], *, path: str, headers: dict[str, str], behaviour: str) -> None:
        super().__init__(fields)
        self.path = path
        self.headers = headers
        self.behaviour = behaviour
        m = re.search(r"Credential=([^/,\s]+)/", headers.get("authorization", ""))
        self.access_key: str | None = m.group(1) if m else None

    @property
    def action(self) -> str | None:
        return self.get("Action")


@dataclass
class IssuedCredentials:
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: dt.datetime
    arn: str
    account: str
    user_id: str
    action: str
    request: StsRequest = field(repr=False)


def _rand(alphabet: str, n: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------------ FaultSts
class FaultSts:
    """A programmable STS endpoint on ``127.0.0.1`` (port chosen by the OS).

    ``fault.push("wrong_code")`` → the next request gets STS's AccessDenied for a bad
    MFA code; ``fault.push("throttling", times=5)`` for the next five; requests after
    the queue is empty get ``fault.default`` (``"success"``).  Pass a preset name
    (``PRESETS``) or a ``StsError`` / ``Hang`` / ``Malformed`` / ``Success``.
    """

    def __init__(
        self,
        *,
        account: str = DEFAULT_ACCOUNT,
        caller_arn: str = DEFAULT_USER_ARN,
        hang_seconds: float = 30.0,
    ) -> None:
        self.account = account
        self.caller_arn = caller_arn
        self.hang_seconds = hang_seconds
        self.default: Behaviour | str = "success"
        self.requests: list[StsRequest] = []
        self.issued: list[IssuedCredentials] = []
        self._queue: collections.deque[tuple[str, Behaviour]] = collections.deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.start_seconds: float | None = None

    # -------------------------------------------------------------- lifecycle
    @property
    def url(self) -> str:
        if self._server is None:
            raise HarnessError("FaultSts is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FaultSts:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> FaultSts:
        t0 = time.monotonic()
        owner = self

        class Handler(_StsHandler):
            sts = owner

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="FaultSts",
            daemon=True,
        )
        self._thread.start()
        self.start_seconds = time.monotonic() - t0
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes every hanging handler
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    # -------------------------------------------------------------- programming
    def push(self, behaviour: Behaviour | str, times: int = 1) -> None:
        """Queue *behaviour* for the next *times* requests."""
        name, resolved = self._resolve(behaviour)
        with self._lock:
            for _ in range(times):
                self._queue.append((name, resolved))

    def set_default(self, behaviour: Behaviour | str) -> None:
        """What requests get when the queue is empty (initially ``"success"``)."""
        self._resolve(behaviour)
        self.default = behaviour

    def clear(self) -> None:
        """Empty the queue, the request log and the issued credentials; default → success."""
        with self._lock:
            self._queue.clear()
            self.requests.clear()
            self.issued.clear()
            self.default = "success"

    @property
    def pending(self) -> int:
        """Behaviours still queued."""
        with self._lock:
            return len(self._queue)

    def requests_for(self, action: str) -> list[StsRequest]:
        with self._lock:
            return [r for r in self.requests if r.get("Action") == action]

    def _resolve(self, behaviour: Behaviour | str) -> tuple[str, Behaviour]:
        if isinstance(behaviour, str):
            try:
                preset = PRESETS[behaviour]
            except KeyError:
                raise ValueError(f"unknown STS behaviour {behaviour!r}; presets: {', '.join(PRESETS)}") from None
            if isinstance(preset, Hang):
                preset = Hang(self.hang_seconds)
            return behaviour, preset
        return type(behaviour).__name__, behaviour

    def _next(self) -> tuple[str, Behaviour]:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        return self._resolve(self.default)

    # -------------------------------------------------------------- responses
    def _caller(self, req: StsRequest) -> tuple[str, str, str]:
        """(arn, account, user_id) of the caller, from the request's access key."""
        with self._lock:
            for cred in self.issued:
                if cred.access_key_id == req.access_key:
                    return cred.arn, cred.account, cred.user_id
        return self.caller_arn, self.account, "AIDATESTUSER000000000"

    def error_xml(self, err: StsError, req: StsRequest) -> str:
        values = collections.defaultdict(lambda: "", req)
        values["caller_arn"] = self._caller(req)[0]
        message = err.message.format_map(values)
        return (
            f'<ErrorResponse xmlns="{STS_NS}">\n'
            f"  <Error>\n"
            f"    <Type>{escape(err.type)}</Type>\n"
            f"    <Code>{escape(err.code)}</Code>\n"
            f"    <Message>{escape(message)}</Message>\n"
            f"  </Error>\n"
            f"  <RequestId>{uuid.uuid4()}</RequestId>\n"
            f"</ErrorResponse>\n"
        )

    def _credentials(self, req: StsRequest, ok: Success, arn: str, account: str, user_id: str) -> IssuedCredentials:
        try:
            duration = int(req.get("DurationSeconds") or 3600)
        except ValueError:
            duration = 3600
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        cred = IssuedCredentials(
            access_key_id="ASIA" + _rand(string.ascii_uppercase + string.digits, 16),
            secret_access_key=_rand(string.ascii_letters + string.digits + "+/", 40),
            session_token="FwoGZXIvYXdzE" + _rand(string.ascii_letters + string.digits, 200),
            expiration=ok.expiration or now + dt.timedelta(seconds=duration),
            arn=arn,
            account=account,
            user_id=user_id,
            action=req.get("Action", ""),
            request=req,
        )
        with self._lock:
            self.issued.append(cred)
        return cred

    @staticmethod
    def _credentials_xml(cred: IssuedCredentials) -> str:
        return (
            "<Credentials>"
            f"<AccessKeyId>{cred.access_key_id}</AccessKeyId>"
            f"<SecretAccessKey>{escape(cred.secret_access_key)}</SecretAccessKey>"
            f"<SessionToken>{cred.session_token}</SessionToken>"
            f"<Expiration>{_iso(cred.expiration)}</Expiration>"
            "</Credentials>"
        )

    def success_xml(self, req: StsRequest, ok: Success) -> tuple[int, str]:
        action = req.get("Action", "")
        request_id = f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        if action == "AssumeRole":
            role_arn = req.get("RoleArn", "")
            session = req.get("RoleSessionName", "session")
            m = re.fullmatch(r"arn:aws[\w-]*:iam::(\d{12}):role/(?:.*/)?([^/]+)", role_arn)
            if not m:
                return 400, self.error_xml(StsError("ValidationError", f"{role_arn} is invalid", 400), req)
            account, role = m.groups()
            role_id = "AROA" + _rand(string.ascii_uppercase + string.digits, 17)
            arn = f"arn:aws:sts::{account}:assumed-role/{role}/{session}"
            cred = self._credentials(req, ok, arn, account, f"{role_id}:{session}")
            body = (
                f"<AssumeRoleResult>{self._credentials_xml(cred)}"
                f"<AssumedRoleUser><AssumedRoleId>{role_id}:{escape(session)}</AssumedRoleId>"
                f"<Arn>{escape(arn)}</Arn></AssumedRoleUser>"
                "</AssumeRoleResult>"
            )
        elif action == "GetSessionToken":
            arn, account, user_id = self._caller(req)
            cred = self._credentials(req, ok, arn, account, user_id)
            body = f"<GetSessionTokenResult>{self._credentials_xml(cred)}</GetSessionTokenResult>"
        elif action == "GetCallerIdentity":
            arn, account, user_id = self._caller(req)
            body = (
                "<GetCallerIdentityResult>"
                f"<Arn>{escape(arn)}</Arn><UserId>{escape(user_id)}</UserId>"
                f"<Account>{account}</Account>"
                "</GetCallerIdentityResult>"
            )
        else:
            return 400, self.error_xml(
                StsError("InvalidAction", f"Could not find operation {action} for version 2011-06-15", 400), req
            )
        return 200, f'<{action}Response xmlns="{STS_NS}">{body}{request_id}</{action}Response>\n'


class _StsHandler(BaseHTTPRequestHandler):
    sts: FaultSts
    protocol_version = "HTTP/1.1"
    timeout = 10  # idle keep-alive connections end by themselves

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep pytest output clean; requests are in FaultSts.requests

    def _send(self, status: int, body: str, content_type: str = "text/xml") -> None:
        data = body.encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client gave up

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        parsed = urllib.parse.urlsplit(self.path)
        fields = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        fields.update(urllib.parse.parse_qsl(raw, keep_blank_values=True))
        name, behaviour = self.sts._next()
        req = StsRequest(
            fields,
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            behaviour=name,
        )
        with self.sts._lock:
            self.sts.requests.append(req)

        if isinstance(behaviour, StsError):
            self._send(behaviour.status, self.sts.error_xml(behaviour, req))
        elif isinstance(behaviour, Hang):
            self.sts._stopping.wait(behaviour.seconds)
            self.close_connection = True
        elif isinstance(behaviour, Malformed):
            self._send(behaviour.status, behaviour.body, behaviour.content_type)
        else:
            status, body = self.sts.success_xml(req, behaviour)
            self._send(status, body)

    def do_POST(self) -> None:
        self._handle()

    def do_GET(self) -> None:
        self._handle()


def iam_client(moto: MotoServer) -> Any:
    """boto3's IAM client for moto at *moto* (any keys: moto's IAM answers them all)."""
    import boto3

    return boto3.client("iam", region_name="us-east-1", endpoint_url=moto.url,
                        aws_access_key_id="AKIAADMINADMINADMIN0", aws_secret_access_key="admin")  # fmt: skip


def iam_user(moto: MotoServer) -> tuple[str, str, str]:
    """A new IAM user in moto with one access key: (name, key id, secret)."""
    admin = iam_client(moto)
    name = f"ci-{uuid.uuid4().hex[:8]}"
    admin.create_user(UserName=name)
    key = admin.create_access_key(UserName=name)["AccessKey"]
    return name, str(key["AccessKeyId"]), str(key["SecretAccessKey"])


def run_aws(args: list[str], env: dict[str, str], timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run the awscli from this venv (``<venv>/bin/aws ARGS``) with *env*."""
    aws = Path(sys.executable).with_name("aws")
    return subprocess.run(
        [str(aws), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
