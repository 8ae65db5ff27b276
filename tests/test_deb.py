"""The .deb that ``bash packaging/release.sh`` makes, as a person installs it (slow tier).

release.sh runs in a copy of the repository as a fresh clone has it; the package's contents are
read with dpkg-deb, lintian must report no error, and the round trip runs in a fresh Debian 12 root
(tests/support/debroot.py, never this machine's system): ``apt install ./….deb`` gives
/usr/bin/trayapp, which prints its version, lists the profiles and starts the tray on a
StatusNotifierItem panel (tests/support/deb_tray_check.py); ``apt purge`` (and autoremove of what
it pulled in) leaves not one file of it behind.  ``TRAYAPP_DEB_LOGS=DIR`` keeps the install, start
and purge output.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import debroot
from tests.support.checkout import fresh_checkout
from trayapp import __version__

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "aws-session-tray"
HICOLOR_SIZES = (16, 22, 24, 32, 48, 64, 128, 256)


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dist/ of ``bash packaging/release.sh`` run in a fresh copy of the repository."""
    for tool in ("dpkg-deb", "git"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    checkout = fresh_checkout(tmp_path_factory.mktemp("release") / "trayapp")
    env = {**os.environ, "PYTHON": sys.executable}
    result = subprocess.run(["bash", "packaging/release.sh"], cwd=checkout, env=env, capture_output=True,
                            text=True, timeout=1800)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    print(result.stdout)
    return checkout / "dist"


@pytest.fixture(scope="module")
def deb(release: Path) -> Path:
    return release / f"{PACKAGE}_{__version__}_{subprocess.getoutput('dpkg --print-architecture')}.deb"


def test_release_writes_the_wheel_the_sdist_and_the_deb_named_aws_session_tray(release: Path) -> None:
    assert sorted(p.name for p in release.iterdir()) == sorted(
        [
            f"aws_session_tray-{__version__}-py3-none-any.whl",
            f"aws_session_tray-{__version__}.tar.gz",
            f"{PACKAGE}_{__version__}_{subprocess.getoutput('dpkg --print-architecture')}.deb",
        ]
    )


def test_the_deb_holds_the_command_the_desktop_entry_the_icons_and_no_bytecode(deb: Path) -> None:
    listing = subprocess.run(["dpkg-deb", "--contents", deb], capture_output=True, text=True, check=True).stdout
    paths = {line.split()[5].removeprefix(".") for line in listing.splitlines()}
    assert {"/usr/bin/trayapp", "/usr/share/applications/trayapp.desktop"} <= paths
    assert {f"/usr/share/icons/hicolor/{s}x{s}/apps/trayapp.png" for s in HICOLOR_SIZES} <= paths
    assert {f"/usr/share/doc/{PACKAGE}/copyright", f"/usr/share/doc/{PACKAGE}/changelog.gz"} <= paths
    assert f"/opt/{PACKAGE}/lib/python3.11/site-packages/trayapp/locale/ja/LC_MESSAGES/trayapp.mo" in paths
    assert not [p for p in paths if "__pycache__" in p or p.endswith(".pyc")], "bytecode is compiled on the target"
    # The command runs the package's own environment, isolated from the folder it is started in.
    tar = subprocess.run(["dpkg-deb", "--fsys-tarfile", deb], capture_output=True, check=True).stdout
    script = subprocess.run(["tar", "-xO", "./usr/bin/trayapp"], input=tar, capture_output=True, check=True).stdout
    assert script.decode().startswith(f"#!/opt/{PACKAGE}/bin/python3 -I\n")
    control = subprocess.run(["dpkg-deb", "--field", deb], capture_output=True, text=True, check=True).stdout
    assert f"Version: {__version__}\n" in control and "python3-tk" in control


def test_lintian_finds_no_error_in_the_deb(deb: Path) -> None:
    if shutil.which("lintian") is None:
        pytest.skip("lintian is not installed (apt-get install lintian)")
    result = subprocess.run(["lintian", "--tag-display-limit", "0", deb], capture_output=True, text=True)
    errors = [line for line in result.stdout.splitlines() if line.startswith("E:")]
    assert not errors, "\n".join(errors)


@pytest.fixture
def debian(tmp_path: Path) -> Iterator[debroot.DebianRoot]:
    why = debroot.available()
    if why:
        pytest.skip(f"a fresh Debian root {why}")
    logs = Path(os.environ.get("TRAYAPP_DEB_LOGS") or tmp_path)
    logs.mkdir(parents=True, exist_ok=True)
    root = debroot.DebianRoot(tmp_path / "root", logs / "deb-roundtrip.log")
    (tmp_path / "root").mkdir()
    try:
        yield root.create()
    finally:
        root.close()


def test_apt_install_gives_a_working_tray_and_apt_purge_removes_every_file(
    deb: Path, debian: debroot.DebianRoot
) -> None:
    check = debian.path / "root/check"
    shutil.copytree(ROOT / "tests" / "support", check / "tests" / "support")
    (check / "tests" / "__init__.py").touch()
    shutil.copy(deb, check / deb.name)
    # What the check itself needs (a bus and a display), installed first: not part of the comparison.
    debian.run("apt-get update -qq && apt-get install -y -qq --no-install-recommends dbus-daemon xvfb")
    before = debian.files()

    debian.run(f"apt-get install -y --no-install-recommends /root/check/{deb.name}")
    assert debian.run("trayapp --version").stdout.strip() == f"trayapp {__version__}"
    listed = debian.run("mkdir -p /tmp/h && HOME=/tmp/h trayapp list").stdout
    assert listed.startswith("No role profiles in /tmp/h/.aws/config"), listed
    tray = debian.run("cd /root/check && PYTHONPATH=/root/check /opt/aws-session-tray/bin/python3 "
                      "-m tests.support.deb_tray_check")  # fmt: skip
    assert "registered:" in tray.stdout and "tray exit status: 0" in tray.stdout, tray.stdout
    installed = set(debian.run(f"dpkg -L {PACKAGE}").stdout.split())
    assert "/usr/bin/trayapp" in installed

    # autoremove: what the install pulled in goes too (python3 itself Suggests python3-tk, which apt
    # would otherwise keep), so the whole root can be compared with its state before the install.
    no_weak = "-o APT::AutoRemove::SuggestsImportant=false -o APT::AutoRemove::RecommendsImportant=false"
    debian.run(f"apt-get purge -y {PACKAGE} && apt-get autoremove --purge -y {no_weak}")
    left = sorted(debian.files() - before)
    assert not left, f"left after apt purge: {left[:20]}"
    assert not (debian.path / "opt" / PACKAGE).exists()
