"""Installed as people install it: ``pipx install`` of the release's wheel, no gtk extra, no PyGObject.

One test builds the wheel from a fresh copy of the repository as ``packaging/release.sh`` does (PyPA's
``build``), installs it for real into a fresh pipx home (pip's cache makes it 10-35 s here)
and runs the installed ``trayapp`` entry point on a private desktop whose session bus has a
StatusNotifierWatcher (tests/support/sni_host.py, standing in for KDE's, Xfce's, GNOME's extension's or
waybar's): the full menu reaches the panel over dbusmenu, "Assume role" opens the dialog and the session
is written.  Two cheaper tests hold the same promise without installing: the package's metadata pulls in
no PyGObject unless the ``gtk`` extra is asked for, and with PyGObject unimportable the tray still picks
its StatusNotifierItem backend when a watcher is on the bus.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.support.checkout import fresh_checkout
from tests.support.desktop import Desktop
from tests.support.dialog import find_window, press, type_into
from tests.support.fixtures import require_tools
from tests.support.sni_host import Host, Watcher
from tests.support.sts import MotoServer
from tests.support.tray_desktop import aws_env, exit_status, wait_for, write_aws_files

ROOT = Path(__file__).resolve().parents[1]
PYGOBJECT = {"pygobject", "gi"}
GTK_LIBRARIES = ("libgtk-3", "_gi.cpython", "libgobject-2", "libayatana-appindicator")
#: The tray as ``trayapp`` runs it, with PyGObject unimportable (a pipx venv has none).
NO_GI_TRAY = "import sys; sys.modules['gi'] = None; from trayapp.cli import main; sys.exit(main([]))"


def root_labels(host: Host) -> list[str]:
    return [item.label for item in host.layout(0)[1].children if not item.separator]


def test_the_metadata_pulls_in_pygobject_only_with_the_gtk_extra() -> None:
    requirements = [Requirement(r) for r in importlib.metadata.requires("aws-session-tray") or []]
    plain = {r.name.lower() for r in requirements if not r.marker or "extra" not in str(r.marker)}
    gtk = {r.name.lower() for r in requirements if r.marker and r.marker.evaluate({"extra": "gtk"})} - plain
    assert {"pystray", "jeepney", "keyring"} <= plain  # the SNI tray and its one D-Bus library
    assert not plain & PYGOBJECT, "a plain install would pull in PyGObject (a C build on most Linux systems)"
    assert {r.lower() for r in gtk} == {"pygobject"}


@pytest.fixture
def watcher(desktop: Desktop) -> Iterator[Watcher]:
    """A panel's StatusNotifierWatcher on the desktop's session bus."""
    assert desktop.bus_address is not None
    running = Watcher(desktop.bus_address).start()
    yield running
    running.stop()


def start_desktop_tray(
    desktop: Desktop, watcher: Watcher, command: list[str], sts_url: str
) -> tuple[subprocess.Popen[bytes], Host]:
    """*command* started on *desktop*; the host that reads the item it registers, its roles shown."""
    assert desktop.bus_address is not None
    write_aws_files(desktop.home)
    tray = desktop.spawn(command, env=aws_env(desktop, sts_url), name="tray")
    name, path = watcher.wait_for_item(timeout=30)
    host = Host(desktop.bus_address, name, path)
    wait_for("the roles in the menu", lambda: "prod — needs MFA" in root_labels(host), 20, desktop)
    return tray, host


@pytest.mark.desktop
def test_without_pygobject_the_tray_is_a_status_notifier_item(
    desktop: Desktop, watcher: Watcher, moto_sts: MotoServer
) -> None:
    tray, host = start_desktop_tray(desktop, watcher, [sys.executable, "-c", NO_GI_TRAY], moto_sts.url)
    try:
        assert host.properties()["Menu"] == "/MenuBar"
        assert "dev" in root_labels(host)
        host.click(host.find("Quit"))
        assert exit_status(tray, desktop) == 0, desktop.log("tray")
    finally:
        host.close()


def _pipx_install(source: Path, where: Path) -> Path:
    """``pipx install SOURCE`` into a home of its own (a venv + pip where pipx is missing); the
    installed ``trayapp``."""
    if shutil.which("pipx"):
        env = dict(os.environ, PIPX_HOME=str(where / "pipx"), PIPX_BIN_DIR=str(where / "bin"))
        subprocess.run(["pipx", "install", str(source)], env=env, check=True, capture_output=True, timeout=900)
        return where / "bin" / "trayapp"
    venv = where / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run([venv / "bin" / "pip", "install", "-q", str(source)], check=True, capture_output=True, timeout=900)
    return venv / "bin" / "trayapp"


@pytest.mark.desktop
def test_pipx_install_gives_the_full_menu_on_a_status_notifier_panel(
    desktop: Desktop, watcher: Watcher, moto_sts: MotoServer, tmp_path: Path
) -> None:
    require_tools("git")
    checkout = fresh_checkout(tmp_path / "trayapp")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path / "dist"), str(checkout)],
                   check=True, capture_output=True, timeout=600)  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("aws_session_tray-*.whl")
    trayapp = _pipx_install(wheel, tmp_path / "installed")
    python = trayapp.resolve().parent / "python"
    missing = subprocess.run([python, "-c", "import gi"], capture_output=True, text=True)
    assert "No module named 'gi'" in missing.stderr, "the install pulled in PyGObject"

    tray, host = start_desktop_tray(desktop, watcher, [str(trayapp)], moto_sts.url)
    try:
        prod = host.layout(host.find("prod — needs MFA").id)[1].children
        assert prod[0].label == "Assume role"
        host.click(prod[0])
        find_window(desktop, timeout=20)
        type_into(desktop, "123456")
        press(desktop, "Return")
        credentials = desktop.home / ".aws" / "credentials"
        wait_for("[prod-session] written by the installed tray", lambda: "[prod-session]" in credentials.read_text(),
                 20, desktop)  # fmt: skip
        maps = Path(f"/proc/{tray.pid}/maps").read_text()
        assert not [lib for lib in GTK_LIBRARIES if lib in maps], "the installed tray loaded GTK"
        host.click(host.find("Quit"))
        assert exit_status(tray, desktop) == 0, desktop.log("tray")
    finally:
        host.close()
