"""The repository's files as a fresh clone has them (no .venv, no build folders), for tests that
install or build the project as a person does: ``pipx install`` of a checkout, ``packaging/release.sh``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def fresh_checkout(dest: Path) -> Path:
    """Copy every file ``git ls-files`` lists into *dest*; returns *dest*."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
    for name in filter(None, files.decode().split("\0")):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest
