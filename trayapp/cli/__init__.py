"""The command line: the same engine as the tray, no display needed.

Parsing lives here; the work is the service's.  Exit status: 0 success,
1 the operation failed, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trayapp import __version__
from trayapp.core import errors
from trayapp.core.preferences import KEYS, PreferenceStore, with_value
from trayapp.core.prompts import CodeOnce, MfaPrompt, NoPrompt, TerminalPrompt, has_display
from trayapp.core.sessions import time_left
from trayapp.i18n import _

if TYPE_CHECKING:  # the service (botocore's loader, filelock…) is imported only by commands that use it
    from trayapp.core.service import Service


log = logging.getLogger("trayapp")


# --- prompts -------------------------------------------------------------------


def choose_prompt(args: argparse.Namespace, profile: str) -> MfaPrompt:
    if args.code is not None:
        return CodeOnce(args.code)
    if args.code_stdin:
        return CodeOnce(sys.stdin.readline())
    if has_display():
        from trayapp.tray.dialog_prompt import DialogPrompt

        return DialogPrompt()
    if sys.stdin.isatty():
        return TerminalPrompt()
    return NoPrompt()


# --- commands ------------------------------------------------------------------


def cmd_list(service: Service, args: argparse.Namespace) -> int:
    now, warn = service.now(), service.warn_lead()
    entries = service.roles(include_hidden=True)
    cfg = service.config()
    if args.json:
        rows = [
            {
                "profile": e.role.name,
                "role_arn": e.role.role_arn,
                "source": e.role.source,
                "mfa_serial": e.role.mfa_serial,
                "region": cfg.source_region(e.role),
                "session": e.session.as_json(now, warn) if e.session else None,
            }
            for e in entries
        ]
        print(json.dumps(rows, indent=2))
    else:
        if not entries and not service.problems():
            print(
                _("No role profiles in {path}; add one with role_arn and source_profile.").format(path=cfg.config_path)
            )
        for e in entries:
            none = _("needs MFA") if e.role.mfa_serial else _("no session")
            state = time_left(e.session.left(now)) if e.session else none
            print(f"{e.role.name}\t{e.role.role_arn}\t{state}")
    for name, reason in service.problems().items():
        problem = _("profile '{profile}' can't be used: {reason}.").format(profile=name, reason=reason)
        print(f"trayapp: {problem}", file=sys.stderr)
    return 0


def cmd_status(service: Service, args: argparse.Namespace) -> int:
    now, warn = service.now(), service.warn_lead()
    sessions = service.status()
    if args.json:
        print(json.dumps([s.as_json(now, warn) for s in sessions], indent=2))
        return 0
    if not sessions:
        print(_("No sessions; assume a role with 'trayapp assume PROFILE'."))
    for s in sessions:
        until = s.expires_at.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
        left = _("{left} (until {until})").format(left=time_left(s.left(now)), until=until)
        print(f"{s.profile}\t{s.session_profile}\t{s.state(now, warn)}\t{left}")
    return 0


def cmd_assume(service: Service, args: argparse.Namespace) -> int:
    prompt = choose_prompt(args, args.profile)
    result = service.assume(args.profile, prompt, duration=args.duration)
    for note in result.notes:
        print(f"trayapp: {note}", file=sys.stderr)
    s = result.session
    until = s.expires_at.astimezone().strftime("%H:%M:%S")
    print(
        _(
            "Assumed {profile}: session profile '{session}' is valid until {until} ({left}).\n"
            "Use it with: {line}   (EB CLI: {eb_line})"
        ).format(
            profile=s.profile,
            session=s.session_profile,
            until=until,
            left=time_left(s.left(service.now())),
            line=_export_line("AWS_PROFILE", s.session_profile),
            eb_line=_export_line("AWS_EB_PROFILE", s.session_profile),
        )
    )
    return 0


def _export_line(name: str, value: str) -> str:
    """``export NAME=value`` in the user's shell (POSIX when the value can't be written in it)."""
    from trayapp.core import shell as shells

    try:
        return shells.set_line(name, value, shells.detect())
    except ValueError:
        return shells.set_line(name, value, shells.POSIX)


def cmd_env(service: Service, args: argparse.Namespace) -> int:
    from trayapp.core import shell as shells

    sys.stdout.write(service.env_lines(args.profile, args.shell or shells.detect()))
    return 0


def cmd_forget(service: Service, args: argparse.Namespace) -> int:
    if service.forget(args.profile):
        print(_("Forgot the session of {profile}.").format(profile=args.profile))
    else:
        print(_("{profile} had no session to forget.").format(profile=args.profile))
    return 0


def cmd_console(service: Service, args: argparse.Namespace) -> int:
    url = service.console_url(args.profile)
    if args.print_url:
        print(url)
        return 0
    from trayapp.core.console import open_signin_page

    # The URL holds the sign-in token: the browser gets a private page that forwards it, never the URL.
    if not open_signin_page(url):
        raise errors.UsageError(reason=_("No web browser could be opened; use --print-url and open the URL yourself."))
    print(_("Opened the AWS console for {profile}.").format(profile=args.profile))
    return 0


#: A cached session with less than this left is renewed before it is handed to an SDK.
CREDENTIAL_PROCESS_MIN_LEFT = timedelta(minutes=5)


def cmd_credential_process(service: Service, args: argparse.Namespace) -> int:
    """Process credentials (Version 1) of a valid session, assuming the role first when needed."""
    try:
        creds, expires = service.session_credentials(args.profile, CREDENTIAL_PROCESS_MIN_LEFT)
    except errors.NoSession:
        args.code, args.code_stdin = None, False
        service.assume(args.profile, choose_prompt(args, args.profile))
        creds, expires = service.session_credentials(args.profile)
    print(
        json.dumps(
            {
                "Version": 1,
                "AccessKeyId": creds.access_key_id,
                "SecretAccessKey": creds.secret_access_key,
                "SessionToken": creds.session_token,
                "Expiration": expires.isoformat(timespec="seconds"),
            }
        )
    )
    return 0


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
        print(f"{key} = {_shown(value)}")
    return 0


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return ",".join(value) or _("(none)")
    return str(value)


def cmd_tray(service: Service | None, args: argparse.Namespace) -> int:
    from trayapp.tray.app import run_tray

    return run_tray()


def cmd_autostart(service: Service, args: argparse.Namespace) -> int:
    from trayapp.tray import autostart

    if args.action == "on":
        path = autostart.enable()
        print(f"trayapp will start at login ({path}).")
    elif args.action == "off":
        if autostart.disable():
            print("trayapp will no longer start at login.")
        else:
            print("trayapp was not set to start at login.")
    else:
        state = autostart.status()
        print(f"{'on' if state else 'off'} ({autostart.Autostart().location})")
    return 0


def cmd_demo(service: Service | None, args: argparse.Namespace) -> int:
    from trayapp.cli.demo import run_demo

    return run_demo(lambda: cmd_tray(None, args), folder=args.dir)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trayapp",
        description=_("Assume MFA-protected AWS roles from the system tray or the command line."),
        epilog=_("Without a command, trayapp starts the tray icon."),
    )
    parser.add_argument("--version", action="version", version=f"trayapp {__version__}")
    parser.set_defaults(func=cmd_tray)
    sub = parser.add_subparsers(title=_("commands"), metavar="COMMAND")

    p = sub.add_parser("list", help=_("list role profiles and their sessions"))
    p.add_argument("--json", action="store_true", help=_("print JSON"))
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("status", help=_("show the sessions trayapp wrote"))
    p.add_argument("--json", action="store_true", help=_("print JSON"))
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("assume", help=_("assume a role profile and write PROFILE-session"))
    p.add_argument("profile", metavar="PROFILE")
    codes = p.add_mutually_exclusive_group()
    codes.add_argument("--code-stdin", action="store_true", help=_("read the MFA code from standard input"))
    codes.add_argument("--code", metavar="CODE", help=_("the MFA code (visible to other users in the process list)"))
    p.add_argument("--duration", type=_seconds, metavar="SECONDS", help=_("session length, 900-43200 s"))
    p.set_defaults(func=cmd_assume)

    p = sub.add_parser("env", help=_("print export lines of a valid session, for eval"))
    p.add_argument("profile", metavar="PROFILE")
    p.add_argument(
        "--shell",
        choices=["posix", "fish", "powershell", "cmd"],
        help=_("the syntax of the lines (default: your shell's; TRAYAPP_SHELL sets it)"),
    )
    p.set_defaults(func=cmd_env)

    p = sub.add_parser("forget", help=_("remove the session trayapp wrote for PROFILE"))
    p.add_argument("profile", metavar="PROFILE")
    p.set_defaults(func=cmd_forget)

    p = sub.add_parser("console", help=_("open the AWS console as PROFILE's session"))
    p.add_argument("profile", metavar="PROFILE")
    p.add_argument("--print-url", action="store_true", help=_("print the sign-in URL instead of opening it"))
    p.set_defaults(func=cmd_console)

    p = sub.add_parser(
        "credential-process",
        help=_("print PROFILE's session as process credentials (for credential_process in ~/.aws/config)"),
    )
    p.add_argument("profile", metavar="PROFILE")
    p.set_defaults(func=cmd_credential_process)

    p = sub.add_parser("prefs", help=_("show or set preferences (kept in the OS keyring)"))
    p.add_argument("action", nargs="?", choices=["show", "set"], default="show")
    p.add_argument("key", nargs="?", choices=list(KEYS), metavar="KEY")
    p.add_argument("value", nargs="?", metavar="VALUE")
    p.set_defaults(func=cmd_prefs)

    p = sub.add_parser("autostart", help="start trayapp at login: on, off or status")
    p.add_argument("action", choices=["on", "off", "status"])
    p.set_defaults(func=cmd_autostart)

    p = sub.add_parser("demo", help="try the tray against a local STS stand-in and throwaway profiles")
    p.add_argument("--dir", type=Path, metavar="DIR", help="write the demo's AWS files here and keep them")
    p.set_defaults(func=cmd_demo)
    return parser


def _seconds(text: str) -> int:
    from trayapp.core.typed import typed_int

    try:
        seconds = typed_int(text)  # ３６００ from an input method is 3600
    except ValueError:
        seconds = 0
    if not 900 <= seconds <= 43200:
        raise argparse.ArgumentTypeError(_("must be a number of seconds between 900 and 43200"))
    return seconds


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
        if args.func in (cmd_tray, cmd_demo):  # the tray builds its own service
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
