"""Signing out ends what the sign-in made, as ``aws sso logout`` does and a bit more.

For one sign-in (or, with ``--all``, every one):

1. the token: one ``Logout`` call to IAM Identity Center per token (best effort: an expired token
   is refused there), then its file in ``~/.aws/sso/cache`` removed — for ``--all`` every file there
   holding an ``accessToken``, as ``aws sso logout`` sweeps them (the AWS CLI's client registrations
   stay: they are no sign-in);
2. the ``[<profile>-session]`` sections trayapp wrote for that sign-in's profiles — and for role
   profiles whose keys were signed with them (``source_profile`` up to an SSO profile) — through the
   credentials file's safe writer;
3. the AWS CLI's cached role keys in ``~/.aws/cli/cache`` whose JSON says ``"ProviderType": "sso"``:
   the files of that sign-in's profiles (botocore's ``SSOCredentialFetcher`` key), for ``--all``
   every one.

Each step is one sentence.  A file another user owns or could change is not read and not removed
(core/sso_cache.py's rule); a profile whose section can't be removed says why, and the rest goes on.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from trayapp.core import errors, sso_cache
from trayapp.core.profiles import expand, region_problem
from trayapp.core.sessions import session_name
from trayapp.core.sso_config import SsoConfig, SsoProfile, SsoSession
from trayapp.i18n import _, ngettext

if TYPE_CHECKING:
    from trayapp.core.hosts import Engine
    from trayapp.core.sso import SsoSignIns

log = logging.getLogger(__name__)

#: Where the AWS CLI v2 keeps the role keys it got with a sign-in (``AWS_CREDS_CACHE_DIR``).
CLI_CACHE_DIR = "~/.aws/cli/cache"


def sign_out(service: Engine, session: SsoSession | None) -> list[str]:
    """Sign out of *session* (None: of every sign-in); the sentences saying what was done."""
    from trayapp.core.sso import sign_ins

    engine, config = sign_ins(service), service.sso()
    said: list[str] = []
    if session is None:
        said += _all_tokens(engine, config, service.environ)
        profiles = list(config.profiles.values())
    else:
        said += _one_token(engine, session)
        profiles = config.profiles_of(session)
    said += _sections(service, profiles)
    said += _cli_cache(profiles if session is not None else None, service.environ)
    return said


# --- 1. the tokens ------------------------------------------------------------------------------------


def _one_token(engine: SsoSignIns, session: SsoSession) -> list[str]:
    with engine.locked(session):
        try:
            token = engine.token(session)
        except errors.SsoCacheRefused as exc:
            return [str(exc)]
        if token is None:
            return [_("'{session}' was not signed in.").format(session=session.name)]
        said = [_logout(engine, session.name, session.region, token.access_token)]
        path = engine.path(session)
        sso_cache.remove(path)
        said.append(_("Removed the sign-in to '{session}' from {path}.").format(session=session.name, path=path))
    return said


def _all_tokens(engine: SsoSignIns, config: SsoConfig, environ: Mapping[str, str] | None) -> list[str]:
    by_path = {engine.path(s): s for s in config.sessions.values()}
    folder = sso_cache.cache_dir(environ)
    said: list[str] = []
    for path in _json_files(folder):
        session = by_path.get(path)
        with engine.locked(session) if session is not None else contextlib.nullcontext():
            try:
                data = sso_cache.read_json(path)
            except errors.SsoCacheRefused as exc:
                said.append(str(exc))
                continue
            token = data.get("accessToken") if data is not None else None
            if not isinstance(token, str) or not token:
                continue  # a client registration, or not a token
            region = data.get("region") if data is not None else None
            name = session.name if session is not None else path.name
            if isinstance(region, str) and not region_problem(region):
                said.append(_logout(engine, name, region, token))
            sso_cache.remove(path)
            said.append(_("Removed the sign-in to '{session}' from {path}.").format(session=name, path=path))
    if not said:
        said.append(_("No IAM Identity Center sign-in was cached in {folder}.").format(folder=folder))
    return said


def _logout(engine: SsoSignIns, name: str, region: str, access_token: str) -> str:
    """One ``Logout`` call; its sentence."""
    portal = engine.client("sso", region)
    try:
        portal.logout(accessToken=access_token)
    except Exception as exc:  # an expired token, the network: the files go anyway
        log.info("Logout for %s failed (%s)", name, getattr(exc, "response", {}).get("Error", {}).get("Code"))
        return _("IAM Identity Center did not confirm the sign-out of '{session}'; it ends here anyway.").format(
            session=name
        )
    return _("Signed out of '{session}' at IAM Identity Center.").format(session=name)


# --- 2. trayapp's sections ------------------------------------------------------------------------------


def _made_from(service: Engine, profiles: Iterable[SsoProfile]) -> list[str]:
    """The profiles whose sessions the sign-in's keys made: the SSO profiles, and the role profiles
    whose ``source_profile`` chain reaches one of them."""
    names = {p.name for p in profiles}
    roles = service.config().roles
    made = set(names)
    for name in roles:
        seen, current = set(), name
        while current in roles and current not in seen:
            seen.add(current)
            current = roles[current].source_profile or ""
            if current in names:
                made.add(name)
                break
    return sorted(made)


def _sections(service: Engine, profiles: Iterable[SsoProfile]) -> list[str]:
    written = service.sessions()
    path = service.config().credentials_path
    said = []
    for name in _made_from(service, profiles):
        if name not in written:
            continue
        section = session_name(name)
        try:
            if service.forget(name):
                said.append(_("Removed [{section}] from {path}.").format(section=section, path=path))
        except errors.TrayappError as exc:
            said.append(str(exc))
    return said


# --- 3. the AWS CLI's cached role keys ----------------------------------------------------------------


def cli_cache_key(profile: SsoProfile) -> str:
    """botocore's ``SSOCredentialFetcher._create_cache_key`` for *profile*: its file name in
    ``~/.aws/cli/cache`` without ``.json``."""
    args = {"roleName": profile.role_name, "accountId": profile.account_id}
    if profile.session.legacy:
        args["startUrl"] = profile.session.start_url
    else:
        args["sessionName"] = profile.session.name
    text = json.dumps(args, sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _cli_cache(profiles: list[SsoProfile] | None, environ: Mapping[str, str] | None) -> list[str]:
    folder = expand(CLI_CACHE_DIR, environ)
    paths = _json_files(folder) if profiles is None else [folder / f"{cli_cache_key(p)}.json" for p in profiles]
    removed, said = 0, []
    for path in paths:
        try:
            data = sso_cache.read_json(path)
        except errors.SsoCacheRefused as exc:
            said.append(str(exc))
            continue
        if data is not None and data.get("ProviderType") == "sso":
            removed += sso_cache.remove(path)
    if removed:
        text = ngettext(
            "Removed {count} file of role keys the AWS CLI had cached in {folder}.",
            "Removed {count} files of role keys the AWS CLI had cached in {folder}.",
            removed,
        )
        said.append(text.format(count=removed, folder=folder))
    return said


def _json_files(folder: Path) -> list[Path]:
    try:
        names = sorted(os.listdir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:
        raise errors.SsoCacheRefused(path=folder, reason=exc.strerror or _("it can't be read")) from None
    return [folder / n for n in names if n.endswith(".json") and not n.startswith(".")]
