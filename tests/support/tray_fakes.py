"""A TrayApp without a display: a fake service, a fake prompt, quiet preferences, and running one action."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from trayapp.core.errors import Cancelled, ConfigUnreadable
from trayapp.core.login_config import LoginConfig
from trayapp.core.login_refresh import LoginSessions
from trayapp.core.preferences import Preferences
from trayapp.core.profiles import RoleProfile
from trayapp.core.prompts import MfaRequest
from trayapp.core.results import AssumeResult, RoleEntry
from trayapp.core.sessions import SessionInfo
from trayapp.core.sso import SsoSignIns
from trayapp.core.sso_config import SsoConfig
from trayapp.core.sts import Credentials
from trayapp.tray.app import TrayApp
from trayapp.tray.prefs import PrefsHolder

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


WARN = timedelta(minutes=10)


PROD = RoleProfile("prod", "arn:aws:iam::123456789012:role/Admin", "base", mfa_serial="arn:aws:iam::1:mfa/a")


DEV = RoleProfile("dev", "arn:aws:iam::123456789012:role/Dev", "base")


def session(profile: str, minutes: float) -> SessionInfo:
    return SessionInfo(profile, "arn", NOW + timedelta(minutes=minutes))


@dataclass
class FakeService:
    entries: list[RoleEntry] = field(default_factory=lambda: [RoleEntry(PROD, None), RoleEntry(DEV, None)])
    fail: Exception | None = None
    forgotten: list[str] = field(default_factory=list)
    prompts: list[Any] = field(default_factory=list)
    #: The engine's sign-in parts (trayapp.core.hosts.Engine): no SSO, no aws login here.
    sso_signins: SsoSignIns | None = None
    login_sessions: LoginSessions | None = None
    environ: Mapping[str, str] | None = None

    def sso(self) -> SsoConfig:
        return SsoConfig()

    def login(self) -> LoginConfig:
        return LoginConfig()

    def write_session(
        self,
        profile: str,
        role_arn: str,
        c: Credentials,
        expiration: datetime,
        region: str,
        long_term: bool = False,
        duration: int = 0,
    ) -> list[str]:
        raise AssertionError("the tray's stand-in service writes no session of an aws login")

    def config(self) -> Any:
        if isinstance(self.fail, ConfigUnreadable):
            raise self.fail
        return type("Cfg", (), {"config_path": "/home/u/.aws/config"})()

    def roles(self) -> list[RoleEntry]:
        return self.entries

    def problems(self) -> Mapping[str, str]:
        return {}

    def now(self) -> datetime:
        return NOW

    def warn_lead(self) -> timedelta:
        return WARN

    def assume(self, name: str, prompt: Any, *, duration: int | None = None) -> AssumeResult:
        self.prompts.append(prompt)
        code = prompt.ask(MfaRequest(name, "arn", "serial"), None)
        try:
            if self.fail is not None:
                raise self.fail
            if code is None:
                raise Cancelled(profile=name)
            info = session(name, 60)
            self.entries = [RoleEntry(e.role, info if e.role.name == name else e.session) for e in self.entries]
            return AssumeResult(info, "arn:aws:sts::1:assumed-role/Admin/x", [])
        finally:
            prompt.close()

    def forget(self, name: str) -> bool:
        self.forgotten.append(name)
        return True

    def sessions(self) -> dict[str, SessionInfo]:
        return {e.role.name: e.session for e in self.entries if e.session is not None}

    def can_renew_silently(self, name: str, duration: int | None = None) -> bool:
        return False

    def needs_code(self, name: str, duration: int | None = None) -> bool:
        return any(e.role.name == name and e.role.mfa_serial for e in self.entries)

    def console_url(self, name: str) -> str:
        return f"https://console.example/{name}"

    def mfa_sessions(self) -> list[Any]:
        return []

    def end_mfa_sessions(self) -> None:
        pass


def quiet_prefs() -> PrefsHolder:
    prefs = PrefsHolder()
    prefs.set(Preferences())
    return prefs


class FakePrompt:
    def __init__(self, code: str | None, shown_error: str | None = None) -> None:
        self.code = code
        self.last_error = shown_error

    def ask(self, request: MfaRequest, error: str | None = None) -> str | None:
        return self.code

    def close(self) -> None:
        pass


def make_app(service: FakeService, code: str | None = "123456", shown: str | None = None) -> tuple[TrayApp, list[Any]]:
    events: list[Any] = []
    app = TrayApp(
        service,
        notify=lambda title, body: events.append(("notify", title, body)),
        prompt_factory=lambda: FakePrompt(code, shown),
        copy=lambda text: events.append(("copy", text)),
        popup=lambda items: None,
        prefs=quiet_prefs(),
    )
    return app, events


def settle(app: TrayApp, timeout: float = 10) -> None:
    """Wait for the prompt jobs under way (an assume's dialog, a sign-in), then for the worker
    (the redraw they hand back to it)."""
    assert app.actions.jobs.wait(timeout), "a prompt job did not end"
    app._worker.submit(lambda: None).result(timeout=timeout)


def run_action(app: TrayApp, action_id: str) -> None:
    app.perform(action_id)
    settle(app)
