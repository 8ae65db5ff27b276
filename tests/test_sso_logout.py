"""Sign out ends what the sign-in made (issue 30, item 2): `trayapp sso logout NAME | --all` removes
the token(s) after one Logout call each, the ``[<profile>-session]`` sections made with the sign-in,
and the AWS CLI's cached role keys (``~/.aws/cli/cache``, ``"ProviderType": "sso"``) — written here
by botocore's own ``SSOProvider`` with the JSONFileCache the AWS CLI v2 gives it
(``awscli/customizations/sso/__init__.py``, ``inject_json_file_cache``).  Each step in a sentence."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.fixtures import MotoServer, SsoServer, aws_env
from tests.support.sso import CORP_CONFIG, browser_script

pytestmark = pytest.mark.integration  # trayapp, botocore and the aws CLI as processes
PYTHON = sys.executable
CONFIG = (
    CORP_CONFIG
    + """
[profile old-style]
sso_start_url = https://legacy.awsapps.com/start
sso_region = us-east-1
sso_account_id = 222222222222
sso_role_name = Developer

[profile chained]
role_arn = arn:aws:iam::333333333333:role/Deploy
source_profile = corp-admin
"""
)
# What the AWS CLI v2 does for an SSO profile: botocore's SSOProvider, its cache in ~/.aws/cli/cache.
CLI_CACHES_KEYS = """
import os, sys, botocore.session
from botocore.credentials import JSONFileCache
for name in sys.argv[1:]:
    session = botocore.session.Session(profile=name)
    provider = session.get_component("credential_provider").get_provider("sso")
    provider.cache = JSONFileCache(os.path.expanduser("~/.aws/cli/cache"))
    session.get_credentials().get_frozen_credentials()
"""


@pytest.fixture
def home(aws_home: Path) -> Path:
    (aws_home / ".aws" / "config").write_text(CONFIG)
    return aws_home


@pytest.fixture
def env(home: Path, sso_server: SsoServer, moto_sts: MotoServer) -> dict[str, str]:
    browser = browser_script(home / "browser.sh")
    return aws_env(home, moto_sts.url, **sso_server.env(), BROWSER=str(browser))


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result


def trayapp(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run(env, PYTHON, "-m", "trayapp", *args)


def signed_in_everywhere(home: Path, env: dict[str, str]) -> dict[str, Path]:
    """Both sign-ins, trayapp's sessions, the CLI's cached keys and a file of another provider."""
    trayapp(env, "sso", "login", "corp")
    trayapp(env, "sso", "login", "old-style")
    trayapp(env, "assume", "chained")  # a role session signed with corp-admin's keys from the sign-in
    trayapp(env, "assume", "corp-admin")
    trayapp(env, "assume", "old-style")
    run(env, PYTHON, "-c", CLI_CACHES_KEYS, "corp-admin", "old-style")
    cli = home / ".aws" / "cli" / "cache"
    files = {json.loads(p.read_text())["Credentials"]["AccountId"]: p for p in cli.glob("*.json")}
    assume_role = cli / "0123456789abcdef.json"  # the CLI's cache of an AssumeRole: not a sign-in's
    assume_role.write_text(json.dumps({"ProviderType": "assume-role", "Credentials": {}}))
    assume_role.chmod(0o600)
    return {"corp": files["111111111111"], "old-style": files["222222222222"], "assume-role": assume_role}


def token_file(home: Path, key: str) -> Path:
    return home / ".aws" / "sso" / "cache" / (hashlib.sha1(key.encode()).hexdigest() + ".json")


def sections(home: Path) -> list[str]:
    text = (home / ".aws" / "credentials").read_text()
    return [line for line in text.splitlines() if line.startswith("[")]


def test_logout_ends_the_token_the_sessions_and_the_cli_keys_of_that_sign_in_only(
    home: Path, env: dict[str, str], sso_server: SsoServer
) -> None:
    cli = signed_in_everywhere(home, env)
    assert set(sections(home)) == {"[chained-session]", "[corp-admin-session]", "[old-style-session]"}
    token = json.loads(token_file(home, "corp").read_text())["accessToken"]
    result = trayapp(env, "sso", "logout", "corp")
    credentials = home / ".aws" / "credentials"
    assert result.stdout.splitlines() == [
        "Signed out of 'corp' at IAM Identity Center.",
        f"Removed the sign-in to 'corp' from {token_file(home, 'corp')}.",
        f"Removed [chained-session] from {credentials}.",
        f"Removed [corp-admin-session] from {credentials}.",
        f"Removed 1 file of role keys the AWS CLI had cached in {cli['corp'].parent}.",
    ]
    assert [r.token for r in sso_server.operations("Logout")] == [token]
    assert not token_file(home, "corp").exists() and not cli["corp"].exists()
    assert sections(home) == ["[old-style-session]"]  # another sign-in's stays
    assert cli["old-style"].exists() and cli["assume-role"].exists()
    assert token_file(home, "https://legacy.awsapps.com/start").exists()
    # botocore has nothing left to sign with for that sign-in.
    code = "import boto3; boto3.Session(profile_name='corp-admin').get_credentials().get_frozen_credentials()"
    after = subprocess.run([PYTHON, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert after.returncode != 0 and "Token for corp does not exist" in after.stderr


def test_logout_all_removes_every_token_file_as_aws_sso_logout_does(
    home: Path, env: dict[str, str], sso_server: SsoServer
) -> None:
    cli = signed_in_everywhere(home, env)
    cache = home / ".aws" / "sso" / "cache"
    other = cache / "made-by-another-tool.json"  # a token file of no configured sign-in
    other.write_text(
        json.dumps({"accessToken": "at-other", "region": "eu-west-1", "expiresAt": "2030-01-01T00:00:00Z"})
    )
    other.chmod(0o600)
    registrations = {p for p in cache.glob("*.json") if "accessToken" not in json.loads(p.read_text())}
    assert len(registrations) == 2
    tokens = {json.loads(p.read_text()).get("accessToken") for p in cache.glob("*.json")} - {None}
    result = trayapp(env, "sso", "logout", "--all")
    assert sorted(r.token or "" for r in sso_server.operations("Logout")) == sorted(tokens)  # one call per token
    assert set(cache.glob("*.json")) == registrations  # the client registrations stay, as with the CLI
    assert sections(home) == []
    assert not cli["corp"].exists() and not cli["old-style"].exists() and cli["assume-role"].exists()
    out = result.stdout
    assert "Signed out of 'corp' at IAM Identity Center." in out
    assert "Signed out of 'https://legacy.awsapps.com/start' at IAM Identity Center." in out
    assert "Signed out of 'made-by-another-tool.json' at IAM Identity Center." in out
    assert "Removed 2 files of role keys the AWS CLI had cached in" in out


def test_logout_of_a_sign_in_that_is_not_there_says_so(home: Path, env: dict[str, str]) -> None:
    result = trayapp(env, "sso", "logout", "corp")
    assert result.stdout == "'corp' was not signed in.\n"
