"""A refused refresh never shortens a sign-in.

When IAM Identity Center refuses a refresh token (``InvalidGrantException``: revoked, used, or the
session's limit reached; ``InvalidClientException``: the registration ended), the access token it
came with is still good until its ``expiresAt`` — botocore keeps using it (``SSOTokenProvider``
returns the old token when its refresh fails).  So trayapp keeps it too and serves it to its expiry,
and tells the user once to sign in again before then.

The refused refresh token is taken out of the cache file (the access token and everything else
stay), so that no tool — trayapp, botocore, the AWS CLI — tries it again: botocore does not refresh
a token without ``refreshToken`` and serves it as it is.  The file is changed only while it still
holds the refresh token that was refused: a tool that refreshed meanwhile keeps its new token.
"""

from __future__ import annotations

import dataclasses
import sys
from datetime import datetime
from pathlib import Path

from trayapp.core import sso_cache
from trayapp.core.sso_cache import SsoToken
from trayapp.i18n import _


def keep_without_refresh(path: Path, refused: SsoToken) -> SsoToken | None:
    """The token in *path* once *refused*'s refresh token is out of it (None when there is none)."""
    current = sso_cache.read(path)
    if current is None or current.refresh_token != refused.refresh_token or current.refresh_token is None:
        return current  # someone signed in or refreshed meanwhile: theirs stands
    kept = dataclasses.replace(current, refresh_token=None)
    sso_cache.write(path, kept)
    return kept


def sign_in_before(session: str, expires_at: datetime) -> str:
    """The one sentence of a sign-in that can't be refreshed: when it ends, in local time."""
    at = expires_at.astimezone().strftime("%H:%M")
    return _("The sign-in to '{session}' can't be refreshed; sign in again before {time}.").format(
        session=session, time=at
    )


def print_sign_in_before(session: str, expires_at: datetime) -> None:
    """The command line's notice (standard error: standard output may be a command's answer)."""
    print(f"trayapp: {sign_in_before(session, expires_at)}", file=sys.stderr)
