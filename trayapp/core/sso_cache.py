"""The sign-in token cache, shared with botocore and the AWS CLI: ``~/.aws/sso/cache/<key>.json``.

The file holds exactly the fields botocore's ``SSOTokenProvider`` reads and rewrites when it
refreshes (``startUrl``, ``region``, ``accessToken``, ``expiresAt``, ``clientId``, ``clientSecret``,
``registrationExpiresAt``, ``refreshToken``), so every tool sees one sign-in.  It is written 0600,
atomically (a temporary file in the folder, fsync, rename) into a 0700 folder; a file another user
owns or could change is refused, never read (it could hand us a token of someone else's choosing,
or be read by them), and nothing is written where another user could change the folders on the
way (``~/.aws/sso`` linked into their folder: they could then remove the sign-in), as ``ssh``
checks ``~/.ssh``.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from trayapp.core.errors import SsoCacheRefused
from trayapp.core.profiles import expand
from trayapp.core.sso_config import SsoSession
from trayapp.i18n import _

CACHE_DIR = "~/.aws/sso/cache"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class SsoToken:
    start_url: str
    region: str
    access_token: str = field(repr=False)
    expires_at: datetime
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    registration_expires_at: datetime | None = None
    refresh_token: str | None = field(default=None, repr=False)

    def as_json(self) -> dict[str, str]:
        data = {
            "startUrl": self.start_url,
            "region": self.region,
            "accessToken": self.access_token,
            "expiresAt": _time_text(self.expires_at),
        }
        if self.client_id and self.client_secret and self.registration_expires_at:
            data |= {
                "clientId": self.client_id,
                "clientSecret": self.client_secret,
                "registrationExpiresAt": _time_text(self.registration_expires_at),
            }
        if self.refresh_token:
            data["refreshToken"] = self.refresh_token
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> SsoToken | None:
        """The token in *data*, or None when it lacks what botocore itself needs."""
        text = {k: v for k, v in data.items() if isinstance(v, str)}
        expires = _parse_time(text.get("expiresAt"))
        if expires is None or not text.get("accessToken"):
            return None
        return cls(
            start_url=text.get("startUrl", ""),
            region=text.get("region", ""),
            access_token=text["accessToken"],
            expires_at=expires,
            client_id=text.get("clientId"),
            client_secret=text.get("clientSecret"),
            registration_expires_at=_parse_time(text.get("registrationExpiresAt")),
            refresh_token=text.get("refreshToken"),
        )


def _time_text(value: datetime) -> str:
    return value.astimezone(UTC).strftime(TIME_FORMAT)


def _parse_time(text: str | None) -> datetime | None:
    """ISO 8601 as botocore writes it (``…Z``), also the ``…UTC`` older AWS CLIs wrote."""
    text = (text or "").strip()
    try:
        value = datetime.fromisoformat(text[:-3] + "+00:00" if text.endswith("UTC") else text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


parse_time = _parse_time


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    return expand(CACHE_DIR, environ)


def cache_path(session: SsoSession, environ: Mapping[str, str] | None = None) -> Path:
    return cache_dir(environ) / f"{session.cache_key}.json"


def _refusal(path: Path, st: os.stat_result) -> str | None:
    if not stat.S_ISREG(st.st_mode):
        return _("it is not a regular file")
    if st.st_uid != os.geteuid():
        return _("it belongs to another user (uid {uid}); remove it if you did not make it").format(uid=st.st_uid)
    if stat.S_IMODE(st.st_mode) & 0o022:
        return _("other users can change it; remove it and sign in again")
    return None


def read(path: Path) -> SsoToken | None:
    """The cached token, None when there is none (or it is not a token botocore could use)."""
    data = read_json(path)
    return SsoToken.from_json(data) if data is not None else None


def read_json(path: Path) -> dict[str, object] | None:
    """A cache file's JSON object (a token, or the AWS CLI's client registration), None when there
    is none or it is not one; a file another user owns or could change is refused."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SsoCacheRefused(path=path, reason=exc.strerror or _("it can't be opened")) from None
    with os.fdopen(fd, "rb") as file:
        reason = _refusal(path, os.fstat(fd))
        if reason:
            raise SsoCacheRefused(path=path, reason=reason)
        try:
            data = json.loads(file.read(1 << 20))
        except (ValueError, UnicodeDecodeError):
            return None
    return data if isinstance(data, dict) else None


def _private_folder(folder: Path) -> None:
    """``~/.aws/sso/cache`` made 0700 when missing (or ours and open); refused when foreign."""
    with contextlib.suppress(FileExistsError):
        folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.mkdir(mode=0o700)
    st = os.lstat(folder)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
        reason = _("the folder {folder} belongs to another user or is not a folder").format(folder=folder)
        raise SsoCacheRefused(path=folder, reason=reason)
    if stat.S_IMODE(st.st_mode) & 0o077:
        os.chmod(folder, 0o700)


def _safe_location(path: Path) -> None:
    """Refuse, as ``ssh`` does, a cache path another local user could change: a folder on the way
    that is theirs or that they can write into (``~/.aws/sso`` linked into their folder), a
    symbolic link of theirs.  Checked before the folder is made, then again (POSIX only)."""
    if os.name != "posix" or not hasattr(os, "geteuid"):
        return
    from trayapp.core.credentials_file.strict_modes import unsafe_location

    reason = unsafe_location(path)
    if reason is not None:
        raise SsoCacheRefused(path=path, reason=reason)


def write(path: Path, token: SsoToken) -> None:
    """Replace the cache file at once: a reader sees the old token or the new one, never half."""
    write_json(path, token.as_json())


def write_json(path: Path, data: Mapping[str, object]) -> None:
    """Replace the cache file *path* with *data* at once (0600, in a private folder)."""
    try:
        _safe_location(path.parent)  # ~/.aws/sso and above, before anything is made there
        _private_folder(path.parent)
        _safe_location(path)
        with contextlib.suppress(FileNotFoundError):
            reason = _refusal(path, os.lstat(path))
            if reason:
                raise SsoCacheRefused(path=path, reason=reason)
        fd, temp = tempfile.mkstemp(prefix=".trayapp-", suffix=".tmp", dir=path.parent)  # 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump(data, file)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
    except OSError as exc:
        raise SsoCacheRefused(path=path, reason=exc.strerror or _("it can't be written")) from None


def remove(path: Path) -> bool:
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise SsoCacheRefused(path=path, reason=exc.strerror or _("it can't be removed")) from None
    return True
