"""Every STS failure over real HTTP: one distinct sentence, exit status 1, nothing written, next try works."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.aws_files import CONFIG, CREDENTIALS, env_for
from tests.support.fixtures import refused_url

SECRETS = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "otherSecretKeyExample")

EXPECTED = {
    "wrong_code": "AWS rejected the MFA code: it is wrong or was already used; wait for the next code and try again.",
    "wrong_serial": "AWS could not validate the MFA code against device arn:aws:iam::000000000000:mfa/alice; "
    "check that mfa_serial in profile 'prod' is the device assigned to your IAM user.",
    "not_authorised": "Your IAM user is not allowed to assume arn:aws:iam::222222222222:role/Admin; check the "
    "role's trust policy and your user's sts:AssumeRole permission.",
    "expired_token": "The credentials of source profile 'base' have expired; refresh them, then try again.",
    "invalid_token": "AWS does not recognise the access key of source profile 'base'; check the keys in your "
    "credentials file.",
    "duration_too_long": "The requested session length of 3600 s is longer than "
    "arn:aws:iam::222222222222:role/Admin allows; lower duration_seconds or the default duration.",
    "throttling": "AWS STS is throttling requests right now; wait a few seconds and try again.",
    "malformed": "AWS STS sent an answer trayapp could not understand; try again later.",
}


@pytest.fixture
def home(aws_home: Path) -> Path:
    (aws_home / ".aws" / "config").write_text(CONFIG)
    creds = aws_home / ".aws" / "credentials"
    creds.write_text(CREDENTIALS)
    creds.chmod(0o600)
    return aws_home


def assume(env: dict[str, str], code: str, profile: str = "prod") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trayapp", "assume", profile, "--code-stdin"],
        env=env,
        input=code + "\n",
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("fault", sorted(EXPECTED))
def test_each_sts_failure_has_its_sentence_and_the_next_try_works(fault_sts: Any, home: Path, fault: str) -> None:
    env = env_for(home, fault_sts.url)
    before = (home / ".aws" / "credentials").read_bytes()
    fault_sts.push(fault, times=5)  # throttling is retried by botocore first: keep failing
    result = assume(env, "100001")
    assert result.returncode == 1
    assert result.stderr == f"trayapp: {EXPECTED[fault]}\n"
    assert (home / ".aws" / "credentials").read_bytes() == before
    for secret in (*SECRETS, "100001"):
        assert secret not in result.stderr + result.stdout

    fault_sts.clear()
    again = assume(env, "200002")
    assert again.returncode == 0, again.stderr
    assert "[prod-session]" in (home / ".aws" / "credentials").read_text()


def test_the_sentences_are_distinct() -> None:
    assert len(set(EXPECTED.values())) == len(EXPECTED)


def test_a_hanging_sts_gives_up_in_seconds(fault_sts: Any, home: Path) -> None:
    env = env_for(home, fault_sts.url)
    before = (home / ".aws" / "credentials").read_bytes()
    fault_sts.push("hang", times=3)
    start = time.monotonic()
    result = assume(env, "300003")
    took = time.monotonic() - start
    assert result.returncode == 1
    assert "did not answer within 10 s; check your network." in result.stderr
    assert took < 60  # bounded in seconds, not minutes (the exact figure is the benchmark's business)
    assert (home / ".aws" / "credentials").read_bytes() == before


def test_connection_refused(home: Path) -> None:
    result = assume(env_for(home, refused_url()), "400004")
    assert result.returncode == 1
    assert result.stderr.startswith("trayapp: AWS STS at http://127.0.0.1:")
    assert result.stderr.endswith("can't be reached; check your network connection.\n")


def test_a_code_used_by_another_trayapp_process_is_refused_before_sts(fault_sts: Any, home: Path) -> None:
    env = env_for(home, fault_sts.url)
    assert assume(env, "500005").returncode == 0
    again = assume(env, "500005")
    assert again.returncode == 1
    assert "This MFA code was already used; wait" in again.stderr
    assert len(fault_sts.requests_for("AssumeRole")) == 1
    used = (home / "run" / "trayapp" / "used-codes.json").read_text()
    assert "500005" not in used
