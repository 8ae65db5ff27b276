"""The Tk programs, each run as a child process (``python -m trayapp.tk.NAME``, see :mod:`trayapp.protocol`):
the only package that imports tkinter (see docs/ARCHITECTURE.md).

Importing this package checks that Tk loads: a Python without it (no ``python3-tk``, a ``tkinter``
folder that is empty, a missing ``libtk``) makes every program here say one sentence naming the fix
and exit with :data:`~trayapp.core.tk_check.EXIT_NO_TK`, never a traceback.
"""

from __future__ import annotations

try:
    import _tkinter  # noqa: F401  (the extension: a missing libtk fails here)
    import tkinter

    tkinter.Tk  # noqa: B018  (an empty tkinter folder imports as a namespace package without it)
except (ImportError, AttributeError):
    from trayapp.core.tk_check import EXIT_NO_TK, TkMissing, fix
    from trayapp.protocol import report

    report(f"trayapp: {TkMissing(fix=fix())}", box=False)
    raise SystemExit(EXIT_NO_TK) from None
