"""A person's prompt holds nothing (issue 29 item 1), on the real tray: Xvfb, the private session bus,
the recording notification server, moto's STS.

prod needs an MFA code and the tray holds no MFA session, so "prod expires in 8 min" comes with
Renew; Renew opens the MFA dialog, and nobody answers it.  Meanwhile two more sessions are written
into the credentials file (as ``trayapp assume`` in another terminal would): stage (MFA too) ends in
seconds, dev (no MFA) is inside its lead.  On time, with the dialog still open, the tray warns of
stage, tells when it expired, and renews dev silently through STS.  Before issue 29 the one worker
waited on the dialog: none of the three happened until the dialog closed.  A second Renew keeps the
one dialog and brings it back to the keyboard; Quit with the dialog open ends the tray promptly and
leaves no child behind.  Both backends a Linux desktop offers without GTK in the tray: xorg and
trayapp's StatusNotifierItem.
"""

from __future__ import annotations

import configparser
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.desktop import Desktop
from tests.support.dialog import TITLE, dialog_exists, find_window
from tests.support.procs import wait_until
from tests.support.sni_host import Host, Watcher
from tests.support.sts import MotoServer
from tests.support.tray_desktop import (
    CONFIG,
    CREDENTIALS,
    STAGE,
    aws_env,
    click_quit,
    exit_status,
    session_section,
    start_tray,
    wait_for,
    write_aws_files,
)

OLD_DEV_KEY = "ASIAOLDDEVSESSION000"


def section(credentials: Path, name: str) -> dict[str, str]:
    parser = configparser.RawConfigParser()
    parser.read_string(credentials.read_text())
    return dict(parser[name]) if parser.has_section(name) else {}


def descendants(pid: int) -> set[int]:
    """Every process below *pid* (``/proc/PID/task/*/children``)."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        for task in Path(f"/proc/{todo.pop()}/task").glob("*/children"):
            try:
                kids = {int(p) for p in task.read_text().split()}
            except OSError:  # the task ended meanwhile
                continue
            todo += list(kids - found)
            found |= kids
    return found


def alive(pid: int) -> bool:
    """Running (a zombie has ended: only its exit status waits for a parent)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def visible_dialogs(desktop: Desktop) -> int:
    done = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", TITLE], env=desktop.env,
                          capture_output=True, text=True, timeout=10)  # fmt: skip
    return len(done.stdout.split())


def x_ids(text: str) -> set[int]:
    return {int(word, 16) for word in text.replace(":", " ").split() if word.startswith("0x")}


def dialog_has_the_keyboard(desktop: Desktop) -> bool:
    """Whether the X input focus is in the dialog (one of its windows or one inside them, the code's box)."""
    focus = subprocess.run(["xdotool", "getwindowfocus", "-f"], env=desktop.env, capture_output=True, text=True,
                           timeout=10).stdout.strip()  # fmt: skip
    found = subprocess.run(["xdotool", "search", "--name", TITLE], env=desktop.env, capture_output=True, text=True,
                           timeout=10).stdout.split()  # fmt: skip
    inside: set[int] = set()
    for window in found:
        tree = subprocess.run(["xwininfo", "-tree", "-id", window], env=desktop.env, capture_output=True, text=True,
                              timeout=10).stdout  # fmt: skip
        # Tk's wrapper (the window the focus goes to) is the named window's parent.
        lines = [line for line in tree.splitlines() if "Root window id" not in line and "(the root window)" not in line]
        inside |= x_ids("\n".join(lines))
    return focus.isdigit() and int(focus) in inside


def focus_elsewhere(desktop: Desktop) -> None:
    """The person went on working in another window: the keyboard leaves the dialog."""
    root = subprocess.run(["xwininfo", "-root"], env=desktop.env, capture_output=True, text=True,
                          timeout=10).stdout  # fmt: skip
    line = next(line for line in root.splitlines() if "Window id:" in line)
    desktop.xdotool("windowfocus", str(min(x_ids(line))))
    wait_until("the keyboard to leave the dialog", lambda: not dialog_has_the_keyboard(desktop), 10)


def notice(desktop: Desktop, summary: str, timeout: float = 20) -> dict[str, Any]:
    return wait_for(f"the notice {summary!r}",
                    lambda: next((n for n in desktop.notifications() if n["summary"].startswith(summary)), None),
                    timeout, desktop)  # fmt: skip


class Backend:
    """The tray's environment on a backend (xorg asked for by name, sni picked by the panel's
    watcher), and its menu's Quit clicked as a person would."""

    def __init__(self, name: str, desktop: Desktop, moto: MotoServer) -> None:
        self.desktop = desktop
        self.watcher: Watcher | None = None
        if name == "xorg":
            self.env = aws_env(desktop, moto.url, PYSTRAY_BACKEND="xorg")
        else:
            assert desktop.bus_address is not None
            self.watcher = Watcher(desktop.bus_address).start()
            self.env = aws_env(desktop, moto.url)

    def quit(self) -> None:
        if self.watcher is None:
            self.desktop.wait_for_tray_icon(10)
            click_quit(self.desktop, self.desktop.find_tray_icons()[0])
            return
        host = Host(self.desktop.bus_address or "", *self.watcher.wait_for_item(timeout=20))
        try:
            host.click(host.find("Quit"))
        finally:
            host.close()


@pytest.fixture(params=["xorg", "sni"])
def backend(request: pytest.FixtureRequest, desktop: Desktop, moto_sts: MotoServer) -> Iterator[Backend]:
    chosen = Backend(request.param, desktop, moto_sts)
    try:
        yield chosen
    finally:
        if chosen.watcher is not None:
            chosen.watcher.stop()


@pytest.mark.desktop
def test_a_dialog_left_open_holds_no_other_sessions_warning_expiry_or_silent_renewal(
    desktop: Desktop, backend: Backend
) -> None:
    credentials = write_aws_files(desktop.home)
    (desktop.home / ".aws" / "config").write_text(CONFIG + STAGE)
    prod = session_section("prod", datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=8))
    credentials.write_text(CREDENTIALS + "\n" + prod)
    tray = start_tray(desktop, backend.env)
    try:
        # prod can't be renewed without a code: told, with Renew; Renew opens the dialog.
        told = notice(desktop, "prod expires in ")
        desktop.invoke_action(told["id"], "renew", close=False)
        find_window(desktop, timeout=20)

        # Nobody answers.  Two more sessions arrive through the file.
        stage_ends = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=12)
        dev_ends = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)
        credentials.write_text(CREDENTIALS + "\n" + prod + "\n" + session_section("stage", stage_ends) + "\n"
                               + session_section("dev", dev_ends, key=OLD_DEV_KEY))  # fmt: skip

        warned = notice(desktop, "stage expires in ")
        assert warned["actions"] == ["renew", "Renew"]
        renewed = wait_for("dev renewed without a prompt",
                           lambda: (s := section(credentials, "dev-session")).get("aws_access_key_id", OLD_DEV_KEY)
                           != OLD_DEV_KEY and s, 20, desktop)  # fmt: skip
        assert datetime.fromisoformat(renewed["trayapp_expiration"]) - dev_ends > timedelta(minutes=30)
        expired = notice(desktop, "stage expired", timeout=30)
        assert expired["hints"]["urgency"] == 2
        assert dialog_exists(desktop), "prod's dialog closed by itself"

        # A second Renew on prod keeps the one dialog, and brings it back to the keyboard.
        focus_elsewhere(desktop)
        desktop.invoke_action(told["id"], "renew", close=False)
        wait_for("the second Renew to be handled",
                 lambda: "assume prod is under way already" in desktop.log("tray"), 10, desktop)  # fmt: skip
        wait_for("the dialog to take the keyboard back", lambda: dialog_has_the_keyboard(desktop), 10, desktop)
        assert visible_dialogs(desktop) == 1

        # Quit with the dialog open: the tray ends promptly, its dialog with it.
        children = descendants(tray.pid)
        assert children, "the dialog is not the tray's child"
        backend.quit()
        assert exit_status(tray, desktop) == 0
        wait_until("the tray's children to end", lambda: not any(alive(pid) for pid in children), 10)
        assert not dialog_exists(desktop)
    finally:
        if tray.poll() is None:
            tray.kill()
            tray.wait(timeout=10)
