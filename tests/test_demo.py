"""`trayapp demo`: its local STS and throwaway profiles work with the real command line
and the real `aws` CLI; run_demo sets up, hands over to the tray, and cleans up."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.planted import needs_second_uid, planted_folder
from tests.support.procs import HarnessError, scaled, wait_until
from trayapp.cli import demo
from trayapp.cli.demo import LocalSts, environment, prepare_demo, run_demo, start_sts

pytestmark = pytest.mark.skipif(not demo.moto_available(), reason="moto is not installed (the demo extra)")

AWS = str(Path(sys.executable).with_name("aws"))


@pytest.fixture(scope="module")
def sts() -> Iterator[LocalSts]:
    server = start_sts()
    yield server
    server.stop()


@pytest.fixture
def env(tmp_path: Path, sts: LocalSts) -> dict[str, str]:
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    # The user's own exported keys and profile must not leak into the demo.
    base |= {"AWS_PROFILE": "prod", "AWS_ACCESS_KEY_ID": "AKIAREALUSERKEY00000"}
    with environment(prepare_demo(tmp_path, sts.url), target=base):  # what run_demo does to os.environ
        return {**base, "HOME": str(tmp_path), "XDG_RUNTIME_DIR": str(run)}


def trayapp(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trayapp", *args], env=env, capture_output=True, text=True, timeout=60)


def caller(env: dict[str, str], profile: str) -> dict[str, str]:
    out = subprocess.run(
        [AWS, "sts", "get-caller-identity", "--profile", profile, "--output", "json"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    identity: dict[str, str] = json.loads(out.stdout)
    return identity


@needs_second_uid
def test_the_local_sts_started_in_a_shared_folder_is_motos_not_a_planted_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``python -c`` put the current folder first: a ``moto/`` another uid left there ran as you
    and the demo's STS never came up."""
    with planted_folder() as planted:
        monkeypatch.chdir(planted.folder)
        monkeypatch.setenv("PYTHONPATH", str(planted.folder))
        server = start_sts()
        try:
            with socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1])), timeout=5):
                pass
        finally:
            server.stop()
        assert planted.ran() == []


def test_prepare_demo_writes_private_files_and_points_only_at_them(tmp_path: Path) -> None:
    env = prepare_demo(tmp_path, "http://127.0.0.1:9")
    assert env["AWS_CONFIG_FILE"] == str(tmp_path / ".aws" / "config")
    assert env["AWS_SHARED_CREDENTIALS_FILE"] == str(tmp_path / ".aws" / "credentials")
    assert env["AWS_ENDPOINT_URL_STS"] == "http://127.0.0.1:9"
    assert (tmp_path / ".aws" / "credentials").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / ".aws").stat().st_mode & 0o777 == 0o700
    assert "AWS_ENDPOINT_URL_STS" not in prepare_demo(tmp_path / "other")


def test_every_demo_profile_is_listed_and_none_is_broken(env: dict[str, str]) -> None:
    out = trayapp(env, "list")
    assert out.returncode == 0 and out.stderr == ""
    listed = [line.split("\t")[0] for line in out.stdout.splitlines()]
    assert listed == list(demo.PROFILES)


def test_assume_with_a_code_gives_a_session_the_aws_cli_uses(env: dict[str, str]) -> None:
    out = trayapp(env, "assume", "demo-admin", "--code", "123456")
    assert out.returncode == 0, out.stderr
    assert "session profile 'demo-admin-session'" in out.stdout
    assert caller(env, "demo-admin-session")["Arn"] == "arn:aws:sts::123456789012:assumed-role/DemoAdmin/trayapp-root"


def test_chained_and_mfa_free_profiles_work_too(env: dict[str, str]) -> None:
    assert trayapp(env, "assume", "demo-readonly").returncode == 0
    assert caller(env, "demo-readonly-session")["Arn"].endswith(":assumed-role/DemoReadOnly/trayapp-root")
    out = trayapp(env, "assume", "demo-deploy", "--code", "654321")
    assert out.returncode == 0, out.stderr
    assert caller(env, "demo-deploy-session")["Arn"].endswith(":assumed-role/DemoDeploy/demo-deploy")


def test_the_users_exported_aws_variables_are_set_aside_and_restored() -> None:
    target = {"AWS_PROFILE": "prod", "AWS_ACCESS_KEY_ID": "AKIAREAL", "HOME": "/home/me"}
    with environment({"AWS_CONFIG_FILE": "/tmp/demo/config"}, target=target):
        assert target == {"AWS_CONFIG_FILE": "/tmp/demo/config", "HOME": "/home/me"}
    assert target == {"AWS_PROFILE": "prod", "AWS_ACCESS_KEY_ID": "AKIAREAL", "HOME": "/home/me"}


def test_run_demo_hands_over_to_the_tray_and_cleans_up_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "prod")
    seen: dict[str, str] = {}

    def fake_tray() -> int:
        seen.update({k: v for k, v in os.environ.items() if k.startswith("AWS_")})
        url = seen["AWS_ENDPOINT_URL_STS"]
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        result = trayapp(dict(os.environ), "assume", "demo-readonly")
        assert result.returncode == 0, result.stderr
        return 7

    said: list[str] = []
    assert run_demo(fake_tray, say=said.append) == 7
    assert "AWS_PROFILE" not in seen and Path(seen["AWS_CONFIG_FILE"]).name == "config"
    assert "demo-admin" in said[0] and "any 6-digit MFA code works" in said[0]
    folder = Path(seen["AWS_CONFIG_FILE"]).parent.parent
    assert not folder.exists(), "the throwaway folder is removed"
    assert os.environ["AWS_PROFILE"] == "prod" and "AWS_CONFIG_FILE" not in os.environ
    port = int(seen["AWS_ENDPOINT_URL_STS"].rsplit(":", 1)[1])
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_run_demo_keeps_a_folder_it_was_given_and_stops_sts_when_the_tray_fails(tmp_path: Path) -> None:
    urls: list[str] = []

    def failing_tray() -> int:
        urls.append(os.environ["AWS_ENDPOINT_URL_STS"])
        raise RuntimeError("no display")

    with pytest.raises(RuntimeError):
        run_demo(failing_tray, folder=tmp_path, say=lambda _: None)
    assert (tmp_path / ".aws" / "config").is_file()
    port = int(urls[0].rsplit(":", 1)[1])
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_the_sts_child_ends_when_the_applet_dies(tmp_path: Path) -> None:
    """Killed with SIGKILL, the applet runs no clean-up: the child notices its closed stdin."""
    script = "from trayapp.cli.demo import start_sts; s = start_sts(); print(s.process.pid, flush=True); input()"
    parent = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait()

    def ended() -> bool:
        try:
            with open(f"/proc/{child}/stat") as f:
                return f.read().split(") ", 1)[1].startswith("Z")  # exited; waiting for init to reap it
        except FileNotFoundError:
            return True

    try:
        wait_until("the STS stand-in to end with the applet", ended, 10)
    except HarnessError:
        os.kill(child, 9)
        pytest.fail("the STS stand-in outlived the applet")


# --- hostile surroundings: the user's own files, Ctrl-C, SIGTERM ----------------------------------

REAL_CONFIG = "[profile prod]\nrole_arn = arn:aws:iam::123456789012:role/Admin\nsource_profile = me\n"
REAL_CREDENTIALS = "[me]\naws_access_key_id = AKIAREALUSERKEY00000\naws_secret_access_key = real-secret\n"


@pytest.mark.parametrize("present", [("config", "credentials"), ("credentials",)])
def test_demo_dir_refuses_a_folder_holding_the_users_aws_files(tmp_path: Path, present: tuple[str, ...]) -> None:
    """`trayapp demo --dir ~` used to replace both real files, without a question."""
    aws = tmp_path / ".aws"
    aws.mkdir(mode=0o700)
    real = {"config": REAL_CONFIG, "credentials": REAL_CREDENTIALS}
    for name in present:
        (aws / name).write_text(real[name])
    before = {p.name: p.read_bytes() for p in aws.iterdir()}
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {"HOME": str(tmp_path)}
    out = trayapp(env, "demo", "--dir", str(tmp_path))
    assert out.returncode == 2
    assert out.stdout == ""  # no banner: nothing was started
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "won't write into" in lines[0] and ".aws/credentials" in lines[0], out.stderr
    assert {p.name: p.read_bytes() for p in aws.iterdir()} == before, "nothing touched, nothing added"


def test_a_folder_the_demo_made_may_be_used_again_but_not_once_real_files_replace_its_own(tmp_path: Path) -> None:
    urls: list[str] = []

    def tray() -> int:
        urls.append(os.environ["AWS_ENDPOINT_URL_STS"])
        return 0

    assert run_demo(tray, folder=tmp_path, say=lambda _: None) == 0
    assert run_demo(tray, folder=tmp_path, say=lambda _: None) == 0  # its own files: fine
    assert len(urls) == 2
    (tmp_path / ".aws" / "config").write_text(REAL_CONFIG)  # the user put a real config there
    with pytest.raises(demo.DemoFolderInUse):
        run_demo(tray, folder=tmp_path, say=lambda _: None)
    assert (tmp_path / ".aws" / "config").read_text() == REAL_CONFIG
    assert len(urls) == 2


def _port_closed(url: str) -> bool:
    port = int(url.rsplit(":", 1)[1])
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except OSError:
        return True


@pytest.mark.desktop
@pytest.mark.parametrize(
    ("signum", "backend"),
    [(signal.SIGINT, None), (signal.SIGTERM, None), (signal.SIGINT, "xorg"), (signal.SIGTERM, "xorg")],
)
def test_ctrl_c_and_sigterm_stop_the_demo_and_remove_everything_it_made(
    signum: int, backend: str | None, tmp_path: Path
) -> None:
    """No tray host (no trayer), the backend pystray picks (appindicator with PyGObject) or xorg:
    SIGINT used to leave the demo running, SIGTERM to leave its folder of fake and session keys."""
    from tests.support.desktop import Desktop
    from tests.support.fixtures import require_tools

    require_tools("Xvfb", "dbus-daemon")
    with Desktop(notifications=True, tray=False) as desktop:
        env = desktop.env | {"PYTHONPATH": str(Path(__file__).resolve().parents[1])}
        env.pop("PYTHONUNBUFFERED", None)  # as in a plain shell: the banner must be flushed by the demo
        if backend:
            env["PYSTRAY_BACKEND"] = backend
        errors = tmp_path / "stderr"  # a file, not a pipe nobody reads (and not in the desktop's TMPDIR)
        with errors.open("wb") as stderr:
            proc = subprocess.Popen(
                [sys.executable, "-m", "trayapp", "demo"], env=env, stdout=subprocess.PIPE, stderr=stderr
            )
        lines = read_banner(proc, errors)
        url = next(line.split("=", 1)[1].strip() for line in lines if "AWS_ENDPOINT_URL_STS=" in line)
        folder = Path(next(line.split("=", 1)[1].strip() for line in lines if "AWS_CONFIG_FILE=" in line)).parents[1]
        assert folder.is_dir() and not _port_closed(url)
        # Let the tray's loop run, so the signal lands in it: it announces nothing when it starts,
        # and a signal before it must (and does) stop the demo too, so a slow start only tests that.
        time.sleep(2.5)
        assert proc.poll() is None
        started = time.monotonic()
        proc.send_signal(signum)
        try:
            status = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail(f"the demo did not stop within 5 s of signal {signum}")
        assert time.monotonic() - started < 5
        assert status == 128 + signum
        assert not folder.exists(), "the throwaway folder with its keys is removed"
        assert list(desktop.tmp_dir.iterdir()) == [], "nothing else is left in TMPDIR"
        assert wait_closed(url), "the STS stand-in is stopped"


def read_banner(proc: subprocess.Popen[bytes], errors: Path, timeout: float = 30) -> list[str]:
    """The demo's banner, up to its line "Quit the tray...", within *timeout* (``scaled()``).  A bare
    ``readline()`` hung the suite for good on Debian 12, where the banner sat in the demo's stdout
    buffer (no ``PYTHONUNBUFFERED``): now the test fails, with what the demo printed."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + scaled(timeout)
    data = b""
    while not any(line.startswith(b"Quit the tray") for line in data.splitlines()[: data.count(b"\n")]):
        left = deadline - time.monotonic()
        ready = select.select([fd], [], [], max(0.0, min(left, 0.1)))[0]
        chunk = os.read(fd, 65536) if ready else b""
        if (ready and not chunk) or (not ready and left <= 0):
            ended = "ended early" if ready else f"printed no banner within {scaled(timeout):.0f} s"
            if proc.poll() is None:
                proc.kill()
            status = proc.wait(10)
            stderr = errors.read_text(errors="replace")[-2000:]
            pytest.fail(
                f"the demo {ended} (status {status}); stdout: {data.decode(errors='replace')!r}; stderr: {stderr!r}"
            )
        data += chunk
    return data.decode().splitlines(keepends=True)


def wait_closed(url: str, timeout: float = 5) -> bool:
    try:
        return wait_until(f"{url} to close", lambda: _port_closed(url), timeout)
    except HarnessError:
        return False


def test_demo_without_a_display_refuses_before_printing_or_writing_anything(tmp_path: Path) -> None:
    """It printed export lines for a throwaway folder, then said there was no display and removed
    the folder: the lines pointed at nothing."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "PYSTRAY_BACKEND")}
    env.update(HOME=str(tmp_path), TMPDIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-m", "trayapp", "demo"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert out.stdout == ""
    assert out.stderr == (
        "trayapp: trayapp demo shows the tray icon and there is no display here (DISPLAY is not set); "
        "nothing was started: run it inside your desktop session.\n"
    )
    assert list(tmp_path.iterdir()) == []  # no throwaway folder was made
