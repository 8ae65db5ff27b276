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
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore import configloader
from botocore.exceptions import ConfigNotFound, ConfigParseError

from trayapp.core import commands, ini
from trayapp.core.aws_paths import config_path, credentials_path, expand
from trayapp.core.commands import MAX_DURATION, MIN_DURATION
from trayapp.core.errors import BrokenProfile, ConfigUnreadable, UnknownProfile
from trayapp.core.sessions import session_name
from trayapp.i18n import N_, _

#: Where the AWS files are lives in core/aws_paths; callers read it here as ``profiles.config_path`` & co.
__all__ = [
    "CREDENTIAL_SOURCES",
    "MAX_TAGS",
    "AwsConfig",
    "RoleProfile",
    "config_path",
    "credentials_path",
    "expand",
    "load",
    "merge",
    "region_problem",
]

CREDENTIAL_SOURCES = ("Environment", "Ec2InstanceMetadata", "EcsContainer")

_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}", re.ASCII)


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
    #: aws-vault's keys, sent with AssumeRole: ``SourceIdentity``, ``Tags``, ``TransitiveTagKeys``.
    source_identity: str | None = None
    session_tags: tuple[tuple[str, str], ...] = ()
    transitive_session_tags: tuple[str, ...] = ()
    #: aws-vault's ``mfa_process``: a command line that prints the MFA code (see core/code_sources.py).
    mfa_process: str | None = field(default=None, repr=False)

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
    #: Every profile of the config file alone, botocore's view (``profile `` prefix removed).
    profiles: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    #: Section names of the credentials file.
    credential_profiles: frozenset[str] = frozenset()
    roles: Mapping[str, RoleProfile] = field(default_factory=dict)
    #: Broken role profiles: name → reason (a clause, no secret in it).
    problems: Mapping[str, str] = field(default_factory=dict)
    #: Every profile as botocore uses it (:func:`merge`): what roles, chains and regions are read from.
    merged: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    #: The ``[sso-session NAME]`` sections, botocore's view (read by core/sso_config.py).
    sso_sessions: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    #: Each role profile read on its own, before its chain is checked: its :class:`RoleProfile`, or why
    #: it is broken.  The next :func:`load` given this config reuses it for a profile whose values are equal.
    own: Mapping[str, RoleProfile | str] = field(default_factory=dict, repr=False, compare=False)
    #: The config file as it was when read (``ini.file_stamp``), for a reader given this config as the previous one.
    config_stamp: tuple[int, ...] | None = field(default=None, repr=False, compare=False)

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
            value = self.merged.get(src, {}).get("region")
            return value if isinstance(value, str) and value else None
        return None


def _load(path: Path, kind: str, recall: ini.Recall | None = None) -> dict[str, dict[str, object]]:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigUnreadable(path=path, reason=exc.strerror or _("it can't be opened")) from None
    if not stat.S_ISREG(st.st_mode):
        # botocore would open a FIFO and wait for a writer forever; a folder it skips.
        raise ConfigUnreadable(path=path, reason=_("it is not a regular file"))
    try:
        raw = ini.raw_config_parse(str(path), True, keep=False, recall=recall)
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


def load(
    environ: Mapping[str, str] | None = None,
    *,
    credential_sections: Mapping[str, Mapping[str, object]] | None = None,
    recall: ini.Recall | None = None,
    previous: AwsConfig | None = None,
) -> AwsConfig:
    """Read both files and classify every role profile, each read as botocore reads it (:func:`merge`).

    A resident reader (the tray's ``Service``) passes the config file's *recall* and its *previous*
    config: then only the sections whose text changed are scanned again, and only the role profiles
    whose values changed are checked again (a profile's own check depends on its name and values
    alone); every chain is followed again.  The result is the same as a first reading's.
    """
    cfg_path, cred_path = config_path(environ), credentials_path(environ)
    resident = previous is not None or recall is not None
    stamp = ini.file_stamp(cfg_path) if resident else None  # taken before the file is read
    if (
        stamp is not None
        and previous is not None
        and (previous.config_path, previous.config_stamp) == (cfg_path, stamp)
    ):
        profiles, sso_sessions = previous.profiles, previous.sso_sessions  # only the credentials file changed
    else:
        profiles, sso_sessions = _read_config(cfg_path, recall)
    # A caller that has read the credentials file already passes its sections.
    if credential_sections is None:
        credential_sections = _load(cred_path, "credentials")
    credential_profiles = frozenset(credential_sections)
    merged = merge(profiles, credential_sections)
    roles: dict[str, RoleProfile] = {}
    problems: dict[str, str] = {}
    own: dict[str, RoleProfile | str] = {}
    held: Mapping[str, RoleProfile | str] = previous.own if previous is not None else {}
    held_values: Mapping[str, Mapping[str, object]] = previous.merged if previous is not None else {}
    for name in _maybe_roles(profiles, credential_sections):
        values = merged[name]
        if "role_arn" not in values or "web_identity_token_file" in values:
            continue
        checked = held.get(name)
        if checked is None or held_values.get(name) != values:
            try:
                checked = _role(name, values)
            except _Broken as exc:
                checked = str(exc)
        own[name] = checked
        if isinstance(checked, str):
            problems[name] = checked
        else:
            roles[name] = checked
    while True:  # a role is broken when anything up its chain is: repeat to a fixpoint
        found = {name: reason for name in roles if (reason := _chain_problem(name, roles, problems, merged))}
        if not found:
            break
        for name, reason in found.items():
            problems[name] = reason
            del roles[name]
    config = AwsConfig(
        cfg_path, cred_path, profiles, credential_profiles, roles, problems, merged, sso_sessions, own, stamp
    )
    for name, role in list(roles.items()):
        if role.region is None:  # its own was checked; one from up the chain is checked here
            try:
                _region(config.source_region(role), _("the region of its source profile"))
            except _Broken as exc:
                problems[name] = str(exc)
                del roles[name]
    return config


def _read_config(
    path: Path, recall: ini.Recall | None
) -> tuple[dict[str, dict[str, object]], dict[str, Mapping[str, object]]]:
    """The config file's profiles and ``[sso-session NAME]`` sections, botocore's view."""
    raw = _load(path, "config", recall)
    sso_sessions = {
        name: values
        for key, section in raw.items()
        if key.startswith("sso-session")
        for name, values in configloader.build_profile_map({key: section}).get("sso_sessions", {}).items()
    }
    return _profile_map(raw), sso_sessions


def merge(
    profiles: Mapping[str, Mapping[str, object]], credential_sections: Mapping[str, Mapping[str, object]]
) -> dict[str, Mapping[str, object]]:
    """The profiles as botocore's session uses them (``Session.full_config``): each section of the
    credentials file is the profile of the same name, its values winning over the config file's.

    So a ``role_arn``, ``source_profile``, ``mfa_serial``… in ``[prod]`` of the credentials file is
    what ``aws --profile prod`` uses, and what trayapp uses too.
    """
    merged: dict[str, Mapping[str, object]] = {**profiles, **credential_sections}  # config's order first
    for name in profiles.keys() & credential_sections.keys():
        merged[name] = {**profiles[name], **credential_sections[name]}
    return merged


def _maybe_roles(
    profiles: Mapping[str, Mapping[str, object]], credential_sections: Mapping[str, Mapping[str, object]]
) -> list[str]:
    """The names that may be role profiles, in botocore's order: every config profile, then the
    credentials file's own sections that name a role (not the thousands of keys and sessions)."""
    return [*profiles, *(n for n, v in credential_sections.items() if "role_arn" in v and n not in profiles)]


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
    problem = _section_problem(name)
    if problem:
        raise _Broken(problem)
    role_arn = _text(values, "role_arn") or ""
    if not _ROLE_ARN.fullmatch(role_arn):
        raise _Broken(
            _("role_arn '{role_arn}' is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)").format(
                role_arn=_shown(role_arn, 120)
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
                value=_shown(cred_source), choices=", ".join(CREDENTIAL_SOURCES)
            )
        )
    return RoleProfile(
        name=name,
        role_arn=role_arn,
        source_profile=source,
        credential_source=cred_source,
        mfa_serial=_checked(values, "mfa_serial", _MFA_SERIAL, N_("an MFA device ARN or serial number")),
        external_id=_checked(values, "external_id", _EXTERNAL_ID, N_("2 to 1224 letters, digits and +=,.@:/-")),
        role_session_name=_checked(
            values, "role_session_name", _SESSION_NAME, N_("2 to 64 letters, digits and +=,.@-")
        ),
        duration_seconds=_duration(values),
        region=_region(_text(values, "region"), "region"),
        **_identity_and_tags(values),
        mfa_process=_mfa_process(values),
    )


def _mfa_process(values: Mapping[str, object]) -> str | None:
    """A command line on one line; it is run only when a code is needed (and never shown)."""
    command = _text(values, "mfa_process")
    if command is not None and (len(command) > 4096 or not command.isprintable()):
        raise _Broken(_("mfa_process must be a command on one line"))
    return command


# What STS accepts (its API reference): a value outside these is refused by STS after the
# code was spent, or by botocore's parameter check, so the profile says so up front.
_MFA_SERIAL = re.compile(r"[\w+=/:,.@-]{9,256}", re.ASCII)
_EXTERNAL_ID = re.compile(r"[\w+=,.@:/-]{2,1224}", re.ASCII)
_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)
_SOURCE_IDENTITY = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)
#: STS takes at most 50 session tags.
MAX_TAGS = 50


def _checked(values: Mapping[str, object], key: str, pattern: re.Pattern[str], what: str) -> str | None:
    value = _text(values, key)
    if value is not None and not pattern.fullmatch(value):
        raise _Broken(_("{key} '{value}' is not {what}").format(key=key, value=_shown(value), what=_(what)))
    return value


_NO_IDENTITY_OR_TAGS: dict[str, Any] = {"source_identity": None, "session_tags": (), "transitive_session_tags": ()}


def _identity_and_tags(values: Mapping[str, object]) -> dict[str, Any]:
    """``source_identity``, ``session_tags`` (``k=v,k2=v2``) and ``transitive_session_tags``
    (``k,k2``), aws-vault's keys, checked against what STS accepts."""
    if "source_identity" not in values and "session_tags" not in values and "transitive_session_tags" not in values:
        return _NO_IDENTITY_OR_TAGS
    source_identity = _checked(values, "source_identity", _SOURCE_IDENTITY, N_("2 to 64 letters, digits and +=,.@-"))
    tags: list[tuple[str, str]] = []
    for item in _items(_text(values, "session_tags")):
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not _tag_text(key, 1, 128) or not _tag_text(value, 0, 256) or key.lower().startswith("aws:"):
            raise _Broken(
                _("session_tags entry '{value}' is not key=value (letters, digits, spaces and _.:/=+-@)").format(
                    value=_shown(item)
                )
            )
        if key.lower() in {k.lower() for k, _v in tags}:
            raise _Broken(_("session_tags names the key '{key}' twice").format(key=_shown(key)))
        tags.append((key, value))
    transitive = tuple(_items(_text(values, "transitive_session_tags")))
    known = {k.lower() for k, _v in tags}
    for key in transitive:
        if key.lower() not in known:
            raise _Broken(
                _("transitive_session_tags names '{key}', which is not a key of session_tags").format(key=_shown(key))
            )
    if len(tags) > MAX_TAGS:
        raise _Broken(_("session_tags has more than {count} tags").format(count=MAX_TAGS))
    return {"source_identity": source_identity, "session_tags": tuple(tags), "transitive_session_tags": transitive}


def _items(text: str | None) -> list[str]:
    """The comma-separated items of *text*, blanks dropped."""
    return [item.strip() for item in (text or "").split(",") if item.strip()]


def _tag_text(text: str, least: int, most: int) -> bool:
    """STS's tag alphabet (``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]``) and length."""
    import unicodedata

    return least <= len(text) <= most and all(c in "_.:/=+-@" or unicodedata.category(c)[0] in "LZN" for c in text)


_shown = commands.shown


def _duration(values: Mapping[str, object]) -> int | None:
    """``duration_seconds`` read the way botocore reads it (``int(value)``), then range-checked."""
    duration = _text(values, "duration_seconds")
    if duration is None:
        return None
    try:
        seconds = int(duration)
    except ValueError:
        seconds = 0
    if not MIN_DURATION <= seconds <= MAX_DURATION:
        raise _Broken(
            _("duration_seconds '{value}' is not a number of seconds between {low} and {high}").format(
                value=_shown(duration), low=MIN_DURATION, high=MAX_DURATION
            )
        )
    return seconds


def _region(region: str | None, where: str) -> str | None:
    """A region botocore accepts (a DNS host label), else the profile can't be used."""
    if region is None:
        return None
    problem = commands.region_problem(region, where)
    if problem:
        raise _Broken(problem)
    return region


def region_problem(region: str, where: str = "--region") -> str | None:
    """Why *region* can't be used (the same check as a profile's ``region``), or None."""
    return commands.region_problem(region, where)


def _section_problem(name: str) -> str | None:
    """Why ``[<name>-session]`` can't be a section of the credentials file, if it can't."""
    section = session_name(name)
    header = configparser.RawConfigParser.SECTCRE.match(f"[{section}]")
    if section == section.strip() and section.isprintable() and header and header.group("header") == section:
        return None
    return _("its name can't be written as a section [{section}] of the credentials file").format(
        section=_shown(section)
    )


def _has_keys(values: Mapping[str, object]) -> bool:
    return any(k in values for k in ("aws_access_key_id", "credential_process", "sso_session", "sso_start_url"))


def _chain_problem(
    name: str,
    roles: Mapping[str, RoleProfile],
    problems: Mapping[str, str],
    profiles: Mapping[str, Mapping[str, object]],
) -> str | None:
    """Follow source_profile links; say why the chain can't end in credentials."""
    path = [name]
    current = roles[name]
    while current.source_profile is not None:
        src = current.source_profile
        if src == current.name:
            # botocore allows a role profile to name itself as source when it holds keys.
            if _has_keys(profiles.get(src, {})):
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
        if src not in profiles:
            missing = _("its source_profile '{source}' does not exist in the config or credentials file")
            return missing.format(source=src)
        return None
    return None
