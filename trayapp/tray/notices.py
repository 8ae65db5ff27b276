"""Notifications about time passing that :mod:`trayapp.tray.notify` does not compose itself:
several sessions that ended at once, a renewal waiting for the network, a refused renewal, an
ended MFA session (issue 21)."""

from __future__ import annotations

from collections.abc import Sequence

from trayapp.core.service import MIN_PARENT_LEFT
from trayapp.core.sessions import SessionInfo
from trayapp.i18n import _
from trayapp.tray import notify

#: An MFA session this close to its end no longer signs renewals (the service's own margin).
MFA_ENDING = MIN_PARENT_LEFT


def expired_notices(sessions: Sequence[SessionInfo]) -> list[notify.Notification]:
    """One notice for what ended: the usual one (with Renew) for one session, a list for several."""
    if len(sessions) == 1:
        return [notify.expired_notice(sessions[0])]
    if not sessions:
        return []
    names = ", ".join(s.profile for s in sorted(sessions, key=lambda s: s.profile))
    return [
        notify.Notification(
            title=_("{count} sessions expired").format(count=len(sessions)),
            body=_("The sessions of {names} have expired. Assume them again from the menu.").format(names=names),
            urgency="critical",
            icon="expired",
        )
    ]


def retrying_notice(profile: str, reason: str) -> notify.Notification:
    """The one notice of a renewal that failed for a passing reason (the network, STS busy)."""
    return notify.Notification(
        _("Renewing {profile} is waiting for AWS").format(profile=profile),
        reason + " " + _("trayapp tries again until the session ends, and at once when the network is back."),
        profile=profile,
        actions=notify.renew_action(),
        icon="expiring",
    )


def refused_notice(profile: str, reason: str) -> notify.Notification:
    """The one notice of a renewal AWS refused for good: what it said is what to do."""
    return notify.Notification(
        _("Renewing {profile} failed").format(profile=profile),
        reason,
        profile=profile,
        actions=notify.renew_action(),
        icon="expiring",
    )


def mfa_ended_notice() -> notify.Notification:
    return notify.Notification(
        _("The MFA session has ended"),
        _("Sessions are no longer renewed without a code; the next assume asks for one."),
        icon="needs-mfa",
    )
