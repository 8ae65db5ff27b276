"""Whether this Python has Tk, and the one sentence that says how to add it.

Every trayapp window (the MFA dialog, the popup menu on an XEmbed tray, the preferences, the
clipboard holder, the message box) is ``python -m trayapp.tk.NAME``.  A Python built or packaged
without Tk (Debian's ``python3`` without ``python3-tk``, the Python pipx picks) would print
``ModuleNotFoundError: No module named 'tkinter'`` from each of them.  :func:`problem` tells it
before a child is started, without importing tkinter (the tray never loads a GUI toolkit itself):
tkinter's package and its ``_tkinter`` extension are looked up, not loaded.  A Tk that is found but
can't load (a missing ``libtk``) is caught by the child itself (``trayapp/tk/__init__.py``), which
then says the same sentence and exits with :data:`EXIT_NO_TK`.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from collections.abc import Mapping

from trayapp.core.errors import TrayappError
from trayapp.i18n import _

#: The exit status of a ``trayapp.tk`` program that found no Tk.
EXIT_NO_TK = 4


class TkMissing(TrayappError):
    template = "Tk (tkinter) is missing from this Python, and trayapp needs it for its windows; install it: {fix}."


class TkMissingNoMenu(TkMissing):
    template = (
        "Tk (tkinter) is missing from this Python, so the icon on this XEmbed tray has no menu and trayapp "
        "can't open its windows; install it: {fix}."
    )


def tk_found() -> bool:
    """Whether tkinter and ``_tkinter`` can be found (nothing is imported).  An empty or
    half-removed ``tkinter`` folder reads as a namespace package (no ``__init__``): not found."""
    try:
        package = importlib.util.find_spec("tkinter")
        extension = importlib.util.find_spec("_tkinter")
    except (ImportError, ValueError):
        return False
    return package is not None and package.origin is not None and extension is not None


@functools.cache
def _found_here() -> bool:
    return bool(getattr(sys, "frozen", False)) or tk_found()


def problem() -> TkMissing | None:
    """The error to raise when this Python has no Tk (looked up once per process), else None.
    A frozen build carries its own Tk or not: its children say so themselves."""
    return None if _found_here() else TkMissing(fix=fix())


def fix(
    platform: str | None = None,
    os_release: Mapping[str, str] | None = None,
    base_prefix: str | None = None,
    version: tuple[int, int] | None = None,
) -> str:
    """How to add Tk to this Python, in the words of its platform."""
    platform = platform or sys.platform
    prefix = base_prefix if base_prefix is not None else sys.base_prefix
    major, minor = version or sys.version_info[:2]
    release = f"{major}.{minor}"
    if platform == "win32":
        return _(
            "run the python.org installer of Python {version} again, choose Modify and tick 'tcl/tk and IDLE'"
        ).format(version=release)
    if platform == "darwin":
        if "/Cellar/" in prefix or prefix.startswith(("/opt/homebrew", "/usr/local/opt")):
            return f"brew install python-tk@{release}"
        return _("run the python.org installer of Python {version} again (it includes Tcl/Tk)").format(version=release)
    if not prefix.startswith("/usr") or prefix.startswith("/usr/local"):
        return _(
            "this Python ({prefix}) was built without Tk: install Tk's development files (tk-dev on Debian "
            "and Ubuntu) and build it again, or run trayapp with your system's Python"
        ).format(prefix=prefix)
    ids = _distribution(os_release)
    if ids & {"debian", "ubuntu"}:
        return "sudo apt install python3-tk"
    if ids & {"fedora", "rhel", "centos"}:
        return "sudo dnf install python3-tkinter"
    if ids & {"arch"}:
        return "sudo pacman -S tk"
    return _(
        "your system's Tk package for Python (python3-tk on Debian and Ubuntu, python3-tkinter on Fedora, tk on Arch)"
    )


def _distribution(os_release: Mapping[str, str] | None) -> set[str]:
    """ID and ID_LIKE of ``/etc/os-release`` (lower case words)."""
    if os_release is None:
        import platform

        try:
            os_release = platform.freedesktop_os_release()
        except OSError:
            os_release = {}
    words = f"{os_release.get('ID', '')} {os_release.get('ID_LIKE', '')}".lower().split()
    return set(words)
