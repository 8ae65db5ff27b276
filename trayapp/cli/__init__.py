"""The command line: the same engine as the tray, no display needed.

One module per group of commands (``roles``, ``sessions``, ``console``, ``prefs``, ``tray``), each
with a ``register(sub)`` that adds its subcommands; parsing lives there, the work is the service's.
Exit status: 0 success, 1 the operation failed, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from trayapp import __version__
from trayapp.cli import completion, console, keys, prefs, roles, sessions, tray
from trayapp.cli import exec as exec_command
from trayapp.core import errors
from trayapp.core.preferences import PreferenceStore
from trayapp.i18n import _

if TYPE_CHECKING:  # the service (botocore's loader, filelock…) is imported only by commands that use it
    from trayapp.core.service import Service

log = logging.getLogger("trayapp")

#: The command modules, in the order ``trayapp --help`` lists them.
COMMANDS = (roles, sessions, exec_command, console, prefs, keys, tray, completion)
#: Commands that build no service of their own (the tray makes its own).
NO_SERVICE = (tray.cmd_tray, tray.cmd_demo, completion.cmd_completion, *keys.NO_SERVICE)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trayapp",
        description=_("Assume MFA-protected AWS roles from the system tray or the command line."),
        epilog=_("Without a command, trayapp starts the tray icon."),
    )
    parser.add_argument("--version", action="version", version=f"trayapp {__version__}")
    parser.set_defaults(func=tray.cmd_tray)
    sub = parser.add_subparsers(title=_("commands"), metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub)
    return parser


def configure_logging() -> None:
    """TRAYAPP_LOG sets trayapp's own level only: botocore's debug log prints request
    and response bodies, keys and tokens included, so it stays at WARNING."""
    logging.basicConfig(level=logging.WARNING, format="trayapp: %(message)s")
    level = os.environ.get("TRAYAPP_LOG", "WARNING").upper()
    logging.getLogger("trayapp").setLevel(level if level in logging.getLevelNamesMapping() else "WARNING")


def main(argv: Sequence[str] | None = None, *, service_factory: Callable[[], Service] | None = None) -> int:
    configure_logging()
    args = build_parser().parse_args(argv)
    try:
        if args.func in NO_SERVICE:  # the tray builds its own service
            return int(args.func(None, args))
        code: int = args.func(service_factory() if service_factory else _service(), args)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler, not at exit
        return code
    except errors.TrayappError as exc:
        print(f"trayapp: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("trayapp: " + _("interrupted."), file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`): nothing to say, and nobody to say it to.
        _quiet_stdout()
        return 141
    except Exception as exc:  # last resort: a traceback could quote secrets, so name the type only
        log.debug("unexpected error", exc_info=True)
        hint = _("unexpected error ({error}); run with TRAYAPP_LOG=debug to see details.")
        print(f"trayapp: {hint.format(error=type(exc).__name__)}", file=sys.stderr)
        return 1


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush doesn't complain again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _service() -> Service:
    from trayapp.core.service import Service

    return Service(preferences=_lazy_prefs(PreferenceStore()))


def _lazy_prefs(store: PreferenceStore) -> Callable[[], Any]:
    """Read the keyring only when a preference is first needed, then keep it."""
    cache: list[Any] = []

    def get() -> Any:
        if not cache:
            cache.append(store.load())
        return cache[0]

    return get
