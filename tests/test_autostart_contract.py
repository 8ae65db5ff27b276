"""One contract, every platform's login start (in the style of keyring's backend tests).

Whatever records login start — an XDG autostart file, a LaunchAgent, the Windows Run key — a user
who turns it on sees it on, turns it off and sees it off, and turning off what was never on says so.
Each platform's implementation runs the same tests here (Windows through a stand-in ``winreg``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.winreg_fake import FakeWinreg
from trayapp.tray.autostart import Autostart, LaunchAgentAutostart, RunKeyAutostart, XdgAutostart

COMMAND = ["/opt/José 山田/trayapp"]


class LoginStartContract:
    """Subclasses say which platform; the tests are the contract."""

    platform: str
    kind: type

    @pytest.fixture
    def login(self, tmp_path: Path) -> Any:
        registry = FakeWinreg() if self.platform == "win32" else None
        return Autostart(platform=self.platform, home=tmp_path, environ={}, command=COMMAND, registry=registry)

    def test_the_platform_picks_its_implementation(self, login: Any) -> None:
        assert isinstance(login, self.kind)

    def test_off_until_turned_on(self, login: Any) -> None:
        assert login.status() is False

    def test_on_then_off(self, login: Any) -> None:
        where = login.enable()
        assert str(where) == login.location
        assert login.status() is True
        assert login.disable() is True
        assert login.status() is False

    def test_turning_off_what_was_never_on_says_so(self, login: Any) -> None:
        assert login.disable() is False

    def test_turning_on_twice_is_on_once(self, login: Any) -> None:
        login.enable()
        login.enable()
        assert login.status() is True
        assert login.disable() is True
        assert login.disable() is False

    def test_the_command_survives_any_user_name(self, login: Any) -> None:
        login.enable()
        assert "José 山田".encode(self.encoding) in login.content()

    encoding = "utf-8"


class TestXdgAutostart(LoginStartContract):
    platform, kind = "linux", XdgAutostart


class TestLaunchAgent(LoginStartContract):
    platform, kind = "darwin", LaunchAgentAutostart


class TestRunKey(LoginStartContract):
    platform, kind, encoding = "win32", RunKeyAutostart, "utf-16-le"
