"""Profiles from the directory: every account × permission set a sign-in can use, as ``[profile …]``
sections (``ListAccounts``, ``ListAccountRoles``), and the missing ones appended to the config file
through the same safe writer the keys commands use (every existing byte kept, no profile changed)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from trayapp.core.credentials_file import CredentialsFile
from trayapp.core.sso_config import SsoConfig, SsoSession

if TYPE_CHECKING:
    from trayapp.core.profiles import AwsConfig
    from trayapp.core.sso import SsoSignIns


@dataclass(frozen=True)
class Assignment:
    account_id: str
    account_name: str
    role_name: str

    def profile_name(self) -> str:
        """A readable name: ``production-admin`` (account name and role, lower case, dashes)."""
        text = re.sub(r"[^a-z0-9]+", "-", f"{self.account_name}-{self.role_name}".lower()).strip("-")
        return text or f"{self.account_id}-{self.role_name}"


def assignments(signins: SsoSignIns, session: SsoSession) -> list[Assignment]:
    """What the signed-in user may use, signing in first when needed."""
    token, _outcome = signins.ensure(session, interactive=True)
    portal = signins.client("sso", session.region)
    found: list[Assignment] = []
    for page in portal.get_paginator("list_accounts").paginate(accessToken=token.access_token):
        for account in page.get("accountList", []):
            roles = portal.get_paginator("list_account_roles").paginate(
                accessToken=token.access_token, accountId=account["accountId"]
            )
            for role_page in roles:
                found.extend(
                    Assignment(account["accountId"], account.get("accountName", ""), role["roleName"])
                    for role in role_page.get("roleList", [])
                )
    return sorted(found, key=lambda a: (a.account_name.lower(), a.account_id, a.role_name))


def missing_profiles(
    cfg: AwsConfig, sso: SsoConfig, session: SsoSession, found: list[Assignment]
) -> dict[str, dict[str, str]]:
    """``{profile name: its keys}`` for each assignment no profile uses yet, under a name no profile has."""
    have = {(p.account_id, p.role_name) for p in sso.profiles_of(session)}
    sections: dict[str, dict[str, str]] = {}
    for item in found:
        if (item.account_id, item.role_name) in have:
            continue
        name = item.profile_name()
        if name in cfg.profiles or name in sections:
            name = f"{name}-{item.account_id}"
        if session.legacy:
            where = {"sso_start_url": session.start_url, "sso_region": session.region}
        else:
            where = {"sso_session": session.name}
        sections[name] = where | {"sso_account_id": item.account_id, "sso_role_name": item.role_name}
    return sections


def as_text(sections: dict[str, dict[str, str]]) -> str:
    blocks = [
        "".join([f"[profile {name}]\n", *(f"{k} = {v}\n" for k, v in keys.items())]) for name, keys in sections.items()
    ]
    return "\n".join(blocks)


def write(cfg: AwsConfig, sections: dict[str, dict[str, str]]) -> list[str]:
    """Append *sections* to the config file; the names of those written (an existing one is left alone)."""
    file = CredentialsFile(cfg.config_path)
    return [name for name, keys in sections.items() if file.edit_keys(f"profile {name}", add=keys, create=True)]
