"""`trayapp sso profiles --write` against a hostile or huge directory (issue 30, item 5): the real CLI
against the SSO stand-in, the result read by botocore.  An existing section is never changed, a
name never equals one botocore could read from the files, nothing is injected, a bad entry skips
itself, the profiles are written all at once or not at all, and paging and throttling end with
every profile written."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.support.fixtures import SsoServer, aws_env
from tests.support.sso import CORP_CONFIG, browser_script, hostile_directory

pytestmark = pytest.mark.integration
PYTHON = sys.executable
TEAM_DEPLOY = """\
# the user's own profile, with its own keys
[profile team-deploy]
credential_process = {script}
region = eu-west-1
"""
OWN_KEY = "AKIAUSERSOWNKEY00001"
STATIC_KEY = "AKIASTATICKEY0000001"


def trayapp(env: dict[str, str], *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "-m", "trayapp", *args], env=env, capture_output=True, text=True, timeout=timeout)


def access_key(env: dict[str, str], profile: str) -> str:
    """The key botocore's own provider chain resolves for *profile*."""
    code = f"import boto3; print(boto3.Session(profile_name={profile!r}).get_credentials().access_key)"
    result = subprocess.run([PYTHON, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def botocore_profiles(env: dict[str, str]) -> dict[str, dict[str, str]]:
    code = "import json, botocore.session; s = botocore.session.Session();print(json.dumps(s.full_config['profiles']))"
    result = subprocess.run([PYTHON, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    import json

    return dict(json.loads(result.stdout))


@pytest.fixture
def home(aws_home: Path) -> Path:
    script = aws_home / "own-keys.sh"
    answer = f'{{"Version": 1, "AccessKeyId": "{OWN_KEY}", "SecretAccessKey": "s"}}'
    script.write_text(f"#!/bin/sh\necho '{answer}'\n")
    script.chmod(0o700)
    (aws_home / ".aws" / "config").write_text(CORP_CONFIG + "\n" + TEAM_DEPLOY.format(script=script))
    return aws_home


@pytest.fixture
def env(home: Path, sso_server: SsoServer) -> dict[str, str]:
    browser = browser_script(home / "browser.sh")
    made = aws_env(home, "http://127.0.0.1:9", **sso_server.env(), BROWSER=str(browser))
    assert trayapp(made, "sso", "login", "corp").returncode == 0
    return made


def new_sections(before: bytes, after: bytes) -> list[str]:
    assert after.startswith(before), "a byte of the old file changed"
    return re.findall(r"^\[(.*)\]$", after[len(before) :].decode(), flags=re.M)


def test_an_account_id_deploy_never_turns_the_users_team_deploy_profile_into_an_sso_one(
    home: Path, env: dict[str, str], sso_server: SsoServer
) -> None:
    # issue 30: 'team' went to the first account; for the second the '-<account id>' fallback
    # made 'team-deploy', and the user's profile of that name got the SSO keys added.  Now an
    # account without a name is named by its id, and an id that is not 12 digits is skipped.
    sso_server.assignments = {"111111111111": ("", ["Team"]), "deploy": ("", ["Team"])}
    config = home / ".aws" / "config"
    before = config.read_bytes()
    result = trayapp(env, "sso", "profiles", "corp", "--write")
    assert result.returncode == 0, result.stderr
    assert new_sections(before, config.read_bytes()) == ["profile 111111111111-team"]
    assert "Skipped account 'deploy': its id is not a 12-digit account number." in result.stderr
    assert "Traceback" not in result.stderr
    assert access_key(env, "team-deploy") == OWN_KEY  # still the user's credential_process
    assert access_key(env, "111111111111-team").startswith("ASIA")  # the new one is the directory's


def test_a_new_name_never_equals_one_botocore_reads_from_either_file(
    home: Path, env: dict[str, str], sso_server: SsoServer
) -> None:
    config = home / ".aws" / "config"
    with config.open("a") as f:
        f.write('\n[profile  "Prod-Admin"]\nregion = eu-west-1\n\n[profile ops-admin-session]\nregion = eu-west-1\n')
        f.write("\n[sso-session sandbox-developer-222222222222]\nsso_start_url = https://x.awsapps.com/start\n")
        f.write("sso_region = eu-west-1\n")
    (home / ".aws" / "credentials").write_text(
        f"[sandbox-developer]\naws_access_key_id = {STATIC_KEY}\naws_secret_access_key = s\n"
        "\n[ops-admin-333333333333]\nregion = eu-west-1\n"
    )
    sso_server.assignments = {
        "444444444444": ("Prod", ["Admin"]),  # 'Prod-Admin' exists, as botocore reads [profile  "Prod-Admin"]
        "222222222222": ("Sandbox", ["Developer"]),  # a credentials-file profile; then an sso-session's name
        "333333333333": ("Ops", ["Admin"]),  # 'ops-admin-session' holds ops-admin's keys; the fallback is taken
    }
    before = config.read_bytes()
    result = trayapp(env, "sso", "profiles", "corp", "--write")
    assert result.returncode == 0, result.stderr
    added = new_sections(before, config.read_bytes())
    assert added == [
        "profile ops-admin-333333333333-2",
        "profile prod-admin-444444444444",
        "profile sandbox-developer-222222222222-2",
    ]
    assert access_key(env, "sandbox-developer") == STATIC_KEY  # not taken over by the SSO provider
    profiles = botocore_profiles(env)
    assert profiles["Prod-Admin"] == {"region": "eu-west-1"}
    assert profiles["sandbox-developer-222222222222-2"]["sso_account_id"] == "222222222222"


def test_a_hostile_directory_injects_no_section_or_key_and_each_bad_entry_skips_itself(
    home: Path, env: dict[str, str], sso_server: SsoServer
) -> None:
    sso_server.assignments = hostile_directory()
    sso_server.raw_accounts = (
        {"accountId": "444444444444", "accountName": "Ops again"},  # listed twice: once
        {"accountName": "no id"},
        {"accountId": 123456789012, "accountName": ["not text"]},
    )
    config = home / ".aws" / "config"
    before = config.read_bytes()
    result = trayapp(env, "sso", "profiles", "corp", "--write")
    assert result.returncode == 0, result.stderr
    added = new_sections(before, config.read_bytes())
    assert all(re.fullmatch(r"profile [a-z0-9-]{1,90}", header) for header in added), added
    profiles = botocore_profiles(env)
    assert set(profiles) == {"corp-admin", "team-deploy", *(h.removeprefix("profile ") for h in added)}
    for header in added:
        assert set(profiles[header.removeprefix("profile ")]) == {"sso_session", "sso_account_id", "sso_role_name"}
    written = {(v["sso_account_id"], v["sso_role_name"]) for k, v in profiles.items() if f"profile {k}" in added}
    assert written == {
        ("333333333333", "Deploy"),
        ("444444444444", "Admin"),
        ("555555555555", "Admin"),
        ("666666666666", "ReadOnly"),
        ("777777777777", "Admin"),
        ("888888888888", "Deploy"),
        ("999999999999", "deploy"),
        ("000000000001", "Admin"),
        ("000000000002", "Admin"),
    }
    assert "profile unicode-production-admin" in added  # accents folded, not dropped
    skipped = [line.removeprefix("trayapp: ") for line in result.stderr.splitlines() if "Skipped" in line]
    assert len(skipped) == 9, result.stderr  # 3 account ids, 4 role names, no id, an id that is a number
    assert "Skipped account 'deploy': its id is not a 12-digit account number." in skipped
    assert "Skipped role '#comment' of account 444444444444: it is not a valid role name." in skipped
    assert all(line.isprintable() for line in result.stderr.splitlines()), result.stderr
    assert all(len(line) < 160 for line in skipped), skipped  # a 5,000-character name is shortened when shown
    assert access_key(env, "team-deploy") == OWN_KEY


def test_paged_and_throttled_listings_end_with_every_profile_written(
    home: Path, env: dict[str, str], sso_server: SsoServer
) -> None:
    sso_server.assignments = {f"{500000000000 + n}": (f"Acct {n:02d}", ["Admin", "ReadOnly"]) for n in range(40)}
    sso_server.page_size = 3  # accounts and roles: 14 + 40 pages
    sso_server.throttle_every, sso_server.throttle_times = 5, 2  # a listing refused twice in a row
    result = trayapp(env, "sso", "profiles", "corp", "--write")
    assert result.returncode == 0, result.stderr
    profiles = botocore_profiles(env)
    assert {(p.get("sso_account_id"), p.get("sso_role_name")) for p in profiles.values()} >= {
        (account, role) for account in sso_server.assignments for role in ("Admin", "ReadOnly")
    }
    assert sso_server.throttled >= 20
    assert f"Added 80 profiles to {home / '.aws' / 'config'}" in result.stdout


def test_a_directory_that_never_ends_stops_the_run_with_a_sentence_and_writes_nothing(
    home: Path, env: dict[str, str], sso_server: SsoServer
) -> None:
    sso_server.endless, sso_server.page_size = True, 50
    before = (home / ".aws" / "config").read_bytes()
    result = trayapp(env, "sso", "profiles", "corp", "--write", timeout=150)
    assert result.returncode == 1
    assert "could not be listed: IAM Identity Center kept sending pages past" in result.stderr
    assert "Traceback" not in result.stderr
    assert (home / ".aws" / "config").read_bytes() == before


@pytest.mark.parametrize("fault", ["folder made read-only", "file made unparsable"])
def test_profiles_are_written_all_at_once_or_not_at_all(
    home: Path, env: dict[str, str], sso_server: SsoServer, fault: str
) -> None:
    # Before: one locked, fsynced rewrite per profile; a fault after the first left a few written.
    sso_server.assignments = {f"{600000000000 + n}": (f"Acct {n:03d}", ["Admin"]) for n in range(120)}
    config = home / ".aws" / "config"
    before = config.read_bytes()
    seen: list[bytes] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            now = config.read_bytes()
            if now != before:
                seen.append(now)
                time.sleep(0.1)  # the old code was still writing; the new one has long finished
                if fault == "folder made read-only":
                    config.parent.chmod(0o500)
                else:
                    with config.open("ab") as f:
                        f.write(b"\n[profile team-deploy]\nregion = us-east-1\n")
                return
            time.sleep(0.001)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        result = trayapp(env, "sso", "profiles", "corp", "--write")
    finally:
        stop.set()
        watcher.join()
        config.parent.chmod(0o700)
    assert seen, result.stderr
    assert len(new_sections(before, seen[0])) == 120  # the first change anyone saw held them all
    assert result.returncode == 0, result.stderr


def test_a_page_botocore_cannot_read_ends_the_run_in_one_sentence_and_writes_nothing(
    home: Path, env: dict[str, str], sso_server: SsoServer
) -> None:
    sso_server.raw_accounts = ("an account that is a string",)
    before = (home / ".aws" / "config").read_bytes()
    result = trayapp(env, "sso", "profiles", "corp", "--write")
    assert result.returncode == 1
    assert result.stderr == (
        "trayapp: The accounts of 'corp' could not be listed: "
        "IAM Identity Center sent a page trayapp could not understand.\n"
    )
    assert (home / ".aws" / "config").read_bytes() == before
