"""``trayapp doctor`` against real parts (issue 28): a working desktop (Xvfb, a private session bus, a
notification server, a StatusNotifierWatcher, gnome-keyring, the real tray running) says ok on every
line and exits 0; a broken one (no bus, no tray host, no Tk, a credentials file another user owns
and others can write) names each failure with its fix and exits 1; a bus that never answers costs a
line, not a hang.  The file rules (config 0644 told, credentials readable by others warned, writable
by others blocking) are checked on real files.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import no_tk
from tests.support.desktop import Desktop
from tests.support.fixtures import require_tools
from tests.support.sni_host import Watcher
from tests.support.sts import MotoServer
from tests.support.tray_desktop import aws_env, exit_status, start_tray, write_aws_files
from trayapp.cli import doctor_files
from trayapp.cli.doctor_desktop import FAIL, NOTE, OK, WARN

NOBODY = 65534
CHECKS = ("session bus", "tray backend", "tray host", "notifications", "keyring", "Tk", "botocore", "AWS config file",
          "AWS credentials file", "SSO cache folder", "running tray", "start at login")  # fmt: skip


def doctor(env: dict[str, str], *args: str, argv: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    command = argv or [sys.executable, "-m", "trayapp", "doctor", *args]
    # The timeout only guards the suite: doctor bounds every probe itself (12 s at most).
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)


def lines(out: str) -> dict[str, str]:
    """Each check's line by its name (the second column)."""
    found = {}
    for line in out.splitlines():
        for name in CHECKS:
            if line[6:].startswith(name + " "):  # after the mark's column (ok, note, warn, FAIL)
                found[name] = line
    return found


@pytest.mark.desktop
def test_doctor_on_a_working_desktop_says_ok_on_every_line(moto_sts: MotoServer) -> None:
    require_tools("Xvfb", "dbus-daemon", "trayer", "gnome-keyring-daemon")
    with Desktop(notifications=True, tray=True, keyring=True) as desktop:
        assert desktop.bus_address is not None
        watcher = Watcher(desktop.bus_address).start()
        try:
            write_aws_files(desktop.home)
            (desktop.home / ".aws" / "config").chmod(0o600)
            env = aws_env(desktop, moto_sts.url)
            assert doctor(env, argv=[sys.executable, "-m", "trayapp", "autostart", "on"]).returncode == 0
            tray = start_tray(desktop, env)
            watcher.wait_for_item()
            done = doctor(env)
            print(done.stdout)  # the lead's note: doctor on a working desktop
            tray.terminate()
            exit_status(tray, desktop)
        finally:
            watcher.stop()
    assert done.returncode == 0, done.stdout + done.stderr
    found = lines(done.stdout)
    assert len(found) == 12, done.stdout
    assert all(line.startswith("ok ") for line in found.values()), done.stdout
    assert "StatusNotifierWatcher" in found["tray host"] and "actions" in found["notifications"]
    assert "SecretService" in found["keyring"] and "opens windows" in found["Tk"]
    assert done.stderr == ""


@pytest.mark.desktop
def test_doctor_on_a_broken_desktop_names_each_failure_and_its_fix(tmp_path: Path) -> None:
    """No session bus, no tray host, no Tk, a group-writable credentials file of another user."""
    require_tools("Xvfb", "dbus-daemon")
    no_tk.require()
    with Desktop(notifications=False, tray=False) as desktop:
        credentials = write_aws_files(desktop.home)
        os.chown(credentials, NOBODY, NOBODY)
        credentials.chmod(0o664)
        env = aws_env(desktop, "http://127.0.0.1:9", DBUS_SESSION_BUS_ADDRESS=f"unix:path={tmp_path}/no-bus")
        done = doctor(env, argv=no_tk.without_tk([sys.executable, "-m", "trayapp", "doctor"], tmp_path / "empty"))
        as_json = doctor(env, "--json")
    print(done.stdout)  # the lead's note: doctor on a broken desktop
    assert done.returncode == 1, done.stdout + done.stderr
    found = lines(done.stdout)
    for name, words in {
        "tray host": "start a desktop panel",
        "Tk": "build it again" if not sys.base_prefix.startswith("/usr") else "sudo apt install python3-tk",
        "AWS credentials file": f"sudo chown root {credentials}",
    }.items():
        assert found[name].startswith("FAIL "), done.stdout
        assert "; fix: " in found[name] and words in found[name], found[name]
    assert found["session bus"].startswith("warn ") and "dbus-run-session" in found["session bus"]
    assert found["notifications"].startswith("warn ") and found["keyring"].startswith("warn ")
    assert "Traceback" not in done.stdout + done.stderr
    report = json.loads(as_json.stdout)
    assert as_json.returncode == 1 and report["ok"] is False
    assert {c["check"] for c in report["checks"] if c["status"] == FAIL} >= {"tray host", "AWS credentials file"}


@pytest.mark.integration
def test_doctor_never_hangs_on_a_bus_that_never_answers(tmp_path: Path) -> None:
    """A socket that takes the connection and never says a word: each probe gives up on time."""
    path = tmp_path / "silent-bus"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as silent:
        silent.bind(str(path))
        silent.listen(16)
        env = {**os.environ, "HOME": str(tmp_path), "DISPLAY": ":31999"}
        env["DBUS_SESSION_BUS_ADDRESS"] = f"unix:path={path}"
        env.pop("PYSTRAY_BACKEND", None)
        done = doctor(env)
    found = lines(done.stdout)
    assert {"tray backend", "notifications", "keyring", "Tk", "running tray"} <= set(found), done.stdout
    assert found["session bus"].startswith("warn "), done.stdout
    assert "Traceback" not in done.stdout + done.stderr


# --- the files' rules, on real files ---------------------------------------------------------------


def _file(tmp_path: Path, name: str, mode: int) -> Path:
    path = tmp_path / name
    path.write_text("[default]\n")
    path.chmod(mode)
    return path


def test_a_config_file_readable_by_others_is_told_not_blocking(tmp_path: Path) -> None:
    tmp_path.chmod(0o700)
    config = _file(tmp_path, "config", 0o644)
    finding = doctor_files.aws_files({"AWS_CONFIG_FILE": str(config), "HOME": str(tmp_path)})[0]
    assert finding.status == NOTE and "0644" in finding.text


def test_a_credentials_file_readable_by_others_is_a_warning_with_its_fix(tmp_path: Path) -> None:
    tmp_path.chmod(0o700)
    credentials = _file(tmp_path, "credentials", 0o644)
    finding = doctor_files.aws_files({"AWS_SHARED_CREDENTIALS_FILE": str(credentials), "HOME": str(tmp_path)})[1]
    assert finding.status == WARN and finding.fix == f"chmod 600 {credentials}"


def test_an_aws_file_others_can_write_blocks(tmp_path: Path) -> None:
    tmp_path.chmod(0o700)
    credentials = _file(tmp_path, "credentials", 0o666)
    finding = doctor_files.aws_files({"AWS_SHARED_CREDENTIALS_FILE": str(credentials), "HOME": str(tmp_path)})[1]
    assert finding.status == FAIL and finding.fix == f"chmod go-w {credentials}"


def test_an_sso_cache_folder_others_can_write_blocks_and_a_link_of_ones_own_is_told(tmp_path: Path) -> None:
    tmp_path.chmod(0o700)
    (tmp_path / ".aws" / "sso").mkdir(parents=True)
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o700)
    cache = tmp_path / ".aws" / "sso" / "cache"
    cache.symlink_to(target)
    linked = doctor_files.sso_cache({"HOME": str(tmp_path)})[0]
    assert linked.status == NOTE and str(target) in linked.text
    target.chmod(0o777)
    open_to_all = doctor_files.sso_cache({"HOME": str(tmp_path)})[0]
    assert open_to_all.status == FAIL and open_to_all.fix == f"chmod 700 {cache}"


def test_the_aws_files_of_ones_own_with_mode_0600_are_ok(tmp_path: Path) -> None:
    tmp_path.chmod(0o700)
    env = {
        "AWS_CONFIG_FILE": str(_file(tmp_path, "config", 0o600)),
        "AWS_SHARED_CREDENTIALS_FILE": str(_file(tmp_path, "credentials", 0o600)),
        "HOME": str(tmp_path),
    }
    assert [f.status for f in doctor_files.aws_files(env)] == [OK, OK]


@pytest.mark.integration
def test_completion_offers_doctor() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "trayapp", "completion", "bash"], capture_output=True, text=True, timeout=60, check=False
    )
    assert "doctor" in done.stdout.split("commands=", 1)[-1].splitlines()[0] or " doctor " in done.stdout


@pytest.mark.integration
def test_doctor_loads_no_toolkit_and_no_botocore(tmp_path: Path) -> None:
    """Tk is tried in a child, pystray never runs here, botocore's version is read from its metadata."""
    code = (
        "import sys\nfrom trayapp.cli import main\nstatus = main(['doctor'])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pystray', 'tkinter', '_tkinter', 'botocore', 'boto3', 'PIL', 'gi')))"
    )
    env = {**os.environ, "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.stdout.splitlines()[-1] == "[]", done.stdout + done.stderr


def test_doctor_looks_at_the_sso_cache_botocore_uses() -> None:
    from trayapp.core import sso_cache

    assert doctor_files.SSO_CACHE == sso_cache.CACHE_DIR
