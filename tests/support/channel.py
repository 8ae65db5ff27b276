"""The command line's channel to the tray, for tests: a real tray on a private desktop
(:func:`running_tray`, with its log and its threads at hand) and AWS files with no tray at all
(:func:`alone_env`), with the path where the tray's socket would be."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests.support.desktop import Desktop
from tests.support.fixtures import require_tools
from tests.support.procs import wait_until
from tests.support.sts import MotoServer
from tests.support.tray_desktop import aws_env, exit_status, start_tray, write_aws_files
from trayapp.core import channel


class Tray:
    """A running tray process, as the command line sees it."""

    def __init__(self, desktop: Desktop, env: dict[str, str], process: subprocess.Popen[bytes]) -> None:
        self.desktop, self.env, self.process = desktop, env, process

    @property
    def folder(self) -> Path:
        return self.desktop.runtime_dir / "trayapp"

    @property
    def socket(self) -> Path:
        _config, credentials = channel.aws_paths(self.env)
        return self.folder / channel.socket_name(credentials)

    def log(self) -> str:
        return self.desktop.log("tray")

    def served(self, command: str) -> int:
        return self.log().count(f"served '{command}' for the command line")

    def threads(self) -> int:
        return len(os.listdir(f"/proc/{self.process.pid}/task"))

    @contextlib.contextmanager
    def stopped(self) -> Iterator[None]:
        """The tray stopped (SIGSTOP) as a swapped-out or frozen one is, and resumed afterwards."""
        os.kill(self.process.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(self.process.pid, signal.SIGCONT)


@contextlib.contextmanager
def running_tray() -> Iterator[Tray]:
    """A tray (xorg backend) on a private desktop with moto's STS, serving the command line."""
    require_tools()
    with MotoServer() as sts, Desktop(notifications=True, tray=True) as desktop:
        write_aws_files(desktop.home)
        env = aws_env(desktop, sts.url, PYSTRAY_BACKEND="xorg")
        running = Tray(desktop, env, start_tray(desktop, env))
        wait_until("the tray's channel", lambda: "serving the command line" in running.log(), 30, interval=0.05)
        yield running
        running.process.terminate()
        exit_status(running.process, desktop)  # scaled for a loaded machine; the stacks in the log if stuck
        assert not running.socket.exists()  # removed on the way out


def alone_env(tmp_path: Path, sts_url: str = "http://127.0.0.1:9") -> dict[str, str]:
    """AWS files under *tmp_path* and no tray (by default an STS nobody answers)."""
    from tests.support.aws_files import CONFIG, CREDENTIALS, env_for

    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True, mode=0o700)
    (home / ".aws" / "config").write_text(CONFIG)
    (home / ".aws" / "credentials").write_text(CREDENTIALS)
    (home / ".aws" / "credentials").chmod(0o600)
    return env_for(home, sts_url)


def socket_path(env: dict[str, str]) -> Path:
    """Where the tray for *env* listens (its folder made, as the tray makes it)."""
    folder = Path(env["XDG_RUNTIME_DIR"]) / "trayapp"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder / channel.socket_name(channel.aws_paths(env)[1])
