"""Ways of asking for an MFA code, behind one small interface.

The core asks an :class:`MfaPrompt`; which one is the caller's choice: the Tk dialog (the tray's
``trayapp.tray.dialog_prompt``), the terminal, a code given once on the command line, nobody at all
(a clear failure), or silence (a renewal that must not interrupt anyone).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, TextIO

from trayapp.core import errors
from trayapp.i18n import _


@dataclass(frozen=True)
class MfaRequest:
    """What a prompt shows: never a secret."""

    profile: str
    role_arn: str
    mfa_serial: str
    #: The profile's ``mfa_process`` command line (never shown: it may hold anything).
    mfa_process: str | None = field(default=None, repr=False)


class MfaPrompt(Protocol):
    """Asks the user for a code.

    ``error`` is the sentence explaining why the previous code failed (shown
    inline, the prompt stays open for another try).  Returns the code as
    typed, or ``None`` when the user cancels.  ``close()`` ends the exchange.
    """

    def ask(self, request: MfaRequest, error: str | None = None) -> str | None: ...

    def close(self) -> None: ...


class CodeOnce:
    """The code given on the command line: one try; a failure ends the command."""

    def __init__(self, code: str) -> None:
        self._code: str | None = code

    def ask(self, request: MfaRequest, error: str | None = None) -> str | None:
        code, self._code = self._code, None
        return code

    def close(self) -> None:
        self._code = None


class TerminalPrompt:
    """Asks on the terminal, without echo; three tries."""

    def __init__(self, tries: int = 3, reader: Callable[[str], str] | None = None, out: TextIO = sys.stderr) -> None:
        import getpass

        self._tries = tries
        self._read = reader or getpass.getpass
        self._out = out

    def ask(self, request: MfaRequest, error: str | None = None) -> str | None:
        if error:
            print(f"trayapp: {error}", file=self._out)
        if self._tries <= 0:
            return None
        self._tries -= 1
        try:
            question = _("MFA code for {profile} ({mfa_serial}): ")
            return self._read(question.format(profile=request.profile, mfa_serial=request.mfa_serial))
        except (EOFError, KeyboardInterrupt):
            return None

    def close(self) -> None:
        pass


def has_display(
    environ: Mapping[str, str] | None = None,
    platform: str | None = None,
    session_id: Callable[[], int | None] | None = None,
) -> bool:
    """Whether a window opened now would be seen by the user running this command.

    Linux and other X11/Wayland systems: ``DISPLAY`` or ``WAYLAND_DISPLAY``.  macOS and Windows
    always have a desktop, but not for a command run over SSH (``SSH_CONNECTION``, ``SSH_TTY``,
    ``SSH_CLIENT``), nor on Windows for a process in session 0 (services, scheduled tasks run
    without a logged-on desktop): then the terminal prompt (or a clear failure) is used instead.
    """
    env = os.environ if environ is None else environ
    plat = sys.platform if platform is None else platform
    if plat not in ("darwin", "win32"):
        return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))
    if any(env.get(name) for name in ("SSH_CONNECTION", "SSH_TTY", "SSH_CLIENT")):
        return False
    if plat == "win32":
        session = (session_id or _windows_session_id)()
        if session == 0:
            return False
    return True


def _windows_session_id() -> int | None:
    """This process's Terminal Services session (0: services, no interactive desktop); None if unknown."""
    try:
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        session = ctypes.c_ulong()
        if not kernel32.ProcessIdToSessionId(kernel32.GetCurrentProcessId(), ctypes.byref(session)):
            return None
        return int(session.value)
    except (AttributeError, OSError, ImportError):
        return None


class NoPrompt:
    """Nobody to ask (no display, no terminal): a code needed is a clear failure."""

    def ask(self, request: MfaRequest, error: str | None = None) -> str | None:
        if error:
            return None
        raise errors.NoPrompt(profile=request.profile)

    def close(self) -> None:
        pass


class SilentPrompt:
    """For silent renewal: never shows anything; a needed code means "not now"."""

    def ask(self, request: MfaRequest, error: str | None = None) -> str | None:
        return None

    def close(self) -> None:
        pass
