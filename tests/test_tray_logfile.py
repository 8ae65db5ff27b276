"""The tray and its log file on a real desktop (issue 28, item 5): Xvfb, a private session bus, a
panel's StatusNotifierWatcher and host (tests/support/sni_host.py), the tray started as a person
starts it (``python -m trayapp``).

- With no notification server on the bus, each notice printed a long D-Bus error line on stderr and
  went nowhere else; now it is a line of the log file, and stderr says once where notices go.
- The tray's **Sign in…** with the IAM Identity Center endpoint refusing connections printed a
  traceback and notified "see the log for details" — there was no log; now the notice says why in a
  sentence and the traceback is in the log file only.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.desktop import Desktop
from tests.support.fixtures import require_tools
from tests.support.procs import refused_url
from tests.support.sni_host import Host, Watcher
from tests.support.sso import CORP_CONFIG, browser_script
from tests.support.tray_desktop import aws_env, exit_status, session_section, wait_for, write_aws_files

pytestmark = pytest.mark.desktop

CLASS_NAME = re.compile(r"\b[A-Z][A-Za-z]*(Error|Exception)\b")


def log_of(home: Path) -> Path:
    return home / ".local" / "state" / "trayapp" / "trayapp.log"


class Panel:
    """A panel's watcher and host on *desktop*'s bus, and the tray it shows, started as a person does."""

    def __init__(self, desktop: Desktop, env: dict[str, str]) -> None:
        assert desktop.bus_address is not None
        self.desktop = desktop
        self.watcher = Watcher(desktop.bus_address).start()
        self.tray: subprocess.Popen[bytes] = desktop.spawn([sys.executable, "-m", "trayapp"], env=env, name="tray")
        name, path = self.watcher.wait_for_item(timeout=30)
        self.host = Host(desktop.bus_address, name, path)

    def labels(self) -> list[str]:
        return [item.label for item in self.host.layout(0)[1].children if not item.separator]

    def wait_for_label(self, start: str) -> None:
        wait_for(f"{start} in the menu", lambda: any(label.startswith(start) for label in self.labels()), 20,
                 self.desktop)  # fmt: skip

    def click(self, *labels: str) -> None:
        self.host.click(self.host.find(*labels))

    def quit(self) -> None:
        self.click("Quit")
        assert exit_status(self.tray, self.desktop) == 0, self.desktop.log("tray")

    def close(self) -> None:
        self.host.close()
        self.watcher.stop()
        if self.tray.poll() is None:
            self.tray.terminate()
            self.tray.wait(timeout=10)


@pytest.fixture
def no_server() -> Iterator[Desktop]:
    """Xvfb and a session bus with no notification server on it."""
    require_tools("Xvfb", "dbus-daemon")
    with Desktop(notifications=False, tray=False) as desktop:
        yield desktop


def test_without_a_notification_server_notices_go_to_the_log_and_stderr_says_so_once(no_server: Desktop) -> None:
    credentials = write_aws_files(no_server.home)
    until = datetime.now(UTC) + timedelta(hours=1)
    credentials.write_text(f"{credentials.read_text()}\n{session_section('prod', until)}\n"
                           f"{session_section('dev', until)}")  # fmt: skip
    panel = Panel(no_server, aws_env(no_server, refused_url()))
    log = log_of(no_server.home)
    try:
        panel.wait_for_label("prod — ")
        panel.click("prod — ", "Forget session")
        wait_for("the first notice in the log", lambda: log.exists() and "prod-session was removed" in log.read_text(),
                 20, no_server)  # fmt: skip
        panel.click("dev — ", "Forget session")
        wait_for("the second notice in the log", lambda: "dev-session was removed" in log.read_text(), 20, no_server)
        panel.quit()
    finally:
        panel.close()
    stderr = no_server.log("tray")
    assert stderr.splitlines() == [f"trayapp: no notification server: notices go to {log}."]
    assert log.stat().st_mode & 0o777 == 0o600


def test_sign_in_with_the_sso_endpoint_refusing_connections_notifies_why_with_no_traceback(
    desktop: Desktop, tmp_path: Path
) -> None:
    write_aws_files(desktop.home)
    config = desktop.home / ".aws" / "config"
    config.write_text(config.read_text() + "\n" + CORP_CONFIG)
    closed = refused_url()
    browser = browser_script(tmp_path / "b.sh", tmp_path / "browser.log")
    env = aws_env(desktop, closed, AWS_ENDPOINT_URL_SSO_OIDC=closed, AWS_ENDPOINT_URL_SSO=closed, BROWSER=str(browser))
    panel = Panel(desktop, env)
    try:
        panel.wait_for_label("corp — signed out")
        panel.click("corp — signed out", "Sign in")
        told = desktop.wait_for_notification(lambda n: n["summary"] == "trayapp: corp", timeout=60)
        panel.quit()
    finally:
        panel.close()
    body = str(told["body"])
    assert "network" in body and body.endswith("."), body  # why, in a sentence
    assert "log" not in body and not CLASS_NAME.search(body), body
    stderr = desktop.log("tray")
    assert "Traceback" not in stderr and not CLASS_NAME.search(stderr), stderr
    assert "Traceback" in log_of(desktop.home).read_text()  # the details, for whoever looks
