"""The real tray on a private desktop: its AWS files, starting it, opening its menu, waiting for it."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.support.desktop import Desktop
from tests.support.procs import HarnessError, scaled, wait_until
from tests.support.screen_state import KeyboardGrab, wait_painted
from trayapp import protocol

ROLE_ARN = "arn:aws:iam::123456789012:role/Admin"


MFA_SERIAL = "arn:aws:iam::123456789012:mfa/alice"


CONFIG = f"""\
[profile prod]
role_arn = {ROLE_ARN}
source_profile = base
mfa_serial = {MFA_SERIAL}
region = eu-west-1

[profile dev]
role_arn = arn:aws:iam::123456789012:role/Developer
source_profile = base

[profile legacy]
role_arn = not-an-arn
source_profile = base

[profile base]
region = eu-west-1
"""


#: A second role of the same IAM user and MFA device as prod (one code, one MFA session, both).
STAGE = f"""
[profile stage]
role_arn = arn:aws:iam::123456789012:role/Stage
source_profile = base
mfa_serial = {MFA_SERIAL}
region = eu-west-1
"""


CREDENTIALS = """\
# keys of the IAM user
[base]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
"""


def session_section(
    profile: str, expires: datetime, duration: int | None = None, key: str = "ASIAOLDSESSION000000"
) -> str:
    """A session trayapp wrote, with keys STS never issued (*duration*: the recorded ``trayapp_duration``)."""
    return (
        f"[{profile}-session]\n"
        "trayapp_managed = 1\n"
        f"aws_access_key_id = {key}\n"
        "aws_secret_access_key = old-secret\n"
        "aws_session_token = old-token\n"
        "region = eu-west-1\n"
        f"trayapp_profile = {profile}\n"
        "trayapp_role_arn = arn:aws:iam::123456789012:role/Admin\n"
        f"trayapp_expiration = {expires.isoformat(timespec='seconds')}\n"
        + (f"trayapp_duration = {duration}\n" if duration else "")
    )


def aws_env(desktop: Desktop, sts_url: str, **extra: str) -> dict[str, str]:
    env = desktop.env
    env.update(
        AWS_CONFIG_FILE=str(desktop.home / ".aws" / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(desktop.home / ".aws" / "credentials"),
        AWS_ENDPOINT_URL_STS=sts_url,
        AWS_EC2_METADATA_DISABLED="true",
    )
    env.update(extra)
    return protocol.child_env(env)


def write_aws_files(home: Path) -> Path:
    aws = home / ".aws"
    aws.mkdir(mode=0o700, exist_ok=True)
    (aws / "config").write_text(CONFIG)
    credentials = aws / "credentials"
    credentials.write_text(CREDENTIALS)
    credentials.chmod(0o600)
    return credentials


def content_box(desktop: Desktop, tmp_path: Path) -> tuple[int, int, int, int]:
    """The part of the screen that is not Xvfb's black root: the panel and the open menus."""
    from PIL import Image

    with Image.open(desktop.screenshot(tmp_path / "full.png")) as full:
        box = full.convert("L").point(lambda v: 255 if v > 8 else 0).getbbox()
    assert box is not None
    return box


def visible_windows(desktop: Desktop) -> set[int]:
    """Every viewable window.  xdotool's search stops with an X error (BadWindow) and lists nothing
    when a window goes away while it looks (a menu closing): it looks again then — an empty answer
    made the panel, the icon and the root "new windows" of the next menu, and a click meant for Quit
    landed on the root's bottom third.  (``dialog_exists`` follows the same rule.)"""

    def search() -> tuple[set[int]] | None:  # a tuple: an empty listing is an answer too
        done = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", ""], env=desktop.env,
                              capture_output=True, text=True, timeout=10)  # fmt: skip
        return None if "X Error" in done.stderr else ({int(w) for w in done.stdout.split()},)

    return wait_until("xdotool to list the windows", search, 10, interval=0.01)[0]


#: A new set of windows is taken once it has not changed for this long: a Tk menu is two windows
#: (a wrapper and the menu), mapped one after the other, and a listing can fall between the two.
SETTLE = 0.25


def wait_for_new_windows(desktop: Desktop, before: set[int], timeout: float = 8) -> set[int]:
    """The windows that appeared since *before*, once they have settled (see :data:`SETTLE`)."""
    seen: dict[str, Any] = {"windows": frozenset(), "since": 0.0}

    def probe() -> set[int] | None:
        new = frozenset(visible_windows(desktop) - before)
        now = time.monotonic()
        if new != seen["windows"]:
            seen.update(windows=new, since=now)
            return None
        return set(new) if new and now - seen["since"] >= SETTLE else None

    try:
        return wait_until("a menu to appear", probe, timeout, interval=0.05)
    except HarnessError as exc:
        raise AssertionError(f"{exc}\n--- tray log ---\n{desktop.log('tray')}") from None


def open_menu(desktop: Desktop, icon: tuple[int, int, int, int, int]) -> set[int]:
    """Click the icon until a menu shows (a click right after docking may land before the
    tray has placed the icon); returns the menu's windows."""
    for attempt in range(3):
        before = visible_windows(desktop)
        desktop.click_icon(icon)
        try:
            return wait_for_new_windows(desktop, before, timeout=4 if attempt < 2 else 8)
        except AssertionError:
            if attempt == 2:
                raise
            icon = desktop.find_tray_icons()[0]
    raise AssertionError("unreachable")


def open_menu_with_keyboard(desktop: Desktop, icon: tuple[int, int, int, int, int]) -> set[int]:
    """Open the tray's menu and wait until it holds the keyboard (keys sent before are lost)."""
    grab = KeyboardGrab(desktop)
    try:
        grab.arm()
        opened = open_menu(desktop, icon)
        grab.wait_taken()
        return opened
    finally:
        grab.close()


def click_quit(desktop: Desktop, icon: tuple[int, int, int, int, int]) -> None:
    """Open the menu and click Quit, its last entry: near the bottom of the tallest new window."""
    windows = open_menu_with_keyboard(desktop, icon)
    wait_painted(desktop, windows)
    x, y, w, h = max((desktop.window_geometry(wid) for wid in windows), key=lambda g: g[3])
    desktop.click(x + w // 3, y + h - 12)


def wait_until_closed(desktop: Desktop, windows: set[int], timeout: float = 5) -> None:
    """Wait for *windows* to be unmapped (X reuses ids, so a new menu may get the same ones)."""
    wait_until("the menu to close", lambda: not (visible_windows(desktop) & windows), timeout, interval=0.05)


def start_tray(desktop: Desktop, env: dict[str, str]) -> subprocess.Popen[bytes]:
    # SIGUSR1 dumps every thread's stack into the log (see exit_status).
    code = (
        "import faulthandler, logging, signal, sys; faulthandler.register(signal.SIGUSR1); "
        "logging.basicConfig(level=logging.INFO); from trayapp.tray.app import run_tray; sys.exit(run_tray())"
    )
    return desktop.spawn([sys.executable, "-c", code], env=env, name="tray")


def wait_for(what: str, probe: Callable[[], Any], timeout: float, desktop: Desktop) -> Any:
    try:
        return wait_until(what, probe, timeout, interval=0.05)
    except HarnessError as exc:
        raise AssertionError(f"{exc}\n--- tray log ---\n{desktop.log('tray')}") from None


def answer_the_dialog(desktop: Desktop, code: str = "123456", timeout: float = 20) -> None:
    """The MFA dialog the tray opened: wait for it (the tray's log when it never shows), type *code*, Return."""
    from tests.support.dialog import find_window, press, type_into

    try:
        find_window(desktop, timeout=timeout)
    except HarnessError as exc:
        raise AssertionError(f"{exc}\n--- tray log ---\n{desktop.log('tray')}") from None
    type_into(desktop, code)
    press(desktop, "Return")


def dump_stacks(tray: subprocess.Popen[bytes], desktop: Desktop) -> None:
    """SIGUSR1: every thread's stack into the tray's log (see start_tray), waited for a moment."""
    tray.send_signal(signal.SIGUSR1)
    with contextlib.suppress(HarnessError):  # a tray too stuck to write them: the log as it is
        wait_until("the stack dump", lambda: "most recent call first" in desktop.log("tray"), 2)


def exit_status(tray: subprocess.Popen[bytes], desktop: Desktop, timeout: float = 10) -> int:
    try:
        return tray.wait(timeout=scaled(timeout))
    except subprocess.TimeoutExpired:
        dump_stacks(tray, desktop)
        raise AssertionError(f"the tray did not quit\n--- tray log ---\n{desktop.log('tray')}") from None
