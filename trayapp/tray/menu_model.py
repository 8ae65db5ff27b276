"""What the tray menu says, as plain data: one model for every backend.

pystray's native menus and the Tk popup of menu-less backends are both built
from the same :class:`MenuNode` tree, so they can't drift apart.  This module
imports no GUI toolkit and does no I/O: it turns the service's view of the
roles into labels, and names each action with a string id.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trayapp import i18n
from trayapp.core.sessions import clock_time, time_left
from trayapp.i18n import _, ngettext

if TYPE_CHECKING:
    from trayapp.core.keys import KeySource
    from trayapp.core.results import RoleEntry
    from trayapp.core.sessions import State
    from trayapp.core.sso import SsoState


ASSUME, COPY_PROFILE, COPY_EB, FORGET, QUIT = "assume", "copy-profile", "copy-eb", "forget", "quit"
CONSOLE, PREFS, FAVOURITES, END_MFA = "console", "prefs", "favourites", "end-mfa"
AUTOSTART = "autostart"
MOVE_KEYS, ROTATE_KEY = "move-keys", "rotate-key"
SSO_LOGIN, SSO_LOGOUT, SSO_COPY_CODE = "sso-login", "sso-logout", "sso-copy-code"
MAX_LABEL = 72


@dataclass(frozen=True)
class MenuNode:
    label: str = ""
    #: The action this item runs (``"assume:prod"``, ``"quit"``); None for
    #: headers and submenus.
    id: str | None = None
    enabled: bool = True
    #: A submenu's items: a tuple, or :class:`LazyChildren` built when first read (a role's).
    children: Sequence[MenuNode] | None = None
    separator: bool = False
    #: A check item's state (True/False); None for plain items.
    checked: bool | None = None

    def to_json(self) -> dict[str, Any]:
        if self.separator:
            return {"separator": True}
        data: dict[str, Any] = {"label": self.label, "id": self.id, "enabled": self.enabled}
        if self.checked is not None:
            data["checked"] = self.checked
        if self.children is not None:
            data["children"] = [c.to_json() for c in self.children]
        return data


SEPARATOR = MenuNode(separator=True)


class LazyChildren(Sequence[MenuNode]):
    """A submenu built the first time it is read (opened), not when the menu is: with 10,000 roles
    that is 70,000 nodes the tray no longer makes on every change of the files.

    ``make(*args)`` builds it (a plain function: no closure, so a role costs two small objects here).
    Two are equal when they would be built the same way — same function, equal arguments —, so
    comparing two menus (did it change?) builds nothing."""

    __slots__ = ("_args", "_items", "_make")

    def __init__(self, make: Callable[..., tuple[MenuNode, ...]], *args: Hashable) -> None:
        self._make = make
        self._args = args
        self._items: tuple[MenuNode, ...] | None = None

    @property
    def key(self) -> tuple[Any, ...]:
        return (self._make, self._args)

    @property
    def built(self) -> bool:
        return self._items is not None

    def _get(self) -> tuple[MenuNode, ...]:
        items = self._items
        if items is None:
            items = self._items = self._make(*self._args)
        return items

    def __getitem__(self, index: Any) -> Any:
        return self._get()[index]

    def __len__(self) -> int:
        return len(self._get())

    def __iter__(self) -> Iterator[MenuNode]:
        return iter(self._get())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyChildren):
            return self.key == other.key
        return isinstance(other, Sequence) and tuple(self) == tuple(other)

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        return f"LazyChildren({self.key!r}, built={self.built})"


def action(kind: str, profile: str | None = None) -> str:
    return kind if profile is None else f"{kind}:{profile}"


def parse_action(action_id: str) -> tuple[str, str | None]:
    kind, _, profile = action_id.partition(":")
    return kind, (profile or None)


def role_label(entry: RoleEntry, now: datetime, warn: timedelta, state: State | None = None) -> str:
    """*state*: the session's, when the caller has it already."""
    name = entry.role.name
    session = entry.session
    if session is not None:
        if (state or session.state(now, warn)) == "expired":
            return _("{profile} — expired").format(profile=name)
        return _("{profile} — {left}").format(profile=name, left=time_left(session.left(now)))
    if entry.role.mfa_serial:
        return _("{profile} — needs MFA").format(profile=name)
    return name


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


shorten = _shorten  # the other menus' labels (tray/login_watch.py)


def _home_relative(path: Path | str) -> str:
    text, home = str(path), os.path.expanduser("~")
    if home not in ("", "~", "/") and (text == home or text.startswith(home + os.sep)):
        return "~" + text[len(home) :]
    return text


def export_line(name: str, value: str, kind: str | None = None) -> str:
    """``export NAME=value`` in the user's shell (PowerShell ``$Env:NAME = "value"``, cmd ``set``, fish
    ``set -gx``): what the copy items put on the clipboard and show in their labels.
    *kind*: the shell, when the caller detected it already (a menu of 10,000 roles does it once)."""
    from trayapp.core import shell

    try:
        return shell.set_line(name, value, shell.detect() if kind is None else kind)
    except ValueError:
        return shell.set_line(name, value, shell.POSIX)


def role_menu(entry: RoleEntry, now: datetime, warn: timedelta, *, shell_kind: str | None = None) -> MenuNode:
    """A role's line; its submenu is built when first opened (see :class:`LazyChildren`)."""
    if shell_kind is None:
        from trayapp.core.shell import detect

        shell_kind = detect()
    session = entry.session
    state = None if session is None else session.state(now, warn)
    live = state is not None and state != "expired"
    return MenuNode(role_label(entry, now, warn, state), children=LazyChildren(_role_items, entry, live, shell_kind))


class RoleLines:
    """The roles' lines of one menu, by role.  Built with the lines of the menu before it
    (``RoleLines(before)``: the tray passes the shown snapshot's), a role whose entry, state, minutes
    left and shell are unchanged keeps its line — and its submenu, built or not — in the new menu:
    its label is made of nothing else.  With 10,000 roles a change of the files then makes new lines
    only for what changed, and comparing the new menu with the one shown finds the same objects.
    A change of language makes every line again."""

    def __init__(self, before: RoleLines | None = None) -> None:
        self._before = before
        self._lines: dict[str, tuple[tuple[Any, ...], MenuNode]] = {}
        self._language = ""

    def build(self, roles: Sequence[RoleEntry], now: datetime, warn: timedelta, shell_kind: str) -> list[MenuNode]:
        before, self._before = self._before, None  # the menu before is not held on to
        language = i18n.language()
        last = before.made_in(language) if before is not None else {}
        lines: dict[str, tuple[tuple[Any, ...], MenuNode]] = {}
        out: list[MenuNode] = []
        for entry in roles:
            session = entry.session
            if session is None:
                key: tuple[Any, ...] = (entry, None, None, shell_kind)
            else:  # the minutes as time_left counts them
                key = (entry, session.state(now, warn), int(session.left(now).total_seconds() // 60), shell_kind)
            name = entry.role.name
            held = last.get(name)
            if held is not None and held[0] == key:
                line = held[1]
            else:
                state = key[1]
                live = state is not None and state != "expired"
                line = MenuNode(
                    role_label(entry, now, warn, state), children=LazyChildren(_role_items, entry, live, shell_kind)
                )
            lines[name] = (key, line)
            out.append(line)
        self._lines, self._language = lines, language
        return out

    def made_in(self, language: str) -> Mapping[str, tuple[tuple[Any, ...], MenuNode]]:
        """Each role's line and what it was made of, if made in *language*."""
        return self._lines if language == self._language else {}


def _role_items(entry: RoleEntry, live: bool, shell_kind: str) -> tuple[MenuNode, ...]:
    name = entry.role.name
    session = entry.session
    session_profile = entry.role.session_profile
    return (
        MenuNode(_("Renew session") if session is not None else _("Assume role"), action(ASSUME, name)),
        MenuNode(_("Open AWS console"), action(CONSOLE, name), enabled=live),
        SEPARATOR,
        MenuNode(
            _("Copy {line}").format(line=export_line("AWS_PROFILE", session_profile, shell_kind)),
            action(COPY_PROFILE, name),
        ),
        MenuNode(
            _("Copy {line}").format(line=export_line("AWS_EB_PROFILE", session_profile, shell_kind)),
            action(COPY_EB, name),
        ),
        SEPARATOR,
        MenuNode(_("Forget session"), action(FORGET, name), enabled=session is not None),
    )


def sso_label(state: SsoState, now: datetime) -> str:
    """``corp — signed in, 7 h 12 min left`` or ``corp — signed out``."""
    if state.signed_in and state.expires_at is not None:
        left = time_left(state.expires_at - now)
        return _("{session} — signed in, {left}").format(session=state.session, left=left)
    return _("{session} — signed out").format(session=state.session)


def sso_menu(states: Sequence[SsoState], now: datetime) -> tuple[MenuNode, ...]:
    """One submenu per IAM Identity Center sign-in: its state, **Sign in…** and **Sign out**."""
    return tuple(
        MenuNode(
            _shorten(sso_label(state, now)),
            children=(
                MenuNode(
                    _("Sign in…"), action(SSO_LOGIN, state.session), enabled=not (state.signed_in and state.refreshable)
                ),
                MenuNode(_("Sign out"), action(SSO_LOGOUT, state.session), enabled=state.expires_at is not None),
            ),
        )
        for state in states
    )


def key_label(row: KeySource, now: datetime, max_days: int) -> str:
    """``base — keyring, 12 days old``; a key older than *max_days* says it is due for rotation."""
    where = {"file": _("credentials file"), "config": _("config file"), "keyring": _("keyring")}[row.where]
    if row.where == "keyring" and row.access_key_id is None:
        return _("{source} — {where}, {age}").format(source=row.name, where=where, age=_("(missing)"))
    days = row.age_days(now)
    if days is None:  # keys in a file carry no date
        return _("{source} — {where}").format(source=row.name, where=where)
    age = ngettext("{days} day old", "{days} days old", days).format(days=days)
    label = _("{source} — {where}, {age}").format(source=row.name, where=where, age=age)
    return _("{key} — due for rotation").format(key=label) if days > max_days else label


def keys_menu(rows: Sequence[KeySource], now: datetime, max_days: int) -> MenuNode | None:
    """The "Keys" submenu: each source profile, where its keys live and their age, and what to do
    with them (move keys in a file to the keyring; rotate a key the keyring holds)."""
    if not rows:
        return None
    children = []
    for row in rows:
        if row.where == "keyring":
            item = MenuNode(_("Rotate key"), action(ROTATE_KEY, row.name), enabled=row.access_key_id is not None)
        else:
            item = MenuNode(_("Move keys to the keyring"), action(MOVE_KEYS, row.name))
        children.append(MenuNode(_shorten(key_label(row, now, max_days)), children=(item,)))
    return MenuNode(_("Keys"), children=tuple(children))


def build_menu(
    roles: Sequence[RoleEntry],
    problems: Mapping[str, str],
    now: datetime,
    warn: timedelta,
    *,
    config_path: Path | str = "~/.aws/config",
    error: str | None = None,
    mfa_until: datetime | None = None,
    mfa_ended: bool = False,
    favourites: Sequence[str] = (),
    autostart: bool | None = None,
    keys: MenuNode | None = None,
    sso: Sequence[MenuNode] = (),
    lines: RoleLines | None = None,
) -> tuple[MenuNode, ...]:
    """The whole menu: roles with their state, the SSO sign-ins (:func:`sso_menu`), broken profiles,
    then Quit.  *lines*: where the roles' lines go, reusing those of the menu before (see :class:`RoleLines`)."""
    items: list[MenuNode] = []
    if mfa_until is not None:
        until = clock_time(mfa_until, now)
        label = _("MFA session active until {until} — roles renew without a code").format(until=until)
        items.append(MenuNode(label, enabled=False))
    elif mfa_ended:
        items.append(MenuNode(_("MFA session ended — the next assume asks for a code"), enabled=False))
    if error is not None:
        items.append(MenuNode(_shorten(error), enabled=False))
    elif not roles and not problems and not sso:
        items.append(
            MenuNode(
                _("No role profiles in {path} — add one with role_arn and source_profile").format(
                    path=_home_relative(config_path)
                ),
                enabled=False,
            )
        )
    from trayapp.core.shell import detect

    shell_kind = detect()  # once, not twice a role
    items.extend((lines or RoleLines()).build(roles, now, warn, shell_kind))
    if sso:
        items.extend((SEPARATOR, *sso) if roles else sso)
    if problems:
        if roles:
            items.append(SEPARATOR)
        items.extend(
            MenuNode(
                _shorten(_("{profile} — can't be used: {reason}").format(profile=name, reason=reason)), enabled=False
            )
            for name, reason in sorted(problems.items())
        )
    items.append(SEPARATOR)
    names = {entry.role.name for entry in roles}
    chosen = [f for f in favourites if f in names]
    if chosen:
        label = _("Assume favourites ({profiles})").format(profiles=_(", ").join(chosen))
        items.append(MenuNode(_shorten(label), action(FAVOURITES)))
    if mfa_until is not None:
        items.append(MenuNode(_("End MFA session"), action(END_MFA)))
    if keys is not None:
        items.append(keys)
    items.append(MenuNode(_("Preferences…"), action(PREFS)))
    if autostart is not None:
        items.append(MenuNode(_("Start at login"), action(AUTOSTART), checked=autostart))
    items.append(MenuNode(_("Quit"), action(QUIT)))
    return tuple(items)
