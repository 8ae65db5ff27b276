"""Environment-variable lines in the user's shell: POSIX sh, fish, PowerShell, cmd.

``trayapp env`` prints lines to evaluate, the menu copies ``AWS_PROFILE=…`` lines and
``trayapp assume`` tells how to use the session: each in the syntax of the shell the
user will paste into.

* POSIX (sh, bash, zsh, …): ``export X='…'``  — ``eval "$(trayapp env prod)"``
* fish: ``set -gx X '…'``                         — ``trayapp env prod | source``
* PowerShell: ``$Env:X = "…"``                    — ``trayapp env prod | Invoke-Expression``
* cmd: ``set X=…``                                — ``for /f "delims=" %i in ('trayapp env prod') do %i``

Which shell (:func:`detect`), in this order:

1. ``TRAYAPP_SHELL`` (a name of :data:`NAMES`: one of :data:`SHELLS` or a shell's own name such
   as ``sh``, ``bash``, ``pwsh``), for a user whose guess below is wrong (``trayapp env --shell``,
   which takes the same names, overrides everything for one command).  Any other value is
   :class:`UnknownShell` for ``detect(strict=True)`` (``trayapp env`` says so in one sentence)
   and ignored elsewhere;
2. ``SHELL``, on every platform (on Windows it is set only by Git Bash, MSYS2, Cygwin):
   ``fish`` → fish, ``pwsh``/``powershell`` → PowerShell, anything else → POSIX;
3. Windows without ``SHELL``: ``PSModulePath`` alone proves nothing — modern Windows sets it
   system-wide, so cmd.exe has it too — but PowerShell (5.1 and 7) adds the *user's* module
   folder (under ``USERPROFILE``, e.g. ``…\\Documents\\PowerShell\\Modules``) when it starts, and
   its children inherit that: such an entry → PowerShell.  Else ``PROMPT`` (which cmd.exe sets
   for its children) → cmd.  Else (started by Explorer, like the tray) → PowerShell, the shell
   of Windows Terminal.  A cmd started from inside a PowerShell is taken for PowerShell:
   use ``--shell cmd`` or ``TRAYAPP_SHELL=cmd`` there;
4. elsewhere → POSIX.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from collections.abc import Mapping

POSIX, FISH, POWERSHELL, CMD = "posix", "fish", "powershell", "cmd"
SHELLS = (POSIX, FISH, POWERSHELL, CMD)
ENV_VAR = "TRAYAPP_SHELL"
#: The names ``--shell`` and ``TRAYAPP_SHELL`` take, each for the syntax it means.
ALIASES = {
    POSIX: POSIX,
    "sh": POSIX,
    "bash": POSIX,
    "zsh": POSIX,
    "dash": POSIX,
    "ksh": POSIX,
    FISH: FISH,
    POWERSHELL: POWERSHELL,
    "pwsh": POWERSHELL,
    CMD: CMD,
}
NAMES = tuple(ALIASES)


class UnknownShell(ValueError):
    """A shell name not in :data:`NAMES` (``args`` holds the name)."""


def named(name: str) -> str:
    """The syntax (one of :data:`SHELLS`) *name* stands for; :class:`UnknownShell` when none."""
    try:
        return ALIASES[name.strip().lower()]
    except KeyError:
        raise UnknownShell(name) from None


_PLAIN = re.compile(r"[A-Za-z0-9_./:=+@,-]+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: PowerShell treats the typographic quotes as quotes too.
_PS_DOUBLE_SPECIAL = set('$`"\u201c\u201d\u201e')
_PS_SINGLE = ("'", "\u2018", "\u2019", "\u201a", "\u201b")


def _by_name(program: str) -> str:
    name = re.split(r"[\\/]", program.strip())[-1].lower().removesuffix(".exe")
    if name == "fish":
        return FISH
    if name in ("pwsh", "powershell"):
        return POWERSHELL
    return POSIX


def _powershell_ancestor(env: Mapping[str, str]) -> bool:
    profile = env.get("USERPROFILE", "").rstrip("\\/").lower()
    for entry in env.get("PSModulePath", "").split(";"):
        folder = entry.strip().lower()
        if not folder:
            continue
        if profile and (folder.startswith(profile + "\\") or folder.startswith(profile + "/")):
            return True
        if not profile and "\\documents\\" in folder and folder.endswith("powershell\\modules"):
            return True
    return False


def detect(environ: Mapping[str, str] | None = None, platform: str | None = None, *, strict: bool = False) -> str:
    """The user's shell: one of :data:`SHELLS` (see the module's notes for the rules); with
    *strict*, :class:`UnknownShell` for a ``TRAYAPP_SHELL`` that names none."""
    env = os.environ if environ is None else environ
    plat = sys.platform if platform is None else platform
    forced = env.get(ENV_VAR, "").strip()
    if forced:
        try:
            return named(forced)
        except UnknownShell:
            if strict:
                raise
    if env.get("SHELL"):
        return _by_name(env["SHELL"])
    if plat == "win32":
        if _powershell_ancestor(env):
            return POWERSHELL
        if env.get("PROMPT"):
            return CMD
        return POWERSHELL
    return POSIX


def _fish_quote(value: str) -> str:
    if _PLAIN.fullmatch(value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _powershell_quote(value: str) -> str:
    if not set(value) & _PS_DOUBLE_SPECIAL:
        return f'"{value}"'
    for quote in _PS_SINGLE:
        value = value.replace(quote, quote * 2)
    return f"'{value}'"


def _cmd_value(name: str, value: str) -> str:
    if any(c in value for c in '%"!\r\n') or any(ord(c) < 32 for c in value):
        raise ValueError(f"the value of {name} can't be written for cmd")
    if _PLAIN.fullmatch(value):
        return f"set {name}={value}"
    return f'set "{name}={value}"'  # inside the quotes & | < > ^ ( ) and spaces are plain text


def set_line(name: str, value: str, shell: str = POSIX) -> str:
    """One line (no newline) that sets the environment variable *name* to *value* in *shell*.

    Raises ValueError for a value that shell can't hold safely (cmd: ``%``, ``"``, ``!``,
    control characters) or an unknown shell.
    """
    if not _NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a variable name")
    if shell == POSIX:
        return f"export {name}={shlex.quote(value)}"
    if shell == FISH:
        return f"set -gx {name} {_fish_quote(value)}"
    if shell == POWERSHELL:
        return f"$Env:{name} = {_powershell_quote(value)}"
    if shell == CMD:
        return _cmd_value(name, value)
    raise ValueError(f"unknown shell {shell!r}")
