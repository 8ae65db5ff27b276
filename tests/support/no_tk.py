"""A Python without Tk, for one command: this Python's ``tkinter`` folder hidden under an empty one.

``unshare -m`` gives the command a mount namespace of its own (private propagation), where an empty
folder is bind-mounted over the standard library's ``tkinter``: that command and every child it starts
see a Python with no tkinter (``import tkinter`` finds an empty namespace package, as a half-removed
``python3-tk`` leaves it), while the machine and the other tests keep theirs.  Needs root (tests run
as root here) and util-linux's ``unshare``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest

MOUNT = 'mount --bind "$1" "$2" && shift 2 && exec "$@"'


def tkinter_folder() -> str:
    import tkinter

    return os.path.dirname(tkinter.__file__)


def require() -> None:
    """Skip where a mount namespace can't be made (not root, no unshare)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("mount") is None:
        pytest.skip("hiding tkinter needs root and util-linux's unshare")


def without_tk(argv: Sequence[str], empty: Path) -> list[str]:
    """*argv* run in a mount namespace where this Python's tkinter folder is the empty folder *empty*."""
    empty.mkdir(exist_ok=True)
    return ["unshare", "-m", "sh", "-c", MOUNT, "sh", str(empty), tkinter_folder(), *argv]
