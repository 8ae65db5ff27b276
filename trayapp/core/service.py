"""The use cases: list roles, assume one, show status, print env lines, forget.

Everything the outside world provides — the MFA prompt, the clock, the STS
client factory, the source-credential resolver, preferences — is passed in,
so the shells (tray, dialog, CLI) stay thin and tests need no display.
"""

from __future__ import annotations

import getpass
import re
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from trayapp.core import errors, login_config, session_record, sso_config
from trayapp.core.credentials_file import CredentialsFile, managed_only
from trayapp.core.login_config import LoginConfig
from trayapp.core.mfa import UsedCodes, default_used_codes_path, normalise
from trayapp.core.preferences import Preferences
from trayapp.core.profiles import AwsConfig, RoleProfile
from trayapp.core.prompts import MfaPrompt, MfaRequest, SilentPrompt
from trayapp.core.providers import MIN_PARENT_LEFT, MfaSessions, SourceKeys, section_keys
from trayapp.core.readings import Readings
from trayapp.core.results import AssumeResult, MfaSession, RoleEntry
from trayapp.core.session_views import DEFAULT_REGION, SSO_SESSION_SECONDS, SessionViews
from trayapp.core.sessions import SessionInfo, session_name
from trayapp.core.sso_config import SsoConfig, SsoProfile
from trayapp.core.sts import (
    AssumedRole,
    BotoStsClients,
    Credentials,
    SourceCredentials,
    SourceResolver,
    StsClientFactory,
    assume_role,
    get_session_token,
)
from trayapp.i18n import _

if TYPE_CHECKING:
    from trayapp.core.login_refresh import LoginSessions
    from trayapp.core.sso import SsoSignIns

T = TypeVar("T")
#: GetSessionToken length for an IAM user's MFA session (held in memory only).
MFA_SESSION_SECONDS = 12 * 3600
CHAIN_LIMIT = 3600  # STS caps sessions of roles assumed from a role session at one hour
__all__ = ["CHAIN_LIMIT", "DEFAULT_REGION", "MFA_SESSION_SECONDS", "MIN_PARENT_LEFT", "SSO_SESSION_SECONDS", "Service"]

_SHADOWING_KEYS = ("role_arn", "credential_process", "sso_session", "sso_start_url", "web_identity_token_file")


def utc_now() -> datetime:
    return datetime.now(UTC)


def _session_user() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "user"
    return re.sub(r"[^\w+=,.@-]", "-", f"trayapp-{user}")[:64]


class Service(SessionViews):
    def __init__(
        self,
        *,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], datetime] = utc_now,
        sts_clients: StsClientFactory | None = None,
        source_resolver: SourceResolver | None = None,
        preferences: Callable[[], Preferences] = Preferences,
        used_codes: UsedCodes | None = None,
        mfa_sessions: bool = False,
        resident: bool = False,
    ) -> None:
        """*mfa_sessions*: keep GetSessionToken sessions in memory to sign later
        AssumeRoles without a code — worth it only in a long-lived process (the tray).
        *resident*: the files will be read again after each change (the tray): keep what the last
        reading found, so that the next one reads again only what changed (``ini.Recall``, the
        profiles' own checks); the result is the same as a first reading's."""
        self._environ = environ
        self._clock = clock
        self._sts_clients: StsClientFactory = sts_clients or BotoStsClients()
        self.source_keys = SourceKeys(source_resolver or SourceCredentials())  # the chain's first link
        self._preferences = preferences
        self._used = used_codes or UsedCodes(time.time, default_used_codes_path())
        self._lock = threading.RLock()
        self._mfa = MfaSessions(clock)  # its second link (in a resident process only)
        self._mfa_enabled = mfa_sessions
        self._readings = Readings(environ, resident=resident)
        self._sso: tuple[AwsConfig, SsoConfig] | None = None
        self.sso_signins: SsoSignIns | None = None  # made on first use (core/sso.py)
        self._login: tuple[AwsConfig, LoginConfig] | None = None
        self.login_sessions: LoginSessions | None = None  # made on first use (core/login_refresh.py)
        self.environ = environ

    # --- reading -------------------------------------------------------------

    def config(self) -> AwsConfig:
        """The current config; re-read only when either file changed."""
        return self._readings.config()

    def credentials_file(self) -> CredentialsFile:
        """One object per path: it remembers the bytes it last verified, so updates stay fast."""
        return self._readings.credentials_file()

    def _managed(self) -> dict[str, dict[str, str]]:
        """The applet's own sections."""
        return managed_only(self._readings.sections())

    def warn_lead(self) -> timedelta:
        return timedelta(seconds=self._preferences().warn_seconds)

    def now(self) -> datetime:
        return self._clock()

    def sessions(self) -> dict[str, SessionInfo]:
        """Sessions the applet wrote, by role profile name."""
        return self._readings.sessions()

    def roles(self, *, include_hidden: bool = False) -> list[RoleEntry]:
        hidden = set() if include_hidden else self._preferences().hidden
        return self._readings.roles(hidden)

    def sso(self) -> SsoConfig:
        """The IAM Identity Center sign-ins and SSO profiles of the current config."""
        cfg = self.config()
        with self._lock:
            if self._sso is None or self._sso[0] is not cfg:
                self._sso = (cfg, sso_config.load(cfg))
            return self._sso[1]

    def login(self) -> LoginConfig:
        """The ``aws login`` profiles (``login_session``) of the current config."""
        cfg = self.config()
        with self._lock:
            if self._login is None or self._login[0] is not cfg:
                self._login = (cfg, login_config.load(cfg))
            return self._login[1]

    def problems(self) -> Mapping[str, str]:
        return self.config().problems

    def status(self) -> list[SessionInfo]:
        return sorted(self.sessions().values(), key=lambda s: s.profile)

    # --- assume ----------------------------------------------------------------

    def assume(self, name: str, prompt: MfaPrompt, *, duration: int | None = None) -> AssumeResult:
        """Assume role profile *name*, asking *prompt* for each MFA code the chain needs
        (an SSO profile: its keys from IAM Identity Center, signing in when needed)."""
        if (sso_profile := self.sso().profile(name)) is not None:
            prompt.close()
            return self._assume_sso(sso_profile, interactive=not isinstance(prompt, SilentPrompt))
        if (login_profile := self.login().profile(name)) is not None:
            from trayapp.core.login_refresh import bridge  # the keys of an aws login, for older tools

            prompt.close()
            return bridge(self, login_profile)
        cfg = self.config()
        role = cfg.role(name)
        try:
            return self._assume(cfg, role, prompt, duration)
        finally:
            prompt.close()

    def _assume(self, cfg: AwsConfig, role: RoleProfile, prompt: MfaPrompt, duration: int | None) -> AssumeResult:
        notes = self._precheck(cfg, role)
        creds, parent_is_role = self._signing_credentials(cfg, role, prompt)
        if duration is None:
            duration = role.duration_seconds or self._preferences().duration
        if parent_is_role and duration > CHAIN_LIMIT:
            notes.append(
                _(
                    "STS limits a role assumed from another role's session to one hour, so the session "
                    "of '{profile}' lasts 3600 s instead of {duration} s."
                ).format(profile=role.name, duration=duration)
            )
            duration = CHAIN_LIMIT
        region = cfg.source_region(role) or DEFAULT_REGION
        session_name = role.role_session_name or _session_user()
        long_term = not parent_is_role and not creds.session_token
        if self._mfa_session_fits(role, parent_is_role, duration):
            long_term = False
            mfa = self._mfa_session(role, creds, region, prompt)
            client = self._sts_clients(mfa.credentials, region)
            assumed = assume_role(
                client, role, duration=duration, code=None, session_name=session_name, now=self._clock()
            )
            code = None
        elif role.mfa_serial:
            client = self._sts_clients(creds, region)
            assumed, code = self._with_code(
                role,
                prompt,
                lambda c: assume_role(
                    client, role, duration=duration, code=c, session_name=session_name, now=self._clock()
                ),
            )
        else:
            client = self._sts_clients(creds, region)
            assumed = assume_role(
                client, role, duration=duration, code=None, session_name=session_name, now=self._clock()
            )
            code = None
        try:
            notes += self._write(cfg, role, assumed, long_term, duration)
        finally:
            if code and role.mfa_serial:
                self._used.remember(role.mfa_serial, code)
        info = SessionInfo(role.name, role.role_arn, assumed.expiration, duration)
        return AssumeResult(info, assumed.assumed_arn, notes)

    # --- the MFA session: one code, many roles ------------------------------------

    def _mfa_session_fits(self, role: RoleProfile, parent_is_role: bool, duration: int) -> bool:
        return bool(
            self._mfa_enabled
            and role.mfa_serial
            and not parent_is_role
            and duration <= CHAIN_LIMIT
            and self._preferences().mfa_session
        )

    def mfa_sessions(self) -> list[MfaSession]:
        """MFA sessions alive now (in memory only), soonest ending first."""
        return self._mfa.alive()

    def end_mfa_sessions(self) -> None:
        self._mfa.end()

    def _mfa_session(self, role: RoleProfile, creds: Credentials, region: str, prompt: MfaPrompt) -> MfaSession:
        current = self._mfa.live(role)
        if current is not None:
            return current
        client = self._sts_clients(creds, region)
        token, code = self._with_code(
            role,
            prompt,
            lambda c: get_session_token(client, role, code=c, duration=MFA_SESSION_SECONDS, now=self._clock()),
        )
        if role.mfa_serial and code:
            self._used.remember(role.mfa_serial, code)
        assert token.expiration is not None
        session = MfaSession(role.source, role.mfa_serial or "", token, token.expiration)
        self._mfa.put(session)
        return session

    def needs_code(self, name: str, duration: int | None = None) -> bool:
        """True when assuming role profile *name* now (for *duration* seconds, None: as ``assume``
        would) asks a person for an MFA code first: it has an MFA device and no ``mfa_process``, is
        not chained from another role (that one is asked about first), and no MFA session signs it."""
        cfg = self.config()
        role = cfg.roles.get(name)
        if role is None or not role.mfa_serial or role.mfa_process:
            return False
        if role.source_profile is not None and role.source_profile in cfg.roles:
            return False
        return not self._signed_by_mfa_session(role, duration)

    def _signed_by_mfa_session(self, role: RoleProfile, duration: int | None) -> bool:
        """An MFA session is alive and signs *role* for *duration* (None: the profile's or the
        preference's, as ``assume`` takes it)."""
        if duration is None:
            duration = role.duration_seconds or self._preferences().duration
        return self._mfa_session_fits(role, False, duration) and self._mfa.live(role) is not None

    def can_renew_silently(self, name: str, duration: int | None = None) -> bool:
        """True when *name* can be assumed again now, for *duration* seconds (None: as ``assume``
        would; a renewal passes the duration its session was assumed with), without asking anyone."""
        if (login_profile := self.login().profile(name)) is not None:
            from trayapp.core.login_refresh import renewable

            return renewable(self, login_profile)
        cfg = self.config()
        role = cfg.roles.get(name)
        if role is None or (role.mfa_serial is None and role.source_profile in self.sso().profiles):
            from trayapp.core.sso import signed_in_without_a_browser

            return signed_in_without_a_browser(self, role.source_profile if role else name)
        src = role.source_profile
        if src is not None and src != name and src in cfg.roles:
            parent_ok = self._valid_credentials(cfg.roles[src], MIN_PARENT_LEFT) is not None
            return role.mfa_serial is None and (parent_ok or self.can_renew_silently(src))
        if role.mfa_serial is None:
            return True
        return self._signed_by_mfa_session(role, duration)

    def _precheck(self, cfg: AwsConfig, role: RoleProfile) -> list[str]:
        """Refuse a foreign section before asking for a code; note a shadowing profile."""
        section = role.session_profile
        if section in cfg.credential_profiles and section not in self._managed():
            raise errors.ForeignSection(path=cfg.credentials_path, section=section)
        shadow = cfg.profiles.get(section, {})
        keys = [k for k in _SHADOWING_KEYS if k in shadow]
        if keys:
            return [
                _(
                    "Config profile '{section}' in {path} sets {keys}, which "
                    "takes precedence over the keys trayapp wrote; remove it from the config file."
                ).format(section=section, path=cfg.config_path, keys=", ".join(keys))
            ]
        return []

    def _signing_credentials(self, cfg: AwsConfig, role: RoleProfile, prompt: MfaPrompt) -> tuple[Credentials, bool]:
        src = role.source_profile
        if src is None or src == role.name or src not in cfg.roles:
            if src is not None and (sso_source := self.sso().profile(src)) is not None:
                from trayapp.core.sso import sign_ins  # an SSO profile's keys are a role session's

                interactive = not isinstance(prompt, SilentPrompt)  # silent renewal never opens a browser
                return sign_ins(self).role_credentials(sso_source, interactive=interactive), True
            if src is not None and (login_source := self.login().profile(src)) is not None:
                from trayapp.core.login_refresh import keys  # session keys: AssumeRole as from a role's

                return keys(self, login_source)[0], True
            return self.source_keys.get(role), False
        parent = cfg.roles[src]
        existing = self._valid_credentials(parent, MIN_PARENT_LEFT)
        if existing is not None:
            return existing, True
        # The source is itself a role: assume it first (its own code, its own section).
        result = self._assume(cfg, parent, prompt, None)
        fresh = self._valid_credentials(parent, timedelta(0))
        if fresh is None:
            raise errors.NoSession(profile=result.session.profile)
        return fresh, True

    def _valid_credentials(self, role: RoleProfile, min_left: timedelta) -> Credentials | None:
        found = self._session_keys(role, min_left)
        return None if found is None else found[0]

    def _session_keys(self, role: RoleProfile | SsoProfile, min_left: timedelta) -> tuple[Credentials, datetime] | None:
        """The one path to a session's keys: trayapp's own section, all three keys present,
        more than *min_left* left; else None.  Used by assume (a parent session), renewal,
        ``env``, ``credential-process`` and the console."""
        return section_keys(self._managed().get(role.session_profile), self._clock(), min_left)

    def _with_code(self, role: RoleProfile, prompt: MfaPrompt, call: Callable[[str], T]) -> tuple[T, str]:
        """Ask for a code and make *call* with it until it succeeds or the user gives up.

        Every failure is shown in the prompt, which stays open for another try.
        """
        assert role.mfa_serial is not None
        request = MfaRequest(role.name, role.role_arn, role.mfa_serial, role.mfa_process)
        error: errors.TrayappError | None = None
        while True:
            typed = prompt.ask(request, str(error) if error else None)
            if typed is None:
                raise error or errors.Cancelled(profile=role.name)
            try:
                code = normalise(typed)
                self._used.check(role.mfa_serial, code)
            except (errors.InvalidCode, errors.ReusedCode) as exc:
                error = exc
                continue
            try:
                return call(code), code
            except errors.StsError as exc:
                if isinstance(exc, errors.WrongCode):
                    self._used.remember(role.mfa_serial, code)
                error = exc

    def _write(
        self, cfg: AwsConfig, role: RoleProfile, assumed: AssumedRole, long_term: bool = False, duration: int = 0
    ) -> list[str]:
        region = cfg.source_region(role) or DEFAULT_REGION
        return self.write_session(
            role.name, role.role_arn, assumed.credentials, assumed.expiration, region, long_term, duration
        )

    def _assume_sso(self, profile: SsoProfile, *, interactive: bool) -> AssumeResult:
        """An SSO profile's keys (GetRoleCredentials, signing in first when needed), written as
        ``[<profile>-session]`` like an assumed role's: tools that know nothing of SSO use them."""
        from trayapp.core.sso import sign_ins

        creds = sign_ins(self).role_credentials(profile, interactive=interactive)
        assert creds.expiration is not None
        region = profile.region or profile.session.region
        notes = self.write_session(profile.name, profile.role_arn, creds, creds.expiration, region)
        return AssumeResult(SessionInfo(profile.name, profile.role_arn, creds.expiration), profile.role_arn, notes)

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
        """Write ``[<profile>-session]`` (an assumed role's, or an SSO profile's keys: core/sso.py);
        *duration* is recorded so that renewals keep it."""
        values = session_record.values(profile, role_arn, c, expiration, region, long_term, duration)
        return self.credentials_file().write_section(session_name(profile), values)

    # --- the rest (env lines, the console, a session's length and region: core/session_views.py) ----

    def session_credentials(self, name: str, min_left: timedelta = timedelta(0)) -> tuple[Credentials, datetime]:
        """The keys of *name*'s valid session (for credential_process and the console; core/login_refresh.py)."""
        if (login_profile := self.login().profile(name)) is not None:
            from trayapp.core.login_refresh import keys

            return keys(self, login_profile)
        found = self._session_keys(self.sso().profile(name) or self.config().role(name), min_left)
        if found is None:
            raise errors.NoSession(profile=name)
        return found

    def forget(self, name: str) -> bool:
        """Remove the applet's section for *name*; False when there was none."""
        cfg = self.config()
        known = name in cfg.roles or name in cfg.problems or name in self.login().profiles
        if not known and name not in self.sessions():
            raise errors.UnknownProfile(profile=name, path=cfg.config_path)
        return self.credentials_file().remove_section(session_name(name))
