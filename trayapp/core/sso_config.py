"""IAM Identity Center (SSO) sign-ins and the profiles that use them, as botocore reads them.

Two forms, both botocore's: an ``[sso-session NAME]`` section (``sso_start_url``, ``sso_region``,
``sso_registration_scopes``) named by profiles with ``sso_session`` + ``sso_account_id`` +
``sso_role_name``; and the legacy form, a profile holding ``sso_start_url`` and ``sso_region``
itself.  A sign-in (:class:`SsoSession`) is cached where botocore and the AWS CLI look for it:
``~/.aws/sso/cache/<sha1 of the session name>.json`` (legacy: of the start URL).

No network and no boto3 here: listing profiles stays fast.
"""

from __future__ import annotations

import hashlib
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field

from trayapp.core.errors import BrokenProfile, UnknownSsoSession, UsageError
from trayapp.core.profiles import AwsConfig, _Broken, _text, region_problem  # one reading of a value
from trayapp.core.sessions import session_name
from trayapp.i18n import _

DEFAULT_SCOPES = ("sso:account:access",)
_ACCOUNT = re.compile(r"[0-9]{12}", re.ASCII)
_ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)


@dataclass(frozen=True)
class SsoSession:
    """One sign-in: an ``[sso-session NAME]``, or (legacy) a start URL named in profiles."""

    name: str
    start_url: str
    region: str
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    legacy: bool = False
    #: Whether ``sso_registration_scopes`` was set: the AWS CLI keys its registration on the scopes
    #: as configured (none → ``null``), see core/sso_registration.py.
    scopes_set: bool = True

    @property
    def cache_key(self) -> str:
        """The cache file's name without ``.json``: botocore's ``SSOTokenLoader`` key."""
        return hashlib.sha1((self.start_url if self.legacy else self.name).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SsoProfile:
    """A profile whose keys come from a sign-in: one account, one permission set (role)."""

    name: str
    session: SsoSession
    account_id: str
    role_name: str
    region: str | None = None

    @property
    def session_profile(self) -> str:
        return session_name(self.name)

    @property
    def role_arn(self) -> str:
        """What the user recognises; the real role is ``AWSReservedSSO_<name>_<id>``."""
        return f"arn:aws:iam::{self.account_id}:role/{self.role_name}"


@dataclass(frozen=True)
class SsoConfig:
    sessions: Mapping[str, SsoSession] = field(default_factory=dict)
    profiles: Mapping[str, SsoProfile] = field(default_factory=dict)
    #: Broken SSO profiles and sessions: name → reason (a clause).
    problems: Mapping[str, str] = field(default_factory=dict)

    def session(self, name: str | None) -> SsoSession:
        """The sign-in called *name*, or the one SSO profile *name* uses; with no name, the only one."""
        if name is None:
            if len(self.sessions) == 1:
                return next(iter(self.sessions.values()))
            known = ", ".join(self.sessions) or _("none")
            raise UsageError(
                reason=_("Name the IAM Identity Center sign-in to use; the config has: {known}.").format(known=known)
            )
        if name in self.sessions:
            return self.sessions[name]
        if name in self.profiles:
            return self.profiles[name].session
        if name in self.problems:
            raise BrokenProfile(profile=name, reason=self.problems[name])
        raise UnknownSsoSession(session=name, known=", ".join(self.sessions) or _("none"))

    def profile(self, name: str) -> SsoProfile | None:
        if name in self.problems and name not in self.profiles:
            raise BrokenProfile(profile=name, reason=self.problems[name])
        return self.profiles.get(name)

    def profiles_of(self, session: SsoSession) -> list[SsoProfile]:
        return [p for p in self.profiles.values() if p.session == session]


def _session(name: str, values: Mapping[str, object], legacy: bool) -> SsoSession:
    start_url, region = _text(values, "sso_start_url"), _text(values, "sso_region")
    if not start_url or not region:
        raise _Broken(_("it needs both sso_start_url and sso_region"))
    url = urllib.parse.urlsplit(start_url)
    if url.scheme != "https" or not url.hostname:
        # Where the sign-in starts must be the organisation's, over TLS (SECURITY.md).
        raise _Broken(_("sso_start_url '{url}' is not an https:// address").format(url=start_url[:80]))
    problem = region_problem(region, "sso_region")
    if problem:
        raise _Broken(problem)
    raw_scopes = _text(values, "sso_registration_scopes")
    # The AWS CLI reads sso_registration_scopes of an [sso-session] only (a legacy profile's: none).
    configured = () if legacy else tuple(s.strip() for s in (raw_scopes or "").split(",") if s.strip())
    return SsoSession(name, start_url, region, configured or DEFAULT_SCOPES, legacy, bool(configured))


def load(cfg: AwsConfig) -> SsoConfig:
    """The sign-ins and SSO profiles of *cfg*; a broken one is a problem, never hides the others."""
    sessions: dict[str, SsoSession] = {}
    problems: dict[str, str] = {}
    for name, values in cfg.sso_sessions.items():
        try:
            sessions[name] = _session(name, values, legacy=False)
        except _Broken as exc:
            problems[name] = str(exc)
    found: dict[str, SsoProfile] = {}
    for name, values in cfg.profiles.items():
        if "role_arn" in values or not ("sso_session" in values or "sso_start_url" in values):
            continue
        try:
            profile = _profile(name, values, sessions, problems)
        except _Broken as exc:
            problems[name] = str(exc)
            continue
        if profile is not None:
            found[name] = profile
            if profile.session.legacy:
                sessions.setdefault(profile.session.name, profile.session)
    return SsoConfig(sessions, found, problems)


def _profile(
    name: str, values: Mapping[str, object], sessions: Mapping[str, SsoSession], problems: Mapping[str, str]
) -> SsoProfile | None:
    account, role = _text(values, "sso_account_id"), _text(values, "sso_role_name")
    if account is None and role is None:
        return None  # a token-only profile (for other tools): no keys to get
    session_ref = _text(values, "sso_session")
    if session_ref is not None:
        if session_ref in problems:
            raise _Broken(_("its sso-session '{name}' is broken").format(name=session_ref))
        if session_ref not in sessions:
            raise _Broken(_("its sso-session '{name}' does not exist in the config file").format(name=session_ref))
        session = sessions[session_ref]
    else:
        start_url = _text(values, "sso_start_url") or ""
        session = _session(start_url, values, legacy=True)
    if not account or not _ACCOUNT.fullmatch(account):
        raise _Broken(_("sso_account_id must be a 12-digit account number"))
    if not role or not _ROLE_NAME.fullmatch(role):
        raise _Broken(_("sso_role_name must be a permission set name"))
    region = _text(values, "region")
    if region is not None and region_problem(region):
        raise _Broken(str(region_problem(region, "region")))
    return SsoProfile(name, session, account, role, region)
