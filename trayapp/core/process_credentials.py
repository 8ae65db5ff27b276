"""The keys ``credential_process`` hands an SDK, and when the session is renewed first.

botocore treats process credentials as refreshable: with less than 15 minutes left (its advisory
window) it runs the process again before each use, and with less than 10 (its mandatory window) every
call waits for the process to hand out fresher keys.  A session handed out with less left than that
would have the process started on every call, so:

* more than :func:`windows`' first figure left (15 min for a session of an hour or more): the
  session as it is — botocore keeps it until then;
* less, but more than the second (10 min): renewed first if that needs nobody — a role without MFA,
  the tray's MFA session, ``mfa_process`` or a YubiKey.  When a typed code would be needed (or STS is
  out of reach), the current session as it is: botocore uses it and runs the process again on its
  next call (an answer from the tray's memory), and nobody is interrupted ten minutes early;
* less than that, or no session: assumed again the way ``assume`` is — the dialog, the terminal, or a
  clear failure — because botocore can't go on without fresher keys.  When nobody can be asked (no
  display, no terminal: an SDK in the background) or the dialog is cancelled, a session that has not
  ended yet is still handed out, so the program works until the session's real end (botocore asks
  again on each call meanwhile).

For a short session both windows shrink (to a half and a third of its length), so a fresh session is
never already inside them: a 15-minute session would otherwise be renewed on every call.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from trayapp.core import errors

if TYPE_CHECKING:
    from trayapp.core.prompts import MfaPrompt
    from trayapp.core.service import Service
    from trayapp.core.sts import Credentials

#: botocore's advisory and mandatory refresh windows for refreshable credentials.
ADVISORY = timedelta(minutes=15)
MANDATORY = timedelta(minutes=10)

#: *silent* → the prompt to renew with: with True one that never asks a person (None: don't try),
#: with False the usual one (None: nobody can be asked here, and the caller gets NoSession).
PromptFor = Callable[[bool], "MfaPrompt | None"]


def windows(session_seconds: int) -> tuple[timedelta, timedelta]:
    """(renew when less than this is left, ask for a code when less than this is left)."""
    length = timedelta(seconds=session_seconds)
    return min(ADVISORY, length / 2), min(MANDATORY, length / 3)


def needs_renewal(service: Service, name: str) -> bool:
    """True when :func:`keys` would try to renew *name*'s session (a quick look, no STS)."""
    if (login := service.login().profile(name)) is not None:
        from trayapp.core.login_refresh import REFRESH_LEAD, engine

        state = engine(service).state(login)  # the cache file only: no sign-in service
        return state.expires_at is None or state.expires_at - service.now() <= REFRESH_LEAD
    return _usable(service, name, ADVISORY) is None and _usable(service, name, _windows_of(service, name)[0]) is None


def _usable(service: Service, name: str, min_left: timedelta) -> tuple[Credentials, datetime] | None:
    try:
        return service.session_credentials(name, min_left)
    except errors.NoSession:
        return None


def _windows_of(service: Service, name: str) -> tuple[timedelta, timedelta]:
    return windows(service.session_seconds(name))


def keys(service: Service, name: str, prompt_for: PromptFor) -> tuple[Credentials, datetime]:
    """The keys and expiry to hand out for *name* (see the module's notes)."""
    if service.login().profile(name) is not None:
        return service.session_credentials(name)  # an aws login: refreshed at 7 min left, nobody asked
    found = _usable(service, name, ADVISORY)  # the common case, without reading the preferences
    if found is not None:
        return found
    renew_within, ask_within = _windows_of(service, name)
    found = _usable(service, name, renew_within)
    if found is not None:
        return found
    current = _usable(service, name, ask_within)
    if current is not None:
        silent = prompt_for(True)
        if silent is None:
            return current
        try:
            service.assume(name, silent)
        except errors.TrayappError:
            return current  # a code is needed, or STS is out of reach: this one still serves
        return service.session_credentials(name)
    try:
        prompt = prompt_for(False)  # with nobody to ask, NoPrompt may come from here already
        if prompt is None:
            raise errors.NoSession(profile=name)
        service.assume(name, prompt)
    except (errors.NoPrompt, errors.Cancelled):
        last = _usable(service, name, timedelta(0))  # nobody to ask, or not now: it serves while it lasts
        if last is None:
            raise
        return last
    return service.session_credentials(name)


def can_renew_unasked(service: Service, name: str) -> bool:
    """True when *name* can be assumed again without a person: no code needed, a live MFA
    session, or a code source (``mfa_process``; a YubiKey is tried only by the command line)."""
    if service.can_renew_silently(name):
        return True
    return service.sso().profile(name) is None and bool(service.config().role(name).mfa_process)


def silent_prompt() -> MfaPrompt:
    """A prompt that asks no person: ``mfa_process`` or a YubiKey, else "not now"."""
    from trayapp.core.code_sources import SourcedPrompt
    from trayapp.core.prompts import SilentPrompt

    return SourcedPrompt(SilentPrompt(), interactive=False)
