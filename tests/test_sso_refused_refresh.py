"""A refused refresh never shortens a sign-in (issue 30, item 3), on the command line.

The bug: with 19 minutes left and a refresh token IAM Identity Center refused, trayapp deleted the
token (botocore keeps using it: ``SSOTokenProvider`` returns the old token when its refresh fails),
and ``credential-process`` then waited ten minutes for a device code nobody saw.  Now the token
serves to its end, the refused refresh token is never tried again (by trayapp or botocore), a
sentence says "sign in again before HH:MM"; and a command that needs a sign-in with nobody to ask
fails at once, naming ``trayapp sso login NAME``."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from tests.support.fixtures import SsoServer, aws_env
from tests.support.sso import CORP_CONFIG, browser_script

pytestmark = pytest.mark.integration  # trayapp and botocore as processes
PYTHON = sys.executable


@pytest.fixture
def home(aws_home: Path) -> Path:
    (aws_home / ".aws" / "config").write_text(CORP_CONFIG)
    return aws_home


@pytest.fixture
def env(home: Path, sso_server: SsoServer) -> dict[str, str]:
    browser = browser_script(home / "browser.sh", log=home / "browser.log")
    return aws_env(home, "http://127.0.0.1:9", **sso_server.env(), BROWSER=str(browser))


def nobody(env: dict[str, str]) -> dict[str, str]:
    """No display, no browser; the commands below run with no terminal either (pipes)."""
    return {k: v for k, v in env.items() if k not in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY")}


def trayapp(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    # 60 s: the old code waited up to ten minutes for a device code here.
    return subprocess.run(
        [PYTHON, "-m", "trayapp", *args], env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )


def token_file(home: Path) -> Path:
    return home / ".aws" / "sso" / "cache" / (hashlib.sha1(b"corp").hexdigest() + ".json")


def test_a_refused_refresh_with_19_minutes_left_keeps_the_token_to_its_end(
    home: Path, env: dict[str, str], sso_server: SsoServer
) -> None:
    sso_server.token_seconds = 19 * 60
    assert trayapp(env, "sso", "login", "corp").returncode == 0
    before = json.loads(token_file(home).read_text())
    sso_server.refuse_refresh = True
    first = trayapp(nobody(env), "credential-process", "corp-admin")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["AccessKeyId"].startswith("ASIA")
    end = datetime.fromisoformat(before["expiresAt"]).astimezone().strftime("%H:%M")
    sentence = f"trayapp: The sign-in to 'corp' can't be refreshed; sign in again before {end}."
    assert sentence in first.stderr.splitlines()
    after = json.loads(token_file(home).read_text())
    assert after == {k: v for k, v in before.items() if k != "refreshToken"}  # the token stays, its refresh goes
    second = trayapp(nobody(env), "assume", "corp-admin")
    assert second.returncode == 0, second.stderr
    assert sentence in second.stderr.splitlines()
    assert sso_server.grants() == ["authorization_code", "refresh_token"]  # refused once, never tried again
    assert sso_server.operations("StartDeviceAuthorization") == [] and len(sso_server.operations("Authorize")) == 1
    # botocore serves the same token without trying the refresh again.
    code = "import boto3; print(boto3.Session(profile_name='corp-admin').get_credentials().access_key[:4])"
    keys = subprocess.run([PYTHON, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert keys.stdout.strip() == "ASIA", keys.stderr
    assert sso_server.grants() == ["authorization_code", "refresh_token"]
    assert sso_server.operations("GetRoleCredentials")[-1].token == before["accessToken"]


def test_sso_login_signs_in_again_when_the_refresh_was_refused(
    home: Path, env: dict[str, str], sso_server: SsoServer
) -> None:
    sso_server.token_seconds = 19 * 60
    assert trayapp(env, "sso", "login", "corp").returncode == 0
    sso_server.refuse_refresh = True
    assert trayapp(nobody(env), "credential-process", "corp-admin").returncode == 0
    sso_server.token_seconds = 3600
    again = trayapp(env, "sso", "login", "corp")
    assert again.returncode == 0, again.stderr
    assert "Signed in to 'corp'" in again.stdout
    assert len(sso_server.operations("Authorize")) == 2
    assert "refreshToken" in json.loads(token_file(home).read_text())


@pytest.mark.parametrize(
    "command", [["credential-process", "corp-admin"], ["assume", "corp-admin"], ["exec", "corp-admin", "--", "true"]]
)
def test_with_nobody_to_ask_a_command_needing_a_sign_in_fails_at_once(
    home: Path, env: dict[str, str], sso_server: SsoServer, command: list[str]
) -> None:
    result = trayapp(nobody(env), *command)
    assert result.returncode == 1
    assert result.stderr.strip().endswith(
        "Signing in to 'corp' needs a browser or a terminal, and this command has neither; "
        "run 'trayapp sso login corp' first."
    ), result.stderr
    assert sso_server.operations("StartDeviceAuthorization") == []
    assert not token_file(home).exists()
