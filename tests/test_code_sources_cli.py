"""`trayapp assume` and `credential-process` with mfa_process or a YubiKey: no display, no terminal."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.code_sources import FakeYkman, script
from tests.support.fixtures import aws_env

PYTHON = sys.executable
SERIAL = "arn:aws:iam::000000000000:mfa/alice"
CONFIG = f"""\
[profile prod]
role_arn = arn:aws:iam::222222222222:role/Admin
source_profile = base
mfa_serial = {SERIAL}
region = eu-central-1

[profile dev]
role_arn = arn:aws:iam::111111111111:role/Dev
source_profile = base
"""
CREDENTIALS = """\
[base]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
"""


def env_for(home: Path, sts_url: str) -> dict[str, str]:
    """A private runtime folder per test: the used-code memory is the test's own."""
    run = home / "run"
    run.mkdir(mode=0o700, exist_ok=True)
    return aws_env(home, sts_url, XDG_RUNTIME_DIR=str(run))


@pytest.fixture
def home(aws_home: Path) -> Path:
    (aws_home / ".aws" / "config").write_text(CONFIG)
    creds = aws_home / ".aws" / "credentials"
    creds.write_text(CREDENTIALS)
    creds.chmod(0o600)
    return aws_home


def with_mfa_process(home: Path, command: str) -> None:
    config = home / ".aws" / "config"
    config.write_text(
        config.read_text().replace(f"mfa_serial = {SERIAL}\n", f"mfa_serial = {SERIAL}\nmfa_process = {command}\n", 1)
    )


def trayapp(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """No display, and standard input is /dev/null: nobody to ask."""
    env = {k: v for k, v in env.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    return subprocess.run(
        [PYTHON, "-m", "trayapp", *args], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=90
    )


def test_assume_with_mfa_process_needs_no_display_and_no_terminal(fault_sts: Any, home: Path) -> None:
    gen = script(home / "bin", "totp", "echo 'generating…' >&2; echo 314159")
    with_mfa_process(home, f"{gen} --account alice")
    env = env_for(home, fault_sts.url)
    result = trayapp(env, "assume", "prod")
    assert result.returncode == 0, result.stderr
    assert "Assumed prod" in result.stdout
    (request,) = fault_sts.requests_for("AssumeRole")
    assert request["TokenCode"] == "314159" and request["SerialNumber"] == SERIAL
    assert "[prod-session]" in (home / ".aws" / "credentials").read_text()
    assert "314159" not in result.stdout + result.stderr

    # The same code again (a generator repeats it within its window): the reused-code guard refuses
    # it before STS, exactly as a typed one.
    again = trayapp(env, "assume", "prod")
    assert again.returncode == 1
    assert again.stderr.splitlines()[-1].startswith("trayapp: This MFA code was already used; wait ")
    assert len(fault_sts.requests_for("AssumeRole")) == 1


def test_credential_process_uses_mfa_process(fault_sts: Any, home: Path) -> None:
    gen = script(home / "bin", "totp", "echo 271828")
    with_mfa_process(home, str(gen))
    result = trayapp(env_for(home, fault_sts.url), "credential-process", "prod")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Version"] == 1
    assert fault_sts.requests_for("AssumeRole")[0]["TokenCode"] == "271828"
    assert "271828" not in result.stdout + result.stderr


def test_a_failing_mfa_process_with_nobody_to_ask_is_one_sentence(fault_sts: Any, home: Path) -> None:
    gen = script(home / "bin", "totp", "echo 'oops: 161803 is not it' ; exit 4")
    with_mfa_process(home, str(gen))
    before = (home / ".aws" / "credentials").read_bytes()
    result = trayapp(env_for(home, fault_sts.url), "assume", "prod")
    assert result.returncode == 1
    assert result.stderr == "trayapp: No MFA code came from mfa_process of profile 'prod': it exited with status 4.\n"
    assert (home / ".aws" / "credentials").read_bytes() == before
    assert fault_sts.requests_for("AssumeRole") == []


def test_a_yubikey_on_path_gives_the_code_to_assume(fault_sts: Any, home: Path, tmp_path: Path) -> None:
    fake = FakeYkman(tmp_path, [f"Amazon Web Services:{SERIAL}"], code="141421")
    env = fake.env(env_for(home, fault_sts.url))
    result = trayapp(env, "assume", "prod")
    assert result.returncode == 0, result.stderr
    assert fault_sts.requests_for("AssumeRole")[0]["TokenCode"] == "141421"
    assert result.stderr == "trayapp: Touch your YubiKey…\n"
    assert fake.calls() == ["oath accounts list", f"oath accounts code --single Amazon Web Services:{SERIAL}"]


def test_list_json_says_whether_mfa_process_is_set_but_not_the_command(fault_sts: Any, home: Path) -> None:
    with_mfa_process(home, "oathtool --totp -b JBSWY3DPEHPK3PXP")
    rows = {r["profile"]: r for r in json.loads(trayapp(env_for(home, fault_sts.url), "list", "--json").stdout)}
    assert rows["prod"]["mfa_process"] is True and rows["dev"]["mfa_process"] is False
    assert "JBSWY3DPEHPK3PXP" not in json.dumps(rows)


def test_an_mfa_process_whose_child_keeps_its_output_open_does_not_hold_assume(fault_sts: Any, home: Path) -> None:
    # Issue 20, item 6: the code is printed at once, then a daemon (setsid, its own session) keeps
    # the pipe open for 300 s.  assume must finish on the code, not on the pipe's end.
    pid_file = home / "daemon.pid"
    gen = script(home / "bin", "totp", f"echo 314159; setsid sh -c 'echo $$ > {pid_file}; exec sleep 300' &")
    with_mfa_process(home, str(gen))
    env = {k: v for k, v in env_for(home, fault_sts.url).items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    started = time.monotonic()
    # Our ends are files, so the daemon holding the command's stdout/stderr can't keep this test waiting.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        argv = [PYTHON, "-m", "trayapp", "assume", "prod"]
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        try:
            status = proc.wait(timeout=60)
        finally:
            proc.kill()
        elapsed = time.monotonic() - started
        err.seek(0)
        stderr = err.read().decode()
    try:
        assert status == 0, stderr
        assert elapsed < 20, f"assume took {elapsed:.0f} s: it waited for the daemon holding the pipe"
        assert fault_sts.requests_for("AssumeRole")[0]["TokenCode"] == "314159"
    finally:
        if pid_file.exists():
            with contextlib.suppress(OSError, ValueError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
