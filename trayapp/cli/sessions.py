"""`trayapp assume`, `env`, `forget` and `credential-process`: making and using a session."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from trayapp.cli.common import Subparsers, add_region, choose_prompt, duration_help, seconds
from trayapp.core import errors
from trayapp.i18n import _

if TYPE_CHECKING:
    from trayapp.core.prompts import MfaPrompt
    from trayapp.core.service import Service


def register(sub: Subparsers) -> None:
    p = sub.add_parser("assume", help=_("assume a role profile and write PROFILE-session"))
    p.add_argument("profile", metavar="PROFILE")
    codes = p.add_mutually_exclusive_group()
    codes.add_argument("--code-stdin", action="store_true", help=_("read the MFA code from standard input"))
    codes.add_argument("--code", metavar="CODE", help=_("the MFA code (visible to other users in the process list)"))
    p.add_argument(
        "--duration", type=seconds, metavar="SECONDS", help=duration_help(_("session length, {low}-{high} s"))
    )
    p.set_defaults(func=cmd_assume)

    p = sub.add_parser("env", help=_("print export lines of a valid session, for eval"))
    p.add_argument("profile", metavar="PROFILE")
    from trayapp.core.shell import NAMES

    p.add_argument(
        "--shell",
        choices=NAMES,
        type=str.lower,
        help=_(
            "the syntax of the lines: posix (sh, bash, zsh), fish, powershell (pwsh) or cmd "
            "(default: your shell's; TRAYAPP_SHELL sets it)"
        ),
    )
    add_region(p, _("also print AWS_REGION and AWS_DEFAULT_REGION lines for REGION"))
    p.set_defaults(func=cmd_env)

    p = sub.add_parser("forget", help=_("remove the session trayapp wrote for PROFILE"))
    p.add_argument("profile", metavar="PROFILE")
    p.set_defaults(func=cmd_forget)

    p = sub.add_parser(
        "credential-process",
        help=_("print PROFILE's session as process credentials (for credential_process in ~/.aws/config)"),
    )
    p.add_argument("profile", metavar="PROFILE")
    p.set_defaults(func=cmd_credential_process)


def cmd_assume(service: Service, args: argparse.Namespace) -> int:
    prompt = choose_prompt(args, args.profile, service)
    result = service.assume(args.profile, prompt, duration=args.duration)
    for note in result.notes:
        print(f"trayapp: {note}", file=sys.stderr)
    from trayapp.cli.fast import assumed_message

    print(assumed_message(result.session, service.now()))
    return 0


def cmd_env(service: Service, args: argparse.Namespace) -> int:
    from trayapp.core import shell as shells

    try:
        shell = shells.named(args.shell) if args.shell else shells.detect(strict=True)
    except shells.UnknownShell as exc:
        raise errors.UsageError(
            reason=_(
                "TRAYAPP_SHELL is '{value}', which is not a shell trayapp knows: "
                "set it to posix (or sh, bash, zsh), fish, powershell (or pwsh) or cmd, or unset it."
            ).format(value=exc.args[0])
        ) from None
    sys.stdout.write(service.env_lines(args.profile, shell, region=args.region))
    return 0


def cmd_forget(service: Service, args: argparse.Namespace) -> int:
    if service.forget(args.profile):
        print(_("Forgot the session of {profile}.").format(profile=args.profile))
    else:
        print(_("{profile} had no session to forget.").format(profile=args.profile))
    return 0


def cmd_credential_process(service: Service, args: argparse.Namespace) -> int:
    """Process credentials (Version 1) of a valid session, renewed first when botocore would
    otherwise run this again on every call (see :mod:`trayapp.core.process_credentials`)."""
    from trayapp.core import process_credentials

    args.code, args.code_stdin = None, False

    def prompt_for(silent: bool) -> MfaPrompt:
        return process_credentials.silent_prompt() if silent else choose_prompt(args, args.profile, service)

    creds, expires = process_credentials.keys(service, args.profile, prompt_for)
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
