"""Role profiles, read from the AWS config files exactly as botocore reads them.

botocore's own loader does the parsing (``AWS_CONFIG_FILE``,
``AWS_SHARED_CREDENTIALS_FILE``, ``~`` and ``$VAR`` included); this module only
decides which profiles are role profiles and what is wrong with the broken
ones, without letting one broken profile hide the good ones.
"""

from __future__ import annotations

import configparser
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from botocore import configloader
from botocore.exceptions import ConfigNotFound, ConfigParseError

from trayapp.core.errors import BrokenProfile, ConfigUnreadable, UnknownProfile
from trayapp.i18n import _

DEFAULT_CONFIG = "~/.aws/config"
DEFAULT_CREDENTIALS = "~/.aws/credentials"
SESSION_SUFFIX = "-session"
CREDENTIAL_SOURCES = ("Environment", "Ec2InstanceMetadata", "EcsContainer")
MIN_DURATION, MAX_DURATION = 900, 43200

_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")


def expand(path: str, environ: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    """Expand a path exactly as botocore does: ``os.path.expandvars``, then ``os.path.expanduser``.

    The standard library's own functions do it (``posixpath``, or ``ntpath`` when
    *platform* is ``win32``: ``%VAR%`` too, and ``~`` is ``USERPROFILE``, never
    ``HOME``), but read from *environ* instead of the process environment, so
    tests and callers can pass an environment (and a platform) of their own.
    """
    import sys

    env = os.environ if environ is None else environ
    windows = (sys.platform if platform is None else platform) == "win32"
    expandvars, expanduser = _path_functions(env, windows)
    return Path(expanduser(expandvars(path)))


def _path_functions(env: Mapping[str, str], windows: bool) -> tuple[Callable[[str], str], Callable[[str], str]]:
    """``expandvars`` and ``expanduser`` of ``ntpath``/``posixpath``, bound to *env*.

    The functions' own code runs, with an ``os`` whose ``environ`` is *env*
    (upper-cased keys on Windows, whose variable names ignore case).
    """
    import ntpath
    import posixpath
    import types

    module = ntpath if windows else posixpath
    view = _EnvOs({key.upper(): value for key, value in env.items()} if windows else env, windows)
    scope = {**vars(module), "os": view}
    functions = (module.expandvars, module.expanduser)
    return tuple(  # type: ignore[return-value]
        types.FunctionType(f.__code__, scope, f.__name__, f.__defaults__, f.__closure__) for f in functions
    )


class _EnvOs:
    """The ``os`` module as seen by the path functions: everything real but ``environ``."""

    def __init__(self, environ: Mapping[str, str], windows: bool) -> None:
        self.environ = _UpperKeys(environ) if windows else environ

    def __getattr__(self, name: str) -> object:
        return getattr(os, name)


class _UpperKeys(dict[str, str]):
    """Windows environment names ignore case (``os.environ`` upper-cases them there)."""

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.upper())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.upper())

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return super().get(key.upper(), default)


def config_path(environ: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    env = os.environ if environ is None else environ
    return expand(_env_get(env, "AWS_CONFIG_FILE", platform) or DEFAULT_CONFIG, env, platform)


def credentials_path(environ: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    env = os.environ if environ is None else environ
    return expand(_env_get(env, "AWS_SHARED_CREDENTIALS_FILE", platform) or DEFAULT_CREDENTIALS, env, platform)


def _env_get(env: Mapping[str, str], name: str, platform: str | None) -> str | None:
    import sys

    if (sys.platform if platform is None else platform) != "win32" or name in env:
        return env.get(name)
    return next((value for key, value in env.items() if key.upper() == name), None)


def session_name(profile: str) -> str:
    """The credentials-file section (and profile) a role's session is written to."""
    return profile + SESSION_SUFFIX


@dataclass(frozen=True)
class RoleProfile:
    name: str
    role_arn: str
    source_profile: str | None = None
    credential_source: str | None = None
    mfa_serial: str | None = None
    external_id: str | None = None
    role_session_name: str | None = None
    duration_seconds: int | None = None
    region: str | None = None

    @property
    def session_profile(self) -> str:
        return session_name(self.name)

    @property
    def source(self) -> str:
        """The source profile's name, or ``credential_source:<kind>``."""
        if self.source_profile is not None:
            return self.source_profile
        return f"credential_source:{self.credential_source}"

    @property
    def role_name(self) -> str:
        return self.role_arn.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class AwsConfig:
    """A snapshot of the config and credentials files."""

    config_path: Path
    credentials_path: Path
    #: Every profile of the config file, botocore's view (``profile `` prefix removed).
    profiles: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    #: Section names of the credentials file.
    credential_profiles: frozenset[str] = frozenset()
    roles: Mapping[str, RoleProfile] = field(default_factory=dict)
    #: Broken role profiles: name → reason (a clause, no secret in it).
    problems: Mapping[str, str] = field(default_factory=dict)

    def role(self, name: str) -> RoleProfile:
        if name in self.roles:
            return self.roles[name]
        if name in self.problems:
            raise BrokenProfile(profile=name, reason=self.problems[name])
        raise UnknownProfile(profile=name, path=self.config_path)

    def source_region(self, role: RoleProfile) -> str | None:
        """The region for the role: its own, else the first one up its source chain."""
        seen: set[str] = set()
        current: RoleProfile | None = role
        while current is not None and current.name not in seen:
            if current.region:
                return current.region
            seen.add(current.name)
            src = current.source_profile
            if src is None:
                return None
            if src in self.roles and src != current.name:
                current = self.roles[src]
                continue
            value = self.profiles.get(src, {}).get("region")
            return value if isinstance(value, str) and value else None
        return None


def _load(path: Path, kind: str) -> dict[str, dict[str, object]]:
    if not path.exists():
        return {}
    try:
        raw = configloader.raw_config_parse(str(path), parse_subsections=True)
    except ConfigNotFound:
        return {}
    except configparser.Error:
        raise ConfigUnreadable(path=path, reason=_("the {kind} file is not valid INI").format(kind=kind)) from None
    except ConfigParseError:
        raise ConfigUnreadable(path=path, reason=_("the {kind} file is not valid INI").format(kind=kind)) from None
    except UnicodeDecodeError:
        raise ConfigUnreadable(path=path, reason=_("the {kind} file is not UTF-8 text").format(kind=kind)) from None
    except OSError as exc:
        raise ConfigUnreadable(path=path, reason=exc.strerror or _("it can't be opened")) from None
    return dict(raw)


def load(environ: Mapping[str, str] | None = None, *, credential_sections: Iterable[str] | None = None) -> AwsConfig:
    """Read both files and classify every role profile."""
    cfg_path, cred_path = config_path(environ), credentials_path(environ)
    raw = _load(cfg_path, "config")
    profiles = _profile_map(raw)
    # A caller that has read the credentials file already passes its section names.
    if credential_sections is None:
        credential_sections = _load(cred_path, "credentials")
    credential_profiles = frozenset(credential_sections)
    roles: dict[str, RoleProfile] = {}
    problems: dict[str, str] = {}
    for name, values in profiles.items():
        if "role_arn" not in values or "web_identity_token_file" in values:
            continue
        try:
            roles[name] = _role(name, values)
        except _Broken as exc:
            problems[name] = str(exc)
    while True:  # a role is broken when anything up its chain is: repeat to a fixpoint
        found = {
            name: reason
            for name in roles
            if (reason := _chain_problem(name, roles, problems, profiles, credential_profiles))
        }
        if not found:
            break
        for name, reason in found.items():
            problems[name] = reason
            del roles[name]
    return AwsConfig(cfg_path, cred_path, profiles, credential_profiles, roles, problems)


_PLAIN_NAME = re.compile(r"^profile +([^\s'\"\\]+)$")


def _profile_map(raw: Mapping[str, dict[str, object]]) -> dict[str, dict[str, object]]:
    """botocore's ``build_profile_map(raw)["profiles"]``, without its deep copy and with
    shlex only for the names that need it (quotes, backslashes): 1,000 profiles cost ~35 ms less."""
    profiles: dict[str, dict[str, object]] = {}
    for key, values in raw.items():
        if key.startswith("profile"):
            plain = _PLAIN_NAME.match(key)
            if plain is not None:
                profiles[plain.group(1)] = values
            else:
                profiles.update(configloader.build_profile_map({key: values}).get("profiles", {}))
        elif key == "default":
            profiles[key] = values
    return profiles


class _Broken(Exception):
    pass


def _text(values: Mapping[str, object], key: str) -> str | None:
    value = values.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Broken(f"{key} must be a single value")
    return value.strip() or None


def _role(name: str, values: Mapping[str, object]) -> RoleProfile:
    role_arn = _text(values, "role_arn") or ""
    if not _ROLE_ARN.match(role_arn):
        raise _Broken(
            _("role_arn '{role_arn}' is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)").format(
                role_arn=role_arn
            )
        )
    source, cred_source = _text(values, "source_profile"), _text(values, "credential_source")
    if source and cred_source:
        raise _Broken(_("it sets both source_profile and credential_source; keep one"))
    if not source and not cred_source:
        raise _Broken(_("it has role_arn but neither source_profile nor credential_source"))
    if cred_source and cred_source not in CREDENTIAL_SOURCES:
        raise _Broken(
            _("credential_source '{value}' is not one of {choices}").format(
                value=cred_source, choices=", ".join(CREDENTIAL_SOURCES)
            )
        )
    duration = _text(values, "duration_seconds")
    seconds: int | None = None
    if duration is not None:
        if not duration.isdigit() or not MIN_DURATION <= int(duration) <= MAX_DURATION:
            raise _Broken(
                _("duration_seconds '{value}' is not a number of seconds between 900 and 43200").format(value=duration)
            )
        seconds = int(duration)
    return RoleProfile(
        name=name,
        role_arn=role_arn,
        source_profile=source,
        credential_source=cred_source,
        mfa_serial=_text(values, "mfa_serial"),
        external_id=_text(values, "external_id"),
        role_session_name=_text(values, "role_session_name"),
        duration_seconds=seconds,
        region=_text(values, "region"),
    )


def _has_keys(values: Mapping[str, object]) -> bool:
    return any(k in values for k in ("aws_access_key_id", "credential_process", "sso_session", "sso_start_url"))


def _chain_problem(
    name: str,
    roles: Mapping[str, RoleProfile],
    problems: Mapping[str, str],
    profiles: Mapping[str, Mapping[str, object]],
    credential_profiles: frozenset[str],
) -> str | None:
    """Follow source_profile links; say why the chain can't end in credentials."""
    path = [name]
    current = roles[name]
    while current.source_profile is not None:
        src = current.source_profile
        if src == current.name:
            # botocore allows a role profile to name itself as source when it holds keys.
            if _has_keys(profiles.get(src, {})) or src in credential_profiles:
                return None
            return _("it names itself as source_profile but has no keys of its own")
        if src in path:
            return _("its source_profile chain loops: {chain}").format(chain=" → ".join([*path, src]))
        if src in problems:
            return _("its source profile '{source}' is broken").format(source=src)
        if src in roles:
            path.append(src)
            current = roles[src]
            continue
        if src not in profiles and src not in credential_profiles:
            missing = _("its source_profile '{source}' does not exist in the config or credentials file")
            return missing.format(source=src)
        return None
    return None
