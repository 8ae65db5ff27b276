"""The pipe between a process and its Tk helper programs, and how any process reports a failure.

The tray process never imports tkinter: pystray must own the main thread (on
macOS), and Tk must own the thread it was created on.  So every Tk window —
the MFA dialog, the popup menu of backends without menus, the clipboard
holder — is ``python -m trayapp.tk.<name>``, speaking JSON lines on its
standard input and output.  The interpreter is isolated from the folder it starts
in and from ``PYTHON*`` variables (:func:`trayapp.core.launch.module_argv`): a
``trayapp/`` package planted in a shared folder never runs.  Secrets (MFA codes) only ever travel on those
pipes, never on a command line.

:func:`report` is how the tray and its helpers tell the user about a failure:
on standard error when there is one; in a windowed build (``pythonw``, the
frozen ``trayapp.exe``, an app started from a desktop menu), where
``sys.stderr`` is None or dead, the sentence is appended to ``trayapp.log`` in
the user's log folder (:func:`log_path`) and shown in a small Tk message box —
``python -m trayapp.protocol`` reads the sentence on its standard input.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from trayapp.core import launch, tk_check

#: The folder holding the ``trayapp`` package (a child is told it: it finds this trayapp even
#: when the applet runs from a source checkout that is not installed).
_PACKAGE_PARENT = launch.package_parent()


def child_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """*base* (default: ours) with this trayapp on ``PYTHONPATH``, for a ``python -m trayapp`` the
    caller starts itself; trayapp's own children ignore ``PYTHON*`` variables (:func:`command`)."""
    env = dict(os.environ if base is None else base)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if _PACKAGE_PARENT not in paths:
        env["PYTHONPATH"] = os.pathsep.join([_PACKAGE_PARENT, *paths])
    return env


def command(program: str, *args: str) -> list[str]:
    """The command line of the Tk program *program* (``dialog``, ``popup_menu``…): an isolated
    interpreter that runs this trayapp's ``trayapp.tk.<program>`` whatever the folder.

    Raises :class:`~trayapp.core.tk_check.TkMissing` (the sentence naming the fix) when this
    Python has no Tk: no child is started only to print a traceback."""
    missing = tk_check.problem()
    if missing is not None:
        raise missing
    return [*launch.module_argv(f"trayapp.tk.{program}"), *args]


def spawn(
    program: str, *args: str, stdout: int | None = subprocess.PIPE, env: Mapping[str, str] | None = None
) -> subprocess.Popen[str]:
    """``python -m trayapp.tk.<program> ARGS`` with pipes for JSON lines (*env*: default ours);
    raises ``TkMissing`` as :func:`command` does."""
    return subprocess.Popen(
        command(program, *args),
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


def log_path() -> Path:
    """trayapp's log file (:mod:`trayapp.core.logfile`: Linux ``$XDG_STATE_HOME/trayapp/trayapp.log``,
    macOS ``~/Library/Logs/trayapp/trayapp.log``, Windows ``%LOCALAPPDATA%\\trayapp\\Logs\\trayapp.log``)."""
    from trayapp.core.logfile import log_path as path

    return path()


def report(text: str, *, box: bool = True) -> None:
    """Tell the user *text* (one sentence, never a secret): on stderr, or — with no usable
    stderr — in the log file and (*box*) a message box.  Never raises."""
    stream = sys.stderr
    if stream is not None:
        try:
            stream.write(text + "\n")
            stream.flush()
            return
        except (OSError, ValueError, AttributeError):
            pass  # a closed or broken stderr: as if there were none
    with contextlib.suppress(Exception):
        from trayapp.core.logfile import write_line

        write_line(text)
    if box:
        with contextlib.suppress(Exception):
            child = spawn("message_box", stdout=subprocess.DEVNULL)
            if child.stdin is not None:
                child.stdin.write(text)
                child.stdin.close()


def finish(proc: subprocess.Popen[str], timeout: float) -> bool:
    """End a Tk child: close its pipes (end of input: it exits by itself), wait up to *timeout*
    seconds, kill it if it is still there.  True when it had to be killed."""
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return True
    return False
