"""Preferences: the Tk window under Xvfb, the real SecretService keyring, and no keyring at all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.fixtures import Desktop, aws_env, require_tools
from trayapp.core.errors import UsageError
from trayapp.core.preferences import SERVICE, USERNAME, Preferences, PreferenceStore
from trayapp.tk import prefs_window
from trayapp.tray import prefs_dialog

REPO_ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
WINDOW = "Preferences"  # a part of the title free of the em dash

CONFIG = """\
[default]
region = eu-west-1

[profile prod]
role_arn = arn:aws:iam::222222222222:role/Admin
source_profile = base
mfa_serial = arn:aws:iam::000000000000:mfa/alice

[profile dev]
role_arn = arn:aws:iam::111111111111:role/Dev
source_profile = base
"""
CREDENTIALS = "[base]\naws_access_key_id = AKIAEXAMPLEEXAMPLE00\naws_secret_access_key = not-a-real-secret\n"


def with_repo(env: dict[str, str]) -> dict[str, str]:
    paths = [str(REPO_ROOT), *(p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p)]
    return {**env, "PYTHONPATH": os.pathsep.join(paths)}


def run(argv: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, env=with_repo(env), cwd=REPO_ROOT, input=stdin, capture_output=True, text=True, timeout=60
    )


def trayapp(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run([PYTHON, "-m", "trayapp", *args], env)


def shown(out: str) -> dict[str, str]:
    """``key = value`` lines of ``trayapp prefs`` as a dict."""
    return dict(line.split(" = ", 1) for line in out.splitlines() if " = " in line)


# --- the window, under Xvfb ------------------------------------------------------------------


@pytest.fixture
def screen() -> Iterator[Desktop]:
    """An X display (and a bus) without a tray: the window needs nothing more."""
    require_tools("Xvfb", "dbus-daemon", "xdotool")
    with Desktop(notifications=False, tray=False) as d:
        yield d


class Child:
    """``python -m trayapp.tk.prefs_window`` on the test display, fed *request*."""

    def __init__(self, desktop: Desktop, request: dict[str, Any]) -> None:
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "trayapp.tk.prefs_window"],
            env=with_repo(desktop.env),
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(request))
        self.proc.stdin.close()

    def finish(self) -> tuple[int, str, str]:
        assert self.proc.stdout is not None and self.proc.stderr is not None
        out, err = self.proc.stdout.read(), self.proc.stderr.read()
        return self.proc.wait(timeout=10), out, err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


REQUEST = {
    "prefs": {"duration": 5400, "warn-minutes": 10, "notifications": True, "hidden": ["old"], "mfa-session": True},
    "profiles": ["dev", "prod"],
}


@pytest.mark.desktop
def test_typing_a_new_warning_lead_and_pressing_return_prints_the_edited_prefs(screen: Desktop) -> None:
    child = Child(screen, REQUEST)
    try:
        screen.wait_for_window(WINDOW, timeout=10)
        screen.type_into(WINDOW, "25")  # the warning field has the focus, its text selected
        screen.key(WINDOW, "Return")
        code, out, err = child.finish()
    finally:
        child.kill()
    assert code == 0, err
    assert json.loads(out) == {
        "duration": 5400,
        "warn-minutes": 25,
        "notifications": True,
        "hidden": ["old"],
        "mfa-session": True,
        "favourites": [],
        "key-max-age": 90,
    }


@pytest.mark.desktop
def test_check_boxes_by_keyboard_hide_a_profile_and_turn_notifications_off(screen: Desktop) -> None:
    child = Child(screen, REQUEST)
    try:
        screen.wait_for_window(WINDOW, timeout=10)
        # warning field → notifications → MFA session → first profile ("dev")
        screen.key(WINDOW, "Tab", "space", "Tab", "Tab", "space")
        screen.key(WINDOW, "Return")
        code, out, err = child.finish()
    finally:
        child.kill()
    assert code == 0, err
    got = json.loads(out)
    assert got["notifications"] is False
    assert got["hidden"] == ["dev", "old"]
    assert (got["mfa-session"], got["warn-minutes"], got["duration"]) == (True, 10, 5400)


@pytest.mark.desktop
def test_escape_cancels_with_nothing_printed(screen: Desktop) -> None:
    child = Child(screen, REQUEST)
    try:
        screen.wait_for_window(WINDOW, timeout=10)
        screen.type_into(WINDOW, "30")
        screen.key(WINDOW, "Escape")
        code, out, _ = child.finish()
    finally:
        child.kill()
    assert (code, out) == (1, "")


@pytest.mark.desktop
def test_a_bad_warning_lead_keeps_the_window_open(screen: Desktop) -> None:
    child = Child(screen, REQUEST)
    try:
        screen.wait_for_window(WINDOW, timeout=10)
        screen.type_into(WINDOW, "abc")
        screen.key(WINDOW, "Return")
        assert child.proc.poll() is None
        screen.wait_for_window(WINDOW, timeout=2)  # still there
        screen.type_into(WINDOW, "\b\b\b7")
        screen.key(WINDOW, "Return")
        code, out, err = child.finish()
    finally:
        child.kill()
    assert code == 0, err
    assert json.loads(out)["warn-minutes"] == 7


class MemoryKeyring:
    def __init__(self) -> None:
        self.values: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, user: str) -> str | None:
        return self.values.get((service, user))

    def set_password(self, service: str, user: str, value: str) -> None:
        self.values[(service, user)] = value


@pytest.mark.desktop
def test_edit_and_save_runs_the_window_and_saves_through_the_store(screen: Desktop) -> None:
    backend = MemoryKeyring()
    store = PreferenceStore(lambda: backend)
    result: list[Preferences | None] = []
    worker = threading.Thread(
        target=lambda: result.append(prefs_dialog.edit_and_save(store, ["dev", "prod"], env=screen.env))
    )
    worker.start()
    try:
        screen.wait_for_window(WINDOW, timeout=10)
        screen.type_into(WINDOW, "15")
        screen.key(WINDOW, "Return")
    finally:
        worker.join(timeout=20)
    assert result and result[0] is not None and result[0].warn_minutes == 15
    assert json.loads(backend.values[(SERVICE, USERNAME)])["warn-minutes"] == 15


@pytest.mark.integration
def test_without_a_display_edit_returns_none(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    assert prefs_dialog.edit(Preferences(), ["prod"], env=env, timeout=30) is None


def test_an_unchanged_edit_saves_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    class Same:
        def __init__(self) -> None:
            self.saved = 0

        def get_password(self, service: str, user: str) -> str | None:
            return None

        def set_password(self, service: str, user: str, value: str) -> None:
            self.saved += 1

    backend = Same()
    store = PreferenceStore(lambda: backend)
    monkeypatch.setattr(prefs_dialog, "edit", lambda current, profiles, **_: current)
    assert prefs_dialog.edit_and_save(store, []) is None
    assert backend.saved == 0


def test_duration_labels() -> None:
    assert [prefs_window.duration_label(s) for s in (900, 3600, 5400, 43200, 4000)] == [
        "15 min",
        "1 h",
        "1 h 30 min",
        "12 h",
        "1 h 6 min",
    ]
    assert prefs_window.DURATIONS[0] == ("15 min", 900) and prefs_window.DURATIONS[-1] == ("12 h", 43200)


# --- the real keyring -------------------------------------------------------------------------


def keyring_env(desktop: Desktop, home: Path) -> dict[str, str]:
    env = aws_env(home, "http://127.0.0.1:9", base=desktop.env)
    env.pop("PYTHON_KEYRING_BACKEND", None)
    return env


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    (folder / ".aws").mkdir(parents=True, mode=0o700)
    (folder / ".aws" / "config").write_text(CONFIG)
    (folder / ".aws" / "credentials").write_text(CREDENTIALS)
    return folder


READ_BACK = """
import json, keyring
from keyring.backends import SecretService
keyring.set_keyring(SecretService.Keyring())
print(json.dumps({"value": keyring.get_password("trayapp", "preferences")}))
"""


@pytest.mark.desktop
def test_preferences_round_trip_through_a_real_secret_service(desktop_keyring: Desktop, home: Path) -> None:
    env = keyring_env(desktop_keyring, home)
    assert trayapp(env, "prefs").returncode == 0
    for key, value in (
        ("duration", "7200"),
        ("warn-minutes", "5"),
        ("notifications", "off"),
        ("hidden", "dev,test"),
        ("mfa-session", "off"),
        ("favourites", "prod, stage,prod"),
        ("key-max-age", "30"),
    ):
        done = trayapp(env, "prefs", "set", key, value)
        assert done.returncode == 0, done.stderr
    done = trayapp(env, "prefs")
    assert done.returncode == 0 and done.stderr == ""
    assert shown(done.stdout) == {
        "duration": "7200",
        "warn-minutes": "5",
        "notifications": "off",
        "hidden": "dev,test",
        "mfa-session": "off",
        "favourites": "prod,stage",
        "key-max-age": "30",
    }
    # read back by keyring itself, from the SecretService daemon
    raw = json.loads(run([PYTHON, "-c", READ_BACK], env).stdout)["value"]
    assert json.loads(raw) == {
        "duration": 7200,
        "warn-minutes": 5,
        "notifications": False,
        "hidden": ["dev", "test"],
        "mfa-session": False,
        "favourites": ["prod", "stage"],
        "key-max-age": 30,
    }
    # and nothing holds them in plain text in HOME
    for path in home.rglob("*"):
        if path.is_file():
            assert b'"duration": 7200' not in path.read_bytes(), path


WRITE_GARBAGE = """
import keyring
from keyring.backends import SecretService
keyring.set_keyring(SecretService.Keyring())
keyring.set_password("trayapp", "preferences", "{not json")
"""


@pytest.mark.desktop
def test_an_unreadable_stored_value_means_defaults_said_once(desktop_keyring: Desktop, home: Path) -> None:
    env = keyring_env(desktop_keyring, home)
    assert run([PYTHON, "-c", WRITE_GARBAGE], env).returncode == 0
    done = trayapp(env, "prefs")
    assert done.returncode == 0
    assert shown(done.stdout)["duration"] == "3600"
    assert done.stderr.count("Using default preferences: the stored preferences could not be read.") == 1
    fixed = trayapp(env, "prefs", "set", "duration", "1800")  # saving a good value repairs it
    assert fixed.returncode == 0 and shown(trayapp(env, "prefs").stdout)["duration"] == "1800"


# --- no keyring at all ------------------------------------------------------------------------


def no_keyring_env(home: Path, backend: str | None) -> dict[str, str]:
    env = aws_env(home, "http://127.0.0.1:9")
    for name in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "PYTHON_KEYRING_BACKEND"):
        env.pop(name, None)
    if backend:
        env["PYTHON_KEYRING_BACKEND"] = backend
    return env


BACKENDS = ["keyring.backends.fail.Keyring", None]  # forced failure; and whatever keyring picks with no bus


@pytest.mark.integration
@pytest.mark.parametrize("backend", BACKENDS, ids=["fail-backend", "no-bus"])
def test_prefs_shows_defaults_and_says_so_once_without_a_keyring(home: Path, backend: str | None) -> None:
    done = trayapp(no_keyring_env(home, backend), "prefs")
    assert done.returncode == 0, done.stderr
    assert shown(done.stdout) == {
        "duration": "3600",
        "warn-minutes": "10",
        "notifications": "on",
        "hidden": "(none)",
        "mfa-session": "on",
        "favourites": "(none)",
        "key-max-age": "90",
    }
    lines = [line for line in done.stderr.splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("trayapp: Using default preferences: no usable keyring")


@pytest.mark.integration
@pytest.mark.parametrize("backend", BACKENDS, ids=["fail-backend", "no-bus"])
def test_list_works_without_a_keyring(home: Path, backend: str | None) -> None:
    done = trayapp(no_keyring_env(home, backend), "list")
    assert done.returncode == 0, done.stderr
    assert {line.split("\t")[0] for line in done.stdout.splitlines()} == {"prod", "dev"}
    assert done.stderr.count("Using default preferences") <= 1
    assert "Traceback" not in done.stderr


@pytest.mark.integration
def test_setting_a_preference_without_a_keyring_fails_with_a_sentence(home: Path) -> None:
    done = trayapp(no_keyring_env(home, "keyring.backends.fail.Keyring"), "prefs", "set", "duration", "7200")
    assert done.returncode == 2
    assert done.stderr.startswith("trayapp: Preferences can't be saved: no usable keyring was found")
    assert "Traceback" not in done.stderr


def test_the_store_reports_a_failing_save_as_a_usage_error() -> None:
    class Broken:
        def get_password(self, service: str, user: str) -> str | None:
            raise RuntimeError("locked")

        def set_password(self, service: str, user: str, value: str) -> None:
            raise RuntimeError("locked")

    store = PreferenceStore(lambda: Broken())
    assert store.load().notice == "Using default preferences: no usable keyring was found."
    with pytest.raises(UsageError):
        store.save(Preferences())
