"""The tray shell: a pystray icon whose menu and image follow the sessions.

Threads (see docs/ARCHITECTURE.md):

* pystray owns the main thread (``Icon.run()``), as macOS requires;
* menu callbacks only hand work over: actions run one at a time on a single
  worker thread, so the tray loop never blocks on STS or on the dialog;
* every Tk window (MFA dialog, popup menu, clipboard) is a child process, so
  this process never imports tkinter;
* one timer (:class:`trayapp.core.schedule.Scheduler`) is armed for the next
  event — a warning, an expiry or a menu label's next minute — and nothing
  polls: file changes arrive from :mod:`trayapp.tray.watch` (inotify/FSEvents),
  notification clicks from :mod:`trayapp.tray.notify`'s listener; all of them only
  hand work to the worker.

Backends: with a native menu (gtk, appindicator, win32, darwin) pystray shows
the menu; a left click on gtk and on win32 opens it too.  Without one (``xorg``,
``Icon.HAS_MENU`` False) :mod:`trayapp.tray.xorg_clicks` makes clicks arrive and a
click opens the *same* menu as a Tk popup (:mod:`trayapp.tk.popup_menu`).

AppKit (pystray's darwin backend) must only be touched on the main thread: every
change the setup thread or the worker makes to the icon (image, title, menu,
visibility, notifications, stop) goes through :attr:`TrayApp.on_main`, which is
PyObjC's ``AppHelper.callAfter`` there and a plain call on the other backends
(pystray's gtk, xorg and win32 backends hand such calls to their loop themselves).

Ending: Quit, SIGINT (Ctrl-C) and SIGTERM all stop the loop the same way; a
watchdog ends the process a few seconds later if a backend's loop does not
return, after running the hooks given to :func:`on_forced_exit` (the demo
removes its files there).  With no usable D-Bus session bus, the D-Bus based
backends (appindicator, gtk) can't start: the tray then uses ``xorg``, or says
in one sentence what to fix.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from trayapp.core.errors import Cancelled, TrayappError
from trayapp.core.prompts import MfaPrompt, SilentPrompt, has_display
from trayapp.core.sessions import OverallState, needs_mfa, overall_state, session_name
from trayapp.i18n import N_, _
from trayapp.protocol import report
from trayapp.tray import backend, key_info, menu_model
from trayapp.tray.clipboard import copy_text
from trayapp.tray.dialog_prompt import desktop_prompt, show_early
from trayapp.tray.menu_model import MenuNode
from trayapp.tray.popup import show_popup
from trayapp.tray.prefs import PrefsHolder
from trayapp.tray.single_instance import single_instance
from trayapp.tray.xorg_clicks import enable_clicks, keep_docked

if TYPE_CHECKING:
    from PIL import Image

    from trayapp.core.schedule import Event
    from trayapp.core.service import AssumeResult, RoleEntry
    from trayapp.core.sessions import SessionInfo
    from trayapp.tray.notify import Notification, Notifier

log = logging.getLogger(__name__)

APP_NAME = "trayapp"
QUIT_GRACE_SECONDS = 3.0
ICON_SIZE = 64
#: Plain ASCII: pystray's xorg backend stores the title as a Latin-1 WM_NAME
#: (so there it stays English; see :func:`icon_title`).
TITLES: Mapping[OverallState, str] = {
    "none": N_("trayapp: no session"),
    "valid": N_("trayapp: sessions valid"),
    "expiring": N_("trayapp: a session expires soon"),
    "expired": N_("trayapp: a session has expired"),
    "needs-mfa": N_("trayapp: the MFA session ended; a code renews sessions"),
}


def icon_title(state: OverallState, *, latin1: bool = False) -> str:
    """The icon's title in the user's language; English where it must be Latin-1 (xorg)."""
    return TITLES[state] if latin1 else _(TITLES[state])


Notify = Callable[[str, str], None]


class TrayService(Protocol):
    """The part of :class:`trayapp.core.service.Service` the tray uses."""

    def roles(self) -> list[RoleEntry]: ...

    def problems(self) -> Mapping[str, str]: ...

    def assume(self, name: str, prompt: MfaPrompt, *, duration: int | None = None) -> AssumeResult: ...

    def forget(self, name: str) -> bool: ...

    def now(self) -> datetime: ...

    def warn_lead(self) -> timedelta: ...

    def config(self) -> Any: ...

    def sessions(self) -> dict[str, SessionInfo]: ...

    def can_renew_silently(self, name: str) -> bool: ...

    def console_url(self, name: str) -> str: ...

    def mfa_sessions(self) -> list[Any]: ...

    def end_mfa_sessions(self) -> None: ...


def log_notify(title: str, body: str) -> None:
    """The default notifier until a desktop one is plugged in: the log."""
    log.warning("%s: %s", title, body)


@dataclass(frozen=True)
class Snapshot:
    """What the tray shows, computed off the GUI thread."""

    menu: tuple[MenuNode, ...]
    state: OverallState = "none"
    roles: tuple[str, ...] = field(default=())


#: Shown for the instant between the icon appearing and the first read of the files.
STARTING = (MenuNode(_("Reading ~/.aws/config…"), enabled=False), menu_model.SEPARATOR, MenuNode(_("Quit"), "quit"))


def take_snapshot(
    service: TrayService,
    favourites: tuple[str, ...] = (),
    autostart: bool | None = None,
    keys: MenuNode | None = None,
    *,
    mfa_ended: bool = False,
) -> Snapshot:
    """What the tray shows now.  *mfa_ended*: the MFA session that renewed sessions without a code
    ran out (not ended from the menu) and none has started since (see :func:`needs_mfa`)."""
    try:
        config_path = service.config().config_path
        roles = service.roles()
        problems = service.problems()
    except TrayappError as exc:
        return Snapshot(menu_model.build_menu([], {}, service.now(), timedelta(0), error=str(exc)))
    now, warn = service.now(), service.warn_lead()
    mfa = service.mfa_sessions()
    sessions = [entry.session for entry in roles if entry.session is not None]
    state = overall_state(sessions, now, warn)
    if mfa_ended and not mfa:
        on_mfa = [entry.session for entry in roles if entry.session is not None and entry.role.mfa_serial]
        state = needs_mfa(state, on_mfa, now, warn)
    return Snapshot(
        menu_model.build_menu(
            roles,
            problems,
            now,
            warn,
            config_path=config_path,
            mfa_until=mfa[-1].expires_at if mfa else None,
            mfa_ended=mfa_ended and not mfa,
            favourites=favourites,
            autostart=autostart,
            keys=keys,
        ),
        state,
        tuple(entry.role.name for entry in roles),
    )


class TrayApp:
    def __init__(
        self,
        service: TrayService,
        *,
        notify: Notify = log_notify,
        prompt_factory: Callable[[], MfaPrompt] = desktop_prompt,
        copy: Callable[[str], None] = copy_text,
        popup: Callable[[tuple[MenuNode, ...]], str | None] = show_popup,
        prefs: PrefsHolder | None = None,
        notifier: Notifier | None = None,
        timer_factory: Callable[[float, Callable[[], None]], Any] | None = None,
        watch: bool = True,
        open_url: Callable[[str], Any] | None = None,
        autostart: Any = None,
        keys: key_info.KeyInfo | None = None,
    ) -> None:
        """*autostart*: an object with ``status()``, ``enable()``, ``disable()`` (the module
        :mod:`trayapp.tray.autostart`) to show "Start at login" in the menu; None hides it."""
        self.service = service
        self._notify = notify
        self._prompt_factory = prompt_factory
        self._copy = copy
        self._popup = popup
        self.prefs = prefs or PrefsHolder()
        self.notifier = notifier
        self._timer_factory = timer_factory
        self._watch = watch
        self._watcher: Any = None
        self._open_url = open_url
        self._autostart = autostart
        #: Source profiles' keys: read on the worker once the icon is up, then held (issue 12).
        self.keys = keys or key_info.KeyInfo()
        self.scheduler: Any = None
        self._retries: Any = None  # core.renewal.Retries, once the services start
        self._wake: Any = None  # tray.wake.WakeWatch
        self._mfa_until: datetime | None = None
        self._mfa_ended = False  # the MFA session ran out (not ended by the user) and none since
        self._failed_renewals: set[tuple[str, datetime]] = set()
        self._prefs_window: threading.Thread | None = None
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trayapp-worker")
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._popup_open = threading.Lock()
        self._pending: set[str] = set()
        self._active_prompt: MfaPrompt | None = None
        self.icon: Any = None
        self._running = False
        self._watchdog: threading.Timer | None = None
        #: Runs a callable on the thread that owns the tray's toolkit (see :func:`main_thread_caller`).
        self.on_main: Callable[[Callable[[], None]], None] = backend.call_now
        #: The wakeup pipe a thread watches for SIGINT/SIGTERM (see _watch_signals), while it runs.
        self._signal_pipe: tuple[int, int, int] | None = None
        #: The signal that stopped the tray (SIGINT, SIGTERM), or None.
        self.stopped_by: int | None = None
        # The files are read on the worker once the icon shows: start to icon stays fast.
        self.snapshot = Snapshot(STARTING)
        self._ready = threading.Event()  # set once the files were read for the first time

    # --- life cycle -----------------------------------------------------------

    def run(self) -> None:
        """Show the icon and run the tray loop on this thread until Quit."""
        # The keyring costs ~0.15 s to import and ask: the icon and the menu come first, on
        # defaults, and are redrawn when the preferences arrive.
        self.prefs.load_in_background(self._prefs_arrived)
        import pystray

        backend.name_the_gtk_program()
        self.icon = pystray.Icon(
            APP_NAME,
            icon=self._image(self.snapshot.state),
            title=icon_title(self.snapshot.state, latin1=backend.latin1_title(pystray.Icon)),
            menu=pystray.Menu(self._menu_items),
        )
        self.on_main = backend.main_thread_caller(self.icon)
        enable_clicks(self.icon)
        self._running = True
        saved = self._catch_signals()
        try:
            self.icon.run(setup=self._setup)
        except Exception:
            if not self._stopping.is_set():
                self._stopping.set()
                backend.release_setup_thread(self.icon)
                raise
            # gtk/appindicator tidy up through the notification server when the loop
            # ends; without one that fails, but the user asked to quit and the tray did.
            log.debug("the tray backend failed while quitting", exc_info=True)
        finally:
            self._running = False
            if self._watchdog is not None:
                self._watchdog.cancel()
            self._stop_watching_signals()
            _restore_signals(saved)
            self._shutdown()

    def _catch_signals(self) -> dict[int, Any]:
        """SIGINT and SIGTERM stop the tray like Quit (main thread only; returns the old handlers)."""
        saved: dict[int, Any] = {}
        if threading.current_thread() is not threading.main_thread():
            return saved
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError, OSError):
                saved[signum] = signal.signal(signum, self._on_signal)
        if not backend.runs_glib(self.icon):  # PyGObject keeps the wakeup fd for its own loop
            self._watch_signals()
        return saved

    def _watch_signals(self) -> None:
        """Act on a signal at once, wherever it lands.  Python runs a signal handler on the main
        thread, and only when that thread runs Python again; a signal delivered to another thread
        while the main one waits in the backend's loop (xorg sits in a select on the X socket) would
        wait for the next X event.  The interpreter's C handler always writes the signal's number to
        the wakeup fd, so a thread blocked on that pipe sees it immediately."""
        read_end, write_end = os.pipe()
        os.set_blocking(write_end, False)
        try:
            previous = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
        except (ValueError, OSError):
            os.close(read_end)
            os.close(write_end)
            return
        self._signal_pipe = (read_end, write_end, previous)
        threading.Thread(target=self._signal_watcher, args=(read_end,), name="trayapp-signals", daemon=True).start()

    def _signal_watcher(self, read_end: int) -> None:
        while True:
            try:
                data = os.read(read_end, 16)
            except OSError:
                return  # closed: the tray is done
            if not data:
                return
            for signum in data:
                if signum in (signal.SIGINT, signal.SIGTERM):
                    self._signalled(signum)

    def _stop_watching_signals(self) -> None:
        if self._signal_pipe is None:
            return
        read_end, write_end, previous = self._signal_pipe
        self._signal_pipe = None
        with contextlib.suppress(ValueError, OSError):
            signal.set_wakeup_fd(previous)
        for fd in (write_end, read_end):
            with contextlib.suppress(OSError):
                os.close(fd)

    def _on_signal(self, signum: int, _frame: Any) -> None:
        """Main thread, between two steps of the backend's loop: hand over and return
        (unless the watcher thread has already acted on it)."""
        if self._signal_pipe is None:
            self._signalled(signum)

    def _signalled(self, signum: int) -> None:
        if self.stopped_by is not None:  # a second Ctrl-C: don't wait for the loop
            _force_exit(128 + signum)
        self.stopped_by = signum
        log.info("stopping on signal %d", signum)
        threading.Thread(target=self.stop, name="trayapp-signal-stop", daemon=True).start()

    def _catch_sigint_again(self) -> None:
        """pystray's GLib backends reset SIGINT to "kill at once" as their loop starts; take it back
        from inside that loop (the main thread), so Ctrl-C cleans up like Quit."""
        if not backend.runs_glib(self.icon):
            return
        if signal.getsignal(signal.SIGINT) == self._on_signal:
            return
        from gi.repository import GLib  # type: ignore[import-untyped,unused-ignore]

        def again() -> bool:
            with contextlib.suppress(ValueError, OSError):
                signal.signal(signal.SIGINT, self._on_signal)
            return False

        GLib.idle_add(again)

    def _setup(self, icon: Any) -> None:
        # pystray runs this on a thread of its own once its loop runs: read the files
        # first, so the first click already finds the real menu.
        if self._stopping.is_set():
            return  # the loop failed or ended before it was ready
        self._catch_sigint_again()
        self.refresh()
        self.on_main(self._show_icon)
        log.info("tray icon shown (pystray backend %s)", backend.name(icon))
        self._submit(self._start_services)

    def _show_icon(self) -> None:
        icon = self.icon
        if icon is None or self._stopping.is_set():
            return
        icon.visible = True
        keep_docked(icon)

    def _prefs_arrived(self) -> None:
        if self.icon is not None:
            self._submit(self._apply_prefs)

    def _apply_prefs(self) -> None:
        notice = self.prefs().notice
        if notice:
            self._tell("trayapp", notice)
        self._tell_old_keys()
        self.refresh()

    def _start_services(self) -> None:
        """Worker: everything that can wait until the icon is up."""
        from trayapp.core.renewal import Retries
        from trayapp.core.schedule import Scheduler, thread_timer
        from trayapp.tray import notify

        timers = self._timer_factory or thread_timer
        self.scheduler = Scheduler(
            self._on_schedule_event,
            clock=self.service.now,
            warn=self.service.warn_lead(),
            timer_factory=timers,
            on_jump=self._clock_moved,
            on_events=self._on_schedule_events,
        )
        self._retries = Retries(
            lambda p: self._submit(self._retry_renewal, p), clock=self.service.now, timer_factory=timers
        )
        if self.notifier is None:
            icon = self.icon if self.on_main is backend.call_now else backend.MainThreadNotify(self.icon, self.on_main)
            self.notifier = notify.choose_notifier(icon=icon, on_action=self._on_notification_action)
        # Watch first, then read: a change made while the services start (another process's
        # assume, an editor) is either in this read or wakes the watcher; none falls between.
        if self._watch:
            from trayapp.tray.watch import watch_aws_files

            try:
                self._watcher = watch_aws_files(lambda: self._submit(self._files_changed))
            except Exception:  # no inotify watches left, say: labels still follow the timer
                log.warning("the AWS files can't be watched; changes show on the next menu update", exc_info=True)
        self.refresh()
        if self._watch:  # after the schedule has seen the sessions: a resume from now on is told
            from trayapp.tray.wake import watch_wake

            self._wake = watch_wake(self._clock_moved, self._retries.network_back)
        from trayapp.tray.channel import start_channel

        self._channel = start_channel(self.service)  # the command line asks this tray (issue 14)
        self.keys.load()  # the keyring, for keys it holds: after the icon, once
        self._tell_old_keys()
        self.refresh()  # the Keys part (cheap: the files are not read again unless they changed)
        from trayapp.tray import warm

        # The next click's window, started ahead and waiting withdrawn (issue 14).
        warm.start(self.icon, dialog=self._prompt_factory is desktop_prompt, popup=self._popup is show_popup)

    def _submit(self, fn: Callable[..., Any], *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # raised while shutting down
            self._worker.submit(self._logged, fn, *args)

    @staticmethod
    def _logged(fn: Callable[..., Any], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:
            log.exception("background work failed")

    def _autostart_state(self) -> bool | None:
        if self._autostart is None:
            return None
        try:
            return bool(self._autostart.status())
        except (OSError, TrayappError):
            return None

    def _tell(self, title: str, body: str) -> None:
        from trayapp.tray import notify

        self._say(notify.Notification(title, body))

    def _say(self, notification: Notification) -> None:
        if self.notifier is not None:
            self.notifier.send(notification)
        else:
            self._notify(notification.title, notification.body)

    # --- the schedule and notifications -------------------------------------------

    def _on_schedule_event(self, event: Event) -> None:
        """Timer thread: hand over."""
        self._submit(self._handle_event, event)

    def _on_schedule_events(self, events: list[Event]) -> None:
        """Timer thread: events that came due together (after a sleep) are handled together."""
        self._submit(self._handle_events, events)

    def _clock_moved(self) -> None:
        """A resume, a clock set, a time zone change (any thread): the worker looks again."""
        self._submit(self._look_again)

    def _look_again(self) -> None:
        import time

        time.tzset()  # a new time zone shows in the next message's "until 14:05"
        self.refresh()  # the icon and labels now; the timer re-armed on the wall clock

    def _on_notification_action(self, profile: str, key: str) -> None:
        """Notifier's listener thread: a click on "Renew" (or on "Rotate" of an old key's notice)."""
        if key == key_info.ROTATE and profile:
            self.perform(menu_model.action(menu_model.ROTATE_KEY, profile))
            return
        if key == "default" and profile in {row.name for row in self.keys.rows()} - set(self.snapshot.roles):
            return  # a click on an old key's notice: nothing to renew
        if key in ("renew", "default") and profile:
            self.perform(menu_model.action(menu_model.ASSUME, profile))

    def _handle_events(self, events: list[Event]) -> None:
        from trayapp.tray.notices import expired_notices

        sessions = self.service.sessions()
        ended = [
            sessions[e.profile]
            for e in events
            if e.kind == "expire" and e.profile in sessions and sessions[e.profile].expires_at == e.expires_at
        ]
        for event in events:
            if event.kind == "warn":
                self._handle_event(event, refresh=False)
        if ended and self.prefs().notifications:
            for notice in expired_notices(ended):
                self._say(notice)
        self.refresh()

    def _tell_mfa_ended(self) -> None:
        """One notice when the MFA session that signed renewals ran out (asleep or not); none
        when the user ended it from the menu."""
        from trayapp.tray.notices import MFA_ENDING, mfa_ended_notice

        alive = self.service.mfa_sessions()
        until, self._mfa_until = self._mfa_until, alive[-1].expires_at if alive else None
        ran_out = until is not None and until - self.service.now() <= MFA_ENDING
        if alive or (until is not None and not ran_out):  # a new one, or ended from the menu
            self._mfa_ended = False
        elif ran_out:
            self._mfa_ended = True
            if self.prefs().notifications:
                self._say(mfa_ended_notice())

    def _handle_event(self, event: Event, *, refresh: bool = True) -> None:
        from trayapp.tray import notify

        if event.kind != "label":
            session = self.service.sessions().get(event.profile)
            current = session is not None and session.expires_at == event.expires_at
            if current and event.kind == "warn":
                assert session is not None
                if not self._renew_silently(event.profile, session) and self.prefs().notifications:
                    self._say(notify.expiring_notice(session, self.service.now()))
            elif current and event.kind == "expire" and self.prefs().notifications:
                assert session is not None
                self._say(notify.expired_notice(session))
        if refresh:
            self.refresh()

    def _renew_silently(self, profile: str, session: SessionInfo) -> bool:
        """Renew before expiry without a prompt while the MFA session lasts; False to warn instead."""
        if profile in self.prefs().hidden or not self.service.can_renew_silently(profile):
            return False
        from trayapp.core.renewal import is_transient
        from trayapp.tray import notices

        try:
            # The duration it was assumed with, not the profile's default (issue 21).
            self.service.assume(profile, SilentPrompt(), duration=session.duration)
        except TrayappError as exc:
            transient = is_transient(exc) and self._retries is not None
            first = self._retries.failed(profile, session.expires_at) if transient else True
            key = (profile, session.expires_at)
            if first and key not in self._failed_renewals:  # notified once per session, not per retry
                self._failed_renewals.add(key)
                notice = notices.retrying_notice if transient else notices.refused_notice
                self._say(notice(profile, str(exc)))
            log.info("renewing %s failed (%s)", profile, "will retry" if transient else "for good")
            return True
        if self._retries is not None:
            self._retries.succeeded(profile)
        log.info("renewed %s without a prompt", profile)
        return True

    def _retry_renewal(self, profile: str) -> None:
        """Worker: a renewal that waited for the network tries again, while its session lasts."""
        session = self.service.sessions().get(profile)
        if session is None or session.left(self.service.now()).total_seconds() <= 0:
            return
        if self.service.can_renew_silently(profile):
            self._renew_silently(profile, session)
        self.refresh()

    def stop(self) -> None:
        self._stopping.set()
        abort = getattr(self._active_prompt, "abort", None)
        if abort is not None:
            abort()  # an open dialog would keep the worker busy
        if self._running:
            # pystray's xorg loop now and then misses the end of its window and
            # waits for X events forever: Quit must still quit.
            status = 0 if self.stopped_by is None else 128 + self.stopped_by
            self._watchdog = threading.Timer(QUIT_GRACE_SECONDS, _force_exit, args=(status,))
            self._watchdog.daemon = True
            self._watchdog.start()
        icon = self.icon
        if icon is not None:
            self.on_main(icon.stop)

    def _shutdown(self) -> None:
        self._stopping.set()
        from trayapp.tray import warm

        warm.stop()
        closers = (
            self._watcher,
            self._wake,
            self._retries,
            self.scheduler,
            self.notifier,
            getattr(self, "_channel", None),
        )
        for closer in closers:
            stop = getattr(closer, "stop", None) or getattr(closer, "close", None)
            if stop is not None:
                with contextlib.suppress(Exception):
                    stop()
        self._worker.shutdown(wait=False, cancel_futures=True)

    # --- what is shown ----------------------------------------------------------

    def refresh(self) -> None:
        """Re-read the sessions; update the image, the title and the menu; re-arm the one timer."""
        prefs = self.prefs()
        self._tell_mfa_ended()
        keys = menu_model.keys_menu(self.keys.rows(), self.service.now(), prefs.key_max_age)
        snapshot = take_snapshot(
            self.service, prefs.favourites, self._autostart_state(), keys, mfa_ended=self._mfa_ended
        )
        with self._lock:
            old, self.snapshot = self.snapshot, snapshot
        self._ready.set()
        if self.scheduler is not None:
            with contextlib.suppress(TrayappError):
                sessions = [s for s in self.service.sessions().values() if s.profile not in prefs.hidden]
                self.scheduler.reschedule(sessions, warn=self.service.warn_lead())
        icon = self.icon
        if icon is None or self._stopping.is_set():
            return
        image = self._image(snapshot.state) if snapshot.state != old.state else None
        if image is not None:
            log.info("the icon shows %s", snapshot.state)
        menu_changed = snapshot.menu != old.menu

        def show() -> None:
            if self._stopping.is_set():
                return
            if image is not None:
                icon.icon = image
                icon.title = icon_title(snapshot.state, latin1=backend.latin1_title(icon))
            if menu_changed:
                icon.update_menu()

        if image is not None or menu_changed:
            self.on_main(show)

    def _image(self, state: OverallState) -> Image.Image:
        from trayapp.icons import render

        # pystray's xorg backend paints transparent pixels black.
        return render(state, ICON_SIZE, opaque=backend.opaque_icon(self.icon))

    def _menu_items(self) -> Iterator[Any]:
        """pystray's dynamic menu: built from the current snapshot, cheaply."""
        import pystray

        yield pystray.MenuItem("Open menu", self._on_activate, default=True, visible=False)
        for node in self.snapshot.menu:
            yield self._pystray_item(node)

    def _pystray_item(self, node: MenuNode) -> Any:
        import pystray

        if node.separator:
            return pystray.Menu.SEPARATOR
        if node.children is not None:
            submenu = pystray.Menu(*(self._pystray_item(child) for child in node.children))
            return pystray.MenuItem(node.label, submenu, enabled=node.enabled)
        ident = node.id

        def activate(_icon: Any, _item: Any) -> None:
            if ident is not None:
                self.perform(ident)

        if node.checked is not None:
            checked = node.checked
            return pystray.MenuItem(node.label, activate, enabled=node.enabled, checked=lambda _item: checked)
        return pystray.MenuItem(node.label, activate, enabled=node.enabled)

    # --- clicks -------------------------------------------------------------------

    def _on_activate(self, icon: Any, _item: Any) -> None:
        """The icon's default action (a left click)."""
        if not backend.open_menu(icon):
            threading.Thread(target=self._show_popup, name="trayapp-popup", daemon=True).start()

    def _show_popup(self) -> None:
        # One popup at a time.  While one is up it grabs the pointer, so a click
        # that reaches the icon means the last one is just closing: wait for it.
        if not self._popup_open.acquire(timeout=2):
            return
        self._ready.wait(3)  # a click in the first instant shows the real menu, not "Reading…"
        try:
            choice = self._popup(self.snapshot.menu)
        except Exception:
            log.exception("the popup menu failed")
            return
        finally:
            self._popup_open.release()
        if choice:
            self.perform(choice)

    def perform(self, action_id: str) -> None:
        """Run a menu action: Quit at once, everything else on the worker thread."""
        kind, profile = menu_model.parse_action(action_id)
        if kind == menu_model.QUIT:
            self.stop()
            return
        if kind == menu_model.PREFS:
            self._open_prefs()
            return
        if kind == menu_model.ASSUME and profile is not None:
            with self._lock:
                if profile in self._pending:
                    return  # its dialog is already open
                self._pending.add(profile)
        with contextlib.suppress(RuntimeError):  # raised while shutting down
            self._worker.submit(self._guarded, kind, profile)

    # --- the actions (worker thread) ------------------------------------------------

    def _guarded(self, kind: str, profile: str | None) -> None:
        try:
            self._act(kind, profile)
        except TrayappError as exc:
            self._tell(f"trayapp: {profile}" if profile else APP_NAME, str(exc))
        except Exception:
            log.exception("action %s for %s failed", kind, profile)
            self._tell(
                APP_NAME, _("Something went wrong with '{profile}'; see the log for details.").format(profile=profile)
            )
        finally:
            if kind == menu_model.ASSUME and profile is not None:
                with self._lock:
                    self._pending.discard(profile)
            if kind in (
                menu_model.ASSUME,
                menu_model.FORGET,
                menu_model.FAVOURITES,
                menu_model.END_MFA,
                menu_model.AUTOSTART,
                menu_model.MOVE_KEYS,
                menu_model.ROTATE_KEY,
            ):
                self.refresh()

    def _act(self, kind: str, profile: str | None) -> None:
        """Run one menu action: the global ones take no profile, the others need one."""
        if kind in self._global_actions:
            self._global_actions[kind]()
        elif profile is not None and kind in self._profile_actions:
            self._profile_actions[kind](profile)

    @property
    def _global_actions(self) -> dict[str, Callable[[], None]]:
        return {
            menu_model.FAVOURITES: self._assume_favourites,
            menu_model.AUTOSTART: self._toggle_autostart,
            menu_model.END_MFA: self.service.end_mfa_sessions,
        }

    @property
    def _profile_actions(self) -> dict[str, Callable[[str], None]]:
        return {
            menu_model.ASSUME: self._assume,
            menu_model.CONSOLE: self._open_console,
            menu_model.COPY_PROFILE: lambda profile: self._copy_export("AWS_PROFILE", profile),
            menu_model.COPY_EB: lambda profile: self._copy_export("AWS_EB_PROFILE", profile),
            menu_model.FORGET: self._forget,
            menu_model.MOVE_KEYS: lambda source: self._tell(f"trayapp: {source}", self.keys.move(source)),
            menu_model.ROTATE_KEY: lambda source: self._tell(f"trayapp: {source}", self.keys.rotate(source)),
        }

    def _files_changed(self) -> None:
        if self.keys.loaded:
            self.keys.load()  # the files again; the keyring's entries are held
        self.refresh()

    def _tell_old_keys(self) -> None:
        """Worker: one notice per key older than key-max-age, once the keys and the preferences are read."""
        if not (self.keys.loaded and self.prefs.ready):
            return
        max_days = self.prefs().key_max_age
        for row, days in self.keys.due(max_days, self.service.now()):
            self._say(key_info.old_key_notice(row, days, max_days))

    def _assume_favourites(self) -> None:
        for name in self.prefs().favourites:
            if name in self.snapshot.roles:
                self._assume(name)  # the first asks for a code; the MFA session signs the rest

    def _toggle_autostart(self) -> None:
        if self._autostart is None:
            return
        if self._autostart.status():
            self._autostart.disable()
        else:
            self._autostart.enable()

    def _open_console(self, profile: str) -> None:
        url = self.service.console_url(profile)
        if self._open_url is not None:
            self._open_url(url)
        else:
            from trayapp.core.console import open_signin_page

            open_signin_page(url)  # a private forwarding page: the token never on a command line

    def _copy_export(self, variable: str, profile: str) -> None:
        self._copy(menu_model.export_line(variable, session_name(profile)))

    def _forget(self, profile: str) -> None:
        if self.service.forget(profile):
            removed = _("The session {session} was removed.").format(session=session_name(profile))
            self._tell(f"trayapp: {profile}", removed)

    def _assume(self, profile: str) -> None:
        prompt = self._prompt_factory()
        self._active_prompt = prompt
        if self._prompt_factory is desktop_prompt:
            show_early(prompt, self.service, profile)  # the window at the click (issue 14)
        held = self.service.sessions().get(profile)
        try:
            # A Renew keeps the duration the session was assumed with, as silent renewals do (issue 21).
            result = self.service.assume(profile, prompt, duration=held.duration if held is not None else None)
        except Cancelled:
            return
        except TrayappError as exc:
            if self._stopping.is_set():
                return
            if str(exc) == getattr(prompt, "last_error", None):
                return  # the dialog showed it already, and the user closed it
            raise
        finally:
            self._active_prompt = None
        until = result.session.expires_at.astimezone().strftime("%H:%M")
        body = _("AWS_PROFILE={session} works until {until}.").format(
            session=result.session.session_profile, until=until
        )
        for note in result.notes:
            body += " " + note
        self._tell(_("trayapp: {profile} is ready").format(profile=profile), body)

    def _open_prefs(self) -> None:
        """The preferences window, on a thread of its own; one at a time."""
        if self._prefs_window is not None and self._prefs_window.is_alive():
            return
        self._prefs_window = threading.Thread(target=self._edit_prefs, name="trayapp-prefs", daemon=True)
        self._prefs_window.start()

    def _edit_prefs(self) -> None:
        from trayapp.tray import notify, prefs_dialog

        try:
            prefs = prefs_dialog.edit_and_save(self.prefs.store, list(self.snapshot.roles))
        except TrayappError as exc:
            self._say(notify.Notification(_("Preferences not saved"), str(exc)))
            return
        if prefs is not None:
            self.prefs.set(prefs)
            self._submit(self.refresh)


#: Run before the watchdog ends the process (see :func:`on_forced_exit`).
_EXIT_HOOKS: list[Callable[[], None]] = []


def on_forced_exit(hook: Callable[[], None]) -> Callable[[], None]:
    """Run *hook* if the tray has to end the process without returning (a backend's loop
    that does not end after Quit or a signal); returns a function that removes it again."""
    _EXIT_HOOKS.append(hook)

    def remove() -> None:
        with contextlib.suppress(ValueError):
            _EXIT_HOOKS.remove(hook)

    return remove


def _force_exit(status: int = 0) -> None:
    log.warning("the tray loop did not end after Quit; exiting anyway")
    for hook in reversed(list(_EXIT_HOOKS)):
        try:
            hook()
        except Exception:
            log.debug("an exit hook failed", exc_info=True)
    logging.shutdown()
    os._exit(status)


def _restore_signals(saved: Mapping[int, Any]) -> None:
    for signum, handler in saved.items():
        with contextlib.suppress(ValueError, OSError, TypeError):
            signal.signal(signum, handler)


def _no_display() -> bool:
    return os.environ.get("PYSTRAY_BACKEND") != "dummy" and not has_display()


def _default_service(prefs: PrefsHolder) -> TrayService:
    from trayapp.core.service import Service

    # A long-lived process: keep MFA sessions in memory so one code serves many roles.
    return Service(preferences=prefs, mfa_sessions=True)


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
        log.debug("tray failed", exc_info=True)
        report(f"trayapp: the tray icon can't be shown: {type(exc).__name__}: {exc}")
        return 1
    return 0 if app.stopped_by is None else 128 + app.stopped_by
