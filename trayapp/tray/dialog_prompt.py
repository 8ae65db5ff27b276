"""The MFA prompt of the desktop: the Tk dialog (``trayapp.tk.dialog``) as a child process.

:class:`DialogPrompt` implements :class:`trayapp.core.mfa.MfaPrompt`.  One child
serves every ``ask()`` of one assume (a retry after an error, or the second
role of a chain), and ``close()`` ends it.  The protocol is described in
:mod:`trayapp.tk.dialog`.  This module imports no GUI toolkit.
"""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from trayapp import protocol
from trayapp.core.code_sources import Running, SourcedPrompt, Starter, Stopped
from trayapp.core.errors import Cancelled, ReusedCode, TrayappError, WrongCode
from trayapp.core.mfa import seconds_to_next_code
from trayapp.core.prompts import MfaPrompt, MfaRequest
from trayapp.core.reasons import os_reason
from trayapp.core.tk_check import EXIT_NO_TK, TkMissing, fix
from trayapp.i18n import _

if TYPE_CHECKING:
    from trayapp.core.hosts import Engine

log = logging.getLogger(__name__)


# The sentences after which a fresh code is the cure: they get a countdown
# (compared in the user's language, as the errors are built).
def _reused_prefix() -> str:
    return _(ReusedCode.template).split("{", 1)[0]


def _wrong_code() -> str:
    return _(WrongCode.template)


class DialogUnavailable(TrayappError):
    template = "The MFA dialog could not be shown ({reason}); use 'trayapp assume {profile} --code-stdin' instead."


def countdown_for(error: str | None, now: float) -> int | None:
    """Seconds to the next TOTP code when *error* says to wait for one, else None."""
    if error and (error.startswith(_reused_prefix()) or error == _wrong_code()):
        return seconds_to_next_code(now)
    return None


class DialogPrompt:
    """Asks for MFA codes with the Tk dialog running in a child process."""

    def __init__(
        self,
        spawn: Callable[[], subprocess.Popen[str]] = lambda: protocol.spawn("dialog"),
        clock: Callable[[], float] = time.time,
        on_exit: Callable[[], None] | None = None,
    ) -> None:
        """*spawn* starts the child (or hands over a ready one, see :mod:`trayapp.tray.warm`);
        *on_exit* runs each time a child has ended."""
        self._spawn = spawn
        self._clock = clock
        self._on_exit = on_exit
        self._proc: subprocess.Popen[str] | None = None
        self._shown: MfaRequest | None = None
        self._early = False  # shown by show() and not asked yet: the first answer is pending
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()  # the touch watcher writes to the child too
        self._source: Running | None = None
        self._aborted = False  # the tray is ending: no window from now on
        #: The last error sentence the user saw in the dialog (the tray does not
        #: repeat it in a notification).
        self.last_error: str | None = None
        #: Closed by :meth:`withdraw`: the role needs no code now (issue 29).
        self.withdrawn = False

    def ask(self, request: MfaRequest, error: str | None = None) -> str | None:
        return self.ask_with_source(request, error, None)

    def ask_with_source(self, request: MfaRequest, error: str | None, start: Starter | None) -> str | None:
        """Like :meth:`ask`, while *start* (run on a thread of its own, so the window shows at
        once) may start a code source: the dialog then says so (``{"touch": HINT}``), and the code
        it prints is filled in and submitted (``{"fill": CODE}``, on the pipe only); typing still
        works, and whatever answers first wins — the source is stopped then."""
        answered = threading.Event()
        watcher: threading.Thread | None = None
        try:
            with self._lock:
                proc = self._ensure_child(request)
                if start is not None:
                    watcher = threading.Thread(
                        target=self._watch_source, args=(proc, start, answered), name="trayapp-touch", daemon=True
                    )
                return self._exchange(proc, request, error, watcher)
        finally:
            with self._send_lock:
                answered.set()
            running = self._source
            if running is not None:
                running.stop()

    def _watch_source(self, proc: subprocess.Popen[str], start: Starter, answered: threading.Event) -> None:
        running = start()
        if running is None:
            return  # no YubiKey account: the dialog stays as it is
        with self._send_lock:
            if answered.is_set():
                running.stop()
                return
            self._source = running
            protocol.send(proc.stdin, {"touch": running.hint})
        try:
            code = running.result()
        except Stopped:
            return
        except TrayappError as exc:
            message: dict[str, object] = {"source_failed": str(exc)}
        else:
            message = {"fill": code}
        with self._send_lock:
            self._source = None
            if not answered.is_set():
                protocol.send(proc.stdin, message)
                if "source_failed" in message:
                    self.last_error = str(message["source_failed"])

    def show(self, request: MfaRequest) -> None:
        """Show the dialog for *request* now, before it is asked for (see :func:`show_early`): the
        user can type while the caller gets ready; the next ``ask(request)`` takes that answer."""
        with self._lock:
            proc = self._ensure_child(request)
            message = {"profile": request.profile, "role_arn": request.role_arn, "mfa_serial": request.mfa_serial}
            with self._send_lock:
                if protocol.send(proc.stdin, message):
                    self._shown, self._early = request, True

    def _exchange(
        self, proc: subprocess.Popen[str], request: MfaRequest, error: str | None, watcher: threading.Thread | None
    ) -> str | None:
        early, self._early = self._early, False
        if early and request == self._shown and not error:
            if watcher is not None:
                watcher.start()
            return self._answer(proc, request)
        message: dict[str, object] = {}
        if request != self._shown:
            message.update(profile=request.profile, role_arn=request.role_arn, mfa_serial=request.mfa_serial)
            self._shown = request
        if error:
            message.update(error=error, countdown=countdown_for(error, self._clock()))
            self.last_error = error
        if not message:  # the same request again, with nothing new to say
            message.update(profile=request.profile, role_arn=request.role_arn, mfa_serial=request.mfa_serial)
        with self._send_lock:
            sent = protocol.send(proc.stdin, message)
        if watcher is not None:
            watcher.start()
        if not sent:
            self._reap()
            raise DialogUnavailable(reason="it closed unexpectedly", profile=request.profile)
        return self._answer(proc, request)

    def _answer(self, proc: subprocess.Popen[str], request: MfaRequest) -> str | None:
        answer = protocol.receive(proc.stdout)
        if answer is None:
            self._reap()
            if proc.returncode == EXIT_NO_TK:  # Tk found but it could not load (a missing libtk)
                raise TkMissing(fix=fix())
            if proc.returncode not in (0, None):
                raise DialogUnavailable(reason=f"exit status {proc.returncode}", profile=request.profile)
            return None  # window closed: the same as Cancel
        if answer.get("cancel"):
            self._reap()
            return None
        code = answer.get("code")
        return code if isinstance(code, str) else None

    def present(self) -> None:
        """Bring the open window to the front (the same role was clicked again); from any thread."""
        proc = self._proc
        if proc is not None and proc.poll() is None and self._shown is not None:
            with self._send_lock:
                protocol.send(proc.stdin, {"raise": True})

    def withdraw(self) -> None:
        """Close the open window from another thread because its question needs no answer any
        more (another dialog's code opened the MFA session that signs this role too): ask()
        returns None, and :attr:`withdrawn` tells the prompt job to assume without a code."""
        self.withdrawn = True
        proc = self._proc
        if proc is not None and proc.poll() is None:
            with self._send_lock:
                protocol.send(proc.stdin, {"done": True})

    def close(self) -> None:
        with self._lock:
            proc = self._proc
            if proc is None:
                return
            with self._send_lock:
                protocol.send(proc.stdin, {"done": True})
            self._reap()

    def abort(self) -> None:
        """Close the dialog from another thread (the app is quitting), and any it would open later;
        ask() returns None."""
        self._aborted = True
        running = self._source
        if running is not None:
            running.stop()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()

    def _ensure_child(self, request: MfaRequest) -> subprocess.Popen[str]:
        # A dialog shown early may have ended already (Cancel before the question): its answer
        # is still in the pipe.
        if self._proc is not None and (self._early or self._proc.poll() is None):
            return self._proc
        self._reap()
        if self._aborted:
            raise Cancelled(profile=request.profile)
        try:
            self._proc = self._spawn()
        except OSError as exc:
            raise DialogUnavailable(reason=os_reason(exc), profile=request.profile) from None
        self._shown = None
        if self._aborted:  # abort() came while the child started: it ends with the others
            self._proc.kill()
        return self._proc

    def _reap(self) -> None:
        proc, self._proc, self._shown = self._proc, None, None
        self._early = False
        if proc is None:
            return
        if protocol.finish(proc, 3):
            log.warning("the MFA dialog did not exit; it was stopped")
        if self._on_exit is not None:
            self._on_exit()


def show_early(prompt: MfaPrompt, service: Engine, profile: str) -> bool:
    """Open the dialog for *profile* at the click, while *service* gets ready to ask (the first
    assume imports botocore and builds the STS client: ~0.3 s the user would wait for a window).

    Only when the engine says the first question is a code (``Service.needs_code``: an MFA device,
    no ``mfa_process``, not chained from another role, no MFA session that signs it), for the
    duration the assume will keep.  True when the dialog was shown."""
    dialog = getattr(prompt, "fallback", prompt)
    show = getattr(dialog, "show", None)
    if show is None:
        return False
    try:
        held = service.sessions().get(profile)
        if not service.needs_code(profile, held.duration if held is not None else None):
            return False
        role = service.config().role(profile)
        if role.mfa_serial is None:  # needs_code said a code: an MFA device is named
            return False
        show(MfaRequest(role.name, role.role_arn, role.mfa_serial, role.mfa_process))
    except Exception:  # the assume itself will say what is wrong
        log.debug("the dialog could not be shown early", exc_info=True)
        return False
    return True


def desktop_prompt() -> MfaPrompt:
    """The tray's prompt: ``mfa_process`` or a YubiKey first, the dialog for typing — the warm
    one the tray keeps ready when there is one, and the next one started once it has closed."""
    from trayapp.tray import warm

    return SourcedPrompt(DialogPrompt(spawn=warm.DIALOG.take, on_exit=warm.DIALOG.refill))
