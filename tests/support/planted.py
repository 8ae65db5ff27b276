"""A shared folder (mode 1777, like ``/tmp``) in which another local user — a real second uid,
through ``setpriv`` — left a ``trayapp/`` package of their own (and a ``moto/``).

Every module of that package appends its name to a marker file (outside the folder) when it is
imported or run; its ``__main__`` also prints process credentials of its own, as an attacker's
would.  A test runs trayapp in the folder and asserts the marker never appears.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

OTHER = 65534

needs_second_uid = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root and setpriv to act as a second local user",
)

_PLANT = r"""
import os, sys
marker = sys.argv[1]
note = "open({m!r}, 'a').write({name!r} + ' ')\n"
files = {
    "trayapp/__init__.py": note.format(m=marker, name="trayapp"),
    "trayapp/__main__.py": note.format(m=marker, name="trayapp.__main__")
    + 'print(\'{"Version": 1, "AccessKeyId": "AKIAPLANTEDPLANTED00", "SecretAccessKey": "planted"}\')\n',
    "trayapp/tk/__init__.py": note.format(m=marker, name="trayapp.tk"),
    "moto/__init__.py": note.format(m=marker, name="moto"),  # what `trayapp demo` starts
}
for name in ("dialog", "popup_menu", "clipboard", "message_box", "prefs_window"):
    files[f"trayapp/tk/{name}.py"] = note.format(m=marker, name="trayapp.tk." + name)
for path, text in files.items():
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
"""


@dataclass
class PlantedFolder:
    folder: Path
    marker: Path

    def ran(self) -> list[str]:
        """The planted modules that ran (as anyone), in order."""
        return self.marker.read_text().split() if self.marker.exists() else []


@contextmanager
def planted_folder() -> Iterator[PlantedFolder]:
    """A 1777 folder holding another user's ``trayapp/`` package, and where it would leave its mark."""
    top = Path(tempfile.mkdtemp(prefix="trayapp-shared-"))
    try:
        top.chmod(0o755)
        shared = top / "shared"
        shared.mkdir()
        shared.chmod(0o1777)
        marker = top / "planted-code-ran"
        as_other = ["setpriv", f"--reuid={OTHER}", f"--regid={OTHER}", "--clear-groups"]
        subprocess.run(
            [*as_other, "/usr/bin/python3", "-I", "-c", _PLANT, str(marker)],
            cwd=shared,
            check=True,
            capture_output=True,
            timeout=30,
        )
        assert (shared / "trayapp" / "__init__.py").stat().st_uid == OTHER
        yield PlantedFolder(shared, marker)
    finally:
        shutil.rmtree(top, ignore_errors=True)


def scriptless_python(folder: Path) -> Path:
    """A venv Python with no ``trayapp`` script beside it (as ``pip install --user`` leaves the system
    Python): it sees this checkout's dependencies through a ``.pth`` file, and finds trayapp only
    where it is told (``PYTHONPATH``, or the folder it runs in)."""
    venv = folder / "scriptless-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    ours = sysconfig.get_paths()["purelib"]
    Path(purelib, "deps-of-the-checkout.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    assert not (venv / "bin" / "trayapp").exists()
    return python
