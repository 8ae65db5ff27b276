"""What the tray shows, and the pystray adapter that shows it.

:class:`Snapshot` is the menu and the icon state, computed off the GUI thread by
:func:`take_snapshot`.  :class:`PystrayView` shows one with pystray (its icon, title, dynamic
menu and, where the backend has no menu of its own, the Tk popup on a left click).  Everything a
backend does differently is asked of :mod:`trayapp.tray.backend`, by capability.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from trayapp.core import tk_check
from trayapp.core.errors import TrayappError
from trayapp.core.hosts import Engine
from trayapp.core.sessions import OverallState, needs_mfa, overall_state
from trayapp.i18n import N_, _
from trayapp.tray import backend, login_watch, menu_model, sso_watch
from trayapp.tray.menu_model import MenuNode
from trayapp.tray.popup import show_popup
from trayapp.tray.xorg_clicks import enable_clicks, keep_docked

if TYPE_CHECKING:
    from PIL import Image

    from trayapp.core.sessions import SessionInfo

log = logging.getLogger(__name__)

APP_NAME = "trayapp"
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


#: The part of the engine the tray uses (``core/hosts.py``).
TrayService = Engine


@dataclass(frozen=True)
class Snapshot:
    """What the tray shows, computed off the GUI thread."""

    menu: tuple[MenuNode, ...]
    state: OverallState = "none"
    roles: tuple[str, ...] = field(default=())
    #: The roles' lines of :attr:`menu`, for the next snapshot to reuse (:class:`menu_model.RoleLines`).
    lines: menu_model.RoleLines | None = field(default=None, compare=False, repr=False)


#: Shown for the instant between the icon appearing and the first read of the files.
STARTING = (MenuNode(_("Reading ~/.aws/config…"), enabled=False), menu_model.SEPARATOR, MenuNode(_("Quit"), "quit"))


def take_snapshot(
    service: TrayService,
    favourites: tuple[str, ...] = (),
    autostart: bool | None = None,
    keys: MenuNode | None = None,
    *,
    mfa_ended: bool = False,
    previous: Snapshot | None = None,
) -> Snapshot:
    """What the tray shows now.  *mfa_ended*: the MFA session that renewed sessions without a code
    ran out (not ended from the menu) and none has started since (see :func:`needs_mfa`).
    *previous*: the snapshot shown, whose unchanged role lines the new menu reuses."""
    try:
        config_path = service.config().config_path
        roles = service.roles() + sso_watch.as_roles(service)
        problems = service.problems()
    except TrayappError as exc:
        return Snapshot(menu_model.build_menu([], {}, service.now(), timedelta(0), error=str(exc)))
    now, warn = service.now(), service.warn_lead()
    mfa = service.mfa_sessions()
    sign_ins, logins = sso_watch.states(service), login_watch.states(service)
    sessions: list[SessionInfo] = [entry.session for entry in roles if entry.session is not None]
    state = overall_state([*sessions, *sso_watch.infos(sign_ins), *login_watch.infos(logins)], now, warn)
    if mfa_ended and not mfa:
        on_mfa = [entry.session for entry in roles if entry.session is not None and entry.role.mfa_serial]
        state = needs_mfa(state, on_mfa, now, warn)
    lines = menu_model.RoleLines(previous.lines if previous is not None else None)
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
            sso=login_watch.menu(logins, now, service.sessions(), after=menu_model.sso_menu(sign_ins, now)),
            lines=lines,
        ),
        state,
        tuple(entry.role.name for entry in roles),
        lines,
    )


@dataclass(frozen=True)
class Popup:
    """The menu shown on a left click where the backend has none: *show* returns the chosen action.
    *warm*: a child for it may be started ahead (the desktop's Tk popup, :mod:`trayapp.tray.warm`)."""

    show: Callable[[tuple[MenuNode, ...]], str | None]
    warm: bool = False


DESKTOP_POPUP = Popup(show_popup, warm=True)


class PystrayView:
    """The icon, its title and its menu with pystray.  Every change to the icon runs through
    :attr:`on_main` (AppKit's main thread on macOS, a plain call elsewhere)."""

    def __init__(
        self,
        perform: Callable[[str], None],
        popup: Popup,
        stopping: threading.Event,
        tell: Callable[[str], None] | None = None,
    ) -> None:
        """*tell*: how a sentence reaches the user (a notification) when the popup can't open."""
        self._perform = perform
        self._tell = tell or (lambda text: log.warning("%s", text))
        self.popup = popup
        self._stopping = stopping
        self.icon: Any = None
        #: Runs a callable on the thread that owns the tray's toolkit (see ``backend.main_thread_caller``).
        self.on_main: Callable[[Callable[[], None]], None] = backend.call_now
        # The files are read on the worker once the icon shows: start to icon stays fast.
        self._snapshot = Snapshot(STARTING)
        self._lock = threading.Lock()
        self._ready = threading.Event()  # set once the files were read for the first time
        self._popup_open = threading.Lock()

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    @property
    def runs_glib(self) -> bool:
        return self.icon is not None and backend.runs_glib(self.icon)

    def create(self) -> None:
        state = self._snapshot.state
        if backend.is_sni(os.environ):  # trayapp's own StatusNotifierItem: no pystray, no GTK
            from trayapp.tray.sni import Icon

            self.icon = Icon(
                APP_NAME,
                icon=self._image(state),
                title=icon_title(state),
                menu=lambda: self._snapshot.menu,
                perform=self._perform,
                activate=lambda: self._on_activate(self.icon, None),
            )
        else:
            import pystray

            backend.name_the_gtk_program()
            self.icon = pystray.Icon(
                APP_NAME,
                icon=self._image(state),
                title=icon_title(state, latin1=backend.latin1_title(pystray.Icon)),
                menu=pystray.Menu(self.menu_items),
            )
        self.on_main = backend.main_thread_caller(self.icon)
        enable_clicks(self.icon)

    def run(self, setup: Callable[[], None]) -> None:
        """pystray's loop on this thread; *setup* on a thread of its own once the loop runs."""
        self.icon.run(setup=lambda _icon: setup())
        log.debug("the tray loop ended")

    def reveal(self) -> None:
        self.on_main(self._make_visible)
        log.info("tray icon shown (pystray backend %s)", backend.name(self.icon))

    def _make_visible(self) -> None:
        icon = self.icon
        if icon is None or self._stopping.is_set():
            return
        icon.visible = True
        keep_docked(icon)

    def show(self, snapshot: Snapshot) -> None:
        """Show *snapshot*: the image and title when the state changed, the menu when it did."""
        with self._lock:
            old, self._snapshot = self._snapshot, snapshot
        self._ready.set()
        icon = self.icon
        if icon is None or self._stopping.is_set():
            return
        image = self._image(snapshot.state) if snapshot.state != old.state else None
        if image is not None:
            log.info("the icon shows %s", snapshot.state)
        menu_changed = snapshot.menu != old.menu

        def change() -> None:
            if self._stopping.is_set():
                return
            if image is not None:
                icon.icon = image
                icon.title = icon_title(snapshot.state, latin1=backend.latin1_title(icon))
            if menu_changed:
                icon.update_menu()

        if image is not None or menu_changed:
            self.on_main(change)

    def close(self) -> None:
        icon = self.icon
        if icon is not None:
            self.on_main(icon.stop)

    def abandon(self) -> None:
        """The loop failed to start: let pystray's waiting setup thread go."""
        if self.icon is not None:
            backend.release_setup_thread(self.icon)

    def notification_target(self) -> Any:
        """The icon as a notifier may use it (off Linux): its calls on the main thread."""
        if self.on_main is backend.call_now:
            return self.icon
        return backend.MainThreadNotify(self.icon, self.on_main)

    def _image(self, state: OverallState) -> Image.Image:
        from trayapp.icons import render

        # pystray's xorg backend paints transparent pixels black.
        return render(state, ICON_SIZE, opaque=backend.opaque_icon(self.icon))

    def menu_items(self) -> Iterator[Any]:
        """pystray's dynamic menu: built from the current snapshot, cheaply."""
        import pystray

        yield pystray.MenuItem("Open menu", self._on_activate, default=True, visible=False)
        for node in self._snapshot.menu:
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
                self._perform(ident)

        if node.checked is not None:
            checked = node.checked
            return pystray.MenuItem(node.label, activate, enabled=node.enabled, checked=lambda _item: checked)
        return pystray.MenuItem(node.label, activate, enabled=node.enabled)

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
            choice = self.popup.show(self._snapshot.menu)
        except tk_check.TkMissing:  # the icon's only menu is Tk's: say so at each click
            self._tell(str(tk_check.TkMissingNoMenu(fix=tk_check.fix())))
            return
        except Exception:
            log.exception("the popup menu failed")
            return
        finally:
            self._popup_open.release()
        if choice:
            self._perform(choice)
