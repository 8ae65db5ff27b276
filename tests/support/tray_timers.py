"""The tray's one timer under a test's control, a notifier that records, and waiting for the worker."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.support import tray_fakes
from trayapp.tray.app import TrayApp
from trayapp.tray.notify import Notification


class Timers:
    """The scheduler's timer factory: nothing runs until the test fires the pending timer."""

    def __init__(self) -> None:
        self.armed: list[tuple[float, Callable[[], None], list[bool]]] = []

    def __call__(self, delay: float, callback: Callable[[], None]) -> Any:
        cancelled = [False]
        self.armed.append((delay, callback, cancelled))

        class Handle:
            def cancel(self) -> None:
                cancelled[0] = True

        return Handle()

    def pending(self) -> list[tuple[float, Callable[[], None], list[bool]]]:
        return [t for t in self.armed if not t[2][0]]

    def fire(self) -> None:
        (timer,) = self.pending()  # exactly one pending timer
        timer[2][0] = True  # a timer that went off is no longer pending
        timer[1]()


class Recorder:
    supports_actions = True

    def __init__(self) -> None:
        self.sent: list[Notification] = []

    def send(self, n: Notification) -> None:
        self.sent.append(n)

    def close(self) -> None:
        pass


def wait(app: TrayApp) -> None:
    tray_fakes.settle(app)
