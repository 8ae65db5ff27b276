"""What the menu's entries do: assume, renew, forget, copy, open the console, the preferences, the
keys.  :class:`MenuActions` runs the actions on the tray's worker thread, one at a time, except those
that wait for a person (:data:`PROMPTED`: a dialog, a browser sign-in), which the coordinator runs
as prompt jobs on threads of their own (:mod:`trayapp.tray.prompt_jobs`); a failure becomes one
notification in the user's words.

How a code is asked for is a :class:`Prompts` record passed in, with its capabilities spelled out
(the desktop dialog opens its window at the click and can be started ahead), so nothing here
compares an injected function with a default.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from trayapp.core.errors import Cancelled, TrayappError
from trayapp.core.prompts import MfaPrompt
from trayapp.core.sessions import clock_time, session_name
from trayapp.i18n import _
from trayapp.tray import key_info, login_watch, menu_model, sso_watch
from trayapp.tray.dialog_prompt import desktop_prompt, show_early
from trayapp.tray.prefs import PrefsHolder
from trayapp.tray.prompt_jobs import PromptJobs

if TYPE_CHECKING:
    from trayapp.tray.notify import Notification
    from trayapp.tray.view import TrayService

log = logging.getLogger(__name__)

APP_NAME = "trayapp"


@dataclass(frozen=True)
class Prompts:
    """How an assume asks for a code: *make* a prompt; *show_early* opens its window at the click,
    before the service knows it needs one (the desktop dialog, issue 14); *warm*: a dialog child
    may be started ahead, waiting withdrawn (:mod:`trayapp.tray.warm`)."""

    make: Callable[[], MfaPrompt]
    show_early: Callable[[MfaPrompt, Any, str], object] | None = None
    warm: bool = False


DESKTOP_PROMPTS = Prompts(desktop_prompt, show_early, warm=True)


class Autostart(Protocol):
    """ "Start at login" (the module :mod:`trayapp.tray.autostart`)."""

    def status(self) -> bool: ...

    def enable(self) -> Any: ...

    def disable(self) -> Any: ...


#: The actions after which the menu is redrawn.
REDRAWN = frozenset(
    {
        menu_model.ASSUME,
        menu_model.FORGET,
        menu_model.FAVOURITES,
        menu_model.END_MFA,
        menu_model.AUTOSTART,
        menu_model.MOVE_KEYS,
        menu_model.ROTATE_KEY,
        menu_model.SSO_LOGIN,
        menu_model.SSO_LOGOUT,
    }
)
#: The actions that may wait for a person (an MFA dialog, a browser sign-in, a device code): they
#: run as prompt jobs, off the worker.
PROMPTED = frozenset({menu_model.ASSUME, menu_model.FAVOURITES, menu_model.SSO_LOGIN})
#: The actions that are never run twice at once for one profile (a dialog or a browser sign-in is open).
ONE_AT_A_TIME = PROMPTED


def _what(kind: str) -> str:
    """The menu item an action came from, as the menu words it."""
    words = {
        menu_model.ASSUME: _("Assume role"),
        menu_model.CONSOLE: _("Open AWS console"),
        menu_model.FORGET: _("Forget session"),
        menu_model.FAVOURITES: _("Assume favourites ({profiles})").format(profiles="…"),
        menu_model.END_MFA: _("End MFA session"),
        menu_model.AUTOSTART: _("Start at login"),
        menu_model.MOVE_KEYS: _("Move keys to the keyring"),
        menu_model.ROTATE_KEY: _("Rotate key"),
        menu_model.SSO_LOGIN: _("Sign in…"),
        menu_model.SSO_LOGOUT: _("Sign out"),
        menu_model.PREFS: _("Preferences…"),
    }
    return words.get(kind, _("Copy {line}").format(line="…") if kind.startswith("copy") else kind)


def failed(kind: str, exc: BaseException) -> str:
    """A notice's body for an action that failed with an error no trayapp code put into words: the
    reason when trayapp can tell it (the network, the file system), else where the details are.
    The traceback goes to the log file only."""
    from trayapp.core import logfile, reasons

    log.error("the action %s failed", kind, exc_info=exc, extra=logfile.FILE_ONLY)
    reason = reasons.sentence(exc)
    if reason is not None:
        return _("{action} failed: {reason}").format(action=_what(kind), reason=reason)
    file = logfile.current()
    path = file.open() if file is not None else None
    if path is None:
        return _("{action} failed unexpectedly; run trayapp with TRAYAPP_LOG=debug to see why.").format(
            action=_what(kind)
        )
    return _("{action} failed unexpectedly; the details are in {path}.").format(action=_what(kind), path=path)


class MenuActions:
    """The menu's actions.  *say* sends a notification, *roles* gives the role names shown now,
    *changed* asks for a redraw (from any thread), *stopping* is set while the tray ends."""

    def __init__(
        self,
        service: TrayService,
        *,
        prompts: Prompts,
        copy: Callable[[str], None],
        open_url: Callable[[str], Any] | None,
        autostart: Autostart | None,
        keys: key_info.KeyInfo,
        prefs: PrefsHolder,
        say: Callable[[Notification], None],
        roles: Callable[[], tuple[str, ...]],
        changed: Callable[[], None],
        stopping: threading.Event,
    ) -> None:
        self._service = service
        self.prompts = prompts
        self._copy = copy
        self._open_url = open_url
        self._autostart = autostart
        self._keys = keys
        self._prefs = prefs
        self._say = say
        self._roles = roles
        self._changed = changed
        self._stopping = stopping
        self._lock = threading.Lock()
        #: (kind, profile) → set when it ends: a dialog or a browser open.
        self._pending: dict[tuple[str, str], threading.Event] = {}
        self._prompts: list[tuple[str, MfaPrompt]] = []  # (profile, prompt): asking now, on its prompt job
        self._prefs_window: threading.Thread | None = None
        #: What waits for a person, each on a thread of its own (issue 29).
        self.jobs = PromptJobs(stopping)
        self._sign_ins = sso_watch.SignIns(service, say)
        self.logins = login_watch.LoginWatch(service, say)

    def claim(self, kind: str, profile: str | None) -> bool:
        """False when this action is already under way (an assume whose dialog is open, a sign-in):
        a second click keeps the one dialog."""
        if kind not in ONE_AT_A_TIME:
            return True
        with self._lock:
            if (kind, profile or "") in self._pending:
                return False
            self._pending[kind, profile or ""] = threading.Event()
            return True

    def run(self, kind: str, profile: str | None, duration: int | None = None) -> bool:
        """Worker, or a prompt job's thread for :data:`PROMPTED`: run one action; True when the menu
        should be redrawn after it.  *duration*: an assume's length, asked for by a command line."""
        try:
            if kind == menu_model.ASSUME and profile is not None and duration is not None:
                self.assume(profile, duration)
            else:
                self._act(kind, profile)
        except TrayappError as exc:
            self.tell(f"trayapp: {profile}" if profile else APP_NAME, str(exc))
        except Exception as exc:
            self.tell(f"trayapp: {profile}" if profile else APP_NAME, failed(kind, exc))
        finally:
            self.release(kind, profile)
        return kind in REDRAWN

    def start_prompted(self, kind: str, profile: str | None) -> None:
        """One of :data:`PROMPTED`: run it as a prompt job, off the worker (whatever thread calls);
        while it is under way, another click on it is logged and leaves its one dialog or sign-in."""
        if not self.claim(kind, profile):
            log.info("%s %s is under way already: its dialog or sign-in stays the one", kind, profile or "")
            if kind == menu_model.ASSUME:
                self._present(profile)
        elif not self.jobs.start(self._prompted, kind, profile):
            self.release(kind, profile)

    def _prompted(self, kind: str, profile: str | None, duration: int | None = None) -> None:
        """A prompt job's thread: the action waits for its person here; the redraw is the worker's."""
        if self.run(kind, profile, duration) and not self._stopping.is_set():
            self._changed()

    def _present(self, profile: str | None) -> None:
        """Bring *profile*'s open dialog to the front (a second click on its role)."""
        with self._lock:
            asking = [prompt for name, prompt in self._prompts if name == profile]
        for prompt in asking:
            present = getattr(getattr(prompt, "fallback", prompt), "present", None)
            if present is not None:
                present()

    def release(self, kind: str, profile: str | None) -> None:
        """*kind* for *profile* is over (or never started): the next click runs it again."""
        with self._lock:
            ended = self._pending.pop((kind, profile or ""), None)
        if ended is not None:
            ended.set()

    def ask_for(self, profile: str, duration: int | None = None) -> threading.Event | None:
        """A channel's thread, for a command with nobody to ask (issue 29): do what a menu click
        does to make *profile*'s session — assume it (its MFA session, else its dialog; for
        *duration* seconds when given), or its IAM Identity Center sign-in — or join the one under
        way (its dialog brought to the front).  An event set once it has ended; None when nothing
        can be shown (the tray is ending)."""
        kind, name = menu_model.ASSUME, profile
        sso = self._service.sso().profile(profile)
        if sso is not None:
            kind, name = menu_model.SSO_LOGIN, sso.session.name
        key = (kind, name)
        with self._lock:
            if self._stopping.is_set():
                return None
            ended = self._pending.get(key)
            fresh = ended is None
            if ended is None:
                ended = self._pending[key] = threading.Event()
        if not fresh:
            log.info("%s %s is under way already: the command line waits for it", kind, name)
            if kind == menu_model.ASSUME:
                self._present(name)
            return ended
        if not self.jobs.start(self._prompted, kind, name, duration):
            self.release(kind, name)
            return None
        return ended

    def abort(self) -> None:
        """The tray ends: close every open dialog (its child is killed), stop waiting for the
        sign-ins; a prompt asked for from now on is closed at once."""
        self._sign_ins.abort()
        with self._lock:
            prompts = list(self._prompts)
        for _name, prompt in prompts:
            _abort(prompt)

    def autostart_state(self) -> bool | None:
        if self._autostart is None:
            return None
        try:
            return bool(self._autostart.status())
        except (OSError, TrayappError):
            return None

    def tell(self, title: str, body: str) -> None:
        from trayapp.tray import notify

        self._say(notify.Notification(title, body))

    def _act(self, kind: str, profile: str | None) -> None:
        """The global actions take no profile, the others need one."""
        global_actions: dict[str, Callable[[], None]] = {
            menu_model.FAVOURITES: self._assume_favourites,
            menu_model.AUTOSTART: self._toggle_autostart,
            menu_model.END_MFA: self._service.end_mfa_sessions,
        }
        profile_actions: dict[str, Callable[[str], None]] = {
            menu_model.ASSUME: self.assume,
            menu_model.CONSOLE: self._open_console,
            menu_model.COPY_PROFILE: lambda p: self._copy(menu_model.export_line("AWS_PROFILE", session_name(p))),
            menu_model.COPY_EB: lambda p: self._copy(menu_model.export_line("AWS_EB_PROFILE", session_name(p))),
            menu_model.FORGET: self._forget,
            menu_model.MOVE_KEYS: lambda source: self.tell(f"trayapp: {source}", self._keys.move(source)),
            menu_model.ROTATE_KEY: lambda source: self.tell(f"trayapp: {source}", self._keys.rotate(source)),
            menu_model.SSO_LOGIN: self._sign_ins.sign_in,
            menu_model.SSO_LOGOUT: self._sign_ins.sign_out,
            login_watch.SIGN_IN: lambda p: self.logins.sign_in(p),
        }
        if kind in global_actions:
            global_actions[kind]()
        elif profile is not None and kind in profile_actions:
            profile_actions[kind](profile)

    def copy_code(self, name: str | None) -> None:
        """**Copy** on a device code's notice: at once, not on the worker (it waits for that sign-in)."""
        code = self._sign_ins.codes.get(name or "")
        if code:
            try:
                self._copy(code)
            except TrayappError as exc:  # no Tk for the clipboard: say why
                self.tell(APP_NAME, str(exc))

    def notice_action(self, profile: str, key: str) -> str | None:
        """The menu action a click on a notification stands for: "Renew" (or the notice itself) of a
        session, "Rotate" of an old key's notice, "Sign in" of a sign-in that ended; None for nothing."""
        if (signed_out := sso_watch.notice_action(profile, key) or login_watch.notice_action(profile, key)) is not None:
            return signed_out
        if key == key_info.ROTATE and profile:
            return menu_model.action(menu_model.ROTATE_KEY, profile)
        if key == "default" and profile in {row.name for row in self._keys.rows()} - set(self._roles()):
            return None  # a click on an old key's notice: nothing to renew
        if key in ("renew", "default") and profile:
            return menu_model.action(menu_model.ASSUME, profile)
        return None

    def _assume_favourites(self) -> None:
        roles = self._roles()
        for name in self._prefs().favourites:
            if name in roles:
                self.assume(name)  # the first asks for a code; the MFA session signs the rest

    def _toggle_autostart(self) -> None:
        if self._autostart is None:
            return
        if self._autostart.status():
            self._autostart.disable()
        else:
            self._autostart.enable()

    def _open_console(self, profile: str) -> None:
        url = self._service.console_url(profile)
        if self._open_url is not None:
            self._open_url(url)
        else:
            from trayapp.core.console import open_signin_page

            open_signin_page(url)  # a private forwarding page: the token never on a command line

    def _forget(self, profile: str) -> None:
        if self._service.forget(profile):
            removed = _("The session {session} was removed.").format(session=session_name(profile))
            self.tell(f"trayapp: {profile}", removed)

    def assume(self, profile: str, duration: int | None = None) -> None:
        """A prompt job: assume *profile*, asking for a code if one is needed; the dialog waits on
        this thread, never on the worker.  *duration*: seconds (else the session's own, as a Renew
        keeps it, or the profile's)."""
        if self._stopping.is_set():
            return
        prompt = self.prompts.make()
        with self._lock:
            self._prompts.append((profile, prompt))
        if self._stopping.is_set():  # Quit came while the prompt was made: no window after Quit
            _abort(prompt)
        try:
            if self.prompts.show_early is not None:
                self.prompts.show_early(prompt, self._service, profile)  # the window at the click (issue 14)
            held = self._service.sessions().get(profile)
            if duration is None and held is not None:
                # A Renew keeps the duration the session was assumed with, as silent renewals do (issue 21).
                duration = held.duration
            try:
                result = self._service.assume(profile, prompt, duration=duration)
            except Cancelled:
                if not _withdrawn(prompt) or self._stopping.is_set():
                    raise
                # Another dialog's code opened the MFA session that signs this role: no code now.
                log.info("%s is signed by the MFA session another dialog opened: assumed without a code", profile)
                result = self._service.assume(profile, prompt, duration=duration)
        except Cancelled:
            return
        except TrayappError as exc:
            if self._stopping.is_set():
                return
            if str(exc) == getattr(prompt, "last_error", None):
                return  # the dialog showed it already, and the user closed it
            raise
        finally:
            with self._lock:
                self._prompts.remove((profile, prompt))
        until = clock_time(result.session.expires_at, self._service.now())
        body = _("AWS_PROFILE={session} works until {until}.").format(
            session=result.session.session_profile, until=until
        )
        for note in result.notes:
            body += " " + note
        self.tell(_("trayapp: {profile} is ready").format(profile=profile), body)
        self._withdraw_answered(profile)

    def _withdraw_answered(self, done: str) -> None:
        """*done* was just assumed: every other dialog open now whose role needs no code any more
        (one code, one MFA session, many roles — issue 16) is closed, and its job assumes without
        one.  Before, both stayed open, and the same code typed into the second was refused as
        used."""
        with self._lock:
            others = [(name, prompt) for name, prompt in self._prompts if name != done]
        for name, prompt in others:
            dialog = getattr(prompt, "fallback", prompt)
            withdraw = getattr(dialog, "withdraw", None)
            if withdraw is None:
                continue
            held = self._service.sessions().get(name)
            try:
                needed = self._service.needs_code(name, held.duration if held is not None else None)
            except TrayappError:
                continue
            if not needed:
                withdraw()

    def open_prefs(self) -> None:
        """The preferences window, on a thread of its own; one at a time."""
        if self._prefs_window is not None and self._prefs_window.is_alive():
            return
        self._prefs_window = threading.Thread(target=self._edit_prefs, name="trayapp-prefs", daemon=True)
        self._prefs_window.start()

    def _edit_prefs(self) -> None:
        from trayapp.tray import notify, prefs_dialog

        try:
            prefs = prefs_dialog.edit_and_save(self._prefs.store, list(self._roles()))
        except TrayappError as exc:
            self._say(notify.Notification(_("Preferences not saved"), str(exc)))
            return
        except Exception as exc:  # a thread of its own: nobody else would tell
            self._say(notify.Notification(_("Preferences not saved"), failed(menu_model.PREFS, exc)))
            return
        if prefs is not None:
            self._prefs.set(prefs)
            self._changed()


def _withdrawn(prompt: MfaPrompt) -> bool:
    return bool(getattr(getattr(prompt, "fallback", prompt), "withdrawn", False))


def _abort(prompt: MfaPrompt) -> None:
    abort = getattr(prompt, "abort", None)
    if abort is not None:
        abort()
