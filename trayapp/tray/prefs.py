"""The tray's preferences: read from the keyring once, off the start path, then kept."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trayapp.core.preferences import Preferences, PreferenceStore


class PrefsHolder:
    """The preferences the tray runs on: read from the keyring once, off the start path."""

    def __init__(self, store: PreferenceStore | None = None) -> None:
        self._store = store
        self._prefs: Preferences | None = None
        self._lock = threading.Lock()
        self._loading = False

    @property
    def store(self) -> PreferenceStore:
        if self._store is None:
            from trayapp.core.preferences import PreferenceStore

            self._store = PreferenceStore()
        return self._store

    def __call__(self) -> Preferences:
        with self._lock:
            if self._prefs is None and self._loading:
                from trayapp.core.preferences import Preferences

                return Preferences()  # the keyring is still being asked: don't wait for it
            if self._prefs is None:
                self._prefs = self.store.load()
            return self._prefs

    @property
    def ready(self) -> bool:
        """Whether the stored preferences were read (False while the keyring is still being asked)."""
        with self._lock:
            return self._prefs is not None

    def load_in_background(self, then: Callable[[], None]) -> None:
        """Ask the keyring (~0.15 s) on a thread of its own; call *then* when done."""
        with self._lock:
            if self._prefs is not None or self._loading:
                return
            self._loading = True

        def load() -> None:
            prefs = self.store.load()
            with self._lock:
                if self._prefs is None:
                    self._prefs = prefs
                self._loading = False
            then()

        threading.Thread(target=load, name="trayapp-prefs-load", daemon=True).start()

    def set(self, prefs: Preferences) -> None:
        with self._lock:
            self._prefs = prefs
