"""A caller with nobody to ask, served by the tray's own prompt (issue 29, item 4).

``trayapp credential-process P`` run where no prompt can be shown — an SDK started by a service, a
shell over ssh without ``DISPLAY``, standard input not a terminal — says so on the channel
(``"ask": true``, :mod:`trayapp.core.channel`).  When P's session needs a person, the tray asks on
its desktop, exactly as a menu click would: the MFA dialog of **Assume role**, or the browser (or
device code) of **Sign in…** for an IAM Identity Center profile; a prompt already open for it is
joined, never doubled (:meth:`trayapp.tray.actions.MenuActions.ask_for`).

The caller waits only while a person can see the prompt: ``{"asking": true}`` at once, then
``{"waiting": true}`` every :data:`~trayapp.core.channel.KEEP_ALIVE` seconds while it is open, then
the credential_process document — or one sentence when it ended without a session (cancelled,
closed, given up, the tray quitting).  A caller that goes away stops only this wait: the prompt is
a normal prompt job, and a code entered still makes the session for the next call.

``trayapp assume P [--duration S]`` without a code, from such a caller, is served the same way
(:func:`assume_asking`): the tray assumes as a menu click does, for the duration asked.
"""

from __future__ import annotations

import json
import logging
import select
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from trayapp.core import channel
from trayapp.core.errors import TrayappError
from trayapp.i18n import _

if TYPE_CHECKING:
    from trayapp.core.service import Service

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ask:
    """How the tray asks for a caller: *show* (a profile, an assume's duration or None) → an event
    set when the prompt shown for it (started now, or under way already) has ended, None when none
    can be shown; *quitting* is set once the tray ends (its prompts are closed then)."""

    show: Callable[[str, int | None], threading.Event | None]
    quitting: threading.Event


#: Sends one reply line; False when the caller is gone.
Send = Callable[[socket.socket, dict[str, Any]], bool]


def document(service: Service, profile: str, prompt_for: Callable[[bool], Any]) -> dict[str, Any]:
    """``{"stdout": <credential_process JSON>}`` for *profile* (TrayappError when there is none)."""
    from trayapp.core import process_credentials

    creds, expires = process_credentials.keys(service, profile, prompt_for)
    text = {
        "Version": 1,
        "AccessKeyId": creds.access_key_id,
        "SecretAccessKey": creds.secret_access_key,
        "SessionToken": creds.session_token,
        "Expiration": expires.isoformat(timespec="seconds"),
    }
    return {"stdout": json.dumps(text) + "\n"}


def ask_person(service: Service, ask: Ask, profile: str, conn: socket.socket, send: Send) -> dict[str, Any] | None:
    """Show *profile*'s prompt on the tray's desktop and answer with its keys when it has ended;
    None when the caller went away (the prompt stays), ``fallback`` when nothing can be shown."""
    waited = _wait(ask, profile, None, conn, send)
    if isinstance(waited, dict):
        return waited
    if not waited:
        return None
    from trayapp.core import process_credentials

    signed_in = service.sso().profile(profile) is not None
    try:
        # The session the dialog made; an SSO profile's keys are fetched now, with the new sign-in.
        return document(service, profile, lambda silent: process_credentials.silent_prompt() if signed_in else None)
    except TrayappError as exc:
        log.info("the prompt for '%s' ended without a session: %s", profile, exc)
    return _ended(service, ask, profile)


def assume_asking(
    service: Service, ask: Ask, profile: str, duration: int | None, conn: socket.socket, send: Send
) -> dict[str, Any] | None:
    """``trayapp assume PROFILE`` with nobody to ask: the tray assumes as a menu click would (its
    MFA session, else its dialog; an SSO profile signed in first), for *duration* when given, and
    answers as the channel's assume does; None when the caller went away (the prompt stays)."""
    before = service.sessions().get(profile)
    waited = _wait(ask, profile, duration, conn, send)
    if isinstance(waited, dict):
        return waited
    if not waited:
        return None
    after = service.sessions().get(profile)
    notes: list[str] = []
    if service.sso().profile(profile) is not None:  # the sign-in alone: its keys are written now
        from trayapp.core import process_credentials

        try:
            result = service.assume(profile, process_credentials.silent_prompt(), duration=duration)
            after, notes = result.session, list(result.notes)
        except TrayappError as exc:
            log.info("the sign-in for '%s' gave no session: %s", profile, exc)
            after = None
    if after is None or (before is not None and after.expires_at == before.expires_at):
        return _ended(service, ask, profile)
    return {
        "profile": after.profile,
        "role_arn": after.role_arn,
        "expires_at": after.expires_at.isoformat(),
        "notes": notes,
    }


def _wait(ask: Ask, profile: str, duration: int | None, conn: socket.socket, send: Send) -> dict[str, Any] | bool:
    """Show the prompt and keep the caller waiting while it is shown: True once it has ended, a
    reply when nothing can be shown (``fallback``), False when the caller went away."""
    done = ask.show(profile, duration)
    if done is None:
        return {"fallback": "no session"}
    if not send(conn, {"asking": True}):
        return False
    log.info("asking on the desktop for '%s', which the command line waits for", profile)
    while not done.wait(channel.KEEP_ALIVE):
        if _gone(conn) or not send(conn, {"waiting": True}):
            log.info("the command line that waited for '%s' went away; its prompt stays", profile)
            return False
    return True


def _ended(service: Service, ask: Ask, profile: str) -> dict[str, Any]:
    """The one sentence for a prompt that ended without a session."""
    if ask.quitting.is_set():
        sentence = _("The tray quit before '{profile}' had a new session.")
    elif service.sso().profile(profile) is not None:
        sentence = _("The sign-in the tray started for '{profile}' ended without a session.")
    else:
        sentence = _("The tray's MFA dialog for '{profile}' was closed without a new session.")
    return {"error": sentence.format(profile=profile), "exit": 1}


def _gone(conn: socket.socket) -> bool:
    """True when the caller closed its end (it sends nothing while it waits).  A look that never
    waits: the connection has a timeout, and a ``recv`` on such a socket first waits up to it for
    data and then raises TimeoutError — which, taken for a closed end, dropped every caller that
    waited longer than one keep-alive."""
    try:
        look = select.poll()  # not select(): it refuses a descriptor above 1023 in a busy tray
        look.register(conn, select.POLLIN)
        readable = look.poll(0)
        return bool(readable) and conn.recv(1, socket.MSG_PEEK) == b""
    except (BlockingIOError, InterruptedError, TimeoutError):
        return False
    except (OSError, ValueError):  # reset, or closed here
        return True
