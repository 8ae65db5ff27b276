"""What the three PyInstaller recipes (Linux onefile, macOS app, Windows folder) share.

Each ``.spec`` puts this folder on ``sys.path`` and builds its ``Analysis`` from :func:`analysis`;
only what differs per platform (extra hidden imports, excludes, the executables) stays in the spec.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def version(root: Path) -> str:
    """``trayapp.__version__``, read without importing the package (the one place it is written)."""
    match = re.search(r'__version__ = "([^"]+)"', (root / "trayapp" / "__init__.py").read_text())
    assert match is not None
    return match.group(1)


def analysis(
    root: Path, *, hidden: Iterable[str] = (), excludes: Iterable[str] = ()
) -> tuple[list[str], dict[str, Any]]:
    """``Analysis``'s scripts and keyword arguments: the shared entry point, every trayapp module
    (the Tk helpers are started by module name, ``-m trayapp.tk.dialog``, which no import shows;
    the demo, which needs moto, is left out), pystray's backends, and the Japanese catalogue
    (gettext: without it a frozen build speaks English only)."""
    from PyInstaller.utils.hooks import collect_submodules

    modules = collect_submodules("trayapp", filter=lambda name: name != "trayapp.cli.demo")
    modules += collect_submodules("pystray") + list(hidden)
    catalogue = "trayapp/locale/ja/LC_MESSAGES"
    return [str(root / "packaging" / "frozen_entry.py")], {
        "pathex": [str(root)],
        "datas": [(str(root / catalogue / "trayapp.mo"), catalogue)],
        "hiddenimports": modules,
        "excludes": list(excludes),
    }
