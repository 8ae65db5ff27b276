"""An IAM Identity Center sign-in in the real tray on Xvfb (issues 23, 30), with the SSO stand-in, a
recording notification server and a BROWSER script: a refresh token SSO refuses gives one
"corp — sign in again before HH:MM" notice with **Sign in** (the token kept meanwhile); its click
opens the browser once, the token cache's change wakes the tray, and the menu shows the sign-in again.

Set ``TRAYAPP_SCREENSHOTS=docs/screenshots`` to refresh the README's picture of that menu.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.desktop import Desktop
from tests.support.dialog import save_screenshot
from tests.support.fixtures import SsoServer, refused_url
from tests.support.screen_state import wait_painted
from tests.support.sso import CORP_CONFIG, browser_script
from tests.support.tray_desktop import (
    CREDENTIALS,
    aws_env,
    content_box,
    open_menu_with_keyboard,
    start_tray,
    visible_windows,
    wait_for,
    write_aws_files,
)

CONFIG = CORP_CONFIG + "\n[profile prod]\nrole_arn = arn:aws:iam::123456789012:role/Admin\nsource_profile = base\n"


@pytest.mark.desktop
def test_a_refused_refresh_tells_once_to_sign_in_again_and_sign_in_on_the_notice_signs_in(
    desktop: Desktop, sso_server: SsoServer, tmp_path: Path
) -> None:
    write_aws_files(desktop.home)
    (desktop.home / ".aws" / "config").write_text(CONFIG)
    browsed = tmp_path / "browser.log"
    browser = str(browser_script(tmp_path / "b.sh", browsed))
    env = aws_env(desktop, refused_url(), PYSTRAY_BACKEND="xorg", BROWSER=browser, **sso_server.env())
    sso_server.token_seconds = 10 * 60  # signed in, with 10 min left: the tray refreshes at once
    login = subprocess.run([sys.executable, "-m", "trayapp", "sso", "login", "corp"], env=env, capture_output=True,
                           text=True, timeout=120)  # fmt: skip
    assert login.returncode == 0, login.stderr
    token_file = desktop.home / ".aws" / "sso" / "cache" / (hashlib.sha1(b"corp").hexdigest() + ".json")
    sso_server.refuse_refresh = True
    sso_server.token_seconds = 8 * 3600

    tray = start_tray(desktop, env)
    icon = desktop.wait_for_tray_icon(20)
    again = "corp — sign in again before "
    notice = desktop.wait_for_notification(lambda n: n["summary"].startswith(again), timeout=30)
    assert notice["actions"] == ["sso-login", "Sign in"]
    assert "refreshToken" not in json.loads(token_file.read_text())  # the token serves to its end
    assert len(browsed.read_text().splitlines()) == 1  # only the command line's sign-in: none by itself

    sso_server.refuse_refresh = False
    desktop.invoke_action(notice["id"], "sso-login")
    wait_for("the sign-in from the notice", lambda: "refreshToken" in json.loads(token_file.read_text()), 30, desktop)
    assert len(browsed.read_text().splitlines()) == 2
    time.sleep(1.5)  # the behaviour under test: no second notice comes in this quiet window
    assert [n["summary"].startswith(again) for n in desktop.notifications()].count(True) == 1
    assert CREDENTIALS in (desktop.home / ".aws" / "credentials").read_text()

    # The menu (the Tk popup of the xorg backend): the roles, then the sign-in and its submenu.
    before = visible_windows(desktop)
    assert open_menu_with_keyboard(desktop, icon)
    desktop.xdotool("key", "Down", "Down", "Down", "Right")
    wait_for("the sign-in's submenu", lambda: len(visible_windows(desktop) - before) >= 2, 5, desktop)
    wait_painted(desktop, visible_windows(desktop) - before)
    save_screenshot(desktop, "menu-sso.png", tmp_path, content_box(desktop, tmp_path))
    desktop.xdotool("key", "Escape")
    desktop.xdotool("key", "Escape")
    tray.terminate()
    tray.wait(timeout=15)
