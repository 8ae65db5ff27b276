"""Start trayapp at login: one face, one small writer per platform.

* Linux and other XDG desktops: ``$XDG_CONFIG_HOME/autostart/trayapp.desktop``
  (XDG Autostart specification; ``~/.config`` when the variable is unset or relative).
* macOS: a LaunchAgent, ``~/Library/LaunchAgents/com.trayapp.agent.plist`` with
  ``RunAtLoad``; launchd reads it at the next login.
* Windows: the value ``trayapp`` of ``HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\
  CurrentVersion\\Run``, the quoted command line of ``pythonw.exe`` running trayapp (or of the
  windowed ``trayapp.exe``).  The registry holds UTF-16 text, so any user name works
  (``C:\\Users\\José``, ``山田``); a batch file in the Startup folder would be read by
  cmd.exe in the OEM code page and break on them.  Windows' own "Startup apps" switch
  (``…\\Explorer\\StartupApproved\\Run``) is honoured by ``status`` and cleared by ``enable``.
  A ``trayapp.cmd`` left in the Startup folder by an older version is removed by ``on`` and ``off``.

The command started is the running program: the frozen executable when frozen
(PyInstaller), else the ``trayapp`` entry point next to the interpreter, else
``<python> -I -c …`` running this trayapp by absolute path (:mod:`trayapp.core.launch`; never a
bare ``-m trayapp``, which imports from the folder the session starts it in).  Everything that
depends on the machine — platform, home, environment, command — can be passed in, so the three
writers are tested anywhere.  This module imports no GUI toolkit.
"""

from __future__ import annotations

import os
import plistlib
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trayapp.core import launch
from trayapp.core.errors import TrayappError
from trayapp.core.reasons import os_reason

APP_NAME = "trayapp"
LAUNCH_AGENT_LABEL = "com.trayapp.agent"
#: Marks a file as written by this module (kept in every format).
MARKER = "X-Trayapp-Autostart"


class AutostartError(TrayappError):
    template = "Starting trayapp at login could not be {action} ({path}: {reason})."


def launch_command(executable: str | None = None, frozen: bool | None = None, platform: str | None = None) -> list[str]:
    """The command line that starts the tray as it is installed now, from any folder: never a
    ``python -m trayapp`` that would import a ``trayapp/`` from the folder it starts in."""
    executable = executable or sys.executable
    frozen = launch.frozen() if frozen is None else frozen
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
        return launch.module_argv(APP_NAME, str(pythonw if pythonw.exists() else python), is_frozen=False)
    script = python.with_name(APP_NAME)
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return launch.module_argv(APP_NAME, str(python), is_frozen=False)


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


RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
APPROVED_KEY = r"Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run"


def windows_command(argv: Sequence[str]) -> str:
    """*argv* as one Windows command line (the rules of ``CommandLineToArgvW`` / the C runtime).

    The program is always quoted (a path may hold spaces, and a quoted program is never
    split at a space); a ``"`` can't be in a Windows path, so it is refused there.
    """
    if not argv:
        raise ValueError("no command to start")
    program, *rest = argv
    if '"' in program or not program:
        raise ValueError(f"can't start {program!r}")
    return " ".join([f'"{program}"', subprocess.list2cmdline(rest)]).rstrip()


# --- the face -------------------------------------------------------------------


@dataclass(frozen=True)
class _Login:
    """What every platform's login start knows: the user, the environment, the command."""

    platform: str = field(default_factory=lambda: sys.platform)
    home: Path = field(default_factory=Path.home)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    command: Sequence[str] = field(default_factory=launch_command)
    #: Windows: a ``winreg``-like object (imported when None); tests pass a fake.
    registry: Any = None


class _FileLogin(_Login):
    """Login start as a file the session manager reads (XDG autostart, a LaunchAgent)."""

    @property
    def path(self) -> Path:
        raise NotImplementedError

    @property
    def location(self) -> str:
        """Where login start is recorded, as shown to the user."""
        return str(self.path)

    def content(self) -> bytes:
        raise NotImplementedError

    def _enabled_in(self, data: bytes) -> bool:
        return True

    def status(self) -> bool:
        """True when the login-start file exists and does not disable itself."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise AutostartError(action="checked", path=self.path, reason=os_reason(exc)) from None
        return self._enabled_in(data)

    def enable(self) -> Path | str:
        """Write the login-start file (replacing an older one); returns where it is."""
        path = self.path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_atomic(path, self.content())
        except ValueError as exc:
            raise AutostartError(action="turned on", path=path, reason=str(exc)) from None
        except OSError as exc:
            raise AutostartError(action="turned on", path=path, reason=os_reason(exc)) from None
        return path

    def disable(self) -> bool:
        """Remove the login-start file; False when there was none."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise AutostartError(action="turned off", path=self.path, reason=os_reason(exc)) from None
        return True


class XdgAutostart(_FileLogin):
    """Linux and other freedesktop systems: ``~/.config/autostart/trayapp.desktop``."""

    @property
    def path(self) -> Path:
        config = self.environ.get("XDG_CONFIG_HOME", "")
        base = Path(config) if os.path.isabs(config) else self.home / ".config"
        return base / "autostart" / f"{APP_NAME}.desktop"

    def content(self) -> bytes:
        return desktop_entry(self.command).encode("utf-8")

    def _enabled_in(self, data: bytes) -> bool:
        # Desktop environments honour Hidden=true as "deleted" (users toggle it in settings apps).
        lines = {line.strip().replace(" ", "") for line in data.decode("utf-8", "replace").splitlines()}
        return "Hidden=true" not in lines and "X-GNOME-Autostart-enabled=false" not in lines


class LaunchAgentAutostart(_FileLogin):
    """macOS: ``~/Library/LaunchAgents/com.trayapp.agent.plist`` (RunAtLoad)."""

    @property
    def path(self) -> Path:
        return self.home / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"

    def content(self) -> bytes:
        return launch_agent(self.command)


class RunKeyAutostart(_Login):
    """Windows: the value ``trayapp`` of ``HKCU\\…\\CurrentVersion\\Run`` (UTF-16, so any user name works)."""

    @property
    def location(self) -> str:
        return f"HKEY_CURRENT_USER\\{RUN_KEY}\\{APP_NAME}"

    @property
    def path(self) -> Path:
        """The Startup-folder batch file of older versions (removed when found)."""
        appdata = self.environ.get("APPDATA")
        base = Path(appdata) if appdata else self.home / "AppData" / "Roaming"
        return base / "Microsoft" / "Windows" / "Start Menu" / "Programs" / "Startup" / f"{APP_NAME}.cmd"

    def content(self) -> bytes:
        return windows_command(self.command).encode("utf-16-le")

    def _winreg(self) -> Any:
        if self.registry is not None:
            return self.registry
        import winreg  # Windows only

        return winreg

    def _fail(self, action: str, exc: OSError) -> AutostartError:
        return AutostartError(action=action, path=self.location, reason=os_reason(exc))

    def status(self) -> bool:
        reg = self._winreg()
        try:
            with reg.OpenKey(reg.HKEY_CURRENT_USER, RUN_KEY, 0, reg.KEY_QUERY_VALUE) as key:
                reg.QueryValueEx(key, APP_NAME)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise self._fail("checked", exc) from None
        try:
            with reg.OpenKey(reg.HKEY_CURRENT_USER, APPROVED_KEY, 0, reg.KEY_QUERY_VALUE) as key:
                approved, _kind = reg.QueryValueEx(key, APP_NAME)
        except OSError:
            return True  # never switched off in Settings
        # Settings → Apps → Startup writes 02… (on) or 03… (off): an odd first byte is "off".
        return not (isinstance(approved, bytes | bytearray) and approved[:1] and approved[0] & 1)

    def enable(self) -> Path | str:
        reg = self._winreg()
        try:
            command = windows_command(self.command)
        except ValueError as exc:
            raise AutostartError(action="turned on", path=self.location, reason=str(exc)) from None
        try:
            with reg.CreateKeyEx(reg.HKEY_CURRENT_USER, RUN_KEY, 0, reg.KEY_SET_VALUE) as key:
                reg.SetValueEx(key, APP_NAME, 0, reg.REG_SZ, command)
        except OSError as exc:
            raise self._fail("turned on", exc) from None
        self._forget_approval(reg)
        self._remove_legacy_file()
        return self.location

    def disable(self) -> bool:
        reg = self._winreg()
        removed = False
        try:
            with reg.OpenKey(reg.HKEY_CURRENT_USER, RUN_KEY, 0, reg.KEY_SET_VALUE) as key:
                reg.DeleteValue(key, APP_NAME)
            removed = True
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise self._fail("turned off", exc) from None
        self._forget_approval(reg)
        return self._remove_legacy_file() or removed

    def _forget_approval(self, reg: Any) -> None:
        """Drop Settings' on/off record, so "on" means on (as Hidden=true is dropped on Linux)."""
        try:
            with reg.OpenKey(reg.HKEY_CURRENT_USER, APPROVED_KEY, 0, reg.KEY_SET_VALUE) as key:
                reg.DeleteValue(key, APP_NAME)
        except OSError:
            pass

    def _remove_legacy_file(self) -> bool:
        """Remove the Startup-folder batch file an older trayapp wrote (only if it is ours)."""
        try:
            if MARKER.encode() not in self.path.read_bytes():
                return False
            self.path.unlink()
        except OSError:
            return False
        return True


LoginStart = XdgAutostart | LaunchAgentAutostart | RunKeyAutostart
_BY_PLATFORM: dict[str, type[XdgAutostart] | type[LaunchAgentAutostart] | type[RunKeyAutostart]] = {
    "darwin": LaunchAgentAutostart,
    "win32": RunKeyAutostart,
}


def Autostart(platform: str | None = None, **options: Any) -> LoginStart:
    """Login start for *platform* (default: this one): the one place that picks by platform."""
    chosen = platform or sys.platform
    return _BY_PLATFORM.get(chosen, XdgAutostart)(platform=chosen, **options)


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


def enable() -> Path | str:
    return Autostart().enable()


def disable() -> bool:
    return Autostart().disable()
