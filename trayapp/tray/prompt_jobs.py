"""A person's prompt as a job that waits on its own (issue 29).

An MFA dialog waiting for a code, a browser sign-in (up to 10 minutes) or a device code shown in a
notice waits for a person, who may be away.  Each such action runs on a thread of its own
("trayapp-prompt"), so the tray's worker goes on with the one timer's events, silent renewals,
notices, file changes and redraws meanwhile.  What a prompt job touches after the answer is safe
off the worker: the service's caches are locked and the credentials file is written under its lock
(as for the channel's assumes); the redraw after it is handed back to the worker.

The jobs are few: the same action for the same profile is never run twice at once
(:meth:`trayapp.tray.actions.MenuActions.claim`), so a second click on a role whose dialog is
open leaves that one dialog.  Quit ends them: the dialogs' children are killed and the browser
waits let go (:meth:`trayapp.tray.actions.MenuActions.abort`); the threads are daemons, so a job
still in an STS call never holds the process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class PromptJobs:
    """The prompt jobs under way; none is started once *stopping* is set."""

    def __init__(self, stopping: threading.Event) -> None:
        self._stopping = stopping
        self._lock = threading.Lock()
        self._running: set[threading.Thread] = set()

    def start(self, fn: Callable[..., Any], *args: Any) -> bool:
        """Run *fn(\\*args)* on a thread of its own; False when the tray is ending."""
        thread = threading.Thread(target=self._run, args=(fn, *args), name="trayapp-prompt", daemon=True)
        with self._lock:
            if self._stopping.is_set():
                return False
            self._running.add(thread)
        try:
            thread.start()
        except RuntimeError:  # no thread to be had: nothing runs, and the tray goes on
            with self._lock:
                self._running.discard(thread)
            log.warning("a prompt could not be started")
            return False
        return True

    def _run(self, fn: Callable[..., Any], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:
            log.exception("a prompt failed")
        finally:
            with self._lock:
                self._running.discard(threading.current_thread())

    def under_way(self) -> int:
        """How many prompt jobs are under way."""
        with self._lock:
            return len(self._running)

    def wait(self, timeout: float) -> bool:
        """Wait up to *timeout* seconds for the jobs under way to end; True when none is left."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                running = next(iter(self._running), None)
            if running is None:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            running.join(left)
