"""``trayapp doctor``: what this machine has and lacks for trayapp, one line a check, each problem
with its fix.

The checks (:mod:`trayapp.cli.doctor_desktop`, :mod:`trayapp.cli.doctor_files`) run at once, each on
a daemon thread of its own, and each is given :data:`DEADLINE` seconds: a bus, an X server or a
keyring that never answers becomes a line saying so, and the command still ends.  Exit status 1 when
something blocks use (no tray backend or host, no Tk for the MFA dialog, an AWS file another user can
write), else 0: a tray not running yet, start at login off, a config file readable by others are told.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import threading
import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from trayapp.cli.common import Subparsers
from trayapp.cli.doctor_desktop import FAIL, NOTE, OK, WARN, Finding
from trayapp.i18n import _

if TYPE_CHECKING:
    from trayapp.core.service import Service

#: Seconds a check may take before it is reported as not answering (the Tk child has its own 10).
DEADLINE = 12.0

Check = Callable[[Mapping[str, str]], list[Finding]]


def register(sub: Subparsers) -> None:
    p = sub.add_parser(
        "doctor",
        help=_("check what trayapp needs here (tray, notifications, keyring, Tk, AWS files) and how to fix it"),
        description=_(
            "Check the tray host and backend, the notification server, the keyring, Tk, botocore, the AWS "
            "files and the SSO cache, a running tray and start at login; exit 1 when something blocks use."
        ),
    )
    p.add_argument("--json", action="store_true", help=_("print the findings as JSON"))
    p.set_defaults(func=cmd_doctor)


def checks() -> list[tuple[str, Check]]:
    """Each check with the name its line has should it not answer, in the order shown."""
    from trayapp.cli import doctor_desktop as desktop
    from trayapp.cli import doctor_files as files

    return [
        (_("tray backend"), desktop.tray),
        (_("notifications"), desktop.notifications),
        (_("keyring"), desktop.keyring),
        ("Tk", desktop.tk),
        ("botocore", files.botocore),
        (_("AWS files"), files.aws_files),
        (_("SSO cache folder"), files.sso_cache),
        (_("running tray"), desktop.channel),
        (_("start at login"), desktop.autostart),
    ]


def run(environ: Mapping[str, str], deadline: float = DEADLINE) -> list[Finding]:
    """Every check's findings, each check bounded by *deadline* seconds."""
    started = []
    for name, check in checks():
        box: list[list[Finding]] = []
        thread = threading.Thread(target=_run_one, args=(name, check, environ, box), daemon=True)
        thread.start()
        started.append((name, thread, box))
    end = time.monotonic() + deadline
    findings: list[Finding] = []
    for name, thread, box in started:
        thread.join(max(0.0, end - time.monotonic()))
        if box:
            findings += box[0]
        else:
            text = _("no answer within {seconds} s").format(seconds=int(deadline))
            findings.append(Finding(name, WARN, text, _("run trayapp doctor again; something on the desktop hangs")))
    return findings


def _run_one(name: str, check: Check, environ: Mapping[str, str], box: list[list[Finding]]) -> None:
    try:
        box.append(check(environ))
    except Exception:  # a check that breaks is one line, never a traceback
        import logging

        logging.getLogger("trayapp").debug("doctor: %s failed", name, exc_info=True)
        text = _("could not be checked; run with TRAYAPP_LOG=debug to see why")
        box.append([Finding(name, WARN, text)])


def cmd_doctor(service: Service | None, args: argparse.Namespace) -> int:
    findings = run(os.environ)
    blocked = any(f.status == FAIL for f in findings)
    if args.json:
        print(
            json.dumps(
                {"ok": not blocked, "checks": [dataclasses.asdict(f) for f in findings]}, ensure_ascii=False, indent=2
            )
        )
    else:
        sys.stdout.write(render(findings))
        if blocked:
            print(_("Something above blocks trayapp; fix the lines marked FAIL."))
    return 1 if blocked else 0


def _width(text: str) -> int:
    """Columns *text* takes on a terminal (a Japanese character takes two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def render(findings: Sequence[Finding]) -> str:
    """One aligned line per finding: its mark, its check, what was found and, for a problem, the fix."""
    marks = {OK: _("ok"), NOTE: _("note"), WARN: _("warn"), FAIL: _("FAIL")}
    mark_width = max(_width(m) for m in marks.values())
    name_width = max((_width(f.check) for f in findings), default=0)
    lines = []
    for f in findings:
        if not f.fix:
            text = f.text
        elif f.status == NOTE:  # nothing is wrong: the fix is a suggestion that says itself
            text = _("{text}; {fix}").format(text=f.text, fix=f.fix)
        else:
            text = _("{text}; fix: {fix}").format(text=f.text, fix=f.fix)
        lines.append(f"{_pad(marks[f.status], mark_width)}  {_pad(f.check, name_width)}  {text}")
    return "".join(line + "\n" for line in lines)
