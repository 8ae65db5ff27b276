"""Sessions you can watch, for real: the running tray on Xvfb with a recording notification server.

- a session near its end gets one warning and, at expiry, one "expired" notification, each naming
  the profile; a click on the notification's Renew opens the dialog, and a code renews that profile;
- a session written by ``trayapp assume`` in another process shows in the running tray.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.desktop import Desktop
from tests.support.procs import wait_until
from tests.support.screen_state import wait_painted
from tests.support.sts import MotoServer
from tests.support.tray_desktop import (
    CREDENTIALS,
    answer_the_dialog,
    aws_env,
    session_section,
    start_tray,
    write_aws_files,
)


def icon_colour(desktop: Desktop) -> tuple[int, ...]:
    _, x, y, w, h = desktop.find_tray_icons()[0]
    return tuple(desktop.pixel(x + w // 2, y + h // 2))


@pytest.mark.desktop
def test_warning_and_expiry_notify_once_and_renew_opens_the_dialog(
    desktop: Desktop, moto_sts: MotoServer, tmp_path: Path
) -> None:
    credentials = write_aws_files(desktop.home)
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=6)
    credentials.write_text(CREDENTIALS + "\n" + session_section("prod", expires))
    tray = start_tray(desktop, aws_env(desktop, moto_sts.url, PYSTRAY_BACKEND="xorg"))
    desktop.wait_for_tray_icon(10)

    # Restarted inside its warning window: one warning at once (default lead: 10 min).
    warning = desktop.wait_for_notification(lambda n: "expires in" in n["summary"], timeout=10)
    assert warning["summary"].startswith("prod expires in ")
    assert "prod-session" in warning["body"]
    assert warning["actions"] == ["renew", "Renew"]
    expired = desktop.wait_for_notification(lambda n: n["summary"] == "prod expired", timeout=15)
    assert expired["hints"]["urgency"] == 2
    # The behaviour under test is that nothing repeats: watch the notifications for a while (no
    # event marks "the tray would have repeated by now"), then count.
    time.sleep(2.5)
    summaries = [n["summary"] for n in desktop.notifications() if n["summary"] != "trayapp"]
    assert summaries.count("prod expired") == 1
    assert len([s for s in summaries if "expires in" in s]) == 1
    for n in desktop.notifications():
        assert "old-secret" not in n["body"] and "old-token" not in n["body"]

    # "Renew" on the notification opens the dialog for prod; a code renews prod's session.
    desktop.invoke_action(expired["id"], "renew")
    answer_the_dialog(desktop)
    wait_until("prod's session renewed", lambda: "ASIAOLDSESSION" not in credentials.read_text(), 15)
    assert credentials.read_text().startswith(CREDENTIALS)
    tray.terminate()


@pytest.mark.desktop
def test_the_running_tray_shows_a_session_assumed_in_another_process(desktop: Desktop, moto_sts: MotoServer) -> None:
    write_aws_files(desktop.home)
    env = aws_env(desktop, moto_sts.url, PYSTRAY_BACKEND="xorg")
    tray = start_tray(desktop, env)
    icon = desktop.wait_for_tray_icon(10)
    wait_painted(desktop, icon[0])

    def green() -> object:
        colour = icon_colour(desktop)
        r, g, b = tuple(colour)[:3]
        return colour if g > r and g > b else None

    assert not green(), "no session yet, but the icon is already green"

    cli = subprocess.run([sys.executable, "-m", "trayapp", "assume", "dev"], env=env, capture_output=True,
                         text=True, timeout=60)  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    # the file watcher (no polling) wakes the tray, which repaints its icon as "valid" (green)
    wait_until("the icon to turn green (valid)", green, 10)

    # a second tray for the same credentials file says so and leaves: one icon, one set of notifications
    second = subprocess.run([sys.executable, "-m", "trayapp"], env=env, capture_output=True, text=True, timeout=30)
    assert second.returncode == 1
    assert "trayapp is already running for" in second.stderr
    assert len(desktop.find_tray_icons()) == 1
    tray.terminate()
