"""``aws login`` profiles (AWS CLI 2.32+), as botocore's ``LoginProvider`` reads them.

A profile of the config file with ``login_session = <ARN of the signed-in identity>`` and no
``role_arn`` (botocore's role provider comes first in its chain) takes its keys from the sign-in's
cache file, ``<AWS_LOGIN_CACHE_DIRECTORY or ~/.aws/login/cache>/<sha256 of the ARN>.json``
(:mod:`trayapp.core.login_cache`).  No network and no boto3 here: listing stays fast.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from trayapp.core.errors import BrokenProfile
from trayapp.core.profiles import AwsConfig, _Broken, _text, region_problem  # one reading of a value
from trayapp.core.sessions import session_name
from trayapp.i18n import _

#: What ``aws login`` writes: the ARN of the identity that signed in (an IAM user, a role session, root).
_SESSION_ARN = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+::[0-9]{12}:[\w+=,.@/:-]{1,1024}", re.ASCII)


@dataclass(frozen=True)
class LoginProfile:
    name: str
    #: ``login_session``: the signed-in identity's ARN, whose SHA-256 names the cache file.
    session: str
    region: str | None = None

    @property
    def session_profile(self) -> str:
        return session_name(self.name)

    @property
    def role_arn(self) -> str:
        """What the user recognises in lists and the bridged section: the identity signed in."""
        return self.session


@dataclass(frozen=True)
class LoginConfig:
    profiles: Mapping[str, LoginProfile] = field(default_factory=dict)
    #: Broken login profiles: name → reason (a clause, no secret in it).
    problems: Mapping[str, str] = field(default_factory=dict)

    def profile(self, name: str) -> LoginProfile | None:
        if name in self.problems and name not in self.profiles:
            raise BrokenProfile(profile=name, reason=self.problems[name])
        return self.profiles.get(name)


def load(cfg: AwsConfig) -> LoginConfig:
    """The login profiles of *cfg*; a broken one is a problem and never hides the others."""
    found: dict[str, LoginProfile] = {}
    problems: dict[str, str] = {}
    for name, values in cfg.profiles.items():
        if "login_session" not in values or "role_arn" in values:
            continue
        try:
            found[name] = _profile(name, values)
        except _Broken as exc:
            problems[name] = str(exc)
    return LoginConfig(found, problems)


def _profile(name: str, values: Mapping[str, object]) -> LoginProfile:
    session = _text(values, "login_session")
    if not session or not _SESSION_ARN.fullmatch(session):
        raise _Broken(_("login_session must be the ARN 'aws login' wrote"))
    region = _text(values, "region")
    if region is not None and region_problem(region):
        raise _Broken(str(region_problem(region, "region")))
    if not name.isprintable():
        raise _Broken(_("its name can't be written as a section [{section}] of the credentials file").format(
            section=session_name(name)))  # fmt: skip
    return LoginProfile(name, session, region)
