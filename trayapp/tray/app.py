"""The tray shell's coordinator: a :class:`TrayApp` wires the rooms and owns the one worker.

Rooms (see docs/ARCHITECTURE.md), each behind a small Protocol:

* :mod:`trayapp.tray.view` — what is shown (a :class:`~trayapp.tray.view.Snapshot`) and the
  pystray adapter that shows it (icon, title, menu, the Tk popup where a backend has no menu);
* :mod:`trayapp.tray.actions` — what the menu's entries do;
* :mod:`trayapp.tray.renewer` — the one timer's events, silent renewal and its retries, and what
  is told when;
* :mod:`trayapp.tray.signals` — SIGINT/SIGTERM like Quit, the wake-up pipe, the watchdog;
* :mod:`trayapp.tray.startup` — the services started once the icon shows.

Threads: pystray owns the main thread (``Icon.run()``), as macOS requires; menu callbacks,
timers, the file watcher and notification clicks only hand work over: it runs one piece at a time
on a single worker thread, so the tray loop never blocks on STS.  What waits for a person (an MFA
dialog, a browser sign-in, a device code) is a prompt job on a thread of its own
(:mod:`trayapp.tray.prompt_jobs`), so the worker never waits for a person either.  Every Tk window
is a child process, so this process never imports tkinter.  Nothing polls.

Ending: Quit, SIGINT (Ctrl-C) and SIGTERM all stop the loop the same way; a watchdog ends the
process a few seconds later if a backend's loop does not return, after running the hooks given to
:func:`trayapp.tray.signals.on_forced_exit` (the demo removes its files there).  With no usable
D-Bus session bus, the D-Bus based backends (appindicator, gtk) can't start: the tray then uses
``xorg``, or says in one sentence what to fix.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from trayapp.core.errors import TrayappError
from trayapp.core.prompts import MfaPrompt, has_display
from trayapp.i18n import _
from trayapp.protocol import report
from trayapp.tray import backend, key_info, menu_model
from trayapp.tray.actions import DESKTOP_PROMPTS, PROMPTED, Autostart, MenuActions, Prompts
from trayapp.tray.clipboard import copy_text
from trayapp.tray.menu_model import MenuNode
from trayapp.tray.prefs import PrefsHolder
from trayapp.tray.renewer import Renewer
from trayapp.tray.signals import SignalWatch, force_exit, watchdog
from trayapp.tray.single_instance import single_instance
from trayapp.tray.startup import Services
from trayapp.tray.view import DESKTOP_POPUP, Popup, PystrayView, Snapshot, TrayService

if TYPE_CHECKING:
    from trayapp.core.renewal import Retries
    from trayapp.core.schedule import TimerFactory
    from trayapp.tray.notify import Notification, Notifier

log = logging.getLogger(__name__)

QUIT_GRACE_SECONDS = 3.0
APP = "trayapp"

Notify = Callable[[str, str], None]


def log_notify(title: str, body: str) -> None:
    """The default notifier until a desktop one is plugged in: the log file."""
    from trayapp.core.logfile import FILE_ONLY

    log.warning("%s: %s", title, body, extra=FILE_ONLY)


class TrayApp:
    def __init__(
        self,
        service: TrayService,
        *,
        notify: Notify = log_notify,
        prompt_factory: Callable[[], MfaPrompt] | Prompts = DESKTOP_PROMPTS,
        copy: Callable[[str], None] = copy_text,
        popup: Callable[[tuple[MenuNode, ...]], str | None] | Popup = DESKTOP_POPUP,
        prefs: PrefsHolder | None = None,
        notifier: Notifier | None = None,
        timer_factory: TimerFactory | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        watch: bool = True,
        open_url: Callable[[str], Any] | None = None,
        autostart: Autostart | None = None,
        keys: key_info.KeyInfo | None = None,
    ) -> None:
        """*prompt_factory*, *popup*: a plain function, or a record with its capabilities (the
        desktop's dialog and Tk popup, the defaults); *autostart*: "Start at login" in the menu
        (the module :mod:`trayapp.tray.autostart`), None hides it."""
        self.service = service
        self._notify = notify
        self.prefs = prefs or PrefsHolder()
        self.notifier = notifier
        #: Source profiles' keys: read on the worker once the icon is up, then held (issue 12).
        self.keys = keys or key_info.KeyInfo()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trayapp-worker")
        self._stopping = threading.Event()
        self._running = False
        self._watchdog: threading.Timer | None = None
        #: The signal that stopped the tray (SIGINT, SIGTERM), or None.
        self.stopped_by: int | None = None
        popup = popup if isinstance(popup, Popup) else Popup(popup)
        self.view = PystrayView(self.perform, popup, self._stopping, tell=lambda text: self.actions.tell(APP, text))
        self.actions = MenuActions(
            service,
            prompts=prompt_factory if isinstance(prompt_factory, Prompts) else Prompts(prompt_factory),
            copy=copy,
            open_url=open_url,
            autostart=autostart,
            keys=self.keys,
            prefs=self.prefs,
            say=self._say,
            roles=lambda: self.snapshot.roles,
            changed=lambda: self._submit(self.refresh),
            stopping=self._stopping,
        )
        self.renewer = Renewer(service, self.prefs, say=self._say, submit=self._submit, refresh=self.refresh,
                               clock_moved=self._clock_moved, timer_factory=timer_factory,
                               monotonic=monotonic)  # fmt: skip
        self.signals = SignalWatch(self._signalled)
        self.services = Services(watch=watch, tell=lambda text: self.actions.tell(APP, text))

    # --- what the tests and the rooms reach -------------------------------------------------

    @property
    def snapshot(self) -> Snapshot:
        return self.view.snapshot

    @property
    def icon(self) -> Any:
        return self.view.icon

    @icon.setter
    def icon(self, icon: Any) -> None:
        self.view.icon = icon

    @property
    def _retries(self) -> Retries | None:
        return self.renewer.retries

    def _menu_items(self) -> Iterator[Any]:
        return self.view.menu_items()

    # --- life cycle -----------------------------------------------------------------------

    def run(self) -> None:
        """Show the icon and run the tray loop on this thread until Quit."""
        # The keyring costs ~0.15 s to import and ask: the icon and the menu come first, on
        # defaults, and are redrawn when the preferences arrive.
        self.prefs.load_in_background(self._prefs_arrived)
        self.view.create()
        self._running = True
        self.signals.catch(glib=self.view.runs_glib)
        try:
            self.view.run(self._setup)
        except Exception:
            if not self._stopping.is_set():
                self._stopping.set()
                self.view.abandon()
                raise
            # gtk/appindicator tidy up through the notification server when the loop
            # ends; without one that fails, but the user asked to quit and the tray did.
            log.debug("the tray backend failed while quitting", exc_info=True)
        finally:
            self._running = False
            if self._watchdog is not None:
                self._watchdog.cancel()
            self.signals.release()
            self._shutdown()

    def _setup(self) -> None:
        # pystray runs this on a thread of its own once its loop runs: read the files
        # first, so the first click already finds the real menu.
        if self._stopping.is_set():
            return  # the loop failed or ended before it was ready
        self.signals.catch_again(glib=self.view.runs_glib)
        self.refresh()
        self.view.reveal()
        self._submit(self._start_services)

    def _start_services(self) -> None:
        """Worker: everything that can wait until the icon is up, one by one."""
        from trayapp.tray import notify

        self.renewer.start()
        if self.notifier is None:
            target = self.view.notification_target()
            self.notifier = notify.choose_notifier(icon=target, on_action=self._on_notification_action)
        self.services.watch_files(lambda: self._submit(self._files_changed))  # watch first, then read
        self.refresh()
        self.services.watch_wake(self._clock_moved, self.renewer.network_back)
        self.services.serve(self.service, ask=self.actions.ask_for, quitting=self._stopping)
        self.keys.load()  # the keyring, for keys it holds: after the icon, once
        self._tell_old_keys()
        self.refresh()  # the Keys part (cheap: the files are not read again unless they changed)
        self.services.warm(self.icon, dialog=self.actions.prompts.warm, popup=self.view.popup.warm)

    def _signalled(self, signum: int) -> None:
        if self.stopped_by is not None:  # a second Ctrl-C: don't wait for the loop
            force_exit(128 + signum)
        self.stopped_by = signum
        log.info("stopping on signal %d", signum)
        threading.Thread(target=self.stop, name="trayapp-signal-stop", daemon=True).start()

    def stop(self) -> None:
        self._stopping.set()
        self.actions.abort()
        if self._running:
            # pystray's xorg loop now and then misses the end of its window and
            # waits for X events forever: Quit must still quit.
            status = 0 if self.stopped_by is None else 128 + self.stopped_by
            self._watchdog = watchdog(QUIT_GRACE_SECONDS, status)
        self.view.close()

    def _shutdown(self) -> None:
        self._stopping.set()
        self.services.stop()
        self.renewer.stop()
        if self.notifier is not None:
            self.notifier.close()
        self._worker.shutdown(wait=False, cancel_futures=True)

    # --- the worker ---------------------------------------------------------------------------

    def _submit(self, fn: Callable[..., Any], *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # raised while shutting down
            self._worker.submit(self._logged, fn, *args)

    @staticmethod
    def _logged(fn: Callable[..., Any], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:
            log.exception("background work failed")

    def refresh(self) -> None:
        """Re-read the sessions; show the icon state and the menu; re-arm the one timer."""
        from trayapp.tray.view import take_snapshot

        prefs = self.prefs()
        self.renewer.look(prefs.hidden)
        keys = menu_model.keys_menu(self.keys.rows(), self.service.now(), prefs.key_max_age)
        autostart = self.actions.autostart_state()
        mfa_ended = self.renewer.mfa_ended
        shown = self.view.snapshot  # its unchanged role lines are reused
        self.view.show(
            take_snapshot(self.service, prefs.favourites, autostart, keys, mfa_ended=mfa_ended, previous=shown)
        )

    def perform(self, action_id: str) -> None:
        """Run a menu action: Quit and a device code's Copy at once, the preferences on a window's
        thread, what may wait for a person (an assume's dialog, a sign-in) as a prompt job of its
        own, everything else on the worker."""
        kind, profile = menu_model.parse_action(action_id)
        if kind == menu_model.QUIT:
            self.stop()
        elif kind == menu_model.PREFS:
            self.actions.open_prefs()
        elif kind == menu_model.SSO_COPY_CODE:
            self.actions.copy_code(profile)
        elif kind in PROMPTED:
            self.actions.start_prompted(kind, profile)  # its redraw comes back to the worker
        elif self.actions.claim(kind, profile):
            with contextlib.suppress(RuntimeError):  # raised while shutting down
                self._worker.submit(self._act, kind, profile)

    def _act(self, kind: str, profile: str | None) -> None:
        if self.actions.run(kind, profile):
            self.refresh()

    def _say(self, notification: Notification) -> None:
        if self.notifier is not None:
            self.notifier.send(notification)
        else:
            self._notify(notification.title, notification.body)

    # --- what arrives from elsewhere (any thread: hand over) -----------------------------------

    def _prefs_arrived(self) -> None:
        if self.icon is not None:
            self._submit(self._apply_prefs)

    def _apply_prefs(self) -> None:
        notice = self.prefs().notice
        if notice:
            self.actions.tell("trayapp", notice)
        self._tell_old_keys()
        self.refresh()

    def _files_changed(self) -> None:
        if self.keys.loaded:
            self.keys.load()  # the files again; the keyring's entries are held
        self.refresh()

    def _clock_moved(self) -> None:
        """A resume, a clock set, a time zone change: the worker looks again."""
        self._submit(self._look_again)

    @staticmethod
    def _tzset() -> None:
        time.tzset()  # a new time zone shows in the next message's "until 14:05"

    def _look_again(self) -> None:
        self._tzset()
        self.refresh()  # the icon and labels now; the timer re-armed on the wall clock

    def _tell_old_keys(self) -> None:
        """Worker: one notice per key older than key-max-age, once the keys and the preferences are read."""
        if not (self.keys.loaded and self.prefs.ready):
            return
        max_days = self.prefs().key_max_age
        for row, days in self.keys.due(max_days, self.service.now()):
            self._say(key_info.old_key_notice(row, days, max_days))

    def _on_notification_action(self, profile: str, key: str) -> None:
        """Notifier's listener thread: a click on "Renew", "Rotate" or "Sign in": hand it over."""
        if (action_id := self.actions.notice_action(profile, key)) is not None:
            self.perform(action_id)


def _no_display() -> bool:
    return os.environ.get("PYSTRAY_BACKEND") != "dummy" and not has_display()


def _default_service(prefs: PrefsHolder) -> TrayService:
    from trayapp.core.service import Service

    # A long-lived process: keep MFA sessions in memory so one code serves many roles.
    return Service(preferences=prefs, mfa_sessions=True, resident=True)


def run_tray(
    service_factory: Callable[[PrefsHolder], TrayService] | None = None,
    *,
    notify: Notify = log_notify,
) -> int:
    """Start the tray applet; returns the exit status (0 after Quit).

    The backend is pystray's choice, or ``PYSTRAY_BACKEND`` (``gtk``,
    ``appindicator``, ``xorg``, ...).  boto3 and keyring stay off this path.
    """
    from trayapp.core.profiles import credentials_path

    if _no_display():
        report(
            "trayapp: "
            + _(
                "there is no display to show the tray icon on (DISPLAY is not set); "
                "the command line works without one: trayapp assume PROFILE."
            )
        )
        return 1
    problem = backend.choose_backend(os.environ)
    if problem is not None:
        report("trayapp: " + problem)
        return 1
    backend.keep_pygobject_out(os.environ)
    instance = single_instance(credentials_path())
    if instance is None:
        report(
            "trayapp: "
            + _("trayapp is already running for {path}; use its icon in the tray.").format(path=credentials_path())
        )
        return 1
    signum = backend.await_tray_host(os.environ, lambda problem: report("trayapp: " + problem))
    if signum is not None:
        return 128 + signum
    prefs = PrefsHolder()
    try:
        service = (service_factory or _default_service)(prefs)
        from trayapp.tray import autostart

        app = TrayApp(service, notify=notify, prefs=prefs, autostart=autostart)
    except TrayappError as exc:
        report(f"trayapp: {exc}")
        return exc.exit_code
    try:
        app.run()
    except Exception as exc:  # pystray raises display and D-Bus errors of many kinds
        report("trayapp: " + cannot_show(exc))
        return 1
    return 0 if app.stopped_by is None else 128 + app.stopped_by


def cannot_show(exc: BaseException) -> str:
    """Why the icon can't be shown, in a sentence (the traceback and the error's kind go to the log
    file only)."""
    from trayapp.core import logfile, reasons

    log.error("the tray failed", exc_info=exc, extra=logfile.FILE_ONLY)
    xlib = sys.modules.get("Xlib.error")
    if xlib is not None and isinstance(exc, xlib.DisplayError):  # pystray's xorg backend opens the display
        return _("the tray icon can't be shown: the X display {display} can't be opened; check that it is running "
                 "and that DISPLAY names it.").format(display=os.environ.get("DISPLAY", ""))  # fmt: skip
    reason = reasons.sentence(exc)
    if reason is not None:
        return _("the tray icon can't be shown: {reason}").format(reason=reason)
    file = logfile.current()
    path = file.open() if file is not None else None
    if path is None:
        return _("the tray icon can't be shown; run it with TRAYAPP_LOG=debug to see why.")
    return _("the tray icon can't be shown; the details are in {path}.").format(path=path)
