"""Odd values, odd files and a hostile STS: that profile (or that command) says why, everything
else keeps working, nothing hangs, nothing is written from an answer that doesn't check out.

Each test is named after the row of the hostile-surroundings issue it pins.  The command line
runs as a real process against a real STS stand-in over HTTP.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.fixtures import aws_env
from tests.support.sts import Malformed, Success
from trayapp.core import profiles

BASE = "[base]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG\n"
GOOD = """\
[profile good]
role_arn = arn:aws:iam::111111111111:role/Dev
source_profile = base
region = eu-west-1
"""
PROD = """\
[profile prod]
role_arn = arn:aws:iam::222222222222:role/Admin
source_profile = base
mfa_serial = arn:aws:iam::000000000000:mfa/alice
region = eu-central-1
"""


def write_home(home: Path, config: str, credentials: str = BASE) -> None:
    aws = home / ".aws"
    aws.mkdir(mode=0o700, exist_ok=True)
    (aws / "config").write_text(config)
    creds = aws / "credentials"
    if not creds.is_fifo():
        creds.write_text(credentials)
        creds.chmod(0o600)


def cli_env(home: Path, url: str) -> dict[str, str]:
    run = home / "run"
    run.mkdir(mode=0o700, exist_ok=True)
    return aws_env(home, url, XDG_RUNTIME_DIR=str(run))


def trayapp(env: dict[str, str], *args: str, stdin: str = "", timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trayapp", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# --- one odd value breaks only its own profile -------------------------------------------


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("duration_seconds = ²", "duration_seconds '²' is not a number of seconds"),
        ("duration_seconds = 9e3", "duration_seconds '9e3' is not a number of seconds"),
        ("region = evil.example.com/x", "region 'evil.example.com/x' is not a region name"),
        ("region = -bad-", "region '-bad-' is not a region name"),
        ("role_session_name = a b", "role_session_name 'a b' is not 2 to 64 letters"),
        ("external_id = x", "external_id 'x' is not 2 to 1224 letters"),
        ("mfa_serial = short", "mfa_serial 'short' is not an MFA device ARN"),
    ],
)
def test_one_odd_value_makes_only_its_profile_unusable(aws_home: Path, fault_sts: Any, line: str, says: str) -> None:
    odd = "[profile odd]\nrole_arn = arn:aws:iam::333333333333:role/Odd\nsource_profile = base\n" + line + "\n"
    write_home(aws_home, GOOD + "\n" + odd)
    env = cli_env(aws_home, fault_sts.url)
    listed = trayapp(env, "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith("good\t")
    assert f"profile 'odd' can't be used: {says}" in listed.stderr
    assert "unexpected" not in listed.stderr
    for command in (["status"], ["assume", "good"], ["credential-process", "good"]):
        done = trayapp(env, *command)
        assert done.returncode == 0, (command, done.stderr)
    refused = trayapp(env, "assume", "odd", "--code", "123456")
    assert refused.returncode == 2 and "can't be used" in refused.stderr
    assert fault_sts.requests_for("AssumeRole")[-1]["RoleArn"].endswith("role/Dev")  # odd never reached STS


def test_full_width_duration_seconds_is_read_as_botocore_reads_it(aws_home: Path) -> None:
    """int('３６００') is 3600 for botocore, so it is for trayapp: the two never disagree."""
    config = "[profile wide]\nrole_arn = arn:aws:iam::1:role/x\n"
    config = GOOD.replace("region = eu-west-1", "duration_seconds = ３６００")
    write_home(aws_home, config)
    cfg = profiles.load(aws_env(aws_home, "http://127.0.0.1:9"))
    assert cfg.roles["good"].duration_seconds == 3600


def test_a_region_up_the_source_chain_is_checked_too(aws_home: Path) -> None:
    config = "[profile base]\nregion = evil.example.com/x\n\n" + GOOD.replace("region = eu-west-1\n", "")
    write_home(aws_home, config)
    cfg = profiles.load(aws_env(aws_home, "http://127.0.0.1:9"))
    assert "region of its source profile 'evil.example.com/x'" in cfg.problems["good"]


def test_a_name_that_cannot_become_a_section_is_refused_before_sts(aws_home: Path, fault_sts: Any) -> None:
    lead = '[profile " lead"]\nrole_arn = arn:aws:iam::444444444444:role/Lead\nsource_profile = base\n'
    write_home(aws_home, GOOD + "\n" + lead)
    env = cli_env(aws_home, fault_sts.url)
    done = trayapp(env, "assume", " lead", "--code", "123456")
    assert done.returncode == 2
    assert "its name can't be written as a section [ lead-session]" in done.stderr
    assert fault_sts.requests_for("AssumeRole") == []  # the code was not used up
    assert trayapp(env, "assume", "good").returncode == 0


def test_one_broken_profile_and_no_good_one_says_only_what_is_broken(aws_home: Path, fault_sts: Any) -> None:
    write_home(aws_home, "[profile odd]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = base\n")
    done = trayapp(cli_env(aws_home, fault_sts.url), "list")
    assert done.returncode == 0
    assert "can't be used" in done.stderr
    assert "No role profiles" not in done.stdout + done.stderr


# --- odd files -----------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["config", "credentials"])
@pytest.mark.parametrize("command", [["list"], ["status"], ["assume", "good"], ["credential-process", "good"]])
def test_a_fifo_instead_of_a_file_is_refused_at_once(
    aws_home: Path, fault_sts: Any, which: str, command: list[str]
) -> None:
    write_home(aws_home, GOOD)
    fifo = aws_home / ".aws" / which
    fifo.unlink()
    os.mkfifo(fifo, 0o600)
    done = trayapp(cli_env(aws_home, fault_sts.url), *command, timeout=20)  # hung forever before
    if command == ["status"] and which == "config":
        assert done.returncode == 0  # status reads only the credentials file
    else:
        assert done.returncode != 0
        assert "not a regular file" in done.stderr
    assert fifo.is_fifo()


# --- a hostile or broken STS ---------------------------------------------------------------

PAST = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)


def _success_body(key_id: str, secret: str, token: str, expiration: str) -> str:
    ns = "https://sts.amazonaws.com/doc/2011-06-15/"
    return (
        f'<AssumeRoleResponse xmlns="{ns}"><AssumeRoleResult><Credentials>'
        f"<AccessKeyId>{key_id}</AccessKeyId><SecretAccessKey>{secret}</SecretAccessKey>"
        f"<SessionToken>{token}</SessionToken><Expiration>{expiration}</Expiration></Credentials>"
        "<AssumedRoleUser><AssumedRoleId>AROA:x</AssumedRoleId>"
        "<Arn>arn:aws:sts::222222222222:assumed-role/Admin/x</Arn></AssumedRoleUser>"
        "</AssumeRoleResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></AssumeRoleResponse>"
    )


LATER = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
HOSTILE = {
    "expired": (Success(expiration=PAST), "has already expired"),
    "bad expiry": (Malformed(_success_body("ASIAAAAAAAAAAAAAAAAA", "s3cret", "tok", "yesterday-ish")), "understand"),
    "newline in key": (
        Malformed(_success_body("ASIAAAAAAAAAAAAAAAAA&#10;[evil]", "s3cret", "tok", LATER)),
        "understand",
    ),
    "carriage return in secret": (
        Malformed(_success_body("ASIAAAAAAAAAAAAAAAAA", "s3cret&#13;x = y", "tok", LATER)),
        "understand",
    ),
    "10 MB of not-XML": (Malformed("x" * 10_000_000), "understand"),
    "HTML error page": (Malformed("<html><body>proxy says no</body></html>", status=502, content_type="text/html"), ""),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_an_sts_answer_that_does_not_check_out_writes_nothing(aws_home: Path, fault_sts: Any, case: str) -> None:
    write_home(aws_home, GOOD)
    behaviour, says = HOSTILE[case]
    fault_sts.set_default(behaviour)
    before = (aws_home / ".aws" / "credentials").read_bytes()
    done = trayapp(cli_env(aws_home, fault_sts.url), "assume", "good", timeout=60)
    assert done.returncode == 1, done.stdout
    assert says in done.stderr
    assert "unexpected" not in done.stderr and "KeyError" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert (aws_home / ".aws" / "credentials").read_bytes() == before


def test_a_closed_pipe_is_quiet(aws_home: Path, fault_sts: Any) -> None:
    write_home(aws_home, GOOD)
    env = cli_env(aws_home, fault_sts.url)
    assert trayapp(env, "assume", "good").returncode == 0
    python = sys.executable
    shell = f"'{python}' -m trayapp credential-process good | head -c 0; '{python}' -m trayapp list | head -c 0"
    done = subprocess.run(["bash", "-c", shell], env=env, capture_output=True, text=True, timeout=60)
    assert done.stderr == ""


# --- property: any value in any known key ------------------------------------------------

KEYS = ["role_arn", "source_profile", "credential_source", "mfa_serial", "external_id", "role_session_name",
        "duration_seconds", "region"]  # fmt: skip
# Values as a config file can hold them: one line, no leading/trailing space (configparser strips).
VALUES = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"),
    max_size=30,
).map(str.strip)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(KEYS), value=VALUES, name=st.sampled_from(["odd", "x y", "ü", "a.b", " lead"]))
def test_any_value_in_any_key_gives_a_usable_profile_or_a_reason(
    tmp_path: Path, key: str, value: str, name: str
) -> None:
    from trayapp.cli import main
    from trayapp.core.service import Service

    home = tmp_path / "h"
    home.mkdir(exist_ok=True)
    body = {"role_arn": "arn:aws:iam::333333333333:role/Odd", "source_profile": "base", key: value}
    if value == "":
        body.pop(key)
    lines = "".join(f"{k} = {v}\n" for k, v in body.items() if not v.startswith(("#", ";", "[")))
    config = GOOD + f'\n[profile "{name}"]\n' + lines
    write_home(home, config)
    env = aws_env(home, "http://127.0.0.1:9")
    before = (home / ".aws" / "config").read_bytes()
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["list"], service_factory=lambda: Service(environ=env))
    assert "unexpected" not in err.getvalue()
    if code == 0:
        listed = {line.split("\t")[0] for line in out.getvalue().splitlines()}
        assert "good" in listed
        if "role_arn = " in lines:
            assert name in listed or f"profile '{name}' can't be used:" in err.getvalue()
        else:  # without role_arn it is not a role profile: neither listed nor a problem
            assert name not in listed and name not in err.getvalue()
    else:  # the whole file is unreadable INI: one sentence about the file
        assert code == 2 and "can't be read" in err.getvalue()
    assert (home / ".aws" / "config").read_bytes() == before  # trayapp never changes what aws reads
