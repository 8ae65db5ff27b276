"""The source profiles' long-term keys as the tray shows them (issue 12).

Read once, on the worker after the icon is up (never on the start path: ``keyring`` costs
~0.15 s to import), then held for the tray's life: the keyring's entries are asked once each,
so the keyring is unlocked at most once per login; the AWS files are read again when they
change.  The tray's own Move and Rotate actions run the same core use cases as
``trayapp keys import`` and ``trayapp keys rotate``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from trayapp.core.errors import TrayappError
from trayapp.i18n import _

if TYPE_CHECKING:
    from trayapp.core.keys import Keys, KeySource, KeyStore, StoredKey
    from trayapp.tray.notify import Notification

log = logging.getLogger(__name__)

#: The key of the notification's action (``on_action(source, ROTATE)``).
ROTATE = "rotate"


def held_store(backend: Any = None) -> KeyStore:
    """A :class:`~trayapp.core.keys.KeyStore` that asks the keyring for each entry once, and again
    only after it changed that entry itself."""
    from trayapp.core.keys import KeyStore

    class HeldStore(KeyStore):
        def __init__(self) -> None:
            super().__init__(backend)
            self._held: dict[str, StoredKey | None] = {}
            self._lock = threading.Lock()

        def get(self, source: str) -> StoredKey | None:
            with self._lock:
                if source in self._held:
                    return self._held[source]
            key = super().get(source)
            with self._lock:
                self._held[source] = key
            return key

        def put(self, source: str, key: StoredKey, **extra: Any) -> None:
            with self._lock:
                self._held.pop(source, None)
            super().put(source, key, **extra)

        def delete(self, source: str) -> bool:
            with self._lock:
                self._held.pop(source, None)
            return super().delete(source)

    return HeldStore()


class _Listing:
    """The store for listing only: no usable keyring means "entry unknown", not a failed list."""

    def __init__(self, store: KeyStore) -> None:
        self._store = store

    def get(self, source: str) -> StoredKey | None:
        from trayapp.core.keys import KeyringUnavailable

        try:
            return self._store.get(source)
        except KeyringUnavailable:
            return None


class KeyInfo:
    """Where each source profile's keys live and their age; the Move and Rotate actions."""

    def __init__(
        self,
        store: KeyStore | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        iam_factory: Any = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._store = store
        self._environ = environ
        self._clock = clock
        self._iam_factory = iam_factory
        self._rows: tuple[KeySource, ...] | None = None
        self._told: set[tuple[str, str]] = set()  # (source, key id) whose age was notified
        self._lock = threading.Lock()

    @property
    def store(self) -> KeyStore:
        if self._store is None:
            self._store = held_store()
        return self._store

    def _keys(self, store: Any) -> Keys:
        from trayapp.core.keys import Keys

        if self._clock is None:
            return Keys(store=store, environ=self._environ)
        return Keys(store=store, environ=self._environ, clock=self._clock)

    @property
    def loaded(self) -> bool:
        return self._rows is not None

    def rows(self) -> tuple[KeySource, ...]:
        """What was read last; nothing before the first :meth:`load` (the menu has no Keys part then)."""
        return self._rows or ()

    def load(self) -> None:
        """Worker: read the AWS files again (the keyring's entries only the first time)."""
        try:
            rows = tuple(self._keys(_Listing(self.store)).sources())
        except TrayappError as exc:  # an unreadable config: the roles' part of the menu says so
            log.info("source keys not listed: %s", exc)
            rows = ()
        except Exception:  # an optional part of the menu must not stop the tray's other services
            log.warning("source keys not listed", exc_info=True)
            rows = ()
        with self._lock:
            self._rows = rows

    def move(self, source: str) -> str:
        """Worker: ``trayapp keys import SOURCE``; returns the sentence to show."""
        from trayapp.core.keys import short_id

        try:
            key = self._keys(self.store).import_keys(source)
        finally:
            self.load()
        return _(
            "The keys of '{source}' ({key}) are in the keyring now and no longer in the AWS files; "
            "other tools get them through credential_process."
        ).format(source=source, key=short_id(key.access_key_id))

    def rotate(self, source: str) -> str:
        """Worker: ``trayapp keys rotate SOURCE``; returns the sentence to show."""
        from trayapp.core.keys import short_id

        keys = self._keys(self.store)
        old = keys.store.get(source)
        try:
            new = keys.rotate(source, self._iam_factory)
        finally:
            self.load()
        if old is not None and old.access_key_id == new.access_key_id:
            return _("Finished an interrupted rotation of '{source}': {new} is stored.").format(
                source=source, new=short_id(new.access_key_id)
            )
        return _("Rotated the key of '{source}': {new} is stored, {old} is deleted.").format(
            source=source, new=short_id(new.access_key_id), old=short_id(old.access_key_id) if old else "?"
        )

    def due(self, max_days: int, now: datetime | None = None) -> list[tuple[KeySource, int]]:
        """Keyring-held keys older than *max_days* not yet notified (each key once per tray life)."""
        found = []
        with self._lock:
            for row in self._rows or ():
                days = row.age_days(now)
                if row.where != "keyring" or row.access_key_id is None or days is None or days <= max_days:
                    continue
                if (row.name, row.access_key_id) in self._told:
                    continue
                self._told.add((row.name, row.access_key_id))
                found.append((row, days))
        return found


def old_key_notice(row: KeySource, days: int, max_days: int) -> Notification:
    """``The key of base is 120 days old`` with a Rotate action (no secret: a name and numbers)."""
    from trayapp.tray.notify import Notification

    return Notification(
        title=_("The key of {source} is {days} days old").format(source=row.name, days=days),
        body=_(
            "Keys are due for rotation after {max_days} days (key-max-age). Rotate makes a new key in IAM, "
            "stores it in the keyring and deletes the old one; the menu's Keys part has it too."
        ).format(max_days=max_days),
        profile=row.name,
        actions=((ROTATE, _("Rotate")),),
        icon="expiring",
    )
