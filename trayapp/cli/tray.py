"""`trayapp` (no command) starts the tray; `trayapp demo` starts it inside a demo session."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from trayapp.cli.common import Subparsers
from trayapp.i18n import _

if TYPE_CHECKING:
    from trayapp.core.service import Service


def register(sub: Subparsers) -> None:
    p = sub.add_parser("demo", help=_("try the tray against a local STS stand-in and throwaway profiles"))
    p.add_argument("--dir", type=Path, metavar="DIR", help=_("write the demo's AWS files here and keep them"))
    p.set_defaults(func=cmd_demo)


def log_to_file() -> None:
    """The tray logs what it does to the log file (core/logfile.py); when it can't, it says so once."""
    from trayapp.core import logfile
    from trayapp.protocol import report

    file = logfile.setup(tray=True)
    threading.excepthook = _thread_failed
    if file.refused is not None:
        report("trayapp: " + _("nothing is logged to {path}: {reason}.").format(path=file.path, reason=file.refused))


def _thread_failed(args: threading.ExceptHookArgs) -> None:
    """A thread of the tray ended with an error nobody caught: its traceback to the log file, not to
    standard error (the failure it caused is told where it shows)."""
    import logging

    from trayapp.core.logfile import FILE_ONLY

    if args.exc_type is SystemExit:
        return
    exc = args.exc_value if args.exc_value is not None else args.exc_type()
    name = args.thread.name if args.thread is not None else "?"
    logging.getLogger("trayapp").error("the thread %s failed", name, exc_info=exc, extra=FILE_ONLY)


def cmd_tray(service: Service | None, args: argparse.Namespace) -> int:
    from trayapp.tray.app import run_tray

    log_to_file()
    return run_tray()


def cmd_demo(service: Service | None, args: argparse.Namespace) -> int:
    """The tray, wrapped in a demo session: the demo only prepares an environment."""
    from trayapp.cli.demo import check_folder, demo_session, tray_refusal
    from trayapp.protocol import report
    from trayapp.tray.app import run_tray
    from trayapp.tray.signals import on_forced_exit

    if args.dir is not None:
        check_folder(args.dir)  # the user's files first: a usage error wherever it runs
    refusal = tray_refusal()
    if refusal is not None:
        report(f"trayapp: {refusal}")
        return 1
    log_to_file()
    with demo_session(folder=args.dir, on_forced_exit=on_forced_exit):
        return run_tray()
