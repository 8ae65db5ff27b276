"""End to end on the command line: moto's STS over HTTP, the real `aws` CLI reading what we wrote."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.aws_files import AWS, CONFIG, CREDENTIALS, env_for
from tests.support.fixtures import refused_url

PYTHON = sys.executable


@pytest.fixture
def home(aws_home: Path) -> Path:
    (aws_home / ".aws" / "config").write_text(CONFIG)
    creds = aws_home / ".aws" / "credentials"
    creds.write_text(CREDENTIALS)
    creds.chmod(0o600)
    return aws_home


def trayapp(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "trayapp", *args], env=env, input=stdin, capture_output=True, text=True, timeout=60
    )


def aws(env: dict[str, str], profile: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([AWS, *args], env={**env, "AWS_PROFILE": profile}, capture_output=True, text=True, timeout=60)


def section_removed(text: str, section: str) -> str:
    """The file with [section] and its lines cut out: what must equal the original."""
    out, skipping = [], False
    for line in text.splitlines(keepends=True):
        if line.strip().startswith("["):
            skipping = line.strip() == f"[{section}]"
        if not skipping:
            out.append(line)
    return "".join(out)


def caller(env: dict[str, str], profile: str) -> dict[str, Any]:
    result = aws(env, profile, "sts", "get-caller-identity", "--output", "json")
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


@pytest.mark.parametrize(
    ("profile", "role", "session", "region"),
    [
        ("prod", "arn:aws:sts::222222222222:assumed-role/Admin/", None, "eu-central-1"),
        ("dev", "arn:aws:sts::111111111111:assumed-role/Dev/", None, "us-west-2"),
        ("partner", "arn:aws:sts::333333333333:assumed-role/Partner/", "alice-at-partner", "ap-northeast-1"),
    ],
)
def test_assume_writes_a_section_the_aws_cli_uses(
    moto_sts: Any, home: Path, profile: str, role: str, session: str | None, region: str
) -> None:
    env = env_for(home, moto_sts.url)
    result = trayapp(env, "assume", profile, "--code-stdin", stdin="123 456\n")
    assert result.returncode == 0, result.stderr
    assert f"AWS_PROFILE={profile}-session" in result.stdout

    creds = home / ".aws" / "credentials"
    text = creds.read_text()
    assert section_removed(text, f"{profile}-session") == CREDENTIALS
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600

    arn = caller(env, f"{profile}-session")["Arn"]
    assert arn.startswith(role)
    if session:
        assert arn.endswith("/" + session)
    got = aws(env, f"{profile}-session", "configure", "get", "region")
    assert got.stdout.strip() == region


def test_a_chained_role_asks_both_codes_and_writes_both_sessions(moto_sts: Any, home: Path) -> None:
    env = env_for(home, moto_sts.url)
    result = trayapp(env, "assume", "deep", "--code-stdin", stdin="111111\n")
    # --code-stdin gives one code; the chain needs two (prod's and deep's): a clear failure, nothing half-done
    assert result.returncode != 0
    assert "trayapp:" in result.stderr

    first = trayapp(env, "assume", "prod", "--code-stdin", stdin="222222\n")
    assert first.returncode == 0, first.stderr
    second = trayapp(env, "assume", "deep", "--code-stdin", stdin="333333\n")
    assert second.returncode == 0, second.stderr
    arn = caller(env, "deep-session")["Arn"]
    assert arn.startswith("arn:aws:sts::444444444444:assumed-role/Deep/")
    # the region of a chained role comes up the chain, from prod
    assert aws(env, "deep-session", "configure", "get", "region").stdout.strip() == "eu-central-1"


def test_status_env_and_forget(moto_sts: Any, home: Path) -> None:
    env = env_for(home, moto_sts.url)
    assert trayapp(env, "assume", "dev", "--duration", "900").returncode == 0

    status = json.loads(trayapp(env, "status", "--json").stdout)
    assert [s["profile"] for s in status] == ["dev"]
    assert status[0]["session_profile"] == "dev-session"
    assert status[0]["state"] == "active"
    assert status[0]["expires_at"].endswith("+00:00")

    listing = json.loads(trayapp(env, "list", "--json").stdout)
    by_name = {row["profile"]: row for row in listing}
    assert set(by_name) == {"prod", "dev", "partner", "deep"}
    assert by_name["prod"]["mfa_serial"] == "arn:aws:iam::000000000000:mfa/alice"
    assert by_name["dev"]["mfa_serial"] is None
    assert by_name["dev"]["session"]["state"] == "active"
    assert by_name["prod"]["session"] is None
    assert by_name["deep"]["source"] == "prod"

    exports = trayapp(env, "env", "dev").stdout
    shell = subprocess.run(
        ["bash", "-c", exports + 'echo "$AWS_ACCESS_KEY_ID" "${#AWS_SECRET_ACCESS_KEY}" "${#AWS_SESSION_TOKEN}"'],
        capture_output=True,
        text=True,
        check=True,
    )
    key, secret_len, token_len = shell.stdout.split()
    assert key in (home / ".aws" / "credentials").read_text()
    assert int(secret_len) > 10 and int(token_len) > 10
    plain = {k: v for k, v in env.items() if k != "AWS_SHARED_CREDENTIALS_FILE"}
    for line in exports.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        plain[name] = value
    arn = json.loads(
        subprocess.run([AWS, "sts", "get-caller-identity"], env=plain, capture_output=True, text=True).stdout
    )["Arn"]
    assert arn.startswith("arn:aws:sts::111111111111:assumed-role/Dev/")

    forgot = trayapp(env, "forget", "dev")
    assert forgot.returncode == 0
    assert (home / ".aws" / "credentials").read_text() == CREDENTIALS
    assert json.loads(trayapp(env, "status", "--json").stdout) == []
    gone = trayapp(env, "env", "dev")
    assert gone.returncode == 1
    assert "has no valid session" in gone.stderr


def test_exported_keys_and_profile_do_not_change_who_signs(fault_sts: Any, home: Path) -> None:
    hijack = {
        "AWS_ACCESS_KEY_ID": "AKIAHIJACK0000000000",
        "AWS_SECRET_ACCESS_KEY": "hijack",
        "AWS_PROFILE": "other-tool",
        "AWS_DEFAULT_PROFILE": "other-tool",
    }
    result = trayapp(env_for(home, fault_sts.url, **hijack), "assume", "dev")
    assert result.returncode == 0, result.stderr
    (request,) = fault_sts.requests_for("AssumeRole")
    assert request.access_key == "AKIAIOSFODNN7EXAMPLE"  # base's key, named by source_profile


def test_fresh_machine_without_any_aws_files(moto_sts: Any, aws_home: Path) -> None:
    env = env_for(aws_home, moto_sts.url)
    result = trayapp(env, "list")
    assert result.returncode == 0
    assert "No role profiles" in result.stdout
    assert "add one with role_arn and source_profile" in result.stdout


def test_unknown_profile_is_a_usage_error_and_touches_nothing(moto_sts: Any, home: Path) -> None:
    env = env_for(home, moto_sts.url)
    before = (home / ".aws" / "credentials").read_bytes()
    result = trayapp(env, "assume", "nope", "--code", "123456")
    assert result.returncode == 2
    assert result.stderr.strip() == f"trayapp: There is no role profile named 'nope' in {home}/.aws/config."
    assert (home / ".aws" / "credentials").read_bytes() == before


def test_broken_config_is_a_usage_error_and_touches_nothing(moto_sts: Any, home: Path) -> None:
    env = env_for(home, moto_sts.url)
    config = home / ".aws" / "config"
    config.write_text(CONFIG + "\n[profile prod]\nregion = x\n")
    before = (home / ".aws" / "credentials").read_bytes()
    result = trayapp(env, "assume", "dev")
    assert result.returncode == 2
    assert "can't be read" in result.stderr and "not valid INI" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert (home / ".aws" / "credentials").read_bytes() == before


def test_a_broken_profile_is_named_with_its_reason(moto_sts: Any, home: Path) -> None:
    env = env_for(home, moto_sts.url)
    (home / ".aws" / "config").write_text(CONFIG + "\n[profile loop]\nrole_arn = arn:aws:iam::1:role/x\n")
    result = trayapp(env, "assume", "loop")
    assert result.returncode == 2
    assert "Profile 'loop' can't be used: role_arn" in result.stderr
    listed = trayapp(env, "list")
    assert listed.returncode == 0 and "prod" in listed.stdout and "profile 'loop'" in listed.stderr


def test_wrong_code_from_sts_exits_1_with_the_sentence_and_writes_nothing(fault_sts: Any, home: Path) -> None:
    env = env_for(home, fault_sts.url)
    before = (home / ".aws" / "credentials").read_bytes()
    fault_sts.push("wrong_code")
    result = trayapp(env, "assume", "prod", "--code", "654321")
    assert result.returncode == 1
    assert result.stderr == (
        "trayapp: AWS rejected the MFA code: it is wrong or was already used; wait for the next code and try again.\n"
    )
    assert (home / ".aws" / "credentials").read_bytes() == before
    assert "654321" not in result.stderr + result.stdout


def test_the_request_carries_every_role_key(fault_sts: Any, home: Path) -> None:
    env = env_for(home, fault_sts.url)
    assert trayapp(env, "assume", "partner").returncode == 0
    assert trayapp(env, "assume", "prod", "--code-stdin", stdin=" 123456 \n").returncode == 0
    partner, prod = fault_sts.requests_for("AssumeRole")
    assert partner["ExternalId"] == "partner-ext-42"
    assert partner["DurationSeconds"] == "1800"
    assert partner["RoleSessionName"] == "alice-at-partner"
    assert "TokenCode" not in partner
    assert prod["SerialNumber"] == "arn:aws:iam::000000000000:mfa/alice"
    assert prod["TokenCode"] == "123456"
    assert prod["DurationSeconds"] == "3600"


def test_sts_unreachable(home: Path) -> None:
    env = env_for(home, refused_url())
    before = (home / ".aws" / "credentials").read_bytes()
    result = trayapp(env, "assume", "dev")
    assert result.returncode == 1
    assert "can't be reached; check your network connection." in result.stderr
    assert (home / ".aws" / "credentials").read_bytes() == before


def test_no_code_no_display_no_terminal_fails_clearly(moto_sts: Any, home: Path) -> None:
    env = {k: v for k, v in env_for(home, moto_sts.url).items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = subprocess.run(
        [PYTHON, "-m", "trayapp", "assume", "prod"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "no display and no terminal" in result.stderr


def test_a_section_written_by_hand_is_never_overwritten(moto_sts: Any, home: Path) -> None:
    creds = home / ".aws" / "credentials"
    creds.write_text(CREDENTIALS + "[dev-session]\naws_access_key_id = MINE\n")
    before = creds.read_bytes()
    result = trayapp(env_for(home, moto_sts.url), "assume", "dev")
    assert result.returncode == 1
    assert "did not write" in result.stderr
    assert creds.read_bytes() == before
