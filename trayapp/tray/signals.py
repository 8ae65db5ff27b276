"""SIGINT and SIGTERM stop the tray like Quit, and a watchdog ends a loop that does not.

Python runs a signal handler on the main thread, and only when that thread runs Python again; a
signal delivered while the main thread waits in the backend's loop (xorg sits in a select on the X
socket) would wait for the next X event.  The interpreter's C handler always writes the signal's
number to the wakeup fd, so :class:`SignalWatch` keeps a thread blocked on that pipe, which sees it
at once.  PyGObject keeps the wakeup fd for its own loop (gtk, appindicator), and GLib resets
SIGINT to "kill at once" as its loop starts: :meth:`SignalWatch.catch_again` takes it back.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class SignalWatch:
    """Calls *on_signal* with the signal's number (on some thread) for SIGINT and SIGTERM."""

    def __init__(self, on_signal: Callable[[int], None]) -> None:
        self._on_signal = on_signal
        #: The wakeup pipe a thread watches, and the wakeup fd it replaced, while it runs.
        self._pipe: tuple[int, int, int] | None = None
        self._saved: dict[int, Any] = {}

    def catch(self, *, glib: bool) -> None:
        """Install the handlers (main thread only) and, unless GLib keeps the wakeup fd, the pipe."""
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in SIGNALS:
            with contextlib.suppress(ValueError, OSError):
                self._saved[signum] = signal.signal(signum, self._handler)
        if not glib:
            self._watch()

    def catch_again(self, *, glib: bool) -> None:
        """pystray's GLib backends reset SIGINT as their loop starts; take it back from inside that
        loop (the main thread), so Ctrl-C cleans up like Quit."""
        if not glib or signal.getsignal(signal.SIGINT) == self._handler:
            return
        from gi.repository import GLib  # type: ignore[import-untyped,unused-ignore]

        def again() -> bool:
            with contextlib.suppress(ValueError, OSError):
                signal.signal(signal.SIGINT, self._handler)
            return False

        GLib.idle_add(again)

    def release(self) -> None:
        """Stop watching and put the old handlers back."""
        if self._pipe is not None:
            read_end, write_end, previous = self._pipe
            self._pipe = None
            with contextlib.suppress(ValueError, OSError):
                signal.set_wakeup_fd(previous)
            for fd in (write_end, read_end):
                with contextlib.suppress(OSError):
                    os.close(fd)
        saved, self._saved = self._saved, {}
        for signum, handler in saved.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(signum, handler)

    def _watch(self) -> None:
        read_end, write_end = os.pipe()
        os.set_blocking(write_end, False)
        try:
            previous = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
        except (ValueError, OSError):
            os.close(read_end)
            os.close(write_end)
            return
        self._pipe = (read_end, write_end, previous)
        threading.Thread(target=self._watcher, args=(read_end,), name="trayapp-signals", daemon=True).start()

    def _watcher(self, read_end: int) -> None:
        while True:
            try:
                data = os.read(read_end, 16)
            except OSError:
                return  # closed: the tray is done
            if not data:
                return
            for signum in data:
                if signum in SIGNALS:
                    self._on_signal(signum)

    def _handler(self, signum: int, _frame: Any) -> None:
        """Main thread, between two steps of the backend's loop: hand over (unless the watcher
        thread has already acted on it)."""
        if self._pipe is None:
            self._on_signal(signum)


#: Run before the watchdog ends the process (see :func:`on_forced_exit`).
_EXIT_HOOKS: list[Callable[[], None]] = []


def on_forced_exit(hook: Callable[[], None]) -> Callable[[], None]:
    """Run *hook* if the tray has to end the process without returning (a backend's loop
    that does not end after Quit or a signal); returns a function that removes it again."""
    _EXIT_HOOKS.append(hook)

    def remove() -> None:
        with contextlib.suppress(ValueError):
            _EXIT_HOOKS.remove(hook)

    return remove


def force_exit(status: int = 0) -> None:
    log.warning("the tray loop did not end after Quit; exiting anyway")
    for hook in reversed(list(_EXIT_HOOKS)):
        try:
            hook()
        except Exception:
            log.debug("an exit hook failed", exc_info=True)
    logging.shutdown()
    os._exit(status)


def watchdog(seconds: float, status: int) -> threading.Timer:
    """A started daemon timer that ends the process with *status* after *seconds*."""
    timer = threading.Timer(seconds, force_exit, args=(status,))
    timer.daemon = True
    timer.start()
    return timer
