"""A profile is what botocore makes of both files: the credentials file's section wins (issue 20, item 4).

botocore merges ``[prod]`` of the credentials file into profile ``prod`` (``Session.full_config``), its
values winning.  trayapp read the role from the config file only, so ``trayapp assume prod`` and
``aws --profile prod`` could assume different roles in different accounts.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from tests.support.aws_files import env_for, write_aws_files
from tests.support.sts import run_aws
from trayapp.core import profiles

CONFIG = """\
[profile prod]
role_arn = arn:aws:iam::123456789012:role/Admin
source_profile = base
region = eu-west-1

[profile other]
region = us-east-1
"""
KEYS = """\
[base]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
"""
#: The same profile in the credentials file, naming another account's role.
OVERRIDE = KEYS + "\n[prod]\nrole_arn = arn:aws:iam::999999999999:role/Admin\n"


def trayapp(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in env.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    return subprocess.run(
        [sys.executable, "-m", "trayapp", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=90,
    )


def account(env: dict[str, str], profile: str) -> str:
    result = run_aws(["--profile", profile, "sts", "get-caller-identity", "--output", "json"], env)
    assert result.returncode == 0, result.stderr
    return str(json.loads(result.stdout)["Account"])


def botocore_profile(env: dict[str, str], name: str) -> dict[str, Any]:
    """The profile as botocore's own session resolves it, with *env*'s files."""
    session = botocore.session.Session(
        session_vars={
            "config_file": (None, None, env["AWS_CONFIG_FILE"], None),
            "credentials_file": (None, None, env["AWS_SHARED_CREDENTIALS_FILE"], None),
        }
    )
    return dict(session.full_config["profiles"][name])


def test_assume_uses_the_role_the_aws_cli_uses(moto_sts: Any, aws_home: Path) -> None:
    write_aws_files(aws_home, CONFIG, OVERRIDE)
    env = env_for(aws_home, moto_sts.url)
    result = trayapp(env, "assume", "prod")
    assert result.returncode == 0, result.stderr
    # The aws CLI assumes profile prod itself, and reads the session trayapp wrote: the same account.
    assert account(env, "prod") == "999999999999"
    assert account(env, "prod-session") == "999999999999"  # was 123456789012
    rows = json.loads(trayapp(env, "list", "--json").stdout)
    assert [(r["profile"], r["role_arn"]) for r in rows] == [("prod", "arn:aws:iam::999999999999:role/Admin")]


def test_every_role_key_in_the_credentials_file_wins_as_in_botocore(fault_sts: Any, aws_home: Path) -> None:
    serial = "arn:aws:iam::000000000000:mfa/from-credentials"
    write_aws_files(
        aws_home,
        CONFIG.replace("source_profile = base", "source_profile = other\nexternal_id = from-config"),
        KEYS + f"\n[prod]\nsource_profile = base\nexternal_id = from-credentials\nmfa_serial = {serial}\n"
        "region = ap-south-1\n",
    )
    env = env_for(aws_home, fault_sts.url)
    result = trayapp(env, "assume", "prod", "--code", "123456")
    assert result.returncode == 0, result.stderr
    (request,) = fault_sts.requests_for("AssumeRole")
    resolved = botocore_profile(env, "prod")
    assert request["RoleArn"] == resolved["role_arn"]
    assert request["ExternalId"] == resolved["external_id"] == "from-credentials"
    assert request["SerialNumber"] == resolved["mfa_serial"] == serial
    assert "region = ap-south-1" in (aws_home / ".aws" / "credentials").read_text().split("[prod-session]")[1]


@pytest.mark.parametrize(
    ("credentials", "role_arn", "problem"),
    [
        pytest.param(
            KEYS + "\n[ops]\nrole_arn = arn:aws:iam::222222222222:role/Ops\nsource_profile = base\n",
            "arn:aws:iam::222222222222:role/Ops",
            None,
            id="a-role-only-in-the-credentials-file",
        ),
        pytest.param(
            KEYS + "\n[ops]\nrole_arn = not-an-arn\nsource_profile = base\n",
            None,
            "role_arn 'not-an-arn' is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)",
            id="a-broken-one-is-named",
        ),
        pytest.param(
            KEYS + "\n[ops]\nrole_arn = arn:aws:iam::222222222222:role/Ops\nsource_profile = nowhere\n",
            None,
            "its source_profile 'nowhere' does not exist in the config or credentials file",
            id="its-chain-is-checked",
        ),
    ],
)
def test_a_role_profile_of_the_credentials_file_is_listed_as_botocore_would_use_it(
    tmp_path: Path, credentials: str, role_arn: str | None, problem: str | None
) -> None:
    write_aws_files(tmp_path, CONFIG, credentials)
    cfg = profiles.load({"HOME": str(tmp_path)})
    if role_arn is not None:
        assert cfg.role("ops").role_arn == role_arn
        assert cfg.source_region(cfg.role("ops")) is None
    else:
        assert cfg.problems["ops"] == problem
    assert cfg.role("prod").role_arn == "arn:aws:iam::123456789012:role/Admin"  # nothing overrides it here


def test_the_config_file_alone_still_says_what_it_holds(tmp_path: Path) -> None:
    # The warning about a config profile that shadows a session trayapp wrote reads the config alone.
    write_aws_files(tmp_path, CONFIG, OVERRIDE + "\n[prod-session]\naws_access_key_id = ASIAEXAMPLE\n")
    cfg = profiles.load({"HOME": str(tmp_path)})
    assert "prod-session" not in cfg.profiles
    assert cfg.profiles["prod"]["role_arn"] == "arn:aws:iam::123456789012:role/Admin"
    assert cfg.merged["prod"]["role_arn"] == "arn:aws:iam::999999999999:role/Admin"
