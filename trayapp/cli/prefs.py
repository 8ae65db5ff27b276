"""`trayapp prefs` and `trayapp autostart`: settings kept in the keyring, and login start."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from trayapp.cli.common import Subparsers, shown
from trayapp.core import errors
from trayapp.core.preferences import KEYS, PreferenceStore, with_value
from trayapp.i18n import _

if TYPE_CHECKING:
    from trayapp.core.service import Service


def register(sub: Subparsers) -> None:
    p = sub.add_parser("prefs", help=_("show or set preferences (kept in the OS keyring)"))
    p.add_argument("action", nargs="?", choices=["show", "set"], default="show")
    p.add_argument("key", nargs="?", choices=list(KEYS), metavar="KEY")
    p.add_argument("value", nargs="?", metavar="VALUE")
    p.set_defaults(func=cmd_prefs)

    p = sub.add_parser("autostart", help=_("start trayapp at login: on, off or status"))
    p.add_argument("action", choices=["on", "off", "status"])
    p.set_defaults(func=cmd_autostart)


def cmd_prefs(service: Service, args: argparse.Namespace) -> int:
    store = PreferenceStore()
    prefs = store.load()
    if args.action == "set":
        if args.key is None or args.value is None:
            raise errors.UsageError(reason=_("Usage: trayapp prefs set KEY VALUE."))
        prefs = with_value(prefs, args.key, args.value)
        store.save(prefs)
    elif prefs.notice:
        print(f"trayapp: {prefs.notice}", file=sys.stderr)
    for key, value in prefs.as_dict().items():
        print(f"{key} = {shown(value)}")
    return 0


def cmd_autostart(service: Service, args: argparse.Namespace) -> int:
    from trayapp.tray import autostart

    if args.action == "on":
        path = autostart.enable()
        print(_("trayapp will start at login ({path}).").format(path=path))
    elif args.action == "off":
        if autostart.disable():
            print(_("trayapp will no longer start at login."))
        else:
            print(_("trayapp was not set to start at login."))
    else:
        state = autostart.status()
        print(f"{_('on') if state else _('off')} ({autostart.Autostart().location})")
    return 0
