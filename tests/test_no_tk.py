"""A Python without Tk (issue 28: a pipx install on a Python without python3-tk showed the icon, and
each click printed ``ModuleNotFoundError: No module named 'tkinter'`` from popup_menu.py and dialog.py).

Tk is hidden for real (tests/support/no_tk.py: the tkinter folder under an empty one, in a mount
namespace of the command's own): the tray says one sentence naming the fix at start and at each
click that needs a window, keeps running, and never prints a traceback; the command line's
``assume`` says the same sentence when it has no terminal to ask on; each Tk program run by hand
says it too.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import no_tk
from tests.support.desktop import Desktop
from tests.support.sni_host import Host, Watcher
from tests.support.sts import MotoServer
from tests.support.tray_desktop import aws_env, exit_status, wait_for, write_aws_files
from trayapp.core import launch, tk_check

SENTENCE = "Tk (tkinter) is missing from this Python"
NO_MENU = "the icon on this XEmbed tray has no menu"
PROGRAMS = ("dialog", "popup_menu", "prefs_window", "clipboard", "message_box", "probe")


@pytest.mark.integration
@pytest.mark.parametrize("program", PROGRAMS)
def test_each_tk_program_says_one_sentence_without_tk_not_a_traceback(program: str, tmp_path: Path) -> None:
    no_tk.require()
    done = subprocess.run(
        no_tk.without_tk(launch.module_argv(f"trayapp.tk.{program}"), tmp_path / "empty"),
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 4, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and SENTENCE in done.stderr, done.stderr


def _start_tray_without_tk(desktop: Desktop, env: dict[str, str], tmp_path: Path) -> subprocess.Popen[bytes]:
    code = "import logging, sys; logging.basicConfig(level=logging.INFO); from trayapp.tray.app import run_tray; " \
           "sys.exit(run_tray())"  # fmt: skip
    return desktop.spawn(no_tk.without_tk([sys.executable, "-c", code], tmp_path / "empty"), env=env, name="tray")


def _told(desktop: Desktop, text: str) -> list[dict[str, object]]:
    return [n for n in desktop.notifications() if text in str(n.get("body"))]


@pytest.mark.desktop
def test_xorg_tray_without_tk_says_so_at_start_and_at_each_click(
    desktop: Desktop, moto_sts: MotoServer, tmp_path: Path
) -> None:
    no_tk.require()
    write_aws_files(desktop.home)
    tray = _start_tray_without_tk(desktop, aws_env(desktop, moto_sts.url, PYSTRAY_BACKEND="xorg"), tmp_path)
    icon = wait_for("the icon to dock", lambda: desktop.find_tray_icons(), 30, desktop)[0]
    wait_for("the start's notice", lambda: _told(desktop, NO_MENU), 30, desktop)
    assert "sudo apt install python3-tk" in str(_told(desktop, NO_MENU)[0]["body"]) or "build it again" in str(
        _told(desktop, NO_MENU)[0]["body"]
    )  # this machine's Python: the system's (apt) or one built by hand (pyenv)

    for clicks in (2, 3):  # each click on the icon: the menu can't open, and says why
        desktop.click_icon(icon)
        wait_for(f"notice {clicks}", lambda n=clicks: len(_told(desktop, NO_MENU)) >= n, 30, desktop)  # type: ignore[misc]

    assert tray.poll() is None, desktop.log("tray")  # the tray keeps running
    log = desktop.log("tray")
    assert "Traceback" not in log and "ModuleNotFoundError" not in log, log
    assert log.count(SENTENCE) == 1, log  # on stderr once, at start
    tray.send_signal(signal.SIGTERM)
    assert exit_status(tray, desktop) == 128 + signal.SIGTERM


@pytest.mark.desktop
def test_sni_tray_without_tk_keeps_its_menu_and_says_why_assume_opens_no_dialog(
    desktop: Desktop, moto_sts: MotoServer, tmp_path: Path
) -> None:
    no_tk.require()
    assert desktop.bus_address is not None
    watcher = Watcher(desktop.bus_address).start()
    try:
        credentials = write_aws_files(desktop.home)
        tray = _start_tray_without_tk(desktop, aws_env(desktop, moto_sts.url), tmp_path)
        host = Host(desktop.bus_address, *watcher.wait_for_item())
        wait_for("the start's notice", lambda: _told(desktop, SENTENCE), 30, desktop)
        assert not _told(desktop, NO_MENU)  # the panel shows the menu: only the windows need Tk
        wait_for("the roles in the menu", lambda: any(i.label.startswith("prod") for i in host.layout(0)[1].children),
                 30, desktop)  # fmt: skip
        host.click(host.find("prod", "Assume role"))
        wait_for("the assume's notice", lambda: len(_told(desktop, SENTENCE)) >= 2, 30, desktop)
        assert "[prod-session]" not in credentials.read_text()
        assert tray.poll() is None
        assert "Traceback" not in desktop.log("tray"), desktop.log("tray")
        tray.send_signal(signal.SIGTERM)
        assert exit_status(tray, desktop) == 128 + signal.SIGTERM
    finally:
        watcher.stop()


@pytest.mark.desktop
def test_cli_assume_on_a_display_without_tk_or_terminal_says_the_sentence(
    desktop: Desktop, moto_sts: MotoServer, tmp_path: Path
) -> None:
    no_tk.require()
    credentials = write_aws_files(desktop.home)
    done = subprocess.run(
        no_tk.without_tk([sys.executable, "-m", "trayapp", "assume", "prod"], tmp_path / "empty"),
        env=aws_env(desktop, moto_sts.url),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "ModuleNotFoundError" not in done.stderr, done.stderr
    assert done.stderr.startswith("trayapp: " + SENTENCE), done.stderr
    assert "[prod-session]" not in credentials.read_text()


@pytest.mark.desktop
def test_cli_assume_on_a_display_without_tk_asks_on_the_terminal(
    desktop: Desktop, moto_sts: MotoServer, tmp_path: Path
) -> None:
    """A terminal at hand: the code is asked there (getpass, on the controlling terminal) and the
    role is assumed, where the old command line started the dialog child and failed with its traceback."""
    no_tk.require()
    credentials = write_aws_files(desktop.home)
    argv = no_tk.without_tk([sys.executable, "-m", "trayapp", "assume", "prod"], tmp_path / "empty")
    env = aws_env(desktop, moto_sts.url)
    pid, terminal = pty.fork()
    if pid == 0:  # the child: the pty is its controlling terminal
        os.execvpe(argv[0], argv, env)
    seen = b""
    try:
        seen = _read_until(terminal, b"MFA code for prod")
        os.write(terminal, b"123456\n")
        seen += _read_until(terminal, None)
    finally:
        _pid, status = os.waitpid(pid, 0)
        os.close(terminal)
    text = seen.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert "Traceback" not in text
    assert "[prod-session]" in credentials.read_text()


def _read_until(fd: int, marker: bytes | None, timeout: float = 120) -> bytes:
    """What the terminal shows until *marker* (None: until the other side closes it); the deadline
    only guards the suite."""
    got = b""
    end = time.monotonic() + timeout
    while (marker is None or marker not in got) and time.monotonic() < end:
        ready, _w, _x = select.select([fd], [], [], 1)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        got += chunk
    if marker is not None and marker not in got:
        raise AssertionError(f"the terminal never showed {marker!r}: {got!r}")
    return got


# --- the fix named for each platform ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("platform", "release", "prefix", "fix"),
    [
        ("linux", {"ID": "debian"}, "/usr", "sudo apt install python3-tk"),
        ("linux", {"ID": "linuxmint", "ID_LIKE": "ubuntu debian"}, "/usr", "sudo apt install python3-tk"),
        ("linux", {"ID": "fedora"}, "/usr", "sudo dnf install python3-tkinter"),
        ("linux", {"ID": "arch"}, "/usr", "sudo pacman -S tk"),
        ("linux", {"ID": "gentoo"}, "/usr", "python3-tk on Debian and Ubuntu, python3-tkinter on Fedora, tk on Arch"),
        ("linux", {"ID": "debian"}, "/root/.pyenv/versions/3.11.7", "tk-dev"),
        ("darwin", {}, "/opt/homebrew/Cellar/python@3.11/3.11.9/Frameworks/Python.framework/Versions/3.11",
         "brew install python-tk@3.11"),
        ("darwin", {}, "/Library/Frameworks/Python.framework/Versions/3.11", "python.org installer of Python 3.11"),
        ("win32", {}, "C:\\Python311", "tick 'tcl/tk and IDLE'"),
    ],
)  # fmt: skip
def test_the_tk_sentence_names_the_fix_for_the_platform(
    platform: str, release: dict[str, str], prefix: str, fix: str
) -> None:
    assert fix in tk_check.fix(platform, release, prefix, (3, 11))
