"""The service as its users see it, typed: :class:`SignInHost` is what the sign-in engines ask of
the service that keeps them (:func:`trayapp.core.sso.sign_ins`,
:func:`trayapp.core.login_refresh.engine`); :class:`Engine` is the whole part of
:class:`trayapp.core.service.Service` the tray uses (``trayapp.tray.view.TrayService``), so the
tray's stand-ins in the tests are held to it too."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from trayapp.core.login_config import LoginConfig
    from trayapp.core.login_refresh import LoginSessions
    from trayapp.core.profiles import AwsConfig
    from trayapp.core.prompts import MfaPrompt
    from trayapp.core.results import AssumeResult, MfaSession, RoleEntry
    from trayapp.core.sessions import SessionInfo
    from trayapp.core.sso import SsoSignIns
    from trayapp.core.sso_config import SsoConfig
    from trayapp.core.sts import Credentials


class SignInHost(Protocol):
    """Keeps one sign-in engine of each kind (made on first use) and the configs they serve."""

    sso_signins: SsoSignIns | None
    login_sessions: LoginSessions | None
    environ: Mapping[str, str] | None

    def now(self) -> datetime: ...

    def sso(self) -> SsoConfig: ...

    def login(self) -> LoginConfig: ...


class Engine(SignInHost, Protocol):
    """The part of :class:`trayapp.core.service.Service` the tray uses (its menu, its actions, its
    sign-in watchers, the early dialog)."""

    def roles(self) -> list[RoleEntry]: ...

    def problems(self) -> Mapping[str, str]: ...

    def assume(self, name: str, prompt: MfaPrompt, *, duration: int | None = None) -> AssumeResult: ...

    def forget(self, name: str) -> bool: ...

    def warn_lead(self) -> timedelta: ...

    def config(self) -> AwsConfig: ...

    def sessions(self) -> dict[str, SessionInfo]: ...

    def can_renew_silently(self, name: str, duration: int | None = None) -> bool: ...

    def needs_code(self, name: str, duration: int | None = None) -> bool: ...

    def console_url(self, name: str) -> str: ...

    def mfa_sessions(self) -> list[MfaSession]: ...

    def end_mfa_sessions(self) -> None: ...

    def write_session(
        self,
        profile: str,
        role_arn: str,
        c: Credentials,
        expiration: datetime,
        region: str,
        long_term: bool = False,
        duration: int = 0,
    ) -> list[str]: ...
