"""No secret in anything the user or another process can see.

Every failure scenario runs under ``strace -f`` so that the argument vector of every child
process and every ``listen()`` is recorded; everything printed, logged (TRAYAPP_LOG=debug)
and notified is gathered, and no access key, secret key, session token or MFA code may
appear in any of it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.aws_files import CONFIG, CREDENTIALS, env_for
from tests.support.fixtures import refused_url, require_tools

SOURCE_SECRETS = [
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AKIAOTHER0000EXAMPLE",
    "otherSecretKeyExample",
]


class Traced:
    """Runs trayapp commands under strace, collecting output, exec argv and listen calls."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.seen: list[str] = []
        self.execs: list[str] = []
        self.listens: list[str] = []
        self.n = 0

    def run(self, env: dict[str, str], *args: str, stdin: str = "", shown: bool = True) -> Any:
        self.n += 1
        trace = self.tmp / f"strace-{self.n}.txt"
        result = subprocess.run(
            [
                "strace",
                "-f",
                "-qq",
                "-s",
                "65536",
                "-e",
                "trace=execve,listen",
                "-e",
                "signal=none",
                "-o",
                str(trace),
                sys.executable,
                "-m",
                "trayapp",
                *args,
            ],
            env={**env, "TRAYAPP_LOG": "debug"},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if shown:
            self.seen += [result.stdout, result.stderr]
        else:
            self.seen.append(result.stderr)
        for line in trace.read_text().splitlines():
            if " execve(" in line:
                self.execs.append(line)
            if " listen(" in line:
                self.listens.append(line)
        return result


@pytest.fixture
def home(aws_home: Path) -> Path:
    (aws_home / ".aws" / "config").write_text(CONFIG)
    creds = aws_home / ".aws" / "credentials"
    creds.write_text(CREDENTIALS)
    creds.chmod(0o600)
    return aws_home


def session_secrets(credentials: Path) -> list[str]:
    text = credentials.read_text()
    return re.findall(r"^aws_(?:access_key_id|secret_access_key|session_token) = (\S+)$", text, re.M)


def test_no_secret_in_output_logs_arguments_and_no_listening_socket(
    fault_sts: Any, moto_sts: Any, home: Path, tmp_path: Path
) -> None:
    if shutil.which("strace") is None:
        require_tools("strace")
    traced = Traced(tmp_path)
    codes: list[str] = []

    def code() -> str:
        codes.append(f"{len(codes) + 1:03d}{len(codes) + 7:03d}")
        return codes[-1]

    faulty = env_for(home, fault_sts.url)
    for fault in (
        "wrong_code",
        "wrong_serial",
        "not_authorised",
        "expired_token",
        "invalid_token",
        "duration_too_long",
        "throttling",
        "malformed",
    ):
        fault_sts.push(fault, times=5)
        assert traced.run(faulty, "assume", "prod", "--code-stdin", stdin=code() + "\n").returncode == 1
        fault_sts.clear()
    assert (
        traced.run(env_for(home, refused_url()), "assume", "prod", "--code-stdin", stdin=code() + "\n").returncode == 1
    )
    assert traced.run(faulty, "assume", "nope", "--code-stdin", stdin=code() + "\n").returncode == 2

    good = env_for(home, moto_sts.url)
    assert traced.run(good, "assume", "prod", "--code-stdin", stdin=code() + "\n").returncode == 0
    assert traced.run(good, "assume", "dev").returncode == 0
    reused = codes[-1]
    assert traced.run(good, "assume", "prod", "--code-stdin", stdin=reused + "\n").returncode == 1
    for args in (("list",), ("list", "--json"), ("status",), ("status", "--json")):
        assert traced.run(good, *args).returncode == 0
    # env and credential-process print keys by design (for eval / SDKs): check their stderr only
    assert traced.run(good, "env", "dev", shown=False).returncode == 0
    assert traced.run(good, "credential-process", "dev", shown=False).returncode == 0
    creds = home / ".aws" / "credentials"
    secrets = SOURCE_SECRETS + session_secrets(creds) + codes
    assert len(session_secrets(creds)) == len(SOURCE_SECRETS) + 6  # two sessions of three
    assert traced.run(good, "forget", "prod").returncode == 0

    gathered = "\n".join(traced.seen)
    arguments = "\n".join(traced.execs)
    assert "trayapp" in arguments and len(traced.execs) >= 15
    for secret in secrets:
        assert secret not in gathered, "a secret was printed or logged"
        assert secret not in arguments, "a secret was passed on a command line"
    assert traced.listens == [], "trayapp opened a listening socket"
