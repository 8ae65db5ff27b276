"""`trayapp demo`: its local STS and throwaway profiles work with the real command line
and the real `aws` CLI; run_demo sets up, hands over to the tray, and cleans up."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from trayapp import demo
from trayapp.demo import LocalSts, environment, prepare_demo, run_demo, start_sts

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
    script = "from trayapp.demo import start_sts; s = start_sts(); print(s.process.pid, flush=True); input()"
    parent = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        with open(f"/proc/{child}/stat") as f:
            if f.read().split(") ", 1)[1].startswith("Z"):
                return  # exited; waiting for init to reap it
        time.sleep(0.1)
    os.kill(child, 9)
    pytest.fail("the STS stand-in outlived the applet")
