"""Which profiles are role profiles, and what is wrong with the broken ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from trayapp.core import errors, profiles


def write(home: Path, config: str, credentials: str = "") -> dict[str, str]:
    aws = home / ".aws"
    aws.mkdir(exist_ok=True)
    (aws / "config").write_text(config)
    (aws / "credentials").write_text(credentials)
    return {"HOME": str(home)}


CONFIG = """\
[default]
region = eu-west-1

[profile dev]
role_arn = arn:aws:iam::111111111111:role/Dev
source_profile = base
region = eu-central-1

[profile prod]
role_arn = arn:aws:iam::222222222222:role/Admin
source_profile = base
mfa_serial = arn:aws:iam::000000000000:mfa/alice
external_id = ext-1
role_session_name = alice-prod
duration_seconds = 7200

[profile chained]
role_arn = arn:aws:iam::333333333333:role/Deep
source_profile = prod

[profile ec2]
role_arn = arn:aws:iam::444444444444:role/Box
credential_source = Ec2InstanceMetadata

[profile plain]
region = us-west-2
"""

CREDS = "[base]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = secret\n"


def test_role_profiles_and_all_their_keys(tmp_path: Path) -> None:
    cfg = profiles.load(write(tmp_path, CONFIG, CREDS))
    assert list(cfg.roles) == ["dev", "prod", "chained", "ec2"]
    prod = cfg.roles["prod"]
    assert prod.mfa_serial == "arn:aws:iam::000000000000:mfa/alice"
    assert (prod.external_id, prod.role_session_name, prod.duration_seconds) == ("ext-1", "alice-prod", 7200)
    assert prod.session_profile == "prod-session"
    assert cfg.roles["ec2"].source == "credential_source:Ec2InstanceMetadata"
    assert cfg.problems == {}


def test_region_comes_from_the_profile_then_up_the_chain(tmp_path: Path) -> None:
    config = CONFIG.replace("[profile chained]", "[profile chained]\n").replace(
        "source_profile = prod\n", "source_profile = dev\n"
    )
    cfg = profiles.load(write(tmp_path, config, CREDS))
    assert cfg.source_region(cfg.roles["dev"]) == "eu-central-1"
    assert cfg.source_region(cfg.roles["chained"]) == "eu-central-1"
    assert cfg.source_region(cfg.roles["prod"]) is None


def test_env_variables_choose_the_files_with_tilde_and_vars(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "cfg").write_text(CONFIG)
    (tmp_path / "elsewhere" / "creds").write_text(CREDS)
    env = {
        "HOME": str(tmp_path),
        "SOMEWHERE": "elsewhere",
        "AWS_CONFIG_FILE": "~/$SOMEWHERE/cfg",
        "AWS_SHARED_CREDENTIALS_FILE": "~/$SOMEWHERE/creds",
    }
    cfg = profiles.load(env)
    assert cfg.config_path == tmp_path / "elsewhere" / "cfg"
    assert "prod" in cfg.roles


BROKEN = """\
[profile good]
role_arn = arn:aws:iam::111111111111:role/Good
source_profile = base

[profile both]
role_arn = arn:aws:iam::111111111111:role/X
source_profile = base
credential_source = Environment

[profile neither]
role_arn = arn:aws:iam::111111111111:role/X

[profile badarn]
role_arn = arn:aws:iam::12345:user/bob
source_profile = base

[profile missing]
role_arn = arn:aws:iam::111111111111:role/X
source_profile = nowhere

[profile loop-a]
role_arn = arn:aws:iam::111111111111:role/A
source_profile = loop-b

[profile loop-b]
role_arn = arn:aws:iam::111111111111:role/B
source_profile = loop-a

[profile on-broken]
role_arn = arn:aws:iam::111111111111:role/C
source_profile = neither

[profile baddur]
role_arn = arn:aws:iam::111111111111:role/X
source_profile = base
duration_seconds = 60

[profile badsource]
role_arn = arn:aws:iam::111111111111:role/X
credential_source = Laptop
"""


def test_broken_profiles_are_reported_by_name_and_the_good_one_still_works(tmp_path: Path) -> None:
    cfg = profiles.load(write(tmp_path, BROKEN, CREDS))
    assert list(cfg.roles) == ["good"]
    p = cfg.problems
    assert "both source_profile and credential_source" in p["both"]
    assert "neither source_profile nor credential_source" in p["neither"]
    assert "not an IAM role ARN" in p["badarn"]
    assert "'nowhere' does not exist" in p["missing"]
    assert "loops: loop-a → loop-b → loop-a" in p["loop-a"]
    assert "loops" in p["loop-b"]
    assert "source profile 'neither' is broken" in p["on-broken"]
    assert "between 900 and 43200" in p["baddur"]
    assert "'Laptop' is not one of" in p["badsource"]
    with pytest.raises(errors.BrokenProfile, match="Profile 'missing' can't be used: its source_profile"):
        cfg.role("missing")
    with pytest.raises(errors.UnknownProfile, match="no role profile named 'nope'"):
        cfg.role("nope")


def test_an_unparsable_config_is_a_clear_error_that_quotes_no_line(tmp_path: Path) -> None:
    env = write(tmp_path, "[profile a]\nrole_arn = x\n[profile a]\naws_secret_access_key = SUPERSECRET\n")
    with pytest.raises(errors.ConfigUnreadable) as info:
        profiles.load(env)
    assert "SUPERSECRET" not in str(info.value)
    assert info.value.exit_code == 2


def test_missing_files_mean_no_roles(tmp_path: Path) -> None:
    cfg = profiles.load({"HOME": str(tmp_path)})
    assert cfg.roles == {} and cfg.problems == {}


def test_profile_names_are_read_exactly_as_botocore_reads_them() -> None:
    from botocore import configloader

    raw: dict[str, dict[str, object]] = {
        "profile a": {"x": "1"}, "default": {"y": "2"}, "profile  b": {}, 'profile "c d"': {}, "profilex": {},
        "profile 'e'": {}, "sso-session s": {}, "services x": {}, "profile f g": {}, "profile default": {"w": "1"},
        "profile h\\i": {}, 'profile "unclosed': {},
    }  # fmt: skip
    assert profiles._profile_map(raw) == configloader.build_profile_map(raw)["profiles"]
