"""`aws login` sign-ins in the tray (issue 31): the real TrayApp and Service against the sign-in
service stand-in over HTTP, the one timer under the test's control (its clock moved by hand).

- the menu groups the login profiles under "aws login" with "keys valid until HH:MM";
- the running tray refreshes a sign-in with 7 minutes or less left — 6 at start, 7 on its timer —
  silently, ahead of botocore's 5; the bridged ``[dev-session]`` follows;
- an ended sign-in is told once, naming ``aws login --profile dev``, with **Sign in** where the AWS
  CLI v2 is installed (which runs ``aws login --profile dev``); nothing deleted, no retry storm.
"""

from __future__ import annotations

import configparser
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.clock import Clock
from tests.support.fixtures import SigninServer
from tests.support.procs import wait_until
from tests.support.signin import cache_path, write_cache
from tests.support.tray_timers import Recorder, Timers, wait
from trayapp.core.preferences import Preferences
from trayapp.core.service import Service
from trayapp.tray import login_watch
from trayapp.tray.app import TrayApp
from trayapp.tray.menu_model import MenuNode
from trayapp.tray.prefs import PrefsHolder

pytestmark = pytest.mark.integration  # the fake `aws` is a process

ARN = "arn:aws:iam::123456789012:user/alice"
CONFIG = f"""[profile dev]
login_session = {ARN}
region = eu-west-1
"""
FAKE_AWS_V2 = """#!/bin/sh
if [ "$1" = "--version" ]; then echo "aws-cli/2.32.3 Python/3.13.7 Linux/6 exe/x86_64"; exit 0; fi
echo "$@" >> "{log}"
"""


def labels(menu: tuple[MenuNode, ...]) -> list[str]:
    return [node.label for node in menu if not node.separator]


class Tray:
    def __init__(self, tmp_path: Path, server: SigninServer, monkeypatch: pytest.MonkeyPatch, left: timedelta) -> None:
        (tmp_path / ".aws").mkdir()
        (tmp_path / ".aws" / "config").write_text(CONFIG)
        (tmp_path / ".aws" / "credentials").write_text("")
        self.server = server
        self.aws_log = tmp_path / "aws.log"
        env = {"HOME": str(tmp_path), "XDG_RUNTIME_DIR": str(tmp_path), **server.env()}
        for name, value in env.items():  # botocore's endpoint is read from the process's
            monkeypatch.setenv(name, value)
        login_watch.aws_login_command.cache_clear()
        self.home = tmp_path
        self.cache = cache_path(tmp_path / ".aws" / "login" / "cache", ARN)
        self.clock, self.timers, self.notes = Clock(datetime.now(UTC).replace(microsecond=0)), Timers(), Recorder()
        self.first = server.sign_in(ARN, left=left, now=self.clock.now)
        write_cache(self.cache.parent, ARN, self.first)
        prefs = PrefsHolder()
        prefs.set(Preferences())
        self.service = Service(environ=env, clock=self.clock, preferences=prefs)
        self.app = TrayApp(self.service, notifier=self.notes, timer_factory=self.timers, watch=False, prefs=prefs,
                           monotonic=self.clock.monotonic, popup=lambda menu: None)  # fmt: skip
        self.app._start_services()
        wait(self.app)

    def fake_aws_v2(self, monkeypatch: pytest.MonkeyPatch) -> None:
        folder = self.home / "bin"
        folder.mkdir()
        script = folder / "aws"
        script.write_text(FAKE_AWS_V2.format(log=self.aws_log))
        script.chmod(0o755)
        monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
        login_watch.aws_login_command.cache_clear()

    def run_timer_for(self, span: timedelta) -> None:
        """Fire the one timer, as the real one would, until *span* has passed."""
        end = self.clock.now + span
        while self.clock.now < end and self.timers.pending():
            ((delay, _, _),) = self.timers.pending()
            self.clock.now += timedelta(seconds=max(delay, 1e-6))
            self.timers.fire()
            wait(self.app)

    def cached(self) -> dict[str, object]:
        data: dict[str, object] = json.loads(self.cache.read_text())
        return data

    def login_line(self) -> str:
        (line,) = [label for label in labels(self.app.snapshot.menu) if label.startswith("dev — ")]
        return line


def expiry(data: dict[str, object]) -> datetime:
    keys = data["accessToken"]
    assert isinstance(keys, dict)
    return datetime.fromisoformat(keys["expiresAt"].replace("Z", "+00:00"))


def until(data: dict[str, object]) -> str:
    keys = data["accessToken"]
    assert isinstance(keys, dict)
    return datetime.fromisoformat(keys["expiresAt"].replace("Z", "+00:00")).astimezone().strftime("%H:%M")


def test_the_running_tray_refreshes_at_6_minutes_left(
    tmp_path: Path, signin_server: SigninServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    tray = Tray(tmp_path, signin_server, monkeypatch, left=timedelta(minutes=6))
    tray.run_timer_for(timedelta(seconds=1))
    assert signin_server.refreshes == ["refreshed"]
    data = tray.cached()
    assert data["refreshToken"] == signin_server.current_refresh_token(ARN)
    assert labels(tray.app.snapshot.menu)[0] == "aws login"
    assert tray.login_line() == f"dev — keys valid until {until(data)}"
    assert tray.app.snapshot.state == "valid" and not tray.notes.sent


def test_the_timer_refreshes_at_7_minutes_left_and_the_bridged_section_follows(
    tmp_path: Path, signin_server: SigninServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    tray = Tray(tmp_path, signin_server, monkeypatch, left=timedelta(minutes=9))
    assert tray.login_line() == f"dev — keys valid until {until(tray.first)}"
    tray.app.perform("assume:dev")  # Write dev-session for other tools
    wait(tray.app)
    assert signin_server.refreshes == []
    tray.run_timer_for(timedelta(minutes=1))
    assert signin_server.refreshes == []  # 8 min left: not yet
    tray.run_timer_for(timedelta(minutes=1))
    assert signin_server.refreshes == ["refreshed"]
    # Refreshed when 7 minutes were left: the new keys (15 min) end 8 minutes after the old ones.
    assert expiry(tray.cached()) - expiry(tray.first) == timedelta(minutes=8)
    tray.run_timer_for(timedelta(minutes=10))  # and again 8 minutes later, while the sign-in lasts
    assert signin_server.refreshes == ["refreshed", "refreshed"]
    parser = configparser.RawConfigParser()
    parser.read(tmp_path / ".aws" / "credentials")
    keys = tray.cached()["accessToken"]
    assert isinstance(keys, dict)
    assert parser["dev-session"]["aws_access_key_id"] == keys["accessKeyId"]
    assert not [n for n in tray.notes.sent if "expir" in n.title.lower()]


def test_an_ended_sign_in_is_told_once_and_nothing_is_deleted(
    tmp_path: Path, signin_server: SigninServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    tray = Tray(tmp_path, signin_server, monkeypatch, left=timedelta(minutes=8))
    tray.fake_aws_v2(monkeypatch)
    signin_server.end(ARN, "TOKEN_EXPIRED")
    before = tray.cache.read_bytes()
    tray.run_timer_for(timedelta(minutes=30))  # the 7-minute event, the keys' end, and on
    tray.app._clock_moved()  # and a look after a resume
    wait(tray.app)
    (notice,) = tray.notes.sent
    assert notice.title == "dev — aws login ended"
    assert "aws login --profile dev" in notice.body
    assert notice.actions == (("aws-login", "Sign in"),)
    assert signin_server.refreshes == ["TOKEN_EXPIRED"]  # no retry storm
    assert tray.cache.read_bytes() == before
    assert tray.login_line() == "dev — the sign-in ended: run aws login --profile dev"
    assert tray.app.snapshot.state == "expired"

    tray.app._on_notification_action(notice.profile or "", "aws-login")
    wait(tray.app)
    wait_until("aws login to run", lambda: tray.aws_log.exists() and tray.aws_log.read_text().endswith("\n"))
    assert tray.aws_log.read_text().split() == ["login", "--profile", "dev"]

    # `aws login` wrote a new sign-in: the tray takes it up (the watcher's refresh), and keeps it alive.
    write_cache(tray.cache.parent, ARN, signin_server.sign_in(ARN, left=timedelta(minutes=5), now=tray.clock.now))
    tray.app.refresh()
    wait(tray.app)
    tray.run_timer_for(timedelta(seconds=1))
    assert signin_server.refreshes == ["TOKEN_EXPIRED", "refreshed"]
    assert tray.login_line().startswith("dev — keys valid until")


def test_without_the_aws_cli_v2_the_notice_only_says_what_to_run(
    tmp_path: Path, signin_server: SigninServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    tray = Tray(tmp_path, signin_server, monkeypatch, left=timedelta(minutes=3))
    signin_server.end(ARN, "USER_CREDENTIALS_CHANGED")
    tray.run_timer_for(timedelta(seconds=1))
    (notice,) = tray.notes.sent
    assert "aws login --profile dev" in notice.body and notice.actions == ()


def test_keys_that_ended_before_the_tray_started_are_refreshed_at_once(
    tmp_path: Path, signin_server: SigninServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    tray = Tray(tmp_path, signin_server, monkeypatch, left=-timedelta(hours=2))  # the sign-in still has 10 h
    assert signin_server.refreshes == ["refreshed"]
    assert tray.login_line() == f"dev — keys valid until {until(tray.cached())}"
    assert tray.app.snapshot.state == "valid" and not tray.notes.sent
