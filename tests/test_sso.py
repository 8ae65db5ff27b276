"""IAM Identity Center end to end: `trayapp sso …` and `trayapp assume` against the SSO stand-in over
HTTP, the browser replaced by a script (BROWSER) that follows the authorize page; the real `aws` CLI
(with moto's STS) and botocore's own SSOTokenProvider read and refresh the cache trayapp wrote."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.aws_files import AWS
from tests.support.fixtures import MotoServer, SsoServer, aws_env
from tests.support.sso import CORP_CONFIG, browser_script

PYTHON = sys.executable
CONFIG = (
    CORP_CONFIG
    + """
[profile corp-sandbox]
sso_session = corp
sso_account_id = 222222222222
sso_role_name = Developer

[profile old-style]
sso_start_url = https://legacy.awsapps.com/start
sso_region = us-east-1
sso_account_id = 111111111111
sso_role_name = ReadOnly

[profile plain]
sso_session = cleartext

[sso-session cleartext]
sso_start_url = http://corp.example.com/start
sso_region = eu-west-1

[profile dev]
role_arn = arn:aws:iam::111111111111:role/Dev
source_profile = base

[profile base]
region = eu-west-1

[profile chained]
role_arn = arn:aws:iam::333333333333:role/Deploy
source_profile = corp-admin
"""
)
CACHE_FIELDS = {
    "startUrl",
    "region",
    "accessToken",
    "expiresAt",
    "clientId",
    "clientSecret",
    "registrationExpiresAt",
    "refreshToken",
}


@pytest.fixture
def home(aws_home: Path) -> Path:
    (aws_home / ".aws" / "config").write_text(CONFIG)
    return aws_home


@pytest.fixture
def env(home: Path, sso_server: SsoServer) -> dict[str, str]:
    browser = browser_script(home / "browser.sh", log=home / "browser.log")
    return aws_env(home, "http://127.0.0.1:9", **sso_server.env(), BROWSER=str(browser), TRAYAPP_LOG="debug")


def trayapp(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "-m", "trayapp", *args], env=env, capture_output=True, text=True, timeout=120)


def cache_file(home: Path, key: str = "corp") -> Path:
    return home / ".aws" / "sso" / "cache" / (hashlib.sha1(key.encode()).hexdigest() + ".json")


def cached(home: Path, key: str = "corp") -> dict[str, str]:
    return dict(json.loads(cache_file(home, key).read_text()))


def secrets_of(server: SsoServer) -> set[str]:
    """Every token and client secret the stand-in handed out."""
    with server.lock:
        found = set(server.access) | {c["secret"] for c in server.clients.values()}
        found |= {r.fields.get("refreshToken", "") for r in server.requests} - {""}
        return found | set(server.refresh)


def test_sign_in_in_the_browser_writes_the_cache_the_aws_cli_signs_with(
    home: Path, env: dict[str, str], sso_server: SsoServer, moto_sts: MotoServer
) -> None:
    result = trayapp(env, "sso", "login", "corp")
    assert result.returncode == 0, result.stderr
    assert "Signed in to 'corp' (59 min left)." in result.stdout
    authorize = sso_server.operations("Authorize")[0].fields
    assert authorize["code_challenge_method"] == "S256" and len(authorize["state"]) >= 32
    assert authorize["redirect_uri"].startswith("http://127.0.0.1:")
    assert sso_server.grants() == ["authorization_code"]
    # botocore's file, where botocore looks: sha1 of the session name, its fields, private.
    data = cached(home)
    assert set(data) == CACHE_FIELDS
    assert data["startUrl"] == "https://corp.awsapps.com/start" and data["region"] == "eu-west-1"
    assert data["expiresAt"].endswith("Z") and len(data["expiresAt"]) == 20
    assert stat.S_IMODE(cache_file(home).stat().st_mode) == 0o600
    assert stat.S_IMODE(cache_file(home).parent.stat().st_mode) == 0o700
    # The real aws CLI, no other step: its SSO provider takes the role's keys from the portal.
    aws_env_ = {**env, "AWS_ENDPOINT_URL_STS": moto_sts.url}
    identity = subprocess.run(
        [AWS, "sts", "get-caller-identity", "--profile", "corp-admin"],
        env=aws_env_,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert identity.returncode == 0, identity.stderr
    portal = sso_server.operations("GetRoleCredentials")
    assert [(r.fields["account_id"], r.fields["role_name"], r.token) for r in portal] == [
        ("111111111111", "Admin", data["accessToken"])
    ]


def test_botocore_refreshes_the_token_trayapp_wrote(home: Path, env: dict[str, str], sso_server: SsoServer) -> None:
    sso_server.token_seconds = 300  # inside botocore's 15-minute window at once
    assert trayapp(env, "sso", "login", "corp").returncode == 0
    before = cached(home)
    code = "import boto3; print(boto3.Session(profile_name='corp-admin').get_credentials().access_key)"
    result = subprocess.run([PYTHON, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    refresh = sso_server.operations("CreateToken")[-1].fields
    assert refresh["grantType"] == "refresh_token"
    assert (refresh["clientId"], refresh["refreshToken"]) == (before["clientId"], before["refreshToken"])
    after = cached(home)
    assert after["accessToken"] != before["accessToken"] and after["refreshToken"] != before["refreshToken"]
    assert sso_server.operations("GetRoleCredentials")[-1].token == after["accessToken"]


@pytest.mark.parametrize(("minutes", "refreshed"), [(19, True), (21, False)])
def test_trayapp_refreshes_at_twenty_minutes_left_without_a_tab(
    home: Path, env: dict[str, str], sso_server: SsoServer, minutes: int, refreshed: bool
) -> None:
    sso_server.token_seconds = minutes * 60
    assert trayapp(env, "sso", "login", "corp").returncode == 0
    first = cached(home)
    result = trayapp(env, "assume", "corp-admin")
    assert result.returncode == 0, result.stderr
    assert len(sso_server.operations("Authorize")) == 1  # never a second browser tab
    assert sso_server.grants() == ["authorization_code", *(["refresh_token"] if refreshed else [])]
    assert (cached(home)["accessToken"] != first["accessToken"]) is refreshed


@pytest.mark.parametrize("command", ["assume", "credential-process"])
def test_ten_processes_that_need_a_sign_in_cause_exactly_one(
    home: Path, env: dict[str, str], sso_server: SsoServer, command: str
) -> None:
    slow = home / "slow-browser.sh"  # a person takes a while to approve: the others must wait, not open tabs
    slow.write_text(f'#!/bin/sh\nsleep 1\nexec "{home / "browser.sh"}" "$1"\n')
    slow.chmod(0o755)
    env = {**env, "BROWSER": str(slow)}
    profiles = ["corp-admin", "corp-sandbox"] * 5
    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(lambda p: trayapp(env, command, p), profiles))
    assert [r.returncode for r in results] == [0] * 10, [r.stderr for r in results]
    assert len(sso_server.operations("RegisterClient")) == 1
    assert len(sso_server.operations("Authorize")) == 1
    assert sso_server.grants() == ["authorization_code"]
    assert len((home / "browser.log").read_text().splitlines()) == 1
    assert len(sso_server.operations("GetRoleCredentials")) <= 10  # credential-process: one per profile is enough
    if command == "credential-process":
        keys = {json.loads(r.stdout)["AccessKeyId"] for r in results}
        assert len(keys) <= 10 and all(k.startswith("ASIA") for k in keys)


def test_assume_writes_a_session_profile_old_tools_use(
    home: Path, env: dict[str, str], sso_server: SsoServer, moto_sts: MotoServer
) -> None:
    result = trayapp(env, "assume", "corp-admin")
    assert result.returncode == 0, result.stderr
    assert "export AWS_PROFILE=corp-admin-session" in result.stdout
    status = trayapp(env, "status", "--json")
    [row] = json.loads(status.stdout)
    assert (row["profile"], row["session_profile"], row["state"]) == ("corp-admin", "corp-admin-session", "active")
    credentials = (home / ".aws" / "credentials").read_text()
    assert "[corp-admin-session]" in credentials and "region = eu-central-1" in credentials
    identity = subprocess.run(
        [AWS, "sts", "get-caller-identity"],
        env={**env, "AWS_ENDPOINT_URL_STS": moto_sts.url, "AWS_PROFILE": "corp-admin-session"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert identity.returncode == 0, identity.stderr
    exports = trayapp(env, "env", "corp-admin", "--shell", "posix").stdout
    assert "export AWS_ACCESS_KEY_ID=ASIA" in exports and "AWS_SESSION_TOKEN=sso-session-" in exports
    assert len(sso_server.operations("GetRoleCredentials")) == 1  # the session's keys, not the portal again


@pytest.mark.parametrize("asked", [["--device-code"], []], ids=["asked", "no-display-no-browser"])
def test_device_code_when_asked_or_nothing_can_open_a_page(
    home: Path, env: dict[str, str], sso_server: SsoServer, asked: list[str]
) -> None:
    env = {k: v for k, v in env.items() if k not in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY")}
    proc = subprocess.Popen(
        [PYTHON, "-m", "trayapp", "sso", "login", "corp", *asked],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    [user_code] = [d["userCode"] for d in sso_server.devices.values()]
    assert f"confirm the code {user_code}" in line and f"{sso_server.url}/device" in line
    with urllib.request.urlopen(f"{sso_server.url}/device?user_code={user_code}", timeout=10) as page:
        assert page.status == 200
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Signed in to 'corp'" in out
    assert sso_server.grants()[-1] == "urn:ietf:params:oauth:grant-type:device_code"
    assert set(cached(home)) == CACHE_FIELDS


def test_logout_ends_the_sign_in_for_every_tool(home: Path, env: dict[str, str], sso_server: SsoServer) -> None:
    assert trayapp(env, "sso", "login", "corp").returncode == 0
    token = cached(home)["accessToken"]
    result = trayapp(env, "sso", "logout", "corp")
    assert result.returncode == 0 and "Signed out of 'corp' at IAM Identity Center." in result.stdout
    assert not cache_file(home).exists()
    assert [r.token for r in sso_server.operations("Logout")] == [token]
    status = json.loads(trayapp(env, "sso", "status", "--json").stdout)
    legacy = "https://legacy.awsapps.com/start"
    assert [(s["session"], s["signed_in"]) for s in status] == [("corp", False), (legacy, False)]


def test_list_shows_sso_profiles_and_says_why_a_cleartext_start_url_is_refused(env: dict[str, str]) -> None:
    result = trayapp(env, "list", "--json")
    rows = {row["profile"]: row for row in json.loads(result.stdout)}
    assert rows["dev"]["kind"] == "role"
    assert rows["corp-admin"]["kind"] == "sso"
    assert (rows["corp-admin"]["sso_session"], rows["corp-admin"]["account_id"]) == ("corp", "111111111111")
    assert rows["old-style"]["kind"] == "sso"
    assert "plain" not in rows
    assert "sso_start_url 'http://corp.example.com/start' is not an https:// address" in result.stderr
    text = trayapp(env, "list").stdout
    assert "corp-sandbox\tarn:aws:iam::222222222222:role/Developer\tcorp: signed out" in text


def test_a_cache_file_another_user_owns_is_refused(home: Path, env: dict[str, str], sso_server: SsoServer) -> None:
    assert trayapp(env, "sso", "login", "corp").returncode == 0
    path = cache_file(home)
    os.chown(path, 65534, 65534)
    result = trayapp(env, "assume", "corp-admin")
    assert result.returncode == 1
    assert f"The sign-in cache {path} was not used: it belongs to another user (uid 65534)" in result.stderr
    os.chown(path, os.geteuid(), os.getegid())
    path.chmod(0o666)
    result = trayapp(env, "sso", "status")
    assert result.returncode == 1 and "other users can change it" in result.stderr


def test_no_token_or_client_secret_reaches_output_argv_or_logs(
    home: Path, env: dict[str, str], sso_server: SsoServer
) -> None:
    sso_server.token_seconds = 600  # the second command refreshes
    outputs = [trayapp(env, *args) for args in (["sso", "login", "corp"], ["assume", "corp-admin"], ["sso", "status"])]
    outputs.append(trayapp(env, "sso", "logout", "corp"))
    assert sso_server.grants() == ["authorization_code", "refresh_token"]
    shown = "".join(r.stdout + r.stderr for r in outputs) + (home / "browser.log").read_text()
    leaked = {s for s in secrets_of(sso_server) if s in shown}
    assert leaked == set()


def test_a_sign_in_refused_in_the_browser_says_so(home: Path, env: dict[str, str], sso_server: SsoServer) -> None:
    sso_server.deny = True
    result = trayapp(env, "sso", "login", "corp")
    assert result.returncode == 1
    assert "The sign-in to 'corp' did not finish: the sign-in was refused in the browser." in result.stderr
    assert not cache_file(home).exists()


def test_a_role_whose_source_is_an_sso_profile_signs_in_then_assumes(
    home: Path, env: dict[str, str], sso_server: SsoServer, moto_sts: MotoServer
) -> None:
    env = {**env, "AWS_ENDPOINT_URL_STS": moto_sts.url}
    result = trayapp(env, "assume", "chained")
    assert result.returncode == 0, result.stderr
    assert sso_server.grants() == ["authorization_code"]
    assert [r.fields["role_name"] for r in sso_server.operations("GetRoleCredentials")] == ["Admin"]
    identity = subprocess.run(
        [AWS, "sts", "get-caller-identity", "--profile", "chained-session", "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert identity.returncode == 0, identity.stderr
    assert ":assumed-role/Deploy/" in json.loads(identity.stdout)["Arn"]


def test_profiles_from_the_directory_are_listed_and_the_missing_ones_appended(
    home: Path, env: dict[str, str], sso_server: SsoServer
) -> None:
    config = home / ".aws" / "config"
    before = config.read_bytes()
    listed = trayapp(env, "sso", "profiles", "corp")
    assert listed.returncode == 0, listed.stderr
    expected = (
        "[profile production-readonly]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = ReadOnly\n"
    )
    assert listed.stdout == expected  # corp-admin and corp-sandbox exist already
    assert config.read_bytes() == before
    written = trayapp(env, "sso", "profiles", "corp", "--write")
    assert written.returncode == 0, written.stderr
    assert f"Added 1 profile to {config}: production-readonly." in written.stdout
    after = config.read_bytes()
    assert after.startswith(before) and after.count(b"[profile production-readonly]") == 1
    rows = {row["profile"]: row for row in json.loads(trayapp(env, "list", "--json").stdout)}
    assert (rows["production-readonly"]["kind"], rows["production-readonly"]["role_name"]) == ("sso", "ReadOnly")
    again = trayapp(env, "sso", "profiles", "corp", "--write")
    assert "Every account and role of 'corp' has a profile already." in again.stdout
    assert config.read_bytes() == after
    assert len(sso_server.operations("Authorize")) == 1  # one sign-in served all three commands


def test_tab_completion_offers_the_sso_profiles(env: dict[str, str]) -> None:
    names = trayapp(env, "completion", "--profiles").stdout.split()
    assert {"corp-admin", "corp-sandbox", "old-style", "dev"} <= set(names)
    assert "plain" not in names and "cleartext" not in names


def test_a_config_with_only_sso_profiles_lists_them_without_saying_there_are_none(
    home: Path, env: dict[str, str]
) -> None:
    (home / ".aws" / "config").write_text(CONFIG.split("[profile old-style]")[0])
    result = trayapp(env, "list")
    assert result.returncode == 0, result.stderr
    assert "No role profiles" not in result.stdout
    assert result.stdout.splitlines() == [
        "corp-admin\tarn:aws:iam::111111111111:role/Admin\tcorp: signed out",
        "corp-sandbox\tarn:aws:iam::222222222222:role/Developer\tcorp: signed out",
    ]


def test_the_console_opens_as_an_sso_profile(home: Path, env: dict[str, str], sso_server: SsoServer) -> None:
    env = {**env, "TRAYAPP_SIGNIN_URL": f"{sso_server.url}/federation"}
    assert trayapp(env, "assume", "corp-admin").returncode == 0
    result = trayapp(env, "console", "corp-admin", "--print-url")
    assert result.returncode == 0, result.stderr
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(result.stdout.strip()).query)
    assert query["SigninToken"][0].startswith("signin-")
    assert "eu-central-1" in query["Destination"][0]


def test_exec_runs_a_command_as_an_sso_profile_signing_in_first(
    home: Path, env: dict[str, str], sso_server: SsoServer
) -> None:
    code = "import os; print(os.environ['AWS_ACCESS_KEY_ID'][:4], os.environ['AWS_REGION'])"
    result = trayapp(env, "exec", "corp-admin", "--", PYTHON, "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ASIA", "eu-central-1"]
    assert sso_server.grants() == ["authorization_code"]
