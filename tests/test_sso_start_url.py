"""Start URLs as the AWS CLI v2 resolves them (issue 30, item 4): an organisation's own domain
(https on localhost, a test CA given as ``AWS_CA_BUNDLE``) redirects to the AWS access portal.

The CLI (``awscli/customizations/sso/resolve.py``) hands IAM Identity Center the resolved URL — the
issuer of a browser sign-in's registration, the ``startUrl`` of a device sign-in — and keeps the
configured URL everywhere botocore looks (the token's cache key and ``startUrl``, the registration's
cache key); so does trayapp, and botocore's own ``SSOTokenProvider`` finds the token.  Anything but
an https redirect to an AWS portal domain is refused in one sentence, before any registration."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fixtures import SsoServer, aws_env
from tests.support.sso import CustomDomain, browser_script
from trayapp.core import errors, sso_start_url
from trayapp.core.sso_config import SsoSession

pytestmark = pytest.mark.integration  # trayapp and botocore as processes
PYTHON = sys.executable
PORTAL = "https://d-9067a1b2c3.awsapps.com/start"


@pytest.fixture
def domain(tmp_path: Path) -> Iterator[CustomDomain]:
    with CustomDomain(tmp_path) as server:
        yield server


def config(start_url: str) -> str:
    return (
        f"[sso-session corp]\nsso_start_url = {start_url}\nsso_region = eu-west-1\n\n"
        "[profile corp-admin]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = Admin\n"
    )


def trayapp(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "-m", "trayapp", *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def env(aws_home: Path, sso_server: SsoServer, domain: CustomDomain) -> dict[str, str]:
    (aws_home / ".aws" / "config").write_text(config(domain.url))
    browser = browser_script(aws_home / "browser.sh")
    return aws_env(
        aws_home, "http://127.0.0.1:9", **sso_server.env(), BROWSER=str(browser), AWS_CA_BUNDLE=str(domain.ca_file)
    )


@pytest.mark.parametrize("flow", ["browser", "device"])
def test_a_custom_domain_start_url_signs_in_at_the_portal_it_leads_to_and_keeps_the_cli_cache_keys(
    aws_home: Path, env: dict[str, str], sso_server: SsoServer, domain: CustomDomain, flow: str
) -> None:
    domain.location = PORTAL + "/?utm=mail"  # the CLI's normalising: no query, no trailing slash
    if flow == "device":
        domain.head_status = 405  # HEAD refused: asked again with GET, as the CLI does
        proc = subprocess.Popen(
            [PYTHON, "-m", "trayapp", "sso", "login", "corp", "--device-code"],
            env={k: v for k, v in env.items() if k != "BROWSER"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stderr is not None
        proc.stderr.readline()
        [user_code] = [d["userCode"] for d in sso_server.devices.values()]
        assert sso_server.approve(user_code)
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        [start] = sso_server.operations("StartDeviceAuthorization")
        assert start.fields["startUrl"] == PORTAL
        assert domain.requests == [("HEAD", "/start"), ("GET", "/start")]
    else:
        result = trayapp(env, "sso", "login", "corp")
        assert result.returncode == 0, result.stderr
        [register] = sso_server.operations("RegisterClient")
        assert register.fields["issuerUrl"] == PORTAL
        assert domain.requests == [("HEAD", "/start")]
    cache = aws_home / ".aws" / "sso" / "cache"
    token = json.loads((cache / (hashlib.sha1(b"corp").hexdigest() + ".json")).read_text())
    assert token["startUrl"] == domain.url  # botocore's SSOTokenProvider compares nothing, the CLI keys on it
    key = {"tool": "botocore", "startUrl": domain.url, "region": "eu-west-1", "scopes": None, "session_name": "corp"}
    assert (cache / (hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest() + ".json")).exists()
    # botocore's own providers find the sign-in through the configured start URL.
    code = "import boto3; print(boto3.Session(profile_name='corp-admin').get_credentials().access_key[:4])"
    keys = subprocess.run([PYTHON, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert keys.stdout.strip() == "ASIA", keys.stderr


@pytest.mark.parametrize(
    ("answer", "sentence"),
    [
        ({"location": "http://d-9067a1b2c3.awsapps.com/start"}, "which is not an https:// address"),
        ({"location": "/elsewhere"}, "it does not lead to an AWS access portal"),
        ({"status": 200}, "it does not lead to an AWS access portal"),
        ({"status": 404}, "answered HTTP 404"),
        ({"location": "https://evil\x1b[31m.example/\x07"}, "which is not a valid address"),
    ],
    ids=["cleartext", "loop", "no-redirect", "not-found", "control-characters"],
)
def test_a_start_url_that_does_not_lead_to_a_portal_is_refused_in_a_sentence(
    env: dict[str, str], sso_server: SsoServer, domain: CustomDomain, answer: dict[str, object], sentence: str
) -> None:
    for name, value in answer.items():
        setattr(domain, name, value)
    result = trayapp(env, "sso", "login", "corp")
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("trayapp: The start URL of 'corp' can't be used: ") and sentence in line, line
    assert "\x1b" not in line and "\x07" not in line and "Traceback" not in line
    assert sso_server.operations() == []  # no registration, no sign-in
    assert len(domain.requests) <= sso_start_url.MAX_HOPS


def test_a_start_url_that_never_answers_is_given_up_on_in_time(domain: CustomDomain) -> None:
    domain.silent = True
    session = SsoSession("corp", domain.url, "eu-west-1")
    started = time.monotonic()
    # Silent after the connection (its usual form) or, on a loaded machine, already in the TLS
    # handshake: either way given up on with its sentence.
    gave_up = r"did not answer within 1 seconds|can't be reached \(no answer in time\)"
    with pytest.raises(errors.SsoStartUrlRefused, match=gave_up):
        sso_start_url.resolve(session, environ={"AWS_CA_BUNDLE": str(domain.ca_file)}, timeout=1)
    assert time.monotonic() - started < 20  # a bound, not a speed: the old code had none to give up on


def test_a_portal_in_another_region_than_sso_region_is_refused_with_the_fix(domain: CustomDomain) -> None:
    domain.location = "https://ssoins-7223a1b2c3d4e5f6.portal.us-east-2.app.aws/"
    session = SsoSession("corp", domain.url, "eu-west-1")
    with pytest.raises(errors.SsoStartUrlRefused, match="set sso_region = us-east-2"):
        sso_start_url.resolve(session, environ={"AWS_CA_BUNDLE": str(domain.ca_file)})
    session = SsoSession("corp", domain.url, "us-east-2")
    resolved = sso_start_url.resolve(session, environ={"AWS_CA_BUNDLE": str(domain.ca_file)})
    assert resolved == "https://ssoins-7223a1b2c3d4e5f6.portal.us-east-2.app.aws"


def test_a_start_url_on_an_aws_domain_is_used_as_it_is_without_a_request() -> None:
    def never(url: str, timeout: float) -> tuple[int, str | None]:
        raise AssertionError("no request for an AWS portal's own address")

    for url in ("https://d-9067a1b2c3.awsapps.com/start/", "https://ssoins-1.portal.eu-west-1.app.aws"):
        assert sso_start_url.resolve(SsoSession("s", url, "eu-west-1"), ask=never) == url
