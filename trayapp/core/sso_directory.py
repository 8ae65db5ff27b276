"""Profiles from the directory: every account × permission set a sign-in can use, as ``[profile …]``
sections (``ListAccounts``, ``ListAccountRoles``), and the missing ones appended to the config file.

The directory is a server's answer, so it is read as hostile and possibly huge (SECURITY.md):

* listings are paged (botocore's paginators, 100 a page) with a bound on pages and items, so a server
  that never ends stops the run with a sentence; the accounts' roles are listed :data:`WORKERS` at a
  time, and a throttled listing (HTTP 429, ``TooManyRequestsException``) is retried by botocore's
  ``standard`` retry mode with its exponential backoff and jitter, up to :data:`LIST_ATTEMPTS` tries
  (measured on the stand-in, 1,000 accounts with one listing in seven refused: 17 s; ``adaptive``
  mode's client-side rate limit shrank at every 429 and had not finished after 300 s; one listing
  at a time took 86 s);
* an entry with an id that is not 12 digits or a role name outside IAM's characters skips itself,
  with one sentence; duplicates are listed once;
* names are made safe and never equal an existing one (:mod:`trayapp.core.sso_names`), and no
  existing section is ever changed: every missing profile is appended in one transaction, all or
  nothing, the names chosen under the file's lock (:mod:`trayapp.core.config_append`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from trayapp.core import errors
from trayapp.core.config_append import append_sections
from trayapp.core.credentials_file import CredentialsFile
from trayapp.core.sso_config import SsoConfig, SsoSession
from trayapp.core.sso_names import NameBook, readable_name, shown, valid_account_id, valid_role_name
from trayapp.i18n import _

if TYPE_CHECKING:
    from trayapp.core.profiles import AwsConfig
    from trayapp.core.sso import SsoSignIns

log = logging.getLogger(__name__)

#: Role listings in flight at once (botocore clients are thread-safe; its pool holds 10 connections).
WORKERS = 8
#: Tries of one listing request, the first included: a throttled one waits rand(0, 1) × 2^n s before try n+1.
LIST_ATTEMPTS = 8
PAGE_SIZE = 100  # the portal's largest page
MAX_ACCOUNTS = 50_000
MAX_ACCOUNT_PAGES = 2_000
MAX_ROLES = 5_000  # of one account
MAX_ROLE_PAGES = 100


class DirectoryUnusable(errors.TrayappError):
    template = "The accounts of '{session}' could not be listed: {reason}."


@dataclass(frozen=True)
class Assignment:
    account_id: str
    account_name: str
    role_name: str

    def profile_name(self) -> str:
        """A readable name: ``production-admin`` (account name and role, lower case, dashes)."""
        return readable_name(self.account_id, self.account_name, self.role_name)


@dataclass
class Directory:
    """What the signed-in user may use, and a sentence for each entry skipped."""

    assignments: list[Assignment] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


@dataclass
class Plan:
    """``{profile name: its keys}`` to append, and a sentence for each assignment left out."""

    sections: dict[str, dict[str, str]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def listing_client(region: str) -> Any:
    """The portal's client for listings: more tries than a single call's, a pool for the workers."""
    from botocore import UNSIGNED
    from botocore.config import Config

    from trayapp.core import aws_clients

    config = aws_clients.client_config().merge(
        Config(
            signature_version=UNSIGNED,
            retries={"mode": "standard", "total_max_attempts": LIST_ATTEMPTS},
            max_pool_connections=WORKERS + 2,
        )
    )
    from trayapp.core import sso_wire

    return sso_wire.bound(aws_clients.session().create_client("sso", region, config=config))  # ≤ 1 MB a page


def assignments(signins: SsoSignIns, session: SsoSession, *, portal: Any = None) -> Directory:
    """What the signed-in user may use, signing in first when needed."""
    token, _outcome = signins.ensure(session, interactive=True)
    portal = portal if portal is not None else listing_client(session.region)
    lister = _Lister(portal, token.access_token, session)
    try:
        accounts = lister.accounts()
        with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="sso-roles") as pool:
            try:
                found = list(pool.map(lister.roles, accounts))
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    except errors.TrayappError:
        raise
    except portal.exceptions.UnauthorizedException:
        raise errors.SsoSignedOut(session=session.name) from None
    except Exception as exc:
        from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

        from trayapp.core import sso_wire

        said = sso_wire.failure(exc, sso_wire.endpoint_of(portal))  # no network, 5xx, too large: as every SSO call
        if said is not None and (isinstance(exc, ClientError) or not isinstance(said, errors.SsoMalformedAnswer)):
            raise said from None
        if isinstance(exc, ConnectionError | HTTPClientError):
            raise errors.SsoUnreachable(endpoint=portal.meta.endpoint_url) from None
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        if code == "TooManyRequestsException":
            reason = _("IAM Identity Center kept answering 'too many requests'; try again in a minute")
        elif code is not None:
            reason = _("IAM Identity Center refused it ({code})").format(code=shown(code))
        else:  # botocore could not read a page (an entry that is not an object, a body that is not JSON)
            log.debug("a listing page was not understood", exc_info=True)
            reason = _("IAM Identity Center sent a page trayapp could not understand")
        raise DirectoryUnusable(session=session.name, reason=reason) from None
    directory = Directory(skipped=lister.skipped)
    for items, skipped in found:
        directory.assignments.extend(items)
        directory.skipped.extend(skipped)
    directory.assignments.sort(key=lambda a: (a.account_name.lower(), a.account_id, a.role_name))
    return directory


class _Lister:
    def __init__(self, portal: Any, token: str, session: SsoSession) -> None:
        self.portal, self.token, self.session = portal, token, session
        self.skipped: list[str] = []

    def _items(self, operation: str, key: str, max_pages: int, **params: str) -> Iterator[Any]:
        pages = self.portal.get_paginator(operation).paginate(
            accessToken=self.token, PaginationConfig={"PageSize": PAGE_SIZE}, **params
        )
        for number, page in enumerate(pages, 1):
            if number > max_pages:
                reason = _("IAM Identity Center kept sending pages past {count}").format(count=max_pages)
                raise DirectoryUnusable(session=self.session.name, reason=reason)
            items = page.get(key)
            if isinstance(items, list):
                yield from items

    def accounts(self) -> list[tuple[str, str]]:
        """(id, name) of each account, each once, in the directory's order."""
        found: dict[str, str] = {}
        for entry in self._items("list_accounts", "accountList", MAX_ACCOUNT_PAGES):
            account = entry.get("accountId") if isinstance(entry, dict) else entry
            if not valid_account_id(account):
                text = _("Skipped account '{account}': its id is not a 12-digit account number.")
                named = entry.get("accountName") if account is None and isinstance(entry, dict) else account
                self.skipped.append(text.format(account=shown(named)))
                continue
            name = entry.get("accountName")
            found.setdefault(account, name if isinstance(name, str) else "")
            if len(found) > MAX_ACCOUNTS:
                reason = _("it lists more than {count} accounts").format(count=MAX_ACCOUNTS)
                raise DirectoryUnusable(session=self.session.name, reason=reason)
        return list(found.items())

    def roles(self, account: tuple[str, str]) -> tuple[list[Assignment], list[str]]:
        account_id, account_name = account
        roles: dict[str, Assignment] = {}
        skipped: list[str] = []
        for entry in self._items("list_account_roles", "roleList", MAX_ROLE_PAGES, accountId=account_id):
            role = entry.get("roleName") if isinstance(entry, dict) else entry
            if not valid_role_name(role):
                text = _("Skipped role '{role}' of account {account}: it is not a valid role name.")
                skipped.append(text.format(role=shown(role), account=account_id))
                continue
            roles.setdefault(role, Assignment(account_id, account_name, role))
            if len(roles) > MAX_ROLES:
                reason = _("account {account} has more than {count} roles").format(account=account_id, count=MAX_ROLES)
                raise DirectoryUnusable(session=self.session.name, reason=reason)
        return list(roles.values()), skipped


def _keys(session: SsoSession, item: Assignment) -> dict[str, str]:
    if session.legacy:
        where = {"sso_start_url": session.start_url, "sso_region": session.region}
    else:
        where = {"sso_session": session.name}
    return where | {"sso_account_id": item.account_id, "sso_role_name": item.role_name}


def _used(session: SsoSession, sections: Mapping[str, Mapping[str, str]]) -> set[tuple[str | None, str | None]]:
    """(account, role) of every section of the config file that signs in with *session*."""
    mark = ("sso_start_url", session.start_url) if session.legacy else ("sso_session", session.name)
    return {
        (keys.get("sso_account_id"), keys.get("sso_role_name"))
        for keys in sections.values()
        if keys.get(mark[0]) == mark[1]
    }


def missing_profiles(
    cfg: AwsConfig,
    sso: SsoConfig,
    session: SsoSession,
    found: Iterable[Assignment],
    sections: Mapping[str, Mapping[str, str]] | None = None,
) -> Plan:
    """A profile for each assignment no profile uses yet, under a name nothing has (*sections*: the
    config file's, as botocore reads them; read now when not given)."""
    if sections is None:
        sections = CredentialsFile(cfg.config_path).read_sections()
    have = {(p.account_id, p.role_name) for p in sso.profiles_of(session)} | _used(session, sections)
    names = NameBook(sections, cfg.credential_profiles)
    plan = Plan()
    for item in found:
        if (item.account_id, item.role_name) in have:
            continue
        base = item.profile_name()
        name = names.take(item.account_id, base)
        if name is None:
            text = _("Skipped account {account}, role {role}: every name tried for it ('{name}' and more) is taken.")
            plan.skipped.append(text.format(account=item.account_id, role=item.role_name, name=base))
            continue
        have.add((item.account_id, item.role_name))
        plan.sections[name] = _keys(session, item)
    return plan


def as_text(sections: dict[str, dict[str, str]]) -> str:
    blocks = [
        "".join([f"[profile {name}]\n", *(f"{k} = {v}\n" for k, v in keys.items())]) for name, keys in sections.items()
    ]
    return "\n".join(blocks)


def write(
    cfg: AwsConfig, sso: SsoConfig, session: SsoSession, found: list[Assignment]
) -> tuple[list[str], list[str], list[str]]:
    """Append every missing profile to the config file in one transaction: the names written, a
    sentence for each assignment skipped, and notes (permissions tightened)."""
    plans: list[Plan] = []

    def planner(sections: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
        plans.append(missing_profiles(cfg, sso, session, found, sections))
        return {f"profile {name}": keys for name, keys in plans[-1].sections.items()}

    added, notes = append_sections(cfg.config_path, planner)
    skipped = plans[-1].skipped if plans else []
    return [header.removeprefix("profile ") for header in added], skipped, notes
