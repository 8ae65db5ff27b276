"""Notice changes to the AWS config and credentials files, made by anyone.

The directories holding the files are watched with ``watchdog`` (inotify on
Linux, FSEvents on macOS, ReadDirectoryChangesW on Windows) — no polling loop:
its threads block in reads.  Watching the directory, not the file, catches a
file that does not exist yet and one replaced atomically by a rename (as the
applet itself, ``aws configure`` and editors do).  A burst of events (write,
close, rename, chmod...) becomes ONE ``on_change()`` call, 200 ms after the
last event and at most 1 s after the first.  Only writes, creations, deletions
and renames are subscribed to: reading the files (every ``aws`` command does)
wakes nothing.

The tray calls :func:`watch_aws_files` at start with a callback that hands a refresh to its worker,
and ``stop()`` on quit.

``on_change`` runs on a timer thread: it must only hand the work over.  The
applet's own writes are reported too; re-reading is cheap and idempotent.
If the platform's watcher can't start (e.g. the inotify watch limit), that is
logged and the applet goes on; files are still re-read when the menu opens.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from trayapp.core import profiles

log = logging.getLogger(__name__)

DEBOUNCE = 0.2  # seconds of quiet that end a burst
MAX_DELAY = 1.0  # seconds after a burst's first event at the latest


def _nearest_existing(folder: Path) -> Path:
    while not folder.is_dir() and folder.parent != folder:
        folder = folder.parent
    return folder


class FileWatcher:
    """Calls ``on_change()`` once per burst of changes to any of *paths*."""

    def __init__(
        self,
        paths: Iterable[str | os.PathLike[str]],
        on_change: Callable[[], None],
        *,
        folders: Iterable[str | os.PathLike[str]] = (),
        debounce: float = DEBOUNCE,
        max_delay: float = MAX_DELAY,
    ) -> None:
        self._paths = [Path(os.path.abspath(p)) for p in paths]
        #: Folders any file of which counts (the SSO token cache: one file per sign-in).
        self._folders = [Path(os.path.abspath(f)) for f in folders]
        self._on_change = on_change
        self._debounce = debounce
        self._max_delay = max_delay
        self._lock = threading.Lock()
        self._observer: Any = None
        self._watches: dict[Path, Any] = {}  # watched folder → watchdog's ObservedWatch
        self._targets: frozenset[str] = frozenset()
        self._ancestors: frozenset[str] = frozenset()
        self._folder_names: frozenset[str] = frozenset()
        self._timer: threading.Timer | None = None
        self._generation = 0
        self._burst_started: float | None = None

    @property
    def watched(self) -> list[Path]:
        """The folders being watched now."""
        with self._lock:
            return sorted(self._watches)

    def start(self) -> FileWatcher:
        from watchdog.observers import Observer

        with self._lock:
            if self._observer is not None:
                return self
            observer = Observer()
            self._observer = observer
            try:
                # Watches are added before the observer runs: later, they are only
                # changed from inside its own handler, which holds its (reentrant)
                # lock — so its lock and ours are always taken in one order.
                self._rearm()
                observer.start()
            except OSError as exc:
                log.warning("Changes to the AWS files won't be noticed while running (%s).", exc)
                self._observer = None
                self._stop_observer(observer)
        return self

    def stop(self) -> None:
        with self._lock:
            observer, self._observer = self._observer, None
            self._watches.clear()
            self._cancel_timer()
        if observer is not None:
            self._stop_observer(observer)

    def __enter__(self) -> FileWatcher:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- watches (inside the lock) -----------------------------------------------

    def _rearm(self) -> None:
        """Watch the nearest existing folder of each file and of its symlink target."""
        from watchdog.events import (
            DirCreatedEvent,
            DirDeletedEvent,
            DirMovedEvent,
            FileClosedEvent,
            FileCreatedEvent,
            FileDeletedEvent,
            FileModifiedEvent,
            FileMovedEvent,
        )

        targets = set(self._paths) | {p.resolve() for p in self._paths}
        self._targets = frozenset(str(p) for p in targets)
        folders = set(self._folders)
        self._folder_names = frozenset(str(f) for f in folders)
        above = [*(a for p in targets for a in p.parents), *(a for f in folders for a in (f, *f.parents))]
        self._ancestors = frozenset(str(a) for a in above)
        wanted = {_nearest_existing(p.parent) for p in targets} | {_nearest_existing(f) for f in folders}
        kinds = [
            FileCreatedEvent,
            FileModifiedEvent,
            FileMovedEvent,
            FileDeletedEvent,
            FileClosedEvent,
            DirCreatedEvent,
            DirMovedEvent,
            DirDeletedEvent,
        ]
        for folder in set(self._watches) - wanted:
            try:
                self._observer.unschedule(self._watches.pop(folder))
            except Exception as exc:  # the folder is gone, and its watch with it
                log.debug("Unwatching %s: %s", folder, exc)
        for folder in wanted - set(self._watches):
            self._watches[folder] = self._observer.schedule(
                _Handler(self._on_event), str(folder), recursive=False, event_filter=kinds
            )

    @staticmethod
    def _stop_observer(observer: Any) -> None:
        try:
            observer.stop()
            if observer.is_alive():
                observer.join(timeout=2)
        except Exception as exc:
            log.debug("Stopping the file watcher: %s", exc)

    # --- events (watchdog's thread) ------------------------------------------------------

    def _on_event(self, event: Any) -> None:
        paths = {os.fsdecode(event.src_path), os.fsdecode(getattr(event, "dest_path", "") or "")}
        with self._lock:
            if self._observer is None:
                return
            if event.is_directory:
                if not paths & self._ancestors:
                    return
            elif not paths & self._targets and not {os.path.dirname(p) for p in paths} & self._folder_names:
                return
            # A folder on the way to a file appeared, vanished or moved, or a
            # symlinked file may now point elsewhere: watch the right folders.
            if event.is_directory or any(p.is_symlink() for p in self._paths):
                try:
                    self._rearm()
                except OSError as exc:
                    log.warning("Could not watch the AWS files' folder (%s).", exc)
            self._poke()

    def _poke(self) -> None:
        now = time.monotonic()
        if self._burst_started is None:
            self._burst_started = now
        self._cancel_timer(keep_burst=True)
        delay = min(self._debounce, max(0.0, self._burst_started + self._max_delay - now))
        generation = self._generation
        self._timer = threading.Timer(delay, self._fire, args=(generation,))
        self._timer.name = "trayapp-watch"
        self._timer.daemon = True
        self._timer.start()

    def _cancel_timer(self, keep_burst: bool = False) -> None:
        self._generation += 1
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not keep_burst:
            self._burst_started = None

    def _fire(self, generation: int) -> None:
        with self._lock:
            if generation != self._generation or self._observer is None:
                return
            self._timer = None
            self._burst_started = None
        try:
            self._on_change()
        except Exception:
            log.exception("Handling a change to the AWS files failed.")


class _Handler:
    """watchdog's handler interface (``dispatch``), forwarding every event."""

    def __init__(self, forward: Callable[[Any], None]) -> None:
        self._forward = forward

    def dispatch(self, event: Any) -> None:
        self._forward(event)


def watch_aws_files(
    on_change: Callable[[], None], environ: Mapping[str, str] | None = None, **options: float
) -> FileWatcher:
    """A started watcher of the config and credentials files botocore would read, and of the SSO
    token cache (a sign-in, a refresh or a sign-out by the AWS CLI or by trayapp) and the ``aws login``
    cache (``aws login``, or a refresh by botocore or trayapp)."""
    from trayapp.core import login_cache
    from trayapp.core.sso_cache import cache_dir

    paths = [profiles.config_path(environ), profiles.credentials_path(environ)]
    folders = [cache_dir(environ), login_cache.cache_dir(environ)]
    return FileWatcher(paths, on_change, folders=folders, **options).start()
