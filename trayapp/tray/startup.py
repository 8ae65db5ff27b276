"""The services the tray starts once its icon shows, one by one, and stops in reverse.

Each is optional and fails alone: the file watcher (inotify/FSEvents), the wake watch (logind,
timedated, NetworkManager, the timerfd), the command line's channel, the notifier, and the warm
children (the next click's window, started ahead).  The order of start is the coordinator's
(:meth:`trayapp.tray.app.TrayApp._start_services`): watch first, then read, so a change made
while the services start is either in the read or wakes the watcher.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from trayapp.core.hosts import Engine

log = logging.getLogger(__name__)


class Stoppable(Protocol):
    def stop(self) -> None: ...


class Services:
    """The started services; *watch* False (tests) starts neither the file nor the wake watch."""

    def __init__(self, *, watch: bool, tell: Callable[[str], None] | None = None) -> None:
        """*tell*: a sentence for the user (a notification), such as "Tk is missing"."""
        self._watch = watch
        self._tell = tell or (lambda text: None)
        self.watcher: Stoppable | None = None
        self.wake: Stoppable | None = None
        self.channel: Stoppable | None = None

    def watch_files(self, on_change: Callable[[], None]) -> None:
        if not self._watch:
            return
        from trayapp.tray.watch import watch_aws_files

        try:
            self.watcher = watch_aws_files(on_change)
        except Exception:  # no inotify watches left, say: labels still follow the timer
            log.warning("the AWS files can't be watched; changes show on the next menu update", exc_info=True)

    def watch_wake(self, clock_moved: Callable[[], None], network_back: Callable[[], None]) -> None:
        """After the schedule has seen the sessions: a resume from now on is told."""
        if not self._watch:
            return
        from trayapp.tray.wake import watch_wake

        self.wake = watch_wake(clock_moved, network_back)

    def serve(
        self,
        service: Engine,
        *,
        ask: Callable[[str, int | None], threading.Event | None] | None = None,
        quitting: threading.Event | None = None,
    ) -> None:
        """The command line asks this tray (issue 14); *ask* shows the tray's prompt for a command
        with nobody to ask, *quitting* is set once the tray ends (issue 29)."""
        from trayapp.tray.channel import start_channel
        from trayapp.tray.channel_ask import Ask
        from trayapp.tray.signals import on_forced_exit

        asker = Ask(ask, quitting or threading.Event()) if ask is not None else None
        self.channel = channel = start_channel(service, asker)
        if channel is not None:  # a tray the watchdog has to end still takes its socket away
            on_forced_exit(channel.stop)

    def warm(self, icon: object, *, dialog: bool, popup: bool) -> None:
        """The next click's window, started ahead and waiting withdrawn (issue 14); when this Python
        has no Tk, that is said once, on stderr and in a notification, and no window is started."""
        from trayapp.protocol import report
        from trayapp.tray import warm

        missing = warm.start(icon, dialog=dialog, popup=popup)
        if missing is not None:
            report(f"trayapp: {missing}")
            self._tell(missing)

    def stop(self) -> None:
        """The channel first: a tray on its way out answers no command line, and its socket goes
        before anything slower (the warm children) can hold the exit up."""
        from trayapp.tray import warm

        if self.channel is not None:
            with contextlib.suppress(Exception):
                self.channel.stop()
        warm.stop()
        for service in (self.watcher, self.wake):
            if service is not None:
                with contextlib.suppress(Exception):
                    service.stop()
