"""Start the applet's small Tk helper programs as child processes.

The tray process never imports tkinter: pystray must own the main thread (on
macOS), and Tk must own the thread it was created on.  So every Tk window —
the MFA dialog, the popup menu of backends without menus, the clipboard
holder — is ``python -m trayapp.<module>``, speaking JSON lines on its
standard input and output.  Secrets (MFA codes) only ever travel on those
pipes, never on a command line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import trayapp

#: The folder holding the ``trayapp`` package, so a child finds it even when
#: the applet runs from a source checkout that is not installed.
_PACKAGE_PARENT = str(Path(trayapp.__file__).resolve().parent.parent)


def child_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if _PACKAGE_PARENT not in paths:
        env["PYTHONPATH"] = os.pathsep.join([_PACKAGE_PARENT, *paths])
    return env


def spawn(
    module: str, *args: str, stdout: int | None = subprocess.PIPE, env: Mapping[str, str] | None = None
) -> subprocess.Popen[str]:
    """``python -m trayapp.<module> ARGS`` with pipes for JSON lines (*env*: default ours)."""
    return subprocess.Popen(
        [sys.executable, "-m", f"trayapp.{module}", *args],
        stdin=subprocess.PIPE,
        stdout=stdout,
        text=True,
        encoding="utf-8",
        bufsize=1,
        env=child_env(env),
        close_fds=True,
    )


def send(stream: IO[str] | None, message: Mapping[str, Any]) -> bool:
    """Write one JSON line; False when the other side has gone away."""
    if stream is None:
        return False
    try:
        stream.write(json.dumps(message) + "\n")
        stream.flush()
    except (BrokenPipeError, OSError, ValueError):
        return False
    return True


def receive(stream: IO[str] | None) -> dict[str, Any] | None:
    """Read one JSON object line; None at end of file or on garbage."""
    if stream is None:
        return None
    try:
        line = stream.readline()
    except (OSError, ValueError):
        return None
    if not line:
        return None
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def print_message(message: Mapping[str, Any]) -> None:
    """The child's side of :func:`receive`."""
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()
