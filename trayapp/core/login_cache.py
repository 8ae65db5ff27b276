"""The ``aws login`` cache, shared with the AWS CLI v2 and botocore's ``LoginProvider``.

``<AWS_LOGIN_CACHE_DIRECTORY or ~/.aws/login/cache>/<sha256 of the login_session ARN>.json`` holds
``accessToken`` (``accessKeyId``, ``secretAccessKey``, ``sessionToken``, ``accountId``, ``expiresAt``),
``tokenType``, ``clientId``, ``refreshToken`` (good for one refresh), ``idToken``, ``dpopKey`` (the
EC P-256 private key the refresh is proven with, PEM) and sometimes ``signInRegion``.

A refresh is written back exactly as botocore writes it (``LoginCredentialFetcher``): the file as read,
with ``accessToken`` and ``refreshToken`` replaced, ``json.dumps`` of it with the keys in their order,
``expiresAt`` as ``%Y-%m-%dT%H:%M:%SZ``; 0600, through a temporary file in the folder, fsync and
rename, so a reader sees the old file or the new one.  A file another user owns or could change is
refused, never read: it could hand over keys of someone else's choosing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trayapp.core.aws_paths import expand
from trayapp.core.errors import LoginCacheRefused
from trayapp.i18n import _

CACHE_DIR = "~/.aws/login/cache"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
#: A cache file is a few kilobytes; anything much larger is not one.
MAX_BYTES = 1 << 20


@dataclass(frozen=True)
class LoginToken:
    """A cache file as read: its keys and what refreshing them needs (``data`` is the file, kept whole)."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    account_id: str
    expires_at: datetime
    client_id: str | None
    refresh_token: str | None = field(repr=False)
    dpop_key: str | None = field(repr=False)
    sign_in_region: str | None
    data: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def refreshable(self) -> bool:
        return bool(self.refresh_token and self.client_id and self.dpop_key)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LoginToken | None:
        """The token in *data*, or None when it lacks the keys botocore itself needs."""
        keys = data.get("accessToken")
        if not isinstance(keys, dict):
            return None
        text = {k: v for k, v in keys.items() if isinstance(v, str)}
        expires = parse_time(text.get("expiresAt"))
        if expires is None or not all(text.get(k) for k in ("accessKeyId", "secretAccessKey", "sessionToken")):
            return None

        def optional(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) and value else None

        return cls(
            access_key_id=text["accessKeyId"],
            secret_access_key=text["secretAccessKey"],
            session_token=text["sessionToken"],
            account_id=text.get("accountId", ""),
            expires_at=expires,
            client_id=optional("clientId"),
            refresh_token=optional("refreshToken"),
            dpop_key=optional("dpopKey"),
            sign_in_region=optional("signInRegion"),
            data=data,
        )


def time_text(value: datetime) -> str:
    return value.astimezone(UTC).strftime(TIME_FORMAT)


def parse_time(text: str | None) -> datetime | None:
    try:
        value = datetime.fromisoformat((text or "").strip())
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``AWS_LOGIN_CACHE_DIRECTORY`` (``~`` and ``$VAR`` expanded), else ``~/.aws/login/cache``."""
    env = os.environ if environ is None else environ
    return expand(env.get("AWS_LOGIN_CACHE_DIRECTORY") or CACHE_DIR, environ)


def cache_key(session: str) -> str:
    """botocore's ``generate_login_cache_key``: the SHA-256 of the ``login_session`` value."""
    return hashlib.sha256(session.encode("utf-8")).hexdigest()


def cache_path(session: str, environ: Mapping[str, str] | None = None) -> Path:
    return cache_dir(environ) / f"{cache_key(session)}.json"


def _refusal(st: os.stat_result) -> str | None:
    if not stat.S_ISREG(st.st_mode):
        return _("it is not a regular file")
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        return _("it belongs to another user (uid {uid}); remove it if you did not make it").format(uid=st.st_uid)
    if stat.S_IMODE(st.st_mode) & 0o022:
        return _("other users can change it; remove it and sign in again")
    return None


def read(path: Path) -> LoginToken | None:
    """The cached sign-in, None when there is none (or it is not one botocore could use)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise LoginCacheRefused(path=path, reason=exc.strerror or _("it can't be opened")) from None
    with os.fdopen(fd, "rb") as file:
        reason = _refusal(os.fstat(fd))
        if reason:
            raise LoginCacheRefused(path=path, reason=reason)
        try:
            raw = file.read(MAX_BYTES + 1)
            data = json.loads(raw) if len(raw) <= MAX_BYTES else None
        except (ValueError, UnicodeDecodeError):
            return None
    return LoginToken.from_json(data) if isinstance(data, dict) else None


def write(path: Path, data: Mapping[str, Any]) -> None:
    """Replace the cache file at once with *data* as botocore writes it (``json.dumps``, 0600)."""
    try:
        with contextlib.suppress(FileExistsError):
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            reason = _refusal(os.lstat(path))
            if reason:
                raise LoginCacheRefused(path=path, reason=reason)
        fd, temp = tempfile.mkstemp(prefix=".trayapp-", suffix=".tmp", dir=path.parent)  # 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(json.dumps(dict(data)))
                file.flush()
                os.fsync(file.fileno())
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
    except OSError as exc:
        raise LoginCacheRefused(path=path, reason=exc.strerror or _("it can't be written")) from None
