"""One OIDC client registration per sign-in, shared with the AWS CLI v2 (issue 30, item 1).

AWS throttles RegisterClient, so the stand-in counts them: two sign-ins make one registration, a
registration inside its last 15 minutes is replaced, one the CLI wrote is used.  The file is the
CLI's (``BaseSSOTokenFetcher._registration_cache_key`` in the CLI v2's ``botocore/utils.py``): its
key, its fields, its grant types per flow; the client is ``botocore-client-<session>``."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.fixtures import SsoServer, aws_env
from tests.support.sso import browser_script

pytestmark = pytest.mark.integration  # trayapp as a process
PYTHON = sys.executable
START = "https://corp.awsapps.com/start"
CONFIG = f"""\
[sso-session corp]
sso_start_url = {START}
sso_region = eu-west-1
sso_registration_scopes = sso:account:access, codewhisperer:completions

[profile corp-admin]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = Admin

[profile old-style]
sso_start_url = https://legacy.awsapps.com/start
sso_region = us-east-1
sso_account_id = 111111111111
sso_role_name = ReadOnly
"""
SCOPES = ["sso:account:access", "codewhisperer:completions"]


@pytest.fixture
def home(aws_home: Path) -> Path:
    (aws_home / ".aws" / "config").write_text(CONFIG)
    return aws_home


@pytest.fixture
def env(home: Path, sso_server: SsoServer) -> dict[str, str]:
    browser = browser_script(home / "browser.sh", log=home / "browser.log", forwarded_log=home / "forwarded.log")
    return aws_env(home, "http://127.0.0.1:9", **sso_server.env(), BROWSER=str(browser))


def trayapp(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "-m", "trayapp", *args], env=env, capture_output=True, text=True, timeout=120)


def cli_key(start_url: str, region: str, scopes: list[str] | None, session: str | None) -> str:
    """The AWS CLI v2's registration cache key, written out from its definition."""
    args = {"tool": "botocore", "startUrl": start_url, "region": region, "scopes": scopes, "session_name": session}
    return hashlib.sha1(json.dumps(args, sort_keys=True).encode("utf-8")).hexdigest()


def registration_file(home: Path, key: str | None = None) -> Path:
    return home / ".aws" / "sso" / "cache" / f"{key or cli_key(START, 'eu-west-1', SCOPES, 'corp')}.json"


def test_two_sign_ins_register_once_in_the_aws_clis_file(
    home: Path, env: dict[str, str], sso_server: SsoServer
) -> None:
    assert trayapp(env, "sso", "login", "corp").returncode == 0
    assert trayapp(env, "sso", "logout", "corp").returncode == 0
    second = trayapp(env, "sso", "login", "corp")
    assert second.returncode == 0, second.stderr
    [register] = sso_server.operations("RegisterClient")  # was one per sign-in
    assert register.fields == {
        "clientName": "botocore-client-corp",
        "clientType": "public",
        "grantTypes": ["authorization_code", "refresh_token"],
        "redirectUris": ["http://127.0.0.1/oauth/callback"],
        "issuerUrl": START,
        "scopes": SCOPES,
    }
    data = json.loads(registration_file(home).read_text())
    assert set(data) == {"clientId", "clientSecret", "expiresAt", "scopes", "grantTypes"}
    assert (data["scopes"], data["grantTypes"]) == (SCOPES, ["authorization_code", "refresh_token"])
    assert data["expiresAt"].endswith("Z") and len(data["expiresAt"]) == 20
    assert {r.fields["client_id"] for r in sso_server.operations("Authorize")} == {data["clientId"]}
    # The authorize URL's scopes as the CLI writes them: joined with %20, not '+'.
    for url in (home / "forwarded.log").read_text().splitlines():  # the browser is given a private page
        assert "scopes=sso%3Aaccount%3Aaccess%20codewhisperer%3Acompletions" in urllib.parse.urlsplit(url).query


def test_a_registration_in_its_last_15_minutes_is_replaced(
    home: Path, env: dict[str, str], sso_server: SsoServer
) -> None:
    sso_server.registration_seconds = 14 * 60
    assert trayapp(env, "sso", "login", "corp").returncode == 0
    assert trayapp(env, "sso", "logout", "corp").returncode == 0
    sso_server.registration_seconds = 90 * 86400
    assert trayapp(env, "sso", "login", "corp").returncode == 0
    assert len(sso_server.operations("RegisterClient")) == 2
    data = json.loads(registration_file(home).read_text())
    assert datetime.fromisoformat(data["expiresAt"]) > datetime.now(UTC) + timedelta(days=80)
    assert {r.fields["client_id"] for r in sso_server.operations("Authorize")[1:]} == {data["clientId"]}


def test_a_registration_the_aws_cli_wrote_is_used(home: Path, env: dict[str, str], sso_server: SsoServer) -> None:
    # What `aws sso login` leaves: RegisterClient as its SSOTokenFetcherAuth calls it, the answer
    # stored by its JSONFileCache (expiresAt as %Y-%m-%dT%H:%M:%SZ).
    code = f"""
import boto3, json
oidc = boto3.client("sso-oidc", region_name="eu-west-1")
r = oidc.register_client(clientName="botocore-client-corp", clientType="public",
    grantTypes=["authorization_code", "refresh_token"], redirectUris=["http://127.0.0.1/oauth/callback"],
    issuerUrl="{START}", scopes={SCOPES!r})
import datetime
expires = datetime.datetime.fromtimestamp(r["clientSecretExpiresAt"], datetime.timezone.utc)
print(json.dumps({{"clientId": r["clientId"], "clientSecret": r["clientSecret"],
    "expiresAt": expires.strftime("%Y-%m-%dT%H:%M:%SZ"), "scopes": {SCOPES!r},
    "grantTypes": ["authorization_code", "refresh_token"]}}))
"""
    written = subprocess.run([PYTHON, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert written.returncode == 0, written.stderr
    path = registration_file(home)
    path.parent.mkdir(parents=True, mode=0o700)
    path.write_text(written.stdout)
    path.chmod(0o600)
    cli = json.loads(written.stdout)
    result = trayapp(env, "sso", "login", "corp")
    assert result.returncode == 0, result.stderr
    assert len(sso_server.operations("RegisterClient")) == 1  # the CLI's, none of trayapp's
    token = json.loads((path.parent / (hashlib.sha1(b"corp").hexdigest() + ".json")).read_text())
    assert token["clientId"] == cli["clientId"]
    assert token["registrationExpiresAt"] == cli["expiresAt"]
    assert json.loads(path.read_text()) == cli  # left as the CLI wrote it


def test_device_and_browser_sign_ins_each_use_a_registration_for_their_flow(
    home: Path, env: dict[str, str], sso_server: SsoServer
) -> None:
    no_browser = {k: v for k, v in env.items() if k != "BROWSER"}
    for _ in range(2):
        proc = subprocess.Popen(
            [PYTHON, "-m", "trayapp", "sso", "login", "corp", "--device-code"],
            env=no_browser,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stderr is not None
        proc.stderr.readline()
        assert sso_server.approve(next(d["userCode"] for d in list(sso_server.devices.values())))
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert trayapp(env, "sso", "logout", "corp").returncode == 0
    [device] = sso_server.operations("RegisterClient")  # the CLI's device fetcher: no grant types
    assert device.fields == {"clientName": "botocore-client-corp", "clientType": "public", "scopes": SCOPES}
    assert set(json.loads(registration_file(home).read_text())) == {"clientId", "clientSecret", "expiresAt", "scopes"}
    assert trayapp(env, "sso", "login", "corp").returncode == 0  # the browser: one with authorization_code
    assert len(sso_server.operations("RegisterClient")) == 2
    assert json.loads(registration_file(home).read_text())["grantTypes"] == ["authorization_code", "refresh_token"]


def test_a_legacy_profile_registers_as_the_cli_does_for_one(
    home: Path, env: dict[str, str], sso_server: SsoServer
) -> None:
    assert trayapp(env, "sso", "login", "old-style").returncode == 0
    assert trayapp(env, "sso", "login", "old-style").returncode == 0
    [register] = sso_server.operations("RegisterClient")
    assert register.fields["clientName"].removeprefix("botocore-client-").isdigit()  # the CLI: a timestamp
    assert register.fields["scopes"] == ["sso:account:access"]
    key = cli_key("https://legacy.awsapps.com/start", "us-east-1", None, None)
    assert json.loads(registration_file(home, key).read_text())["clientId"].startswith("client-")
