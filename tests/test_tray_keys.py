"""The tray's Keys part (issue 12): each source profile, where its keys live and their age; "Move keys
to the keyring…" and "Rotate key"; one notice per key older than key-max-age, with a Rotate action.

The menu as data with a fake service; the keyring read once; the notice and its Rotate button on a real
session bus with the recording notification server, the rotation against moto's IAM and STS; the Move
against the real gnome-keyring, with the ``aws`` CLI reading the keys back through credential_process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.fixtures import Desktop, MotoServer, aws_env, require_tools
from tests.support.sts import iam_user
from tests.support.tray_fakes import NOW, FakePrompt, FakeService, quiet_prefs, run_action
from trayapp.core.keys import KeySource
from trayapp.core.preferences import Preferences
from trayapp.tray import menu_model
from trayapp.tray.app import TrayApp
from trayapp.tray.key_info import KeyInfo, held_store
from trayapp.tray.menu_model import MenuNode, build_menu, keys_menu
from trayapp.tray.notify import DbusNotifier, Notification
from trayapp.tray.prefs import PrefsHolder

REPO_ROOT = Path(__file__).resolve().parents[1]
AWS = str(Path(sys.executable).parent / "aws")
FILE_KEY, FILE_SECRET = "AKIAFILEFILEFILEFILE", "file-secret-never-shown"


def labels(nodes: tuple[MenuNode, ...] | None) -> list[str]:
    return [("---" if n.separator else n.label) for n in nodes or ()]


def days_ago(days: int, now: datetime = NOW) -> str:
    return (now - timedelta(days=days)).isoformat(timespec="seconds")


# --- the menu as data ----------------------------------------------------------------------------


def test_the_keys_part_says_where_each_sources_keys_live_their_age_and_what_to_do() -> None:
    rows = [
        KeySource("base", "file", FILE_KEY),
        KeySource("ci", "keyring", "AKIACICICICICICICICI", days_ago(120)),
        KeySource("gone", "keyring", None),
        KeySource("new", "keyring", "AKIANEWNEWNEWNEWNEW0", days_ago(1)),
        KeySource("old-style", "config", "AKIACONFIGCONFIGCON0"),
    ]
    part = keys_menu(rows, NOW, 90)
    assert part is not None and part.label == "Keys"
    assert labels(part.children) == [
        "base — credentials file",
        "ci — keyring, 120 days old — due for rotation",
        "gone — keyring, (missing)",
        "new — keyring, 1 day old",
        "old-style — config file",
    ]
    actions = [(c.label, c.id, c.enabled) for node in part.children or () for c in node.children or ()]
    assert actions == [
        ("Move keys to the keyring", "move-keys:base", True),
        ("Rotate key", "rotate-key:ci", True),
        ("Rotate key", "rotate-key:gone", False),  # nothing stored to rotate
        ("Rotate key", "rotate-key:new", True),
        ("Move keys to the keyring", "move-keys:old-style", True),
    ]
    assert FILE_KEY not in repr(part)  # key ids stay out of the menu


def test_the_keys_part_sits_above_preferences_and_is_absent_without_sources() -> None:
    assert keys_menu([], NOW, 90) is None
    part = keys_menu([KeySource("base", "file", FILE_KEY)], NOW, 90)
    menu = build_menu([], {}, NOW, timedelta(minutes=10), keys=part)
    assert labels(menu)[-4:] == ["---", "Keys", "Preferences…", "Quit"]
    assert "Keys" not in labels(build_menu([], {}, NOW, timedelta(minutes=10)))


# --- the tray, with the AWS files and a keyring in memory ---------------------------------------------


class MemoryKeyring:
    def __init__(self) -> None:
        self.values: dict[tuple[str, str], str] = {}
        self.reads: list[str] = []

    def get_password(self, service: str, user: str) -> str | None:
        self.reads.append(user)
        return self.values.get((service, user))

    def set_password(self, service: str, user: str, value: str) -> None:
        self.values[(service, user)] = value

    def delete_password(self, service: str, user: str) -> None:
        del self.values[(service, user)]


def stored(key_id: str, secret: str, created: str) -> str:
    return json.dumps({"access_key_id": key_id, "secret_access_key": secret, "created": created})


def write_files(home: Path, *, ci_created: str, bridge: str = "/usr/bin/trayapp keys serve ci") -> dict[str, str]:
    aws = home / ".aws"
    aws.mkdir(parents=True, mode=0o700, exist_ok=True)
    (aws / "credentials").write_text(
        f"# mine\n[base]\naws_access_key_id = {FILE_KEY}\naws_secret_access_key = {FILE_SECRET}\nregion = x\n"
    )
    (aws / "credentials").chmod(0o600)
    (aws / "config").write_text(
        "[profile prod]\nrole_arn = arn:aws:iam::123456789012:role/Admin\nsource_profile = base\n\n"
        f"[profile ci]\ncredential_process = {bridge}\n"
    )
    return {
        "HOME": str(home),
        "AWS_CONFIG_FILE": str(aws / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(aws / "credentials"),
    }


class RecordingNotifier:
    supports_actions = True

    def __init__(self) -> None:
        self.sent: list[Notification] = []
        self.on_action: Any = None

    def send(self, n: Notification) -> None:
        self.sent.append(n)

    def close(self) -> None:
        pass


def tray(
    tmp_path: Path, *, ci_age: int = 120, prefs: PrefsHolder | None = None, service: FakeService | None = None
) -> tuple[TrayApp, MemoryKeyring, RecordingNotifier, dict[str, str]]:
    environ = write_files(tmp_path / "home", ci_created=days_ago(ci_age))
    keyring = MemoryKeyring()
    keyring.set_password("trayapp", "keys/ci", stored("AKIACICICICICICICICI", "ci-secret", days_ago(ci_age)))
    notifier = RecordingNotifier()
    app = TrayApp(
        service or FakeService(),
        prompt_factory=lambda: FakePrompt("123456"),
        copy=lambda text: None,
        popup=lambda items: None,
        prefs=prefs or quiet_prefs(),
        notifier=notifier,
        keys=KeyInfo(held_store(keyring), environ=environ, clock=lambda: NOW),
    )
    return app, keyring, notifier, environ


def keys_part(app: TrayApp) -> MenuNode | None:
    return next((n for n in app.snapshot.menu if n.label == "Keys"), None)


def test_the_keys_part_appears_once_the_worker_read_them_and_the_keyring_is_asked_once(tmp_path: Path) -> None:
    app, keyring, _notifier, _env = tray(tmp_path)
    app.refresh()  # the first menu, before the worker got to the keys: no keyring, no Keys part
    assert keys_part(app) is None and keyring.reads == []
    app.keys.load()
    for _ in range(3):
        app._files_changed()  # the AWS files changed: read again, the keyring's entry is held
    part = keys_part(app)
    assert part is not None
    assert labels(part.children) == ["base — credentials file", "ci — keyring, 120 days old — due for rotation"]
    assert keyring.reads == ["keys/ci"]


def test_move_keys_to_the_keyring_from_the_menu(tmp_path: Path) -> None:
    app, keyring, notifier, env = tray(tmp_path)
    app.keys.load()
    run_action(app, "move-keys:base")
    credentials = Path(env["AWS_SHARED_CREDENTIALS_FILE"]).read_text()
    assert credentials == "# mine\n[base]\nregion = x\n"  # only the two key lines went
    entry = json.loads(keyring.values[("trayapp", "keys/base")])
    assert (entry["access_key_id"], entry["secret_access_key"]) == (FILE_KEY, FILE_SECRET)
    assert "keys serve base" in Path(env["AWS_CONFIG_FILE"]).read_text()
    (said,) = notifier.sent
    assert said.title == "trayapp: base"
    assert said.body.startswith("The keys of 'base' (AKIA…FILE) are in the keyring now")
    assert FILE_SECRET not in said.body
    part = keys_part(app)
    assert part is not None and labels(part.children)[0] == "base — keyring, 0 days old"
    assert [c.id for c in part.children[0].children or ()] == ["rotate-key:base"]  # type: ignore[index]


def test_a_move_that_cannot_be_done_is_one_sentence_and_the_file_is_kept(tmp_path: Path) -> None:
    app, _keyring, notifier, env = tray(tmp_path)
    before = Path(env["AWS_SHARED_CREDENTIALS_FILE"]).read_bytes()
    run_action(app, "move-keys:nobody")
    assert [n.body for n in notifier.sent] == [
        "Source profile 'nobody' has no long-term keys in the AWS files to move."
    ]
    assert Path(env["AWS_SHARED_CREDENTIALS_FILE"]).read_bytes() == before


def test_an_old_key_is_notified_once_with_a_rotate_action(tmp_path: Path) -> None:
    app, _keyring, notifier, _env = tray(tmp_path)
    app.keys.load()
    for _ in range(3):  # keys read, preferences arrived, files changed…: still one notice
        app._tell_old_keys()
        app._files_changed()
    (notice,) = notifier.sent
    assert notice.title == "The key of ci is 120 days old"
    assert notice.body.startswith("Keys are due for rotation after 90 days (key-max-age).")
    assert (notice.profile, notice.actions) == ("ci", (("rotate", "Rotate"),))
    assert "AKIA" not in notice.title + notice.body and "ci-secret" not in notice.body


def test_no_notice_while_the_preferences_are_still_being_read_nor_below_key_max_age(tmp_path: Path) -> None:
    waiting = PrefsHolder()  # not read yet: its key-max-age is unknown
    app, _keyring, notifier, _env = tray(tmp_path, prefs=waiting)
    app.keys.load()
    app._tell_old_keys()
    assert notifier.sent == []
    waiting.set(Preferences(key_max_age=365))
    app._tell_old_keys()
    assert notifier.sent == []
    young, _keyring2, notifier2, _env2 = tray(tmp_path / "young", ci_age=30)
    young.keys.load()
    young._tell_old_keys()
    assert notifier2.sent == []


def test_a_click_on_an_old_keys_notice_itself_assumes_nothing(tmp_path: Path) -> None:
    service = FakeService()
    app, _keyring, _notifier, _env = tray(tmp_path, service=service)
    app.keys.load()
    app.refresh()
    app._on_notification_action("ci", "default")
    app._worker.submit(lambda: None).result(timeout=5)
    assert service.prompts == []


# --- on a real bus: the notice, its Rotate button, a rotation in moto's IAM ----------------------------------


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


class Today(FakeService):
    def now(self) -> datetime:
        return datetime.now(UTC)


@pytest.mark.desktop
def test_rotate_on_the_notice_replaces_the_key_in_iam_and_the_keyring(
    moto: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_tools("Xvfb", "dbus-daemon")
    monkeypatch.setenv("AWS_ENDPOINT_URL_IAM", moto.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", moto.url)
    _name, key_id, secret = iam_user(moto)
    now = datetime.now(UTC)
    environ = write_files(tmp_path / "home", ci_created=days_ago(200, now))
    keyring = MemoryKeyring()
    keyring.set_password("trayapp", "keys/ci", stored(key_id, secret, days_ago(200, now)))
    with Desktop(notifications=True, tray=False) as desktop:
        app = TrayApp(
            Today(),
            prompt_factory=lambda: FakePrompt("123456"),
            copy=lambda text: None,
            popup=lambda items: None,
            prefs=quiet_prefs(),
            keys=KeyInfo(held_store(keyring), environ=environ),
        )
        notifier = DbusNotifier(desktop.bus_address, on_action=app._on_notification_action)
        app.notifier = notifier
        try:
            app.keys.load()
            app._tell_old_keys()
            notice = desktop.wait_for_notification(lambda n: n["summary"] == "The key of ci is 200 days old")
            assert notice["actions"] == ["rotate", "Rotate"]
            desktop.invoke_action(notice["id"], "rotate")
            said = desktop.wait_for_notification(lambda n: str(n["body"]).startswith("Rotated the key of 'ci'"))
            app._worker.submit(lambda: None).result(timeout=30)  # the refresh after the rotation
            app._tell_old_keys()  # the new key is young; the old one was told once
            summaries = [n["summary"] for n in desktop.notifications()]
        finally:
            notifier.close()
            app._worker.shutdown(wait=True)
    entry = json.loads(keyring.values[("trayapp", "keys/ci")])
    assert entry["access_key_id"] != key_id and set(entry) == {"access_key_id", "secret_access_key", "created"}
    assert secret not in str(said) and entry["secret_access_key"] not in str(said)
    part = keys_part(app)
    assert part is not None and labels(part.children)[1] == "ci — keyring, 0 days old"
    assert summaries == ["The key of ci is 200 days old", "trayapp: ci"]


# --- the Move, end to end, with the real gnome-keyring --------------------------------------------------------


@pytest.mark.desktop
def test_move_keys_into_gnome_keyring_and_the_aws_cli_still_signs_with_them(
    moto: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_tools("Xvfb", "dbus-daemon", "gnome-keyring-daemon")
    name, key_id, secret = iam_user(moto)
    home = tmp_path / "home"
    write_files(home, ci_created="")
    credentials = home / ".aws" / "credentials"
    credentials.write_text(f"[base]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n")
    with Desktop(notifications=False, tray=False, keyring=True) as desktop:
        env = aws_env(home, moto.url, base=desktop.env, AWS_ENDPOINT_URL_IAM=moto.url)
        env.pop("PYTHON_KEYRING_BACKEND", None)
        env["PYTHONPATH"] = str(REPO_ROOT)
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", env["DBUS_SESSION_BUS_ADDRESS"])
        from keyring.backends import SecretService

        app = TrayApp(
            Today(),
            prompt_factory=lambda: FakePrompt("123456"),
            copy=lambda text: None,
            popup=lambda items: None,
            prefs=quiet_prefs(),
            notifier=RecordingNotifier(),
            keys=KeyInfo(held_store(SecretService.Keyring()), environ=env),  # type: ignore[no-untyped-call]
        )
        app.keys.load()
        app.refresh()
        run_action(app, menu_model.action(menu_model.MOVE_KEYS, "base"))
        assert key_id not in credentials.read_text() and secret not in credentials.read_text()
        part = keys_part(app)
        assert part is not None and labels(part.children)[0] == "base — keyring, 0 days old"
        listed = subprocess.run(
            [sys.executable, "-m", "trayapp", "keys", "list", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert listed.returncode == 0, listed.stderr
        assert {"source": "base", "where": "keyring"}.items() <= json.loads(listed.stdout)[0].items()
        # the aws CLI gets the keys through the credential_process line the Move wrote
        config = Path(env["AWS_CONFIG_FILE"])
        assert "keys serve base" in config.read_text()
        who = subprocess.run(
            [AWS, "sts", "get-caller-identity", "--profile", "base", "--region", "us-east-1", "--output", "json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert who.returncode == 0, who.stderr
        assert json.loads(who.stdout)["Arn"].endswith(f":user/{name}")
        assert not [p for p in home.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


# --- key-max-age in the preferences window -------------------------------------------------------------


@pytest.mark.desktop
def test_the_preferences_window_edits_key_max_age_after_the_profiles(tmp_path: Path) -> None:
    require_tools("Xvfb", "dbus-daemon", "xdotool")
    request = {"prefs": {"warn-minutes": 10, "hidden": ["old"], "key-max-age": 90}, "profiles": ["dev", "prod"]}
    with Desktop(notifications=False, tray=False) as screen:
        env = {**screen.env, "PYTHONPATH": str(REPO_ROOT)}
        child = subprocess.Popen(
            [sys.executable, "-m", "trayapp.tk.prefs_window"],
            env=env,
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdin is not None
            child.stdin.write(json.dumps(request))
            child.stdin.close()
            screen.wait_for_window("Preferences", timeout=10)
            # warning field → notifications → MFA session → dev, old, prod → key age (its text selected)
            screen.key("Preferences", *["Tab"] * 6)
            screen.type_into("Preferences", "0")
            screen.key("Preferences", "Return")  # 0 days: refused in the window, which stays
            screen.key("Preferences", "End", "BackSpace")
            screen.type_into("Preferences", "180")
            screen.key("Preferences", "Return")
            assert child.stdout is not None and child.stderr is not None
            out, err = child.stdout.read(), child.stderr.read()
            child.wait(timeout=10)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    assert child.returncode == 0, err
    got = json.loads(out)
    assert (got["key-max-age"], got["warn-minutes"], got["hidden"]) == (180, 10, ["old"])
