"""Nobody to ask, told at once (issue 29, item 4): with no display, no browser, no terminal and no
tray, a command that would need a person — an MFA code, an IAM Identity Center sign-in — fails with
one sentence naming the fix, and a caller such as the real ``aws`` CLI running ``trayapp
credential-process`` through ``credential_process`` shows that sentence instead of waiting for a
code or a sign-in no one sees.  The 5-second bound is the subprocess's timeout, not a speed claim."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.aws_files import AWS, CREDENTIALS
from tests.support.fixtures import SsoServer, aws_env
from tests.support.procs import scaled
from tests.support.sso import CORP_CONFIG

pytestmark = pytest.mark.integration  # the real aws CLI and trayapp as separate processes

#: What a person would see if one could: none of it may be there.
NOBODY = ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER", "SSH_CONNECTION")
#: The bound on the whole aws CLI run (its own start included): 5 s, as the machine's load allows (×3 by default).
NOBODY_BOUND = scaled(5.0)

CONFIG = (
    CORP_CONFIG
    + """
[profile prod]
role_arn = arn:aws:iam::222222222222:role/Admin
source_profile = base
mfa_serial = arn:aws:iam::000000000000:mfa/alice
region = eu-central-1

[profile from-corp]
role_arn = arn:aws:iam::333333333333:role/Deploy
source_profile = corp-admin
region = eu-central-1
"""
)


@pytest.fixture
def env(aws_home: Path, sso_server: SsoServer) -> dict[str, str]:
    processes = "".join(
        f"\n[profile via-{name}]\ncredential_process = {sys.executable} -m trayapp credential-process {name}\n"
        "region = eu-west-1\n"
        for name in ("prod", "corp-admin", "from-corp")
    )
    (aws_home / ".aws" / "config").write_text(CONFIG + processes)
    credentials = aws_home / ".aws" / "credentials"
    credentials.write_text(CREDENTIALS)
    credentials.chmod(0o600)
    env = aws_env(aws_home, "http://127.0.0.1:9", **sso_server.env())
    for name in NOBODY:
        env.pop(name, None)
    return env


@pytest.mark.parametrize(
    ("profile", "fix"),
    [
        ("prod", "pass --code-stdin or --code"),
        ("corp-admin", "run 'trayapp sso login corp' first"),
        ("from-corp", "run 'trayapp sso login corp' first"),
    ],
)
def test_credential_process_with_nobody_to_ask_tells_the_aws_cli_at_once(
    env: dict[str, str], sso_server: SsoServer, profile: str, fix: str
) -> None:
    done = subprocess.run(
        [AWS, "sts", "get-caller-identity", "--profile", f"via-{profile}"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=NOBODY_BOUND,
    )
    assert done.returncode != 0
    assert fix in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert sso_server.operations("StartDeviceAuthorization", "CreateToken") == []  # no sign-in nobody sees


@pytest.mark.parametrize(
    ("args", "fix"),
    [
        (["assume", "prod"], "pass --code-stdin or --code"),
        (["exec", "prod", "--", "true"], "pass --code-stdin or --code"),
        (["assume", "corp-admin"], "run 'trayapp sso login corp' first"),
        (["exec", "from-corp", "--", "true"], "run 'trayapp sso login corp' first"),
        (["env", "prod"], "trayapp assume prod"),
    ],
    ids=["assume-mfa", "exec-mfa", "assume-sso", "exec-role-from-sso", "env"],
)
def test_each_command_that_needs_a_person_says_the_fix_when_nobody_is_there(
    env: dict[str, str], args: list[str], fix: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "trayapp", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=NOBODY_BOUND,
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("trayapp: ") and fix in lines[0], done.stderr


def test_nobody_to_ask_is_told_before_the_engine_reads_a_key_or_starts_an_sts_client(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """What made the refusal slow (the source keys read, botocore's STS client built, then the
    prompt found nobody): now nothing of the engine runs before the sentence."""
    import io

    from trayapp.cli import main
    from trayapp.core.service import Service

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in NOBODY:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    touched: list[str] = []

    def sts_clients(credentials: object, region: str) -> object:
        touched.append("an STS client")
        raise AssertionError("no STS client with nobody to ask")

    def source_keys(role: object) -> object:
        touched.append("the source keys")
        raise AssertionError("no source keys read with nobody to ask")

    def service() -> Service:
        return Service(sts_clients=sts_clients, source_resolver=source_keys)  # type: ignore[arg-type]

    for args in (["credential-process", "prod"], ["assume", "prod"], ["exec", "prod", "--", "true"]):
        assert main(args, service_factory=service) == 2
        assert "needs an MFA code, but there is no display and no terminal" in capsys.readouterr().err
    assert touched == []


def test_with_nobody_to_ask_a_session_that_has_not_ended_still_serves(aws_home: Path, env: dict[str, str]) -> None:
    """5 min left (inside the 10 min in which a code would be asked for): nobody can give one, so the
    session is handed out as it is until it ends — not refused because a renewal needs a person."""
    from tests.support.aws_files import OLD_TOKEN, write_session

    write_session(aws_home / ".aws" / "credentials", "prod", minutes=5)
    done = subprocess.run(
        [sys.executable, "-m", "trayapp", "credential-process", "prod"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert OLD_TOKEN in done.stdout
