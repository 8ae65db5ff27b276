"""`trayapp console`: the AWS console as a session, through a private page."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from trayapp.cli.common import Subparsers, add_region
from trayapp.core import errors
from trayapp.i18n import _

if TYPE_CHECKING:
    from trayapp.core.service import Service


def register(sub: Subparsers) -> None:
    p = sub.add_parser("console", help=_("open the AWS console as PROFILE's session"))
    p.add_argument("profile", metavar="PROFILE")
    p.add_argument("--print-url", action="store_true", help=_("print the sign-in URL instead of opening it"))
    add_region(p, _("open the console in REGION (default: the profile's region)"))
    p.set_defaults(func=cmd_console)


def cmd_console(service: Service, args: argparse.Namespace) -> int:
    url = service.console_url(args.profile, region=args.region)
    if args.print_url:
        print(url)
        return 0
    from trayapp.core.console import open_signin_page

    # The URL holds the sign-in token: the browser gets a private page that forwards it, never the URL.
    if not open_signin_page(url):
        raise errors.UsageError(reason=_("No web browser could be opened; use --print-url and open the URL yourself."))
    print(_("Opened the AWS console for {profile}.").format(profile=args.profile))
    return 0
