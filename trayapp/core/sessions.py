"""Sessions and their states: the words the command line, the menu, the icon and the notifications share.

A session is what trayapp wrote as ``[<profile>-session]``; what a user may see of it (never a key)
is :class:`SessionInfo`.  Its state at a moment is ``active``, ``expiring`` (within the warning lead)
or ``expired``; the icon shows the worst of all of them (:func:`overall_state`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from trayapp.i18n import _

State = Literal["active", "expiring", "expired"]
#: The icon's state: no session, all valid, one expiring soon, one expired.
#: ``needs-mfa``: sessions that renewed on the MFA session are ending and it has ended
#: (:func:`needs_mfa`); the tray shows it, :func:`overall_state` never returns it.
OverallState = Literal["none", "valid", "expiring", "expired", "needs-mfa"]
OVERALL_STATES: tuple[OverallState, ...] = ("none", "valid", "expiring", "expired", "needs-mfa")
SESSION_SUFFIX = "-session"
#: A session shorter than its warning lead is warned (and renewed) when this share of its life is
#: left, not at once: a 15-minute session under a 20-minute lead is renewed with 7 min 30 s left.
SHORT_SESSION_SHARE = 2


def session_name(profile: str) -> str:
    """The credentials-file section (and profile) a role's session is written to."""
    return profile + SESSION_SUFFIX


@dataclass(frozen=True)
class SessionInfo:
    """A session the applet wrote: what the user may see (no secrets)."""

    profile: str
    role_arn: str
    expires_at: datetime
    #: The seconds it was assumed for (kept through every renewal), or None when not recorded.
    duration: int | None = None

    @property
    def session_profile(self) -> str:
        return session_name(self.profile)

    def left(self, now: datetime) -> timedelta:
        return self.expires_at - now

    def lead(self, warn: timedelta) -> timedelta:
        """When before its end this session is warned about and renewed: the warning lead, or half
        the session's life when that is shorter (a session less than twice as long as the lead)."""
        if self.duration is None or self.duration <= 0:
            return warn
        return min(warn, timedelta(seconds=self.duration) / SHORT_SESSION_SHARE)

    def state(self, now: datetime, warn: timedelta) -> State:
        left = self.left(now)
        if left <= timedelta(0):
            return "expired"
        return "expiring" if left <= self.lead(warn) else "active"

    def as_json(self, now: datetime, warn: timedelta) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "session_profile": self.session_profile,
            "expires_at": self.expires_at.isoformat(timespec="seconds"),
            "state": self.state(now, warn),
        }


def overall_state(sessions: Iterable[SessionInfo], now: datetime, warn: timedelta) -> OverallState:
    """The icon state: any expired > any expiring > any valid > none."""
    states = {s.state(now, warn) for s in sessions}
    if "expired" in states:
        return "expired"
    if "expiring" in states:
        return "expiring"
    return "valid" if states else "none"


def needs_mfa(state: OverallState, on_mfa: Iterable[SessionInfo], now: datetime, warn: timedelta) -> OverallState:
    """The icon state once the MFA session that renewed sessions silently has run out: ``needs-mfa``
    when one of the sessions that renewed on it (*on_mfa*: roles with an MFA device) is expiring or
    has expired — it can't be renewed without a code any more —, else *state* unchanged."""
    if any(s.state(now, warn) != "active" for s in on_mfa):
        return "needs-mfa"
    return state


def clock_time(moment: datetime, now: datetime, *, seconds: bool = False) -> str:
    """*moment* as a person reads it on their clock: ``06:45`` today, ``06:45 tomorrow``,
    ``23:10 yesterday``, ``06:45 on 2030-01-03`` further away — local time, the day told whenever
    it is not today (a session that ends after midnight said "until 06:45" with no date)."""
    local = moment.astimezone()
    shown = local.strftime("%H:%M:%S" if seconds else "%H:%M")
    days = (local.date() - now.astimezone().date()).days
    if days == 0:
        return shown
    if days == 1:
        return _("{time} tomorrow").format(time=shown)
    if days == -1:
        return _("{time} yesterday").format(time=shown)
    return _("{time} on {date}").format(time=shown, date=local.date().isoformat())


def time_left(left: timedelta) -> str:
    """``42 min left``, ``3 h 5 min left``, ``expired``: the same words everywhere."""
    if left <= timedelta(0):
        return _("expired")
    minutes = int(left.total_seconds() // 60)
    if minutes < 1:
        return _("less than a minute left")
    if minutes < 60:
        return _("{minutes} min left").format(minutes=minutes)
    return _("{hours} h {minutes} min left").format(hours=minutes // 60, minutes=minutes % 60)
