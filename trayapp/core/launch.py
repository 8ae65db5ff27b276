"""How trayapp runs Python again: its Tk children, and the command lines it writes for other programs.

``python -m trayapp…`` puts the current folder first on ``sys.path`` and honours ``PYTHONPATH``
and the other ``PYTHON*`` variables: a ``trayapp/`` package another user leaves in a shared
folder (``/tmp``, a shared checkout) would run as you — in the tray's folder for a Tk child, in
*the caller's* folder for a ``credential_process`` line the ``aws`` CLI runs.  So every
interpreter trayapp starts or writes down is isolated (``-I``: no current folder, no ``PYTHON*``
variables, no user site) and told where *this* trayapp lives, by absolute path::

    python -I -c BOOT /abs/folder/holding/trayapp trayapp.tk.dialog ARGS

``BOOT`` puts that folder on ``sys.path`` (unless it is there already) and runs the module as
``-m`` would.  A frozen build (PyInstaller) has no interpreter and no such path: its executable
understands ``-m trayapp.MOD`` itself (``packaging/frozen_entry.py``) and runs only its own
modules.  This module imports nothing beyond the standard library.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

#: Run as ``python -I -c BOOT FOLDER MODULE ARGS``: FOLDER first on the path, then MODULE as ``-m``
#: would (``__name__`` is ``"__main__"`` under ``-c``).  No quotes, so it reads plainly in every
#: format it is written into (shell, desktop entry, Windows command line).
BOOT = (
    "import runpy,sys;p=sys.argv.pop(1);p in sys.path or sys.path.insert(0,p);"
    "runpy.run_module(sys.argv.pop(1),run_name=__name__,alter_sys=True)"
)


def package_parent() -> str:
    """The absolute folder holding the running ``trayapp`` package."""
    import trayapp

    return str(Path(trayapp.__file__).resolve().parent.parent)


def frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def module_argv(module: str, executable: str | None = None, *, is_frozen: bool | None = None) -> list[str]:
    """The command that runs trayapp's *module* (``trayapp`` or ``trayapp.X``) as ``python -m`` would,
    wherever it is started from."""
    executable = executable or sys.executable
    if frozen() if is_frozen is None else is_frozen:
        return [executable, "-m", module]
    return [executable, "-I", "-c", BOOT, package_parent(), module]


def trayapp_argv(executable: str | None = None, argv0: str | None = None) -> list[str]:
    """How another program runs this trayapp: the frozen executable, the ``trayapp`` script this
    process was started as or that sits beside Python, else the isolated :func:`module_argv`."""
    executable = executable or sys.executable
    if frozen():
        return [executable]
    argv0 = sys.argv[0] if argv0 is None and sys.argv else argv0
    for candidate in (argv0, str(Path(executable).with_name("trayapp"))):
        if not candidate:
            continue
        script = Path(candidate)
        if script.stem == "trayapp" and script.is_file() and os.access(script, os.X_OK):
            return [str(script.resolve())]
    return module_argv("trayapp", executable)


def runs_from_cwd(command: str) -> bool:
    """True for a command line an older trayapp wrote that imports from its caller's folder
    (``…python -m trayapp …`` without ``-I``)."""
    try:
        argv = shlex.split(command, posix=os.name != "nt")
    except ValueError:
        return False
    options = argv[1 : argv.index("-m")] if "-m" in argv else None
    return options is not None and not any(o == "-I" or (o.startswith("-") and "I" in o[1:]) for o in options)
