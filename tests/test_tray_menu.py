"""The tray's menu and actions, with a fake service and pystray's dummy backend (no display)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import timedelta
from typing import Any

import pytest

from tests.support.tray_fakes import (
    DEV,
    NOW,
    PROD,
    WARN,
    FakePrompt,
    FakeService,
    make_app,
    quiet_prefs,
    run_action,
    session,
    settle,
)
from trayapp.core.errors import ConfigUnreadable, NotAuthorised, WrongCode
from trayapp.core.prompts import MfaRequest
from trayapp.core.results import RoleEntry
from trayapp.core.sessions import clock_time, overall_state, time_left
from trayapp.tray import menu_model
from trayapp.tray.app import TrayApp
from trayapp.tray.menu_model import MenuNode, build_menu, role_label
from trayapp.tray.view import take_snapshot


def labels(nodes: tuple[MenuNode, ...] | None) -> list[str]:
    return [("---" if n.separator else n.label) for n in nodes or ()]


def test_time_left_words() -> None:
    assert time_left(timedelta(minutes=42)) == "42 min left"
    assert time_left(timedelta(seconds=30)) == "less than a minute left"
    assert time_left(timedelta(minutes=42, seconds=59)) == "42 min left"
    assert time_left(timedelta(minutes=185)) == "3 h 5 min left"
    assert time_left(timedelta(0)) == "expired"


def test_role_labels_follow_the_state() -> None:
    assert role_label(RoleEntry(PROD, session("prod", 42)), NOW, WARN) == "prod — 42 min left"
    assert role_label(RoleEntry(PROD, session("prod", -1)), NOW, WARN) == "prod — expired"
    assert role_label(RoleEntry(PROD, None), NOW, WARN) == "prod — needs MFA"
    assert role_label(RoleEntry(DEV, None), NOW, WARN) == "dev"


def test_menu_has_a_submenu_per_role_broken_profiles_disabled_then_quit() -> None:
    menu = build_menu([RoleEntry(PROD, session("prod", 42)), RoleEntry(DEV, None)], {"legacy": "bad ARN"}, NOW, WARN)
    assert labels(menu) == [
        "prod — 42 min left", "dev", "---", "legacy — can't be used: bad ARN", "---",
        "Preferences…", "Quit"]  # fmt: skip
    prod = menu[0]
    assert labels(prod.children) == [
        "Renew session", "Open AWS console", "---", "Copy export AWS_PROFILE=prod-session",
        "Copy export AWS_EB_PROFILE=prod-session", "---", "Forget session"]  # fmt: skip
    assert [n.id for n in prod.children or () if not n.separator] == [
        "assume:prod", "console:prod", "copy-profile:prod", "copy-eb:prod", "forget:prod"]  # fmt: skip
    dev = menu[1]
    assert dev.children is not None and dev.children[0].label == "Assume role"
    assert not dev.children[1].enabled  # no session to open the console with
    assert not dev.children[-1].enabled  # nothing to forget
    assert not menu[3].enabled and menu[-1].id == "quit"


def test_no_role_profiles_says_how_to_add_one() -> None:
    menu = build_menu([], {}, NOW, WARN, config_path=os.path.expanduser("~/.aws/config"))
    assert menu[0].label == "No role profiles in ~/.aws/config — add one with role_arn and source_profile"
    assert not menu[0].enabled
    assert labels(menu)[-1] == "Quit"


def test_icon_state_is_the_worst_session() -> None:
    def state(*minutes: float) -> str:
        return overall_state([session("prod", m) for m in minutes], NOW, WARN)

    assert overall_state([], NOW, WARN) == "none"
    assert state(50) == "valid"
    assert state(50, 5) == "expiring"
    assert state(50, 5, -1) == "expired"


def test_menu_json_for_the_popup_matches_the_model() -> None:
    node = build_menu([RoleEntry(DEV, None)], {}, NOW, WARN)[0]
    data = node.to_json()
    assert data["label"] == "dev" and data["children"][0] == {"label": "Assume role", "id": "assume:dev",
                                                              "enabled": True}  # fmt: skip
    assert data["children"][2] == {"separator": True}


def test_mfa_session_and_favourites_appear_in_the_menu() -> None:
    until = NOW + timedelta(hours=11)
    menu = build_menu([RoleEntry(PROD, None), RoleEntry(DEV, None)], {}, NOW, WARN, mfa_until=until,
                      favourites=("dev", "gone", "prod"))  # fmt: skip
    text = labels(menu)
    assert text[0] == f"MFA session active until {clock_time(until, NOW)} — roles renew without a code"
    assert "Assume favourites (dev, prod)" in text  # a favourite no longer in the config is left out
    assert text[-3:] == ["End MFA session", "Preferences…", "Quit"]


# --- TrayApp with fakes ------------------------------------------------------------


def test_assume_from_the_menu_refreshes_and_notifies() -> None:
    service = FakeService()
    app, events = make_app(service)
    assert app.snapshot.state == "none"
    run_action(app, "assume:prod")
    assert app.snapshot.state == "valid"
    assert app.snapshot.menu[0].label == "prod — 1 h 0 min left"
    assert events and events[0][0] == "notify" and "AWS_PROFILE=prod-session" in events[0][2]


def test_cancel_is_silent_and_an_error_already_shown_in_the_dialog_is_not_repeated() -> None:
    app, events = make_app(FakeService(), code=None)
    run_action(app, "assume:prod")
    assert events == []
    shown = str(WrongCode())
    app, events = make_app(FakeService(fail=WrongCode()), shown=shown)
    run_action(app, "assume:prod")
    assert events == []


def test_other_errors_are_notified_as_their_sentence() -> None:
    error = NotAuthorised(role_arn="arn:aws:iam::123456789012:role/Admin")
    app, events = make_app(FakeService(fail=error))
    run_action(app, "assume:prod")
    assert events == [("notify", "trayapp: prod", str(error))]


def test_copy_and_forget_actions() -> None:
    service = FakeService()
    app, events = make_app(service)
    run_action(app, "copy-profile:prod")
    run_action(app, "copy-eb:dev")
    run_action(app, "forget:prod")
    assert events[:2] == [("copy", "export AWS_PROFILE=prod-session"), ("copy", "export AWS_EB_PROFILE=dev-session")]
    assert service.forgotten == ["prod"]


def test_a_second_click_on_assume_while_the_dialog_is_open_is_ignored() -> None:
    release = threading.Event()

    class SlowPrompt(FakePrompt):
        def ask(self, request: MfaRequest, error: str | None = None) -> str | None:
            release.wait(5)
            return "123456"

    service = FakeService()
    app = TrayApp(service, notify=lambda t, b: None, prompt_factory=lambda: SlowPrompt("1"), copy=lambda t: None,
                  prefs=quiet_prefs())  # fmt: skip
    app.perform("assume:prod")
    app.perform("assume:prod")
    release.set()
    settle(app)
    assert len(service.prompts) == 1


def test_broken_config_becomes_a_disabled_header() -> None:
    error = ConfigUnreadable(path="/home/u/.aws/config", reason="the config file is not valid INI")
    snapshot = take_snapshot(FakeService(fail=error))
    assert snapshot.menu[0].label.startswith("The AWS config file /home/u/.aws/config can't be read")
    assert not snapshot.menu[0].enabled


@pytest.mark.integration
def test_pystray_menu_on_the_dummy_backend_mirrors_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYSTRAY_BACKEND", "dummy")
    code = (
        "import pystray\n"
        "from tests.support.tray_fakes import FakeService, make_app\n"
        "app, _ = make_app(FakeService())\n"
        "menu = pystray.Menu(app._menu_items)\n"
        "print([i.text for i in menu if i.visible])\n"
        "app.refresh()\n"
        "menu = pystray.Menu(app._menu_items)\n"
        "print([i.text for i in menu if i.visible], [i.text for i in [i for i in menu if i.visible][0].submenu])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(__file__))).stdout  # fmt: skip
    assert out.strip().replace("\n", " ") == (
        "['Reading ~/.aws/config…', '- - - -', 'Quit'] "
        "['prod — needs MFA', 'dev', '- - - -', 'Preferences…', 'Quit'] ['Assume role', 'Open AWS console', "
        "'- - - -', 'Copy export AWS_PROFILE=prod-session', 'Copy export AWS_EB_PROFILE=prod-session', "
        "'- - - -', 'Forget session']"
    )


@pytest.mark.integration
def test_the_tray_module_imports_no_tkinter_and_no_boto3() -> None:
    code = (
        "import sys, trayapp.tray.app\n"
        "print(sorted(m for m in ('tkinter', 'boto3', 'keyring', 'botocore.session') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(__file__))).stdout  # fmt: skip
    assert out.strip() == "[]"


def test_action_ids_round_trip() -> None:
    assert menu_model.parse_action(menu_model.action("assume", "prod")) == ("assume", "prod")
    assert menu_model.parse_action("quit") == ("quit", None)


def test_start_at_login_is_a_check_item_that_toggles() -> None:
    class FakeAutostart:
        on = False

        def status(self) -> bool:
            return self.on

        def enable(self) -> None:
            self.on = True

        def disable(self) -> None:
            self.on = False

    login = FakeAutostart()
    app = TrayApp(FakeService(), notify=lambda t, b: None, prompt_factory=lambda: FakePrompt("1"),
                  copy=lambda t: None, popup=lambda items: None, prefs=quiet_prefs(), autostart=login)  # fmt: skip
    app.refresh()
    item = [n for n in app.snapshot.menu if n.id == "autostart"]
    assert [(n.label, n.checked) for n in item] == [("Start at login", False)]
    assert item[0].to_json()["checked"] is False
    run_action(app, "autostart")
    assert login.on
    assert [n.checked for n in app.snapshot.menu if n.id == "autostart"] == [True]
    run_action(app, "autostart")
    assert not login.on


@pytest.mark.integration
def test_without_a_display_the_tray_says_so_in_one_sentence(tmp_path: Any) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "PYSTRAY_BACKEND")}
    env.update(HOME=str(tmp_path), XDG_RUNTIME_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "trayapp"], env=env, capture_output=True, text=True, timeout=30,
                          cwd=os.path.dirname(os.path.dirname(__file__)))  # fmt: skip
    assert done.returncode == 1
    assert done.stderr == (
        "trayapp: there is no display to show the tray icon on (DISPLAY is not set); "
        "the command line works without one: trayapp assume PROFILE.\n"
    )
