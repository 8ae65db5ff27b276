"""What the sign-in engines ask of the service that keeps them (:func:`trayapp.core.sso.sign_ins`,
:func:`trayapp.core.login_refresh.engine`): the engine itself, or anything shaped like it (the
tray's :class:`trayapp.tray.view.TrayService` extends this)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from trayapp.core.login_config import LoginConfig
    from trayapp.core.login_refresh import LoginSessions
    from trayapp.core.sso import SsoSignIns
    from trayapp.core.sso_config import SsoConfig


class SignInHost(Protocol):
    """Keeps one sign-in engine of each kind (made on first use) and the configs they serve."""

    sso_signins: SsoSignIns | None
    login_sessions: LoginSessions | None
    environ: Mapping[str, str] | None

    def now(self) -> datetime: ...

    def sso(self) -> SsoConfig: ...

    def login(self) -> LoginConfig: ...
