"""The one clock tests move by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

START = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


class Clock:
    """Called, it gives ``now`` (a UTC datetime); :meth:`time` gives the same moment in epoch
    seconds (for the used-code guard), :meth:`monotonic` the time passed awake.  Tests set or
    advance ``now`` themselves, or :meth:`sleep`."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now
        self._asleep = timedelta(0)

    def sleep(self, span: timedelta) -> None:
        """The lid closed for *span*: the wall clock moves on, the monotonic one stands still."""
        self.now += span
        self._asleep += span

    def monotonic(self) -> float:
        """The monotonic clock (for the tray's timers): the time that passed awake.  Moving
        ``now`` by hand is time passed awake; :meth:`sleep` is not."""
        return (self.now - self._asleep).timestamp()

    def __call__(self) -> datetime:
        return self.now

    def time(self) -> float:
        return self.now.timestamp()
