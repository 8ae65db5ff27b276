"""The one clock tests move by hand."""

from __future__ import annotations

from datetime import UTC, datetime

START = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


class Clock:
    """Called, it gives ``now`` (a UTC datetime); :meth:`time` gives the same moment in epoch
    seconds (for the used-code guard).  Tests set or advance ``now`` themselves."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def time(self) -> float:
        return self.now.timestamp()
