"""Commands read from an AWS file another local user could write are never run (issue 20, item 5).

The other user is a real second uid (``setpriv``).  ``mfa_process`` is a shell command line: from a
config file others can write, or one planted by someone else in a folder open to all, it would run
as the user.  trayapp refuses it in one sentence that names the fix, and the command never runs.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.aws_files import env_for
from tests.support.code_sources import script
from tests.support.other_user import OTHER, needs_root, run_as, walkable_home

SERIAL = "arn:aws:iam::000000000000:mfa/alice"
CREDENTIALS = """\
[base]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
"""


def config(marker: Path) -> str:
    return (
        "[profile prod]\n"
        "role_arn = arn:aws:iam::222222222222:role/Admin\n"
        "source_profile = base\n"
        f"mfa_serial = {SERIAL}\n"
        f"mfa_process = touch {marker}; echo 314159\n"
    )


@pytest.fixture
def home() -> Iterator[Path]:
    with walkable_home() as home:
        (home / ".aws" / "credentials").write_text(CREDENTIALS)
        (home / ".aws" / "credentials").chmod(0o600)
        yield home


def refused(home: Path, sts_url: str, marker: Path, reason: str) -> None:
    """``trayapp assume prod`` fails with the one sentence, and the mfa_process never ran."""
    result = assume(home, sts_url)
    assert result.returncode == 1
    assert (
        result.stderr
        == f"trayapp: No MFA code came from mfa_process of profile 'prod': it was not run, because {reason}.\n"
    )
    assert not marker.exists()


def assume(home: Path, sts_url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in env_for(home, sts_url).items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    return subprocess.run(
        [sys.executable, "-m", "trayapp", "assume", "prod"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=90,
    )


@needs_root
def test_mfa_process_from_a_config_others_can_write_is_not_run(fault_sts: Any, home: Path) -> None:
    marker = home / "ran"
    path = home / ".aws" / "config"
    path.write_text(config(marker))
    path.chmod(0o666)
    refused(home, fault_sts.url, marker, f"other users can write to {path}; run chmod go-w {path}")
    assert fault_sts.requests_for("AssumeRole") == []

    path.chmod(0o644)  # the fix the sentence names
    fixed = assume(home, fault_sts.url)
    assert fixed.returncode == 0, fixed.stderr
    assert marker.exists()
    assert fault_sts.requests_for("AssumeRole")[0]["TokenCode"] == "314159"


@needs_root
def test_mfa_process_from_a_config_another_user_planted_is_not_run(fault_sts: Any, home: Path) -> None:
    marker = home / "ran"
    aws = home / ".aws"
    aws.chmod(0o777)
    planted = home.parent / "planted"
    planted.write_text(config(marker))
    planted.chmod(0o644)
    run_as(OTHER, "cp", str(planted), str(aws / "config"))  # a file of the other user's, 0644
    assert (aws / "config").stat().st_uid == OTHER
    refused(home, fault_sts.url, marker, f"other users can write into the folder {aws}; run chmod go-w {aws}")

    aws.chmod(0o700)  # the folder fixed, the file is still the other user's
    owner = f"{aws / 'config'} belongs to another user (uid {OTHER}); remove it if you did not make it"
    refused(home, fault_sts.url, marker, owner)
    assert fault_sts.requests_for("AssumeRole") == []


@needs_root
def test_a_source_profiles_credential_process_from_a_config_others_can_write_is_not_run(
    moto_sts: Any, home: Path
) -> None:
    marker = home / "ran"
    keys = '{"Version": 1, "AccessKeyId": "AKIAIOSFODNN7EXAMPLE", "SecretAccessKey": "wJalrXUtnFEMIEXAMPLEKEY"}'
    process = script(home / "bin", "keys", f"touch {marker}; echo '{keys}'")
    path = home / ".aws" / "config"
    path.write_text(
        "[profile keys]\n"
        f"credential_process = {process}\n"
        "[profile dev]\n"
        "role_arn = arn:aws:iam::111111111111:role/Dev\n"
        "source_profile = keys\n"
    )
    path.chmod(0o666)
    env = {k: v for k, v in env_for(home, moto_sts.url).items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    argv = [sys.executable, "-m", "trayapp", "assume", "dev"]
    result = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=90)
    assert result.returncode == 2
    assert result.stderr == (
        "trayapp: The credential_process of profile 'keys' was not run, because other users can write to "
        f"{path}; run chmod go-w {path}.\n"
    )
    assert not marker.exists()

    path.chmod(0o600)
    fixed = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=90)
    assert fixed.returncode == 0, fixed.stderr
    assert marker.exists()
