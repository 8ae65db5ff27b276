"""The command line's short way: ask the running tray (:mod:`trayapp.core.channel`).

``trayapp assume P --code C|--code-stdin [--duration S]``, ``credential-process P``,
``env P [--shell S] [--region R]`` and ``status [--json]`` are tried here before the parser and
the engine are even imported.  Anything this module does not recognise exactly — another option,
``--help``, a name that looks like an option — and anything the tray does not answer goes the usual
way, silently, with the same arguments (and the code already read from standard input).
With nobody to ask here (no display, standard input not a terminal), ``assume P [--duration S]``
without a code and ``credential-process P`` may have the tray ask on its desktop instead, and wait
while it does (issue 29).

Only ``credential-process`` must be quick as a bare interpreter start: it imports nothing but the
channel, ``json`` and ``socket``.
"""

from __future__ import annotations

import sys

from trayapp.core import channel

TYPE_CHECKING = False  # typing itself costs more than a request to the tray
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime
    from typing import Any

    from trayapp.core.sessions import SessionInfo


def parse(argv: Sequence[str]) -> dict[str, Any] | None:
    """The request for *argv* when it is one of the served forms with good values, else None
    (:func:`trayapp.core.commands.parse`: the one table of the commands, their options and checks)."""
    from trayapp.core import commands

    request = commands.parse(argv)
    if request is None:
        return None
    if request["command"] == "assume" and request.pop("code_stdin") == (request["code"] is not None):
        return None  # no code (a prompt is the command line's own) or both (a usage error)
    if request["command"] == "assume" and request["code"] is None:
        del request["code"]  # read from standard input by run()
    return request


def _asking(argv: Sequence[str]) -> dict[str, Any] | None:
    """``assume PROFILE [--duration S]`` without a code from a command with nobody to ask here (no
    display, no terminal): the tray is asked to assume with its own prompt; else None."""
    from trayapp.core import commands

    request = commands.parse(argv)
    if request is None or request["command"] != "assume" or request["code"] is not None or request["code_stdin"]:
        return None
    if not channel.nobody_here():
        return None  # the command line's own dialog or terminal asks
    del request["code"], request["code_stdin"]
    request["ask"] = True
    return request


def run(argv: Sequence[str]) -> int | None:
    """The exit status when the tray answered, or None: then the usual path runs (with the code
    read from standard input, if it was, put back there)."""
    request = parse(argv) or _asking(argv)
    if request is None:
        return None
    if request["command"] == "assume" and "code" not in request and not request.get("ask"):
        line = sys.stdin.readline()  # before connecting: the tray's deadline is not the user's
        _put_back(line)  # the usual path reads it there if the tray doesn't take it
        from trayapp.core import commands

        try:
            request["code"] = commands.code(line)
        except ValueError:
            return None  # the usual path refuses it, in the same words as a bad --code
    connection = channel.connect()
    if connection is None:
        return None
    try:
        return _ask(connection, request)
    except (KeyError, TypeError, ValueError):  # a reply not of this version's shape
        return None
    finally:
        connection.close()


def _ask(connection: channel.Connection, request: dict[str, Any]) -> int | None:
    request["paths"] = list(channel.aws_paths())
    request["engine"] = channel.engine_fingerprint()
    command = request["command"]
    if command == "env" and request["shell"] is None:
        from trayapp.core import shell as shells

        try:
            request["shell"] = shells.detect(strict=True)
        except shells.UnknownShell:
            return None  # the usual path says what is wrong with TRAYAPP_SHELL
    code = request.pop("code", None)
    if command == "credential-process" and channel.nobody_here():
        request["ask"] = True  # no prompt of its own here: the tray may show one on its desktop
    reply = connection.ask(request)
    if reply is None or "fallback" in reply:
        return None  # silent, busy or unable: the code (if any) never left this process
    if command == "credential-process" and reply.get("asking") is True:
        return _asked(connection, request["profile"], _printed)
    if command == "credential-process" and reply.get("ready") is True:
        reply = connection.follow(None, channel.RENEW_TIMEOUT)  # the tray renews (no code: falling back is safe)
        if reply is None or "fallback" in reply:
            return None
    if command == "assume" and request.get("ask"):
        if reply.get("asking") is not True:
            return None
        return _asked(connection, request["profile"], _assumed)
    if command == "assume":
        if reply.get("ready") is not True:
            return None
        # From here the code is the tray's: whatever happens, it is not sent to STS from here too.
        reply = connection.follow({"code": code})
        try:
            return _assumed(reply) if reply is not None else _lost()
        except (KeyError, TypeError, ValueError):
            return _lost()
    if command == "status":
        return _status(reply, json_out=request["json"])
    out = reply.get("stdout")
    if not isinstance(out, str):
        return None
    sys.stdout.write(out)
    sys.stdout.flush()
    return 0


def _asked(connection: channel.Connection, profile: str, answered: Callable[[dict[str, Any]], int]) -> int:
    """The tray shows its prompt for *profile* (issue 29): wait while it says it still does (a line
    every few seconds), and end with *answered* (the tray's answer), or a sentence when it goes silent."""
    while True:
        reply = connection.follow(None, channel.ASK_LINE_TIMEOUT)
        if reply is None:
            from trayapp.i18n import _

            sentence = _(
                "The running tray stopped answering while it asked for a sign-in for '{profile}'; "
                "run the command again."
            ).format(profile=profile)
            print("trayapp: " + sentence, file=sys.stderr)
            return 1
        if reply.get("waiting") is not True:
            return answered(reply)


def _printed(reply: dict[str, Any]) -> int:
    """A credential-process answer: the document, or the sentence."""
    out = reply.get("stdout")
    if isinstance(out, str):
        sys.stdout.write(out)
        sys.stdout.flush()
        return 0
    print(f"trayapp: {reply['error']}", file=sys.stderr)
    status = reply.get("exit", 1)
    return status if isinstance(status, int) and status else 1


def _lost() -> int:
    from trayapp.i18n import _

    print(
        "trayapp: "
        + _(
            "The running tray took the MFA code but gave no answer, so it was not used again here: "
            "see 'trayapp status', and if no session was made, try again with the next code."
        ),
        file=sys.stderr,
    )
    return 1


def _put_back(line: str) -> None:
    import io

    sys.stdin = io.StringIO(line)


def _assumed(reply: dict[str, Any]) -> int:
    from datetime import UTC, datetime

    if "error" in reply:
        print(f"trayapp: {reply['error']}", file=sys.stderr)
        code = reply.get("exit", 1)
        return code if isinstance(code, int) else 1
    from trayapp.core.sessions import SessionInfo

    for note in reply.get("notes", []):
        print(f"trayapp: {note}", file=sys.stderr)
    session = SessionInfo(reply["profile"], reply["role_arn"], datetime.fromisoformat(reply["expires_at"]))
    print(assumed_message(session, datetime.now(UTC)))
    sys.stdout.flush()
    return 0


def _status(reply: dict[str, Any], *, json_out: bool) -> int:
    from datetime import UTC, datetime, timedelta

    from trayapp.cli.roles import print_status
    from trayapp.core.sessions import SessionInfo

    sessions = [
        # A tray started before the duration was sent gives three fields.
        SessionInfo(p, arn, datetime.fromisoformat(at), rest[0] if rest and type(rest[0]) is int else None)
        for p, arn, at, *rest in reply["sessions"]
    ]
    from trayapp.core.login_refresh import LoginState

    logins = [
        LoginState(p, arn, datetime.fromisoformat(at) if at else None, bool(refreshable), bool(ended))
        for p, arn, at, refreshable, ended in reply.get("logins", ())
    ]
    now, warn = datetime.now(UTC), timedelta(seconds=reply["warn_seconds"])
    print_status(sessions, now, warn, json_out=json_out, logins=logins)
    sys.stdout.flush()
    return 0


def assumed_message(s: SessionInfo, now: datetime) -> str:
    """What ``trayapp assume`` prints, whoever assumed (here: without the parser's modules)."""
    from trayapp.core import shell as shells
    from trayapp.core.sessions import clock_time, time_left
    from trayapp.i18n import _

    def export_line(name: str, value: str) -> str:  # cli/common.py's, without argparse
        try:
            return shells.set_line(name, value, shells.detect())
        except ValueError:
            return shells.set_line(name, value, shells.POSIX)

    until = clock_time(s.expires_at, now, seconds=True)
    return _(
        "Assumed {profile}: session profile '{session}' is valid until {until} ({left}).\n"
        "Use it with: {line}   (EB CLI: {eb_line})"
    ).format(
        profile=s.profile,
        session=s.session_profile,
        until=until,
        left=time_left(s.left(now)),
        line=export_line("AWS_PROFILE", s.session_profile),
        eb_line=export_line("AWS_EB_PROFILE", s.session_profile),
    )
