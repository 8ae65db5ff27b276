"""Issue 6 with real parts: MFA session against moto, credential_process through the real aws CLI,
console sign-in against a local stand-in of the federation endpoint."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support.aws_files import AWS, CONFIG, CREDENTIALS, OLD_TOKEN, env_for, write_session
from trayapp.core.mfa import UsedCodes
from trayapp.core.prompts import MfaRequest
from trayapp.core.service import Service

MANY = (
    CONFIG
    + """
[profile stage]
role_arn = arn:aws:iam::555555555555:role/Stage
source_profile = base
mfa_serial = arn:aws:iam::000000000000:mfa/alice

[profile audit]
role_arn = arn:aws:iam::666666666666:role/Audit
source_profile = base
mfa_serial = arn:aws:iam::000000000000:mfa/alice

[profile long]
role_arn = arn:aws:iam::777777777777:role/Long
source_profile = base
mfa_serial = arn:aws:iam::000000000000:mfa/alice
duration_seconds = 14400

[profile gov]
role_arn = arn:aws-us-gov:iam::888888888888:role/Gov
source_profile = base
region = us-gov-west-1
"""
)


class CountingPrompt:
    """Stands where the dialog would: counts every time it would have been shown."""

    def __init__(self) -> None:
        self.shown: list[str] = []
        self.codes = iter(f"{n:06d}" for n in range(111111, 999999, 111111))

    def ask(self, request: MfaRequest, error: str | None = None) -> str | None:
        self.shown.append(request.profile)
        return next(self.codes)

    def close(self) -> None:
        pass


@pytest.fixture
def home(aws_home: Path) -> Path:
    (aws_home / ".aws" / "config").write_text(MANY)
    creds = aws_home / ".aws" / "credentials"
    creds.write_text(CREDENTIALS)
    creds.chmod(0o600)
    return aws_home


def test_one_code_then_three_roles_without_a_prompt(moto_sts: Any, home: Path) -> None:
    env = env_for(home, moto_sts.url)
    service = Service(environ=env, mfa_sessions=True, used_codes=UsedCodes(time.time))
    prompt = CountingPrompt()
    import os

    saved = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL_STS", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")}
    os.environ.update({k: env[k] for k in saved})  # botocore reads these from the process environment
    try:
        service.assume("prod", prompt)
        for name in ("stage", "audit", "prod"):
            service.assume(name, prompt)
        assert prompt.shown == ["prod"]
        service.assume("long", prompt)  # 4 h does not fit the MFA session's one-hour limit: asks
        assert prompt.shown == ["prod", "long"]
        (mfa,) = service.mfa_sessions()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    for name, account in (("stage", "555555555555"), ("audit", "666666666666")):
        out = subprocess.run(
            [AWS, "sts", "get-caller-identity"],
            env={**env, "AWS_PROFILE": f"{name}-session"},
            capture_output=True,
            text=True,
            check=True,
        )
        assert json.loads(out.stdout)["Arn"].startswith(f"arn:aws:sts::{account}:assumed-role/")
    # the MFA session lives in memory only
    written = (home / ".aws" / "credentials").read_text()
    # (moto hands out the documentation's example key pair for GetSessionToken, the same as base's: compare tokens)
    assert mfa.credentials.session_token and mfa.credentials.session_token not in written


def test_credential_process_gives_the_real_aws_cli_a_session(moto_sts: Any, home: Path) -> None:
    config = home / ".aws" / "config"
    config.write_text(
        config.read_text()
        + f"\n[profile dev-cp]\ncredential_process = {sys.executable} -m trayapp credential-process dev\n"
        + "region = us-west-2\n"
    )
    env = env_for(home, moto_sts.url)
    out = subprocess.run(
        [AWS, "sts", "get-caller-identity"],
        env={**env, "AWS_PROFILE": "dev-cp"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["Arn"].startswith("arn:aws:sts::111111111111:assumed-role/Dev/")
    # the second run reuses the cached session: same keys as in the file
    first = json.loads(
        subprocess.run(
            [sys.executable, "-m", "trayapp", "credential-process", "dev"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert first["Version"] == 1
    assert first["AccessKeyId"] in (home / ".aws" / "credentials").read_text()
    assert datetime.fromisoformat(first["Expiration"]) > datetime.now(UTC)


class Federation(BaseHTTPRequestHandler):
    bodies: list[str] = []  # noqa: RUF012 - one stand-in per test, reset below

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        Federation.bodies.append(self.rfile.read(length).decode())
        payload = json.dumps({"SigninToken": "SIGNIN-TOKEN-123"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def federation() -> Iterator[str]:
    Federation.bodies = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Federation)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/federation"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("profile", "console"),
    [
        ("dev", "https://console.aws.amazon.com/console/home?region=us-west-2"),
        ("gov", "https://console.amazonaws-us-gov.com/console/home?region=us-gov-west-1"),
    ],
)
def test_console_url_has_the_right_shape_and_no_secret(
    moto_sts: Any, home: Path, federation: str, profile: str, console: str
) -> None:
    env = env_for(home, moto_sts.url, TRAYAPP_SIGNIN_URL=federation, TRAYAPP_LOG="debug")
    assumed = subprocess.run(
        [sys.executable, "-m", "trayapp", "assume", profile], env=env, capture_output=True, text=True
    )
    assert assumed.returncode == 0, assumed.stderr
    out = subprocess.run(
        [sys.executable, "-m", "trayapp", "console", profile, "--print-url"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    url = urllib.parse.urlsplit(out.stdout.strip())
    query = urllib.parse.parse_qs(url.query)
    assert query == {
        "Action": ["login"],
        "Issuer": ["trayapp"],
        "Destination": [console],
        "SigninToken": ["SIGNIN-TOKEN-123"],
    }
    (body,) = Federation.bodies
    session = json.loads(urllib.parse.parse_qs(body)["Session"][0])
    section = (home / ".aws" / "credentials").read_text().split(f"[{profile}-session]")[1]
    assert session["sessionId"] in section and session["sessionToken"] in section
    for secret in session.values():
        assert secret not in out.stdout + out.stderr + assumed.stdout + assumed.stderr


# --- credential_process and botocore's refresh windows -------------------------------------------

COUNTING = """\
import json, subprocess, sys
open(sys.argv[1], "a").write("run\\n")
sys.exit(subprocess.call([sys.executable, "-m", "trayapp", "credential-process", sys.argv[2]]))
"""

BOTO_CALLS = """\
import boto3, sys
session = boto3.Session(profile_name=sys.argv[1])
client = session.client("sts")
for _ in range(4):
    print(client.get_caller_identity()["Arn"])
"""


def sdk_calls(home: Path, env: dict[str, str], profile: str) -> tuple[subprocess.CompletedProcess[str], int]:
    """Four calls of one boto3 client through ``credential_process`` (counted) for *profile*."""
    counter = home / f"runs-{profile}"
    script = home / "counting.py"
    script.write_text(COUNTING)
    config = home / ".aws" / "config"
    config.write_text(
        config.read_text()
        + f"\n[profile {profile}-cp]\nregion = us-west-2\n"
        + f"credential_process = {sys.executable} {script} {counter} {profile}\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", BOTO_CALLS, f"{profile}-cp"],
        env={**env, "TRAYAPP_NO_CHANNEL": "1"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done, len(counter.read_text().splitlines()) if counter.exists() else 0


def test_a_session_inside_botocores_refresh_window_is_renewed_once_not_on_every_call(moto_sts: Any, home: Path) -> None:
    """12 min left: botocore (advisory window 15 min) would start credential-process before every
    call while it handed out that session; a role that needs no code is renewed at the first."""
    write_session(home / ".aws" / "credentials", "dev", 12)
    done, runs = sdk_calls(home, env_for(home, moto_sts.url), "dev")
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 4
    assert runs == 1  # was 5: the first load, then one per call
    assert OLD_TOKEN not in (home / ".aws" / "credentials").read_text()


@pytest.mark.parametrize("minutes", [12, 7])
def test_a_session_that_needs_a_code_keeps_serving_when_nobody_can_be_asked(
    moto_sts: Any, home: Path, minutes: int
) -> None:
    """prod needs a typed code and there is no display and no terminal: its session, still valid,
    is handed out (botocore asks again on each call) instead of a failure."""
    write_session(home / ".aws" / "credentials", "prod", minutes)
    env = {k: v for k, v in env_for(home, moto_sts.url).items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    done, runs = sdk_calls(home, env, "prod")
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 4
    assert runs >= 1
    assert OLD_TOKEN in (home / ".aws" / "credentials").read_text()  # not renewed: no code
