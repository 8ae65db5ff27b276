"""IAM Identity Center sign-ins in the tray (issue 23): the real TrayApp and Service against the SSO
stand-in over HTTP, the browser a BROWSER script that follows the authorize page, the one timer
under the test's control (its clock moved by hand).

- the menu shows the sign-in ("corp — signed out", then "signed in, 1 h 0 min left") after the roles,
  and the SSO profiles like roles; **Sign in…** opens the browser once and the label follows;
- the icon counts the sign-in; at 20 min left the timer refreshes it with the refresh token,
  silently (no browser, no notice);
- a refresh token SSO refuses keeps the sign-in to its end: one notice "sign in again before HH:MM"
  with **Sign in**, whose click signs in; **Sign out** ends the sign-in's sessions too;
- after a sleep past the token's end, one notice and no browser opening by itself.
"""

from __future__ import annotations

import hashlib
import json
import webbrowser
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.clock import Clock
from tests.support.fixtures import SsoServer
from tests.support.procs import wait_until
from tests.support.sso import CORP_CONFIG, browser_script
from tests.support.tray_timers import Recorder, Timers, wait
from trayapp.core.preferences import Preferences
from trayapp.core.service import Service
from trayapp.tray.app import TrayApp
from trayapp.tray.menu_model import MenuNode
from trayapp.tray.prefs import PrefsHolder

pytestmark = pytest.mark.integration  # the browser is a process

CONFIG = (
    CORP_CONFIG
    + """
[profile dev]
role_arn = arn:aws:iam::111111111111:role/Dev
source_profile = base
"""
)


def labels(menu: tuple[MenuNode, ...]) -> list[str]:
    return [node.label for node in menu if not node.separator]


def submenu(app: TrayApp, label_start: str) -> tuple[MenuNode, ...]:
    (node,) = [n for n in app.snapshot.menu if n.label.startswith(label_start)]
    return tuple(node.children or ())


class Tray:
    """The tray, its clock, its timer, what it said and what the browser was asked to open."""

    def __init__(self, tmp_path: Path, sso: SsoServer, monkeypatch: pytest.MonkeyPatch) -> None:
        (tmp_path / ".aws").mkdir()
        (tmp_path / ".aws" / "config").write_text(CONFIG)
        keys = "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = s\n"
        (tmp_path / ".aws" / "credentials").write_text(keys)
        self.browser_log = tmp_path / "browser.log"
        browser = browser_script(tmp_path / "browser.sh", self.browser_log)
        env = {"HOME": str(tmp_path), "BROWSER": str(browser), "XDG_RUNTIME_DIR": str(tmp_path), **sso.env()}
        for name, value in env.items():  # botocore's endpoints and webbrowser read the process's
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(webbrowser, "_tryorder", None)  # BROWSER is read again, not the last test's
        self.cache = tmp_path / ".aws" / "sso" / "cache"
        self.token_file = self.cache / (hashlib.sha1(b"corp").hexdigest() + ".json")  # beside the registration
        # The stand-in dates the client's registration on the real clock: start there.
        self.copied: list[str] = []
        self.clock, self.timers, self.notes = Clock(datetime.now(UTC).replace(microsecond=0)), Timers(), Recorder()
        prefs = PrefsHolder()
        prefs.set(Preferences())
        self.service = Service(environ=env, clock=self.clock, preferences=prefs, mfa_sessions=True)
        self.app = TrayApp(self.service, notifier=self.notes, timer_factory=self.timers, watch=False, prefs=prefs,
                           monotonic=self.clock.monotonic, copy=self.copied.append,
                           popup=lambda menu: None)  # fmt: skip
        self.app._start_services()
        wait(self.app)

    def browsed(self) -> list[str]:
        return self.browser_log.read_text().splitlines() if self.browser_log.exists() else []

    def run_timer_for(self, span: timedelta) -> None:
        """Fire the one timer, as the real one would, until *span* has passed."""
        end = self.clock.now + span
        while self.clock.now < end and self.timers.pending():
            ((delay, _, _),) = self.timers.pending()
            self.clock.now += timedelta(seconds=max(delay, 1e-6))
            self.timers.fire()
            wait(self.app)

    def sign_in(self) -> None:
        self.app.perform("sso-login:corp")
        wait(self.app)


@pytest.fixture
def tray(tmp_path: Path, sso_server: SsoServer, monkeypatch: pytest.MonkeyPatch) -> Tray:
    return Tray(tmp_path, sso_server, monkeypatch)


def test_the_menu_shows_the_sign_in_and_sign_in_opens_the_browser_once(tray: Tray, sso_server: SsoServer) -> None:
    menu = labels(tray.app.snapshot.menu)
    assert menu[:3] == ["dev", "corp-admin", "corp — signed out"]  # the SSO profile like a role, then the sign-in
    assert tray.app.snapshot.state == "none"
    sign_in, sign_out = submenu(tray.app, "corp — ")
    assert (sign_in.label, sign_in.id, sign_in.enabled) == ("Sign in…", "sso-login:corp", True)
    assert (sign_out.label, sign_out.enabled) == ("Sign out", False)
    assert submenu(tray.app, "corp-admin")[0].label == "Assume role"

    tray.app.perform("sso-login:corp")
    tray.app.perform("sso-login:corp")  # a second click while the first signs in: nothing more
    wait(tray.app)
    wait(tray.app)
    assert len(tray.browsed()) == 1
    assert len(sso_server.operations("Authorize")) == 1
    assert "corp — signed in, 1 h 0 min left" in labels(tray.app.snapshot.menu)
    assert tray.app.snapshot.state == "valid"
    assert not tray.notes.sent

    # Assume role on the SSO profile writes [corp-admin-session].
    tray.app.perform("assume:corp-admin")
    wait(tray.app)
    assert "[corp-admin-session]" in (Path(tray.service.environ["HOME"]) / ".aws" / "credentials").read_text()
    assert labels(tray.app.snapshot.menu)[1].startswith("corp-admin — ")

    tray.app.perform("sso-logout:corp")
    wait(tray.app)
    assert "corp — signed out" in labels(tray.app.snapshot.menu)
    assert not tray.token_file.exists()
    # Sign out ends what the sign-in made: the SSO profile's session too (it stayed before).
    assert "[corp-admin-session]" not in (Path(tray.service.environ["HOME"]) / ".aws" / "credentials").read_text()
    assert labels(tray.app.snapshot.menu)[1] == "corp-admin"


def test_the_timer_refreshes_the_sign_in_at_20_min_left_silently(tray: Tray, sso_server: SsoServer) -> None:
    tray.sign_in()
    first = json.loads(tray.token_file.read_text())["accessToken"]
    tray.run_timer_for(timedelta(minutes=39))
    assert sso_server.grants().count("refresh_token") == 0  # 21 min left: not yet
    tray.run_timer_for(timedelta(minutes=1, seconds=1))
    assert sso_server.grants().count("refresh_token") == 1  # at 20 min left
    token = json.loads(tray.token_file.read_text())
    assert token["accessToken"] != first
    assert labels(tray.app.snapshot.menu)[2] in ("corp — signed in, 58 min left", "corp — signed in, 59 min left")
    assert tray.app.snapshot.state == "valid"
    assert len(tray.browsed()) == 1 and not tray.notes.sent


def test_a_refused_refresh_keeps_the_sign_in_to_its_end_with_one_notice_whose_sign_in_signs_in(
    tray: Tray, sso_server: SsoServer
) -> None:
    tray.sign_in()
    token = json.loads(tray.token_file.read_text())["accessToken"]
    sso_server.refuse_refresh = True
    tray.run_timer_for(timedelta(minutes=41))
    assert labels(tray.app.snapshot.menu)[2] in ("corp — signed in, 18 min left", "corp — signed in, 19 min left")
    kept = json.loads(tray.token_file.read_text())  # it was deleted: "signed out" with 19 min left
    assert kept["accessToken"] == token
    assert tray.app.snapshot.state == "expiring"
    (notice,) = tray.notes.sent
    end = datetime.fromisoformat(kept["expiresAt"]).astimezone().strftime("%H:%M")
    assert notice.title == f"corp — sign in again before {end}"
    assert notice.actions == (("sso-login", "Sign in"),)
    assert len(tray.browsed()) == 1  # no browser by itself
    tray.run_timer_for(timedelta(minutes=10))
    assert len(tray.notes.sent) == 1 and sso_server.grants().count("refresh_token") == 1  # no retry storm
    assert submenu(tray.app, "corp — ")[0].enabled  # Sign in… is offered again

    sso_server.refuse_refresh = False
    tray.app._on_notification_action(notice.profile or "", "sso-login")
    wait(tray.app)
    assert len(tray.browsed()) == 2
    assert labels(tray.app.snapshot.menu)[2] in ("corp — signed in, 1 h 0 min left", "corp — signed in, 59 min left")
    assert json.loads(tray.token_file.read_text())["accessToken"] != token


def test_after_a_sleep_past_the_end_one_notice_and_no_browser(tray: Tray, sso_server: SsoServer) -> None:
    tray.sign_in()
    sso_server.refuse_refresh = True  # the refresh token too has ended while asleep
    tray.clock.sleep(timedelta(hours=9))
    tray.app._clock_moved()  # the resume hook (tray/wake.py)
    wait(tray.app)
    for _ in range(3):  # whatever the timer owes now
        if tray.timers.pending():
            tray.timers.fire()
            wait(tray.app)
    assert [n.title for n in tray.notes.sent] == ["corp — signed out"]
    assert len(tray.browsed()) == 1
    assert "corp — signed out" in labels(tray.app.snapshot.menu)


def test_a_sign_in_that_can_not_be_refreshed_shows_expiring_then_expired(tray: Tray, sso_server: SsoServer) -> None:
    sso_server.registration_seconds = 30 * 60  # the client's registration ends before the token: no refresh
    tray.sign_in()
    tray.run_timer_for(timedelta(minutes=41))
    assert tray.app.snapshot.state == "expiring"
    assert sso_server.grants().count("refresh_token") == 0
    tray.run_timer_for(timedelta(minutes=20))
    assert tray.app.snapshot.state == "expired"
    titles = [n.title for n in tray.notes.sent]
    assert titles[0].startswith("corp — sign in again before ") and titles[1:] == ["corp — signed out"]
    assert len(tray.browsed()) == 1


def test_with_no_browser_the_code_is_in_a_notice_and_copy_takes_it(
    tmp_path: Path, sso_server: SsoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    tray = Tray(tmp_path, sso_server, monkeypatch)
    monkeypatch.delenv("BROWSER")
    monkeypatch.setenv("PATH", str(tmp_path / "no-browsers-here"))  # webbrowser finds none
    monkeypatch.setattr(webbrowser, "_tryorder", None)
    tray.app.perform("sso-login:corp")  # a prompt job now waits for the code to be confirmed
    notice = wait_until("the code's notice", lambda: next(iter(tray.notes.sent), None), 10)
    assert notice.title.startswith("corp: sign in with code ")
    code = notice.title.rsplit(" ", 1)[1]
    assert notice.actions == (("copy", "Copy"),)
    tray.app._on_notification_action(notice.profile or "", "copy")
    assert tray.copied == [code]  # at once, while the sign-in waits
    assert sso_server.approve(code)
    wait(tray.app)
    assert "corp — signed in, 1 h 0 min left" in labels(tray.app.snapshot.menu)
    assert not tray.browsed()


def test_quit_does_not_wait_for_a_sign_in_the_browser_never_finishes(
    tmp_path: Path, sso_server: SsoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    tray = Tray(tmp_path, sso_server, monkeypatch)
    idle = tmp_path / "idle-browser.sh"  # opens the page, and the user never signs in
    idle.write_text("#!/bin/sh\nexit 0\n")
    idle.chmod(0o755)
    monkeypatch.setenv("BROWSER", str(idle))
    monkeypatch.setattr(webbrowser, "_tryorder", None)
    tray.app.perform("sso-login:corp")
    wait_until("the sign-in to start", lambda: sso_server.operations("RegisterClient"), 10)
    tray.app.stop()  # Quit
    wait(tray.app)  # the worker is free at once, not after the 10-minute sign-in limit


def test_a_sign_in_the_browser_never_finishes_holds_not_the_worker(
    tmp_path: Path, sso_server: SsoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 29: the browser sign-in (up to 10 minutes) waited on the one worker, and the timer's
    events, notices and redraws queued behind it."""
    tray = Tray(tmp_path, sso_server, monkeypatch)
    idle = tmp_path / "idle-browser.sh"  # opens the page, and the user is away
    idle.write_text("#!/bin/sh\nexit 0\n")
    idle.chmod(0o755)
    monkeypatch.setenv("BROWSER", str(idle))
    monkeypatch.setattr(webbrowser, "_tryorder", None)
    tray.app.perform("sso-login:corp")
    wait_until("the sign-in to start", lambda: sso_server.operations("RegisterClient"), 10)
    assert tray.app._worker.submit(lambda: "free").result(timeout=5) == "free"
    assert "corp — signed out" in labels(tray.app.snapshot.menu)
    tray.app.stop()  # Quit lets go of the wait
    wait(tray.app)
