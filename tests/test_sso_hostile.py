"""A hostile or broken IAM Identity Center, and no network: `trayapp sso …` against the stand-in's
hostile answers (tests/support/sso.py ``HOSTILE``) says one sentence, writes nothing, keeps the
token it had, opens no page that is not the service's own and prints no terminal escape."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.fixtures import SsoServer, aws_env, refused_url
from tests.support.sso import CORP_CONFIG, HUGE, browser_script

pytestmark = pytest.mark.integration
PYTHON = sys.executable


@pytest.fixture
def home(aws_home: Path) -> Path:
    (aws_home / ".aws" / "config").write_text(CORP_CONFIG)
    return aws_home


@pytest.fixture
def env(home: Path, sso_server: SsoServer) -> dict[str, str]:
    browser = browser_script(home / "browser.sh", log=home / "browser.log")
    return aws_env(home, "http://127.0.0.1:9", **sso_server.env(), BROWSER=str(browser))


def cache_file(home: Path) -> Path:
    return home / ".aws" / "sso" / "cache" / (hashlib.sha1(b"corp").hexdigest() + ".json")


def cached(home: Path) -> dict[str, str]:
    return dict(json.loads(cache_file(home).read_text()))


def trayapp(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "-m", "trayapp", *args], env=env, capture_output=True, text=True, timeout=120)


def one_sentence(result: subprocess.CompletedProcess[str], *parts: str) -> str:
    """The command failed with one line on stderr, a sentence holding *parts*, no class name."""
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("trayapp: "), result.stderr
    assert "unexpected error" not in lines[0] and "Error)" not in lines[0] and "Exception" not in lines[0]
    for part in parts:
        assert part in lines[0]
    return lines[0]


# --- the device flow: what reaches the browser and the terminal -------------------------------------


@pytest.mark.parametrize("kind", ["option-page", "foreign-page"])
def test_a_device_page_that_is_not_the_services_own_never_reaches_the_browser(
    home: Path, env: dict[str, str], sso_server: SsoServer, kind: str
) -> None:
    sso_server.hostile["StartDeviceAuthorization"] = kind
    result = trayapp(env, "sso", "login", "corp", "--device-code")
    one_sentence(
        result, "sent an answer trayapp can't use (its verificationUriComplete is not an https page of the sign-in"
    )
    assert not (home / "browser.log").exists()  # the browser never ran
    assert not Path("/tmp/trayapp-owned").exists()
    assert not cache_file(home).exists()


def test_a_device_code_with_terminal_escapes_is_printed_without_them(
    home: Path, env: dict[str, str], sso_server: SsoServer
) -> None:
    sso_server.hostile["StartDeviceAuthorization"] = "escaped-code"
    env = {k: v for k, v in env.items() if k != "BROWSER"}
    proc = subprocess.Popen(
        [PYTHON, "-m", "trayapp", "sso", "login", "corp", "--device-code"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    [code] = [d["userCode"] for d in sso_server.devices.values()]
    assert line == f"To sign in to 'corp', open {sso_server.url}/device and confirm the code ]0;owned[2J{code}[0m.\n"
    assert not any(unicodedata.category(c)[0] == "C" for c in line.rstrip("\n"))  # no escape, no bidi override
    assert sso_server.approve(code)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Signed in to 'corp'" in out


# --- answers that are nonsense, or too large -------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("bad-json", "its accessToken is not a short text of visible characters"),
        ("huge-number", "it is not the JSON it should be"),
        ("huge-integer", "its accessToken is not a short text of visible characters"),
        ("deep", "it is nested too deeply"),
        ("negative-expiry", "its expiresIn is not a whole number from 1 to 7776000"),
        ("object-token", "its accessToken is not a short text of visible characters"),
    ],
)
def test_a_token_answer_that_is_nonsense_is_one_sentence_and_writes_nothing(
    home: Path, env: dict[str, str], sso_server: SsoServer, kind: str, reason: str
) -> None:
    sso_server.hostile["CreateToken"] = kind
    result = trayapp(env, "sso", "login", "corp")
    one_sentence(result, f"IAM Identity Center at {sso_server.url} sent an answer trayapp can't use ({reason})")
    assert not cache_file(home).exists()


@pytest.mark.parametrize("kind", ["negative-expiry", "object-token"])
def test_a_refresh_answer_that_is_nonsense_keeps_the_token_with_9_minutes_left(
    home: Path, env: dict[str, str], sso_server: SsoServer, kind: str
) -> None:
    assert trayapp(env, "sso", "login", "corp").returncode == 0
    path = cache_file(home)
    data = cached(home) | {"expiresAt": (datetime.now(UTC) + timedelta(minutes=9)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    path.write_text(json.dumps(data))
    before = path.read_bytes()
    sso_server.hostile["CreateToken"] = kind
    result = trayapp(env, "sso", "login", "corp")
    assert sso_server.grants() == ["authorization_code", "refresh_token"]
    assert path.read_bytes() == before  # the old token, as it was
    assert result.returncode == 0 and "Already signed in to 'corp' (" in result.stdout
    assert result.stderr.startswith(f"trayapp: IAM Identity Center at {sso_server.url} sent an answer trayapp can't")
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("kind", ["huge", "huge-unsized"])
def test_a_200_mb_answer_is_refused_without_being_read_whole(
    home: Path, env: dict[str, str], sso_server: SsoServer, kind: str
) -> None:
    sso_server.hostile["CreateToken"] = kind
    err, peak = home / "stderr", home / "peak"
    # A small launcher starts trayapp and reads its peak RSS: a child forked straight from this test
    # process counts this process's own pages (a loaded pytest worker holds ~200 MB) in its peak.
    launcher = (
        "import os, subprocess, sys\n"
        "p = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL)\n"
        "_, status, usage = os.wait4(p.pid, 0)\n"
        "open(sys.argv[1], 'w').write(str(usage.ru_maxrss))\n"
        "sys.exit(os.waitstatus_to_exitcode(status))\n"
    )
    with err.open("w") as stderr:
        proc = subprocess.run(
            [PYTHON, "-I", "-c", launcher, str(peak), PYTHON, "-m", "trayapp", "sso", "login", "corp"],
            env=env, stdout=subprocess.DEVNULL, stderr=stderr, timeout=120,
        )  # fmt: skip
    result = subprocess.CompletedProcess(proc.args, proc.returncode, "", err.read_text())
    one_sentence(result, f"IAM Identity Center at {sso_server.url} sent an answer trayapp can't use (it was larger")
    assert int(peak.read_text()) * 1024 < HUGE / 2  # the answer was never held in memory (it took RSS to 452 MB)
    assert not cache_file(home).exists()


# --- no network, a slow or failing service: one sentence each --------------------------------------


@pytest.mark.parametrize(
    ("where", "said"),
    [
        ("refused", "can't be reached; check your network connection."),
        ("dns", "can't be reached; check your network connection."),
        ("no-route", " check your network"),
        ("timeout", "did not answer within 10 s; check your network."),
        ("server-error", "failed with an error of its own (HTTP 500); try again later."),
        ("throttled", "is throttling requests right now; wait a few seconds and try again."),
    ],
)
def test_every_network_failure_of_a_sign_in_is_one_sentence(
    home: Path, env: dict[str, str], sso_server: SsoServer, where: str, said: str
) -> None:
    urls = {"refused": refused_url(), "dns": "https://oidc.nowhere.invalid", "no-route": "http://[2001:db8::1]:443"}
    if where in urls:
        env = {**env, "AWS_ENDPOINT_URL_SSO_OIDC": urls[where]}
    else:
        sso_server.hostile["RegisterClient"] = {"timeout": "silent"}.get(where, where)
    result = trayapp(env, "sso", "login", "corp")
    one_sentence(result, f"IAM Identity Center at {urls.get(where, sso_server.url)}", said)
    assert not cache_file(home).exists()


@pytest.mark.parametrize("command", ["sso profiles", "refresh", "role credentials"])
def test_a_network_failure_after_the_sign_in_is_one_sentence(
    home: Path, env: dict[str, str], sso_server: SsoServer, command: str
) -> None:
    assert trayapp(env, "sso", "login", "corp").returncode == 0
    if command == "sso profiles":
        sso_server.hostile["ListAccounts"] = "server-error"
        result = trayapp(env, "sso", "profiles", "corp")
        one_sentence(result, f"IAM Identity Center at {sso_server.url} failed with an error of its own (HTTP 500)")
    elif command == "refresh":  # the token ran out, and the network is gone: not "you are not signed in"
        data = cached(home) | {"expiresAt": "2020-01-01T00:00:00Z"}
        cache_file(home).write_text(json.dumps(data))
        url = refused_url()
        result = trayapp({**env, "AWS_ENDPOINT_URL_SSO_OIDC": url}, "credential-process", "corp-admin")
        one_sentence(result, f"IAM Identity Center at {url} can't be reached; check your network connection.")
    else:
        sso_server.hostile["GetRoleCredentials"] = "throttled"
        result = trayapp(env, "credential-process", "corp-admin")
        one_sentence(result, f"IAM Identity Center at {sso_server.url} is throttling requests right now")
