"""Start trayapp at login: one face, one small writer per platform.

* Linux and other XDG desktops: ``$XDG_CONFIG_HOME/autostart/trayapp.desktop``
  (XDG Autostart specification; ``~/.config`` when the variable is unset or relative).
* macOS: a LaunchAgent, ``~/Library/LaunchAgents/com.trayapp.agent.plist`` with
  ``RunAtLoad``; launchd reads it at the next login.
* Windows: ``trayapp.cmd`` in the user's Startup folder
  (``%APPDATA%\\Microsoft\\Windows\\Start Menu\\Programs\\Startup``).  A ``.lnk``
  shortcut needs COM (pywin32); a one-line batch file running ``start "" pythonw.exe
  -m trayapp`` needs nothing and shows a console window only for an instant.

The command started is the running program: the frozen executable when frozen
(PyInstaller), else the ``trayapp`` entry point next to the interpreter, else
``<python> -m trayapp``.  Everything that depends on the machine — platform, home,
environment, command — can be passed in, so the three writers are tested anywhere.
This module imports no GUI toolkit.
"""

from __future__ import annotations

import os
import plistlib
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from trayapp.core.errors import TrayappError

APP_NAME = "trayapp"
LAUNCH_AGENT_LABEL = "com.trayapp.agent"
#: Marks a file as written by this module (kept in every format).
MARKER = "X-Trayapp-Autostart"


class AutostartError(TrayappError):
    template = "Starting trayapp at login could not be {action} ({path}: {reason})."


def launch_command(executable: str | None = None, frozen: bool | None = None, platform: str | None = None) -> list[str]:
    """The command line that starts the tray as it is installed now."""
    executable = executable or sys.executable
    frozen = bool(getattr(sys, "frozen", False)) if frozen is None else frozen
    platform = platform or sys.platform
    if frozen:
        # The Windows build has a console trayapp-cli.exe beside the windowed trayapp.exe:
        # login start takes the windowed one, whichever ran "autostart on".
        gui = Path(executable).with_name("trayapp.exe")
        return [str(gui)] if platform == "win32" and gui.is_file() else [executable]
    python = Path(executable)
    if platform == "win32":
        # pythonw.exe has no console window; the console-script trayapp.exe would open one.
        pythonw = python.with_name("pythonw.exe")
        return [str(pythonw if pythonw.exists() else python), "-m", APP_NAME]
    script = python.with_name(APP_NAME)
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [str(python), "-m", APP_NAME]


# --- the three formats ------------------------------------------------------------

_DESKTOP_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def desktop_exec(argv: Sequence[str]) -> str:
    """*argv* as the value of a desktop entry's ``Exec`` key (Desktop Entry spec 1.4).

    An argument with a reserved character is double-quoted, with ``"`` `` ` `` ``$``
    ``\\`` escaped by a backslash; then the string-level escape doubles every backslash,
    and ``%`` becomes ``%%`` so it is not read as a field code.
    """
    words = []
    for arg in argv:
        if arg and not (set(arg) & _DESKTOP_RESERVED):
            word = arg
        else:
            word = '"' + "".join("\\" + c if c in '"`$\\' else c for c in arg) + '"'
        words.append(word.replace("\\", "\\\\").replace("%", "%%"))
    return " ".join(words)


def desktop_entry(argv: Sequence[str]) -> str:
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Version=1.4\n"
        f"Name={APP_NAME}\n"
        "GenericName=AWS MFA sessions\n"
        "Comment=Assume MFA-protected AWS roles from the system tray\n"
        f"Exec={desktop_exec(argv)}\n"
        f"Icon={APP_NAME}\n"
        "Terminal=false\n"
        "Categories=Utility;\n"
        "X-GNOME-Autostart-enabled=true\n"
        f"{MARKER}=true\n"
    )


def launch_agent(argv: Sequence[str]) -> bytes:
    return plistlib.dumps(
        {
            "Label": LAUNCH_AGENT_LABEL,
            "ProgramArguments": list(argv),
            "RunAtLoad": True,
            "KeepAlive": False,
            # Interactive: launchd does not throttle a program the user sees.
            "ProcessType": "Interactive",
            "LimitLoadToSessionType": "Aqua",
            MARKER: True,
        }
    )


def _cmd_quote(arg: str) -> str:
    if any(c in arg for c in '"%'):
        raise ValueError(f"can't put {arg!r} in a batch file")
    return f'"{arg}"' if any(c in arg for c in " &()^<>|,;=") or not arg else arg


def startup_cmd(argv: Sequence[str]) -> str:
    """A batch file that starts *argv* detached, so its console closes at once."""
    command = " ".join(_cmd_quote(a) for a in argv)
    return f'@echo off\r\nrem {MARKER}: written by "trayapp autostart on"\r\nstart "" {command}\r\n'


# --- the face -------------------------------------------------------------------


@dataclass(frozen=True)
class Autostart:
    """Login start for one platform and one user."""

    platform: str = field(default_factory=lambda: sys.platform)
    home: Path = field(default_factory=Path.home)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    command: Sequence[str] = field(default_factory=launch_command)

    @property
    def path(self) -> Path:
        if self.platform == "darwin":
            return self.home / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"
        if self.platform == "win32":
            appdata = self.environ.get("APPDATA")
            base = Path(appdata) if appdata else self.home / "AppData" / "Roaming"
            return base / "Microsoft" / "Windows" / "Start Menu" / "Programs" / "Startup" / f"{APP_NAME}.cmd"
        config = self.environ.get("XDG_CONFIG_HOME", "")
        base = Path(config) if os.path.isabs(config) else self.home / ".config"
        return base / "autostart" / f"{APP_NAME}.desktop"

    def content(self) -> bytes:
        if self.platform == "darwin":
            return launch_agent(self.command)
        if self.platform == "win32":
            return startup_cmd(self.command).encode("utf-8")
        return desktop_entry(self.command).encode("utf-8")

    def status(self) -> bool:
        """True when the login-start file exists and does not disable itself."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise AutostartError(action="checked", path=self.path, reason=exc.strerror or type(exc).__name__) from None
        if self.platform in ("darwin", "win32"):
            return True
        # Desktop environments honour Hidden=true as "deleted" (users toggle it in settings apps).
        lines = {line.strip().replace(" ", "") for line in data.decode("utf-8", "replace").splitlines()}
        return "Hidden=true" not in lines and "X-GNOME-Autostart-enabled=false" not in lines

    def enable(self) -> Path:
        """Write the login-start file (replacing an older one); returns its path."""
        path = self.path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_atomic(path, self.content())
        except ValueError as exc:
            raise AutostartError(action="turned on", path=path, reason=str(exc)) from None
        except OSError as exc:
            raise AutostartError(action="turned on", path=path, reason=exc.strerror or type(exc).__name__) from None
        return path

    def disable(self) -> bool:
        """Remove the login-start file; False when there was none."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise AutostartError(
                action="turned off", path=self.path, reason=exc.strerror or type(exc).__name__
            ) from None
        return True


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def status() -> bool:
    return Autostart().status()


def enable() -> Path:
    return Autostart().enable()


def disable() -> bool:
    return Autostart().disable()
