"""What the command line and the tray show of a session without assuming anything: its ``export``
lines, its console sign-in URL, how long it lasts and in which region (a part of
:class:`~trayapp.core.service.Service`, kept apart to keep each module small)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from trayapp.core import errors
from trayapp.core.profiles import AwsConfig, RoleProfile
from trayapp.core.session_record import KEY_SIGNED
from trayapp.i18n import _

if TYPE_CHECKING:
    from trayapp.core.login_config import LoginConfig
    from trayapp.core.preferences import Preferences
    from trayapp.core.sso_config import SsoConfig
    from trayapp.core.sts import Credentials

DEFAULT_REGION = "us-east-1"
#: IAM Identity Center gives role keys for the permission set's session duration, an hour at least.
SSO_SESSION_SECONDS = 3600


class SessionViews:
    """The views of :class:`~trayapp.core.service.Service` over its sessions (it provides the rest)."""

    _environ: Mapping[str, str] | None
    _clock: Callable[[], datetime]
    _preferences: Callable[[], Preferences]

    def config(self) -> AwsConfig:
        raise NotImplementedError

    def sso(self) -> SsoConfig:
        raise NotImplementedError

    def login(self) -> LoginConfig:
        raise NotImplementedError

    def _managed(self) -> dict[str, dict[str, str]]:
        raise NotImplementedError

    def session_credentials(self, name: str, min_left: timedelta = timedelta(0)) -> tuple[Credentials, datetime]:
        raise NotImplementedError

    def env_lines(self, name: str, shell: str = "posix", region: str | None = None) -> str:
        """The three ``export`` lines of the manual method, for ``eval`` (in *shell*'s syntax:
        see :mod:`trayapp.core.shell`); with *region*, ``AWS_REGION`` and ``AWS_DEFAULT_REGION`` too."""
        from trayapp.core.shell import set_line

        keys, _expires = self.session_credentials(name)
        pairs = [
            ("AWS_ACCESS_KEY_ID", keys.access_key_id),
            ("AWS_SECRET_ACCESS_KEY", keys.secret_access_key),
            ("AWS_SESSION_TOKEN", keys.session_token or ""),
        ]
        if region:
            pairs += [("AWS_REGION", region), ("AWS_DEFAULT_REGION", region)]
        try:
            return "".join(set_line(k, v, shell) + "\n" for k, v in pairs)
        except ValueError:
            reason = _("The session's keys can't be written in {shell} syntax.").format(shell=shell)
            raise errors.UsageError(reason=reason) from None

    def session_seconds(self, name: str) -> int:
        """How long a session of *name* lasts when assumed now: the profile's, else the preference (an
        SSO profile: an hour, the shortest session a permission set gives)."""
        if self.sso().profile(name) is not None:
            return SSO_SESSION_SECONDS
        if self.login().profile(name) is not None:
            return 900  # an aws login's keys last 15 minutes (refreshed for up to 12 hours)
        return self.config().role(name).duration_seconds or self._preferences().duration

    def session_region(self, name: str) -> str:
        """The region *name*'s session is used in: the profile's, else up its chain, else us-east-1."""
        if (sso_profile := self.sso().profile(name)) is not None:
            return sso_profile.region or sso_profile.session.region
        if (login_profile := self.login().profile(name)) is not None:
            from trayapp.core.login_refresh import region

            return region(login_profile, self._environ)
        cfg = self.config()
        return cfg.source_region(cfg.role(name)) or DEFAULT_REGION

    def console_url(self, name: str, region: str | None = None) -> str:
        """A sign-in URL for the AWS console as *name*'s session (partition-aware), in *region*
        (default: the profile's).  The console session lasts as long as the session has left when
        long-term keys signed its AssumeRole; AWS takes no ``SessionDuration`` otherwise."""
        from trayapp.core.console import signin_url

        cfg = self.config()
        role = self.sso().profile(name) or self.login().profile(name) or cfg.role(name)
        creds, expires = self.session_credentials(name)
        long_term = self._managed().get(role.session_profile, {}).get(KEY_SIGNED) == "long-term"
        left = int((expires - self._clock()).total_seconds())
        environ = dict(os.environ if self._environ is None else self._environ)
        return signin_url(
            name,
            creds,
            role.role_arn,
            region or (cfg.source_region(role) if isinstance(role, RoleProfile) else self.session_region(name)),
            environ=environ,
            session_duration=left if long_term else None,
        )
