"""The core imports no GUI toolkit, and the start path does not pay for boto3."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import trayapp.core


def loaded_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(out.split())


def test_the_core_loads_no_gui_toolkit() -> None:
    names = [f"trayapp.core.{m.name}" for m in pkgutil.iter_modules(trayapp.core.__path__)]
    assert "trayapp.core.service" in names
    modules = loaded_after("\n".join(f"import {n}" for n in names))
    assert {"tkinter", "_tkinter", "pystray", "PIL"} & modules == set()


def test_listing_roles_does_not_import_boto3_or_keyring() -> None:
    modules = loaded_after(
        "from trayapp.core.service import Service\nService(environ={'HOME': '/nonexistent'}).roles()"
    )
    assert "boto3" not in modules
    assert "botocore.client" not in modules
    assert "keyring" not in modules
