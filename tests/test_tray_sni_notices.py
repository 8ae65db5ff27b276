"""A tray with no GTK (issue 24): the notices' Renew on trayapp's own StatusNotifierItem backend.

A StatusNotifierWatcher on the private session bus (tests/support/sni_host.py) makes the tray pick its
pure-Python SNI backend; the recording notification server on the same bus takes its notices and
presses their buttons (``ActionInvoked``), as a user's click on a notification does.  A session that
needs an MFA code can't be renewed silently, so the tray tells — "prod expires in 8 min", or "prod
expired" — with a Renew button; Renew opens the MFA dialog (a Tk child) on Xvfb, the code typed there
renews ``[prod-session]`` through moto's STS, and the real ``aws`` CLI signs with the new keys.  The
notices' other buttons take the same path: Sign in on "corp — signed out" (the IAM Identity Center
stand-in) and Rotate on an old key's notice (moto's IAM, the real gnome-keyring).  In every case the
tray process never maps GTK, GObject introspection or Tk (``/proc/PID/maps``).
"""

from __future__ import annotations

import configparser
import hashlib
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.desktop import Desktop
from tests.support.dialog import wait_gone
from tests.support.fixtures import REQUIRED_TOOLS, SsoServer, require_tools
from tests.support.procs import scaled
from tests.support.sni_host import Host, Watcher
from tests.support.sso import CORP_CONFIG, browser_script
from tests.support.sts import MotoServer, iam_client, iam_user, run_aws
from tests.support.tray_desktop import (
    CREDENTIALS,
    answer_the_dialog,
    aws_env,
    exit_status,
    session_section,
    start_tray,
    wait_for,
    write_aws_files,
)

OLD_KEY = "ASIAOLDSESSION000000"
#: GTK and what pulls it in (PyGObject's _gi, GObject, the AppIndicator library), and Tk: every
#: window of the tray is a child process, so none of them may be mapped into the tray itself.
NOT_IN_THE_TRAY = ("libgtk-3", "_gi.cpython", "libgobject-2", "libayatana-appindicator", "libtk8", "_tkinter")


def mapped_toolkits(pid: int) -> list[str]:
    maps = Path(f"/proc/{pid}/maps").read_text()
    return sorted({line.split()[-1] for line in maps.splitlines() if any(lib in line for lib in NOT_IN_THE_TRAY)})


def session(credentials: Path, profile: str = "prod") -> dict[str, str]:
    parser = configparser.RawConfigParser()
    parser.read_string(credentials.read_text())
    name = f"{profile}-session"
    return dict(parser[name]) if parser.has_section(name) else {}


class SniTray:
    """The tray on the desktop with a panel's watcher and host: started, then quit from the menu."""

    def __init__(self, desktop: Desktop, moto: MotoServer) -> None:
        assert desktop.bus_address is not None
        self.desktop = desktop
        self.env = aws_env(desktop, moto.url)  # no PYSTRAY_BACKEND: the watcher makes it sni
        self.watcher = Watcher(desktop.bus_address).start()
        self.proc: subprocess.Popen[bytes] | None = None
        self.host: Host | None = None

    def start(self, ready: str = "dev") -> SniTray:
        """Start the tray and wait until its menu, read as a panel reads it, holds *ready*."""
        self.proc = start_tray(self.desktop, self.env)
        name, path = self.watcher.wait_for_item(timeout=20)
        self.host = Host(self.desktop.bus_address or "", name, path)
        wait_for(f"{ready} in the menu", lambda: ready in self.labels(), 15, self.desktop)
        return self

    def labels(self) -> list[str]:
        assert self.host is not None
        return [item.label for item in self.host.layout(0)[1].children if not item.separator]

    def quit(self) -> None:
        assert self.host is not None and self.proc is not None
        self.host.click(self.host.find("Quit"))
        assert exit_status(self.proc, self.desktop) == 0, self.desktop.log("tray")

    def close(self) -> None:
        if self.host is not None:
            self.host.close()
        self.watcher.stop()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=scaled(10))


@pytest.fixture
def sni_tray(desktop: Desktop, moto_sts: MotoServer) -> Iterator[SniTray]:
    tray = SniTray(desktop, moto_sts)
    try:
        yield tray
    finally:
        tray.close()


def notice(desktop: Desktop, match: Callable[[dict[str, Any]], bool], timeout: float = 20) -> dict[str, Any]:
    return wait_for("the notice", lambda: next((n for n in desktop.notifications() if match(n)), None), timeout,
                    desktop)  # fmt: skip


def renew_with_a_code(desktop: Desktop, told: dict[str, Any], credentials: Path) -> dict[str, str]:
    """Press Renew on the notice *told*, type a code into the dialog it opens; the renewed section."""
    assert told["actions"] == ["renew", "Renew"]
    desktop.invoke_action(told["id"], "renew")
    answer_the_dialog(desktop)
    wait_gone(desktop, timeout=15)
    renewed = wait_for("prod's session renewed",
                       lambda: (s := session(credentials)).get("aws_access_key_id", OLD_KEY) != OLD_KEY and s, 15,
                       desktop)  # fmt: skip
    assert credentials.read_text().startswith(CREDENTIALS)  # the user's own keys kept, first
    return renewed


def assert_the_aws_cli_signs_with(desktop: Desktop, moto: MotoServer, renewed: dict[str, str]) -> None:
    aws = run_aws(["sts", "get-caller-identity", "--output", "json"],
                  aws_env(desktop, moto.url, AWS_PROFILE="prod-session"))  # fmt: skip
    assert aws.returncode == 0, aws.stderr
    assert ":assumed-role/Admin/" in json.loads(aws.stdout)["Arn"]
    assert renewed["aws_access_key_id"].startswith("ASIA")


@pytest.mark.desktop
def test_renew_on_the_expires_in_notice_asks_for_the_code_and_the_aws_cli_uses_the_new_session(
    desktop: Desktop, moto_sts: MotoServer, sni_tray: SniTray
) -> None:
    credentials = write_aws_files(desktop.home)
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=8)
    credentials.write_text(CREDENTIALS + "\n" + session_section("prod", expires, key=OLD_KEY))
    sni_tray.start()
    assert "registered with the StatusNotifierWatcher" in desktop.log("tray")

    # No MFA session in this tray yet: prod can't be renewed silently, so it is told, with Renew.
    warning = notice(desktop, lambda n: n["summary"].startswith("prod expires in "))
    assert warning["summary"] in ("prod expires in 8 min", "prod expires in 7 min")
    assert "prod-session" in warning["body"] and "old-secret" not in warning["body"]
    assert session(credentials)["aws_access_key_id"] == OLD_KEY  # told, not renewed by itself

    renewed = renew_with_a_code(desktop, warning, credentials)
    moved = datetime.fromisoformat(renewed["trayapp_expiration"])
    assert moved - expires > timedelta(minutes=30)  # a new session, not the old one rewritten
    assert renewed["aws_secret_access_key"] != "old-secret"
    assert_the_aws_cli_signs_with(desktop, moto_sts, renewed)
    wait_for("prod's label to show the new time left",
             lambda: any(label.startswith("prod — ") and " min left" in label and "7 min" not in label
                         and "8 min" not in label for label in sni_tray.labels()), 15, desktop)  # fmt: skip

    assert sni_tray.proc is not None
    assert mapped_toolkits(sni_tray.proc.pid) == [], "the SNI tray loaded GTK or Tk"
    sni_tray.quit()


@pytest.mark.desktop
def test_renew_on_the_expired_notice_asks_for_the_code_and_renews_the_session(
    desktop: Desktop, moto_sts: MotoServer, sni_tray: SniTray
) -> None:
    credentials = write_aws_files(desktop.home)
    sni_tray.start()

    # A session that ends while the tray runs (written now; the warning says the tray saw it in time).
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=round(scaled(4)))
    credentials.write_text(CREDENTIALS + "\n" + session_section("prod", expires, key=OLD_KEY))
    notice(desktop, lambda n: n["summary"] == "prod expires in 1 min")
    expired = notice(desktop, lambda n: n["summary"] == "prod expired", timeout=30)
    assert expired["hints"]["urgency"] == 2
    assert "prod-session" in expired["body"] and "old-token" not in expired["body"]

    renewed = renew_with_a_code(desktop, expired, credentials)
    assert datetime.fromisoformat(renewed["trayapp_expiration"]) - datetime.now(UTC) > timedelta(minutes=30)
    assert_the_aws_cli_signs_with(desktop, moto_sts, renewed)

    assert sni_tray.proc is not None
    assert mapped_toolkits(sni_tray.proc.pid) == [], "the SNI tray loaded GTK or Tk"
    sni_tray.quit()


@pytest.mark.desktop
def test_sign_in_on_the_sign_in_again_notice_signs_in_again(
    desktop: Desktop, moto_sts: MotoServer, sso_server: SsoServer, sni_tray: SniTray, tmp_path: Path
) -> None:
    """IAM Identity Center (issues 23, 30) on the same backend: a refresh SSO refuses is told once
    ("sign in again before HH:MM") with Sign in, the token kept meanwhile; its click opens the
    browser, and the ``aws`` CLI gets the role's keys with the new token."""
    write_aws_files(desktop.home)
    (desktop.home / ".aws" / "config").write_text(CORP_CONFIG)
    browsed = tmp_path / "browser.log"
    sni_tray.env.update(BROWSER=str(browser_script(tmp_path / "b.sh", browsed)), **sso_server.env())
    sso_server.token_seconds = 10 * 60  # signed in, with 10 min left: the tray refreshes at once
    login = subprocess.run([sys.executable, "-m", "trayapp", "sso", "login", "corp"], env=sni_tray.env,
                           capture_output=True, text=True, timeout=scaled(40))  # fmt: skip
    assert login.returncode == 0, login.stderr
    token_file = desktop.home / ".aws" / "sso" / "cache" / (hashlib.sha1(b"corp").hexdigest() + ".json")
    token = json.loads(token_file.read_text())["accessToken"]
    sso_server.refuse_refresh = True
    sso_server.token_seconds = 8 * 3600

    sni_tray.start(ready="corp-admin")
    told = notice(desktop, lambda n: n["summary"].startswith("corp — sign in again before "), timeout=30)
    assert told["actions"] == ["sso-login", "Sign in"]
    kept = json.loads(token_file.read_text())
    assert kept["accessToken"] == token and "refreshToken" not in kept  # serves to its end, never retried

    sso_server.refuse_refresh = False
    desktop.invoke_action(told["id"], "sso-login")
    wait_for("the sign-in from the notice", lambda: "refreshToken" in json.loads(token_file.read_text()), 30, desktop)
    assert len(browsed.read_text().splitlines()) == 2  # the command line's sign-in, then the notice's
    # The CLI signs with the role's keys from the portal, through the token the notice's sign-in got.
    before = len(sso_server.operations("GetRoleCredentials"))
    aws = run_aws(["sts", "get-caller-identity", "--profile", "corp-admin", "--output", "json"], sni_tray.env)
    assert aws.returncode == 0, aws.stderr
    assert len(sso_server.operations("GetRoleCredentials")) > before

    assert sni_tray.proc is not None
    assert mapped_toolkits(sni_tray.proc.pid) == [], "the SNI tray loaded GTK or Tk"
    sni_tray.quit()


@pytest.mark.desktop
def test_rotate_on_the_old_key_notice_replaces_the_key_in_iam_and_gnome_keyring(moto_sts: MotoServer) -> None:
    """Keys in the real gnome-keyring (issue 12) on the same backend: a key 200 days old is told once
    with Rotate; its click makes a new key in moto's IAM, deletes the old one and stores the new one,
    which the ``aws`` CLI then signs with through ``credential_process``."""
    require_tools(*REQUIRED_TOOLS, "gnome-keyring-daemon")
    user, key_id, secret = iam_user(moto_sts)
    with Desktop(notifications=True, tray=False, keyring=True) as desktop:
        credentials = write_aws_files(desktop.home)
        config = desktop.home / ".aws" / "config"
        config.write_text(config.read_text() + f"\n[profile ci]\ncredential_process = {sys.executable} -m trayapp "
                          "keys serve ci\nregion = us-east-1\n")  # fmt: skip
        tray = SniTray(desktop, moto_sts)
        try:
            tray.env.pop("PYTHON_KEYRING_BACKEND", None)
            tray.env["AWS_ENDPOINT_URL_IAM"] = moto_sts.url
            created = (datetime.now(UTC) - timedelta(days=200)).isoformat(timespec="seconds")
            entry = json.dumps({"access_key_id": key_id, "secret_access_key": secret, "created": created})
            stored = subprocess.run([sys.executable, "-c", "import keyring, sys; keyring.set_password('trayapp', "
                                     "'keys/ci', sys.stdin.read())"], input=entry, env=tray.env, text=True,
                                    capture_output=True, timeout=scaled(30))  # fmt: skip
            assert stored.returncode == 0, stored.stderr
            tray.start()
            told = notice(desktop, lambda n: n["summary"] == "The key of ci is 200 days old", timeout=30)
            assert told["actions"] == ["rotate", "Rotate"]
            desktop.invoke_action(told["id"], "rotate")
            said = notice(desktop, lambda n: str(n["body"]).startswith("Rotated the key of 'ci'"), timeout=30)
            assert secret not in str(said)
            keys = [k["AccessKeyId"] for k in iam_client(moto_sts).list_access_keys(UserName=user)["AccessKeyMetadata"]]
            assert len(keys) == 1 and keys[0] != key_id  # a new key; the old one deleted
            aws = run_aws(["sts", "get-caller-identity", "--profile", "ci", "--output", "json"], tray.env)
            assert aws.returncode == 0, aws.stderr
            assert json.loads(aws.stdout)["Arn"].endswith(f":user/{user}")
            assert secret not in credentials.read_text() + config.read_text()

            assert tray.proc is not None
            assert mapped_toolkits(tray.proc.pid) == [], "the SNI tray loaded GTK or Tk"
            tray.quit()
        finally:
            tray.close()
