"""A second local user for tests that run as root: a real other uid through ``setpriv``."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

#: ``nobody`` on Debian: a uid that owns nothing of the test's.
OTHER = 65534

needs_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root and setpriv to act as a second local user",
)


def as_other(uid: int = OTHER) -> list[str]:
    """The argv prefix that runs a command as *uid* (its own group, no supplementary groups)."""
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]


def run_as(uid: int, *command: str) -> subprocess.CompletedProcess[str]:
    """Run *command* as *uid*; it must succeed."""
    return subprocess.run([*as_other(uid), *command], check=True, capture_output=True, text=True, timeout=30)


@contextlib.contextmanager
def walkable_home(prefix: str = "trayapp-other-user-") -> Iterator[Path]:
    """A HOME the other user can walk into (pytest's tmp_path is private to root), with ``.aws`` 0700;
    removed afterwards."""
    top = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        top.chmod(0o755)
        home = top / "home"
        home.mkdir(mode=0o755)
        (home / ".aws").mkdir(mode=0o700)
        yield home
    finally:
        shutil.rmtree(top)
