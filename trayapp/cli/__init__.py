"""The command line: the same engine as the tray, no display needed.

One module per group of commands (``roles``, ``sessions``, ``console``, ``prefs``, ``tray``), each
with a ``register(sub)`` that adds its subcommands; parsing lives there, the work is the service's.
Exit status: 0 success, 1 the operation failed, 2 usage or configuration error.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not even typing on the way to the running tray (cli/fast.py)
if TYPE_CHECKING:  # the service (botocore's loader, filelock…) is imported only by commands that use it
    import argparse
    from collections.abc import Callable, Sequence
    from typing import Any

    from trayapp.core.preferences import PreferenceStore
    from trayapp.core.service import Service


def __getattr__(name: str) -> Any:
    """``COMMANDS`` (the command modules, in the order ``trayapp --help`` lists them) and
    ``NO_SERVICE`` (commands that build no service of their own), imported on first use:
    ``main()`` first asks the running tray (cli/fast.py), which needs none of them."""
    if name == "COMMANDS":
        return _commands()[0]
    if name == "NO_SERVICE":
        return _commands()[1]
    raise AttributeError(name)


def _commands() -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    from trayapp.cli import completion, console, doctor, keys, prefs, roles, sessions, sso, tray
    from trayapp.cli import exec as exec_command

    commands = (roles, sessions, sso, exec_command, console, prefs, keys, tray, doctor, completion)
    no_service = (tray.cmd_tray, tray.cmd_demo, completion.cmd_completion, doctor.cmd_doctor, *keys.NO_SERVICE)
    return commands, no_service


def build_parser() -> argparse.ArgumentParser:
    import argparse

    from trayapp import __version__
    from trayapp.i18n import _

    parser = argparse.ArgumentParser(
        prog="trayapp",
        description=_("Assume MFA-protected AWS roles from the system tray or the command line."),
        epilog=_("Without a command, trayapp starts the tray icon."),
    )
    parser.add_argument("--version", action="version", version=f"trayapp {__version__}")
    from trayapp.cli import tray

    parser.set_defaults(func=tray.cmd_tray)
    sub = parser.add_subparsers(title=_("commands"), metavar="COMMAND")
    for command in _commands()[0]:
        command.register(sub)
    from trayapp.cli.common import describe_commands

    describe_commands(parser)
    return parser


def configure_logging() -> None:
    """Warnings to standard error as sentences and to the log file (core/logfile.py); TRAYAPP_LOG
    lowers trayapp's own level only: botocore's debug log prints request and response bodies, keys
    and tokens included, so it stays at WARNING."""
    from trayapp.core import logfile

    logfile.setup(tray=False)


def main(argv: Sequence[str] | None = None, *, service_factory: Callable[[], Service] | None = None) -> int:
    if service_factory is None:  # the running tray answers some commands (cli/fast.py)
        from trayapp.cli import fast

        try:
            status = fast.run(sys.argv[1:] if argv is None else argv)
        except BrokenPipeError:
            _quiet_stdout()
            return 141
        if status is not None:
            return status
    from trayapp.core import errors
    from trayapp.i18n import _

    configure_logging()
    args = build_parser().parse_args(argv)
    from trayapp.cli.completion import cmd_completion
    from trayapp.cli.doctor import cmd_doctor

    if args.func not in (cmd_completion, cmd_doctor):  # they never read the AWS files (botocore: 24 ms)
        from trayapp.core import ini

        ini.install_in_botocore()  # botocore's sessions read each AWS file once, quickly (compat/botocore.py)
    try:
        if args.func in _commands()[1]:  # the tray builds its own service
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
    except Exception as exc:  # last resort: a traceback could quote secrets, so it goes to the log file only
        print(f"trayapp: {unexpected(exc)}", file=sys.stderr)
        return 1


def unexpected(exc: BaseException) -> str:
    """The sentence for an error no command put into words: what it means when trayapp can tell (the
    network, the file system), else where the details are.  The traceback goes to the log file."""
    import logging

    from trayapp.core import logfile, reasons
    from trayapp.i18n import _

    logging.getLogger("trayapp").error("unexpected error", exc_info=exc, extra=logfile.FILE_ONLY)
    reason = reasons.sentence(exc)
    if reason is not None:
        return reason
    file = logfile.current()
    path = file.open() if file is not None else None
    if path is None:
        return _("something unexpected went wrong; run with TRAYAPP_LOG=debug to see details.")
    return _("something unexpected went wrong; the details are in {path}.").format(path=path)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush doesn't complain again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _service() -> Service:
    from trayapp.core.preferences import PreferenceStore
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
