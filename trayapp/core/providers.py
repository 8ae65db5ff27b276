"""The engine's credential providers, each holding one link of the chain, each with its invalidation.

As botocore's ``credentials.py`` and aws-vault's providers are drawn (a value, the fetcher that makes
it, the provider that holds it, the chain that asks them in turn), an assume is a chain of providers:

    source keys (files / keyring / process)  →  MFA session  →  AssumeRole / SSO / aws login
        →  the cached section (``[<profile>-session]``)

* :class:`SourceKeys` — a role's non-role source: long-term keys from the AWS files, the keyring
  (``trayapp keys import``), a ``credential_process``.  Held while nothing they came from changed:
  the files' stamps (:class:`~trayapp.core.sts.SourceCredentials`) and the keyring's change mark
  (:func:`trayapp.core.key_store.change_mark`, bumped by every import, rotation, export and removal,
  in this process or another: a count in the process, a file in the private runtime folder).
* :class:`MfaSessions` — GetSessionToken sessions signed by those keys, one per (source, MFA device),
  in memory only.  Ended by the user (the menu), by running out, or :meth:`MfaSessions.end` for one
  source; a rotated key leaves them alone (STS keeps a session made with a deleted key valid until
  it ends, and ending it would cost the user a code).
* AssumeRole (:mod:`trayapp.core.sts`), an SSO profile's role keys (:mod:`trayapp.core.sso`) and an
  ``aws login``'s keys (:mod:`trayapp.core.login_refresh`) — the fetchers; a signed-out session
  ends what its keys signed (its cache file is gone, so the next ask signs in again).
* :func:`section_keys` — the cached section trayapp wrote: valid while its expiry is ahead by more
  than the caller's margin; rewritten by each assume, removed by ``forget``.

:class:`~trayapp.core.service.Service` walks the chain; :meth:`Service.needs_code` answers "does
assuming P ask a person for a code now?" from the same providers, for the dialog's early show and
the tray's silent renewal alike.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from trayapp.core import session_record
from trayapp.core.profiles import RoleProfile
from trayapp.core.results import MfaSession
from trayapp.core.session_record import KEY_EXPIRES
from trayapp.core.sts import Credentials, SourceResolver

#: A parent session with less than this left is renewed before it signs a chained call.
MIN_PARENT_LEFT = timedelta(minutes=2)


class SourceKeys:
    """The first link: a role's source keys, from *resolver* (which holds them while their files and
    the keyring's change mark are unchanged: :class:`~trayapp.core.sts.SourceCredentials`)."""

    def __init__(self, resolver: SourceResolver) -> None:
        self._resolve = resolver

    def get(self, role: RoleProfile) -> Credentials:
        return self._resolve(role)


MfaKey = tuple[str, str]


class MfaSessions:
    """The second link: MFA sessions by (source, MFA device), in memory only; thread-safe."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._held: dict[MfaKey, MfaSession] = {}

    @staticmethod
    def key(role: RoleProfile) -> MfaKey:
        return (role.source, role.mfa_serial or "")

    def live(self, role: RoleProfile) -> MfaSession | None:
        """*role*'s MFA session when it has more than :data:`MIN_PARENT_LEFT` left, else None."""
        with self._lock:
            current = self._held.get(self.key(role))
        if current is not None and current.expires_at - self._clock() > MIN_PARENT_LEFT:
            return current
        return None

    def put(self, session: MfaSession) -> None:
        with self._lock:
            self._held[(session.source, session.serial)] = session

    def alive(self) -> list[MfaSession]:
        """MFA sessions alive now, soonest ending first."""
        now = self._clock()
        with self._lock:
            alive = [m for m in self._held.values() if m.expires_at - now > MIN_PARENT_LEFT]
        return sorted(alive, key=lambda m: m.expires_at)

    def end(self, source: str | None = None) -> None:
        """End every MFA session (the menu's "End MFA session"), or *source*'s only."""
        with self._lock:
            if source is None:
                self._held.clear()
            else:
                self._held = {k: v for k, v in self._held.items() if k[0] != source}


def section_keys(
    values: Mapping[str, str] | None, now: datetime, min_left: timedelta
) -> tuple[Credentials, datetime] | None:
    """The last link: a cached section's keys (trayapp's own section, all three keys present, more
    than *min_left* left at *now*), else None."""
    if not values:
        return None
    expires = session_record.parse_expiry(values.get(KEY_EXPIRES))
    if expires - now <= min_left:
        return None
    try:
        keys = Credentials(values["aws_access_key_id"], values["aws_secret_access_key"], values["aws_session_token"])
    except KeyError:
        return None
    return keys, expires
