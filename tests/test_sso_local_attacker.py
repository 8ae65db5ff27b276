"""A second local user (a real other uid, ``setpriv``) against an IAM Identity Center sign-in: an idle
connection to the loopback callback, the browser's command line, a ``~/.aws/sso`` linked into their
folder.  The sign-in runs against the stand-in through botocore's real clients."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pytest

from tests.support.fixtures import SsoServer, aws_env
from tests.support.other_user import OTHER, as_other, needs_root, run_as, walkable_home
from tests.support.sso import CORP_CONFIG, browser_script
from trayapp.core import errors, sso_registration, sso_signin
from trayapp.core.sso import SsoSignIns
from trayapp.core.sso_config import SsoSession
from trayapp.core.sso_signin import SsoClients

pytestmark = [pytest.mark.integration, needs_root]
CORP = SsoSession("corp", "https://corp.awsapps.com/start", "eu-west-1")
#: Run as the other user: connect to the callback's port, send half a request line, and stay.
HOLD = (
    "import socket, sys, time\n"
    "s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))\n"
    "s.sendall(b'GET /oauth/callback?state=')\n"
    "print('connected', flush=True)\n"
    "time.sleep(120)\n"
)
T = TypeVar("T")


@pytest.fixture
def home(tmp_path: Path, sso_server: SsoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for key, value in sso_server.env().items():
        monkeypatch.setenv(key, value)  # botocore reads the endpoints from the process environment
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    yield tmp_path


@pytest.fixture
def holders() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for holder in started:
        holder.kill()
        holder.wait(10)


def hold_callback(url: str, holders: list[subprocess.Popen[str]]) -> None:
    """The other user opens a connection to the callback in *url*'s redirect_uri and keeps it idle."""
    redirect = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))["redirect_uri"]
    port = urllib.parse.urlsplit(redirect).port
    command = [*as_other(), "/usr/bin/python3", "-I", "-c", HOLD, str(port)]
    holder = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd="/")
    holders.append(holder)
    assert holder.stdout is not None and holder.stdout.readline() == "connected\n"


def follow(url: str) -> None:
    with urllib.request.urlopen(url, timeout=10) as page:
        page.read()


def finished_within(seconds: float, work: Callable[[], T]) -> T:
    """*work*'s result, or the test fails when it is still running after *seconds* (a hang)."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(work())
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting after {seconds} s"
    if failure:
        raise failure[0]
    return outcome[0]


def test_an_idle_connection_of_another_user_does_not_hold_the_sign_in(
    home: Path, sso_server: SsoServer, holders: list[subprocess.Popen[str]]
) -> None:
    def held_then_approved(url: str) -> None:
        hold_callback(url, holders)
        hold_callback(url, holders)
        follow(url)  # the user's browser comes back while the other user's connections stay open

    engine = SsoSignIns(environ={"HOME": str(home), "XDG_RUNTIME_DIR": str(home)}, opener=held_then_approved)
    token, outcome = finished_within(60, lambda: engine.ensure(CORP, interactive=True, device=False))
    assert outcome == "signed-in" and token.access_token in sso_server.access
    assert all(holder.poll() is None for holder in holders)  # they were still holding on


def test_a_sign_in_ends_on_time_while_another_user_holds_the_callback(
    home: Path, sso_server: SsoServer, holders: list[subprocess.Popen[str]]
) -> None:
    oidc = SsoClients()("sso-oidc", "eu-west-1")
    made = sso_registration.register(
        oidc, CORP, "pkce", issuer_url=CORP.start_url, now=datetime.now(UTC), endpoint=oidc.meta.endpoint_url
    )
    client = made.as_client()

    def never_answered() -> None:
        sso_signin.authorization_code(oidc, CORP, client, lambda url: hold_callback(url, holders), limit=2)

    with pytest.raises(errors.SsoSignInFailed, match="no answer came from the browser"):
        finished_within(60, never_answered)
    assert sso_server.grants() == []


def test_the_browser_command_line_holds_no_state_and_another_user_cannot_read_the_page(
    sso_server: SsoServer,
) -> None:
    with walkable_home() as home:
        (home / ".aws" / "config").write_text(CORP_CONFIG)
        (home / "run").mkdir(mode=0o755)
        seen = home / "seen"
        seen.mkdir(mode=0o777)
        follower = browser_script(home / "follow.sh")
        browser = home / "browser.sh"  # records its argv, every command line, and what the other user could read
        browser.write_text(
            "#!/bin/sh\n"
            f'printf "%s\\n" "$1" >> "{seen}/argv"\n'
            f'for f in /proc/[0-9]*/cmdline; do tr "\\000" " " < "$f"; echo; done > "{seen}/cmdlines" 2>/dev/null\n'
            f'{" ".join(as_other())} cat "${{1#file://}}" > "{seen}/other.out" 2>/dev/null\n'
            f'echo $? > "{seen}/other.rc"\n'
            f'exec "{follower}" "$1"\n'
        )
        browser.chmod(0o755)
        env = aws_env(home, "http://127.0.0.1:9", **sso_server.env(), BROWSER=str(browser))
        env["XDG_RUNTIME_DIR"] = str(home / "run")
        result = subprocess.run(
            [sys.executable, "-m", "trayapp", "sso", "login", "corp"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        [authorize] = sso_server.operations("Authorize")
        state, challenge = authorize.fields["state"], authorize.fields["code_challenge"]
        argv = (seen / "argv").read_text()
        assert argv.startswith("file://") and len(argv.splitlines()) == 1
        every_command_line = (seen / "cmdlines").read_text()
        assert "sso login corp" in every_command_line  # the listing was taken while trayapp ran
        for secret in (state, challenge):
            assert secret not in argv and secret not in every_command_line
        assert (seen / "other.rc").read_text().strip() != "0" and (seen / "other.out").read_text() == ""


def test_an_sso_folder_linked_into_another_users_folder_is_refused(sso_server: SsoServer) -> None:
    with walkable_home() as home:
        (home / ".aws" / "config").write_text(CORP_CONFIG)
        shared = home.parent / "shared"
        shared.mkdir()
        shared.chmod(0o1777)
        theirs = shared / "theirs"
        run_as(OTHER, "mkdir", "-m", "0777", str(theirs))
        (home / ".aws" / "sso").symlink_to(theirs)
        browser = browser_script(home / "browser.sh")
        env = aws_env(home, "http://127.0.0.1:9", **sso_server.env(), BROWSER=str(browser))
        result = subprocess.run(
            [sys.executable, "-m", "trayapp", "sso", "login", "corp"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 1
        cache = home / ".aws" / "sso" / "cache"
        said = f"trayapp: The sign-in cache {cache} was not used: the folder {theirs} belongs to another user"
        assert result.stderr.startswith(f"{said} (uid {OTHER})") and len(result.stderr.splitlines()) == 1
        assert os.listdir(theirs) == []  # nothing made in their folder
