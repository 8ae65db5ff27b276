"""Each command the running tray can answer, defined once: its arguments, their checks and bounds,
and whether it may ask a person.

Three readers share this table, so the same input gets the same answer on every path:

- the parser (``trayapp/cli``): :func:`argparse_type` turns a check into an argparse ``type=``;
- the fast path (``cli/fast.py``), which reads the command line itself to ask the running tray
  before the parser and the engine are imported: :func:`parse` gives the request, or None for
  anything it can't take exactly — a bad value among them, so the parser (the one place that puts a
  bad value into words on the command line) answers it;
- the tray's end of the channel (``tray/channel.py``): :func:`well_formed` refuses a request
  whose values the parser would have refused, and :func:`code` checks the code it is handed.

The checks are here once: a duration (:data:`MIN_DURATION`–:data:`MAX_DURATION` seconds), an MFA
code (six digits, as a person types them: :func:`trayapp.core.mfa.normalise`), a region, a shell.
Each raises a ValueError whose text is the one sentence the user sees (:class:`Invalid`, or for a
code ``InvalidCode``, the error the command line prints).

This module is on the fast path (a bare interpreter start is the yardstick for
``credential-process``): it imports nothing at load time, and each check imports what it needs.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing itself costs more than a request to the tray
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

#: A role session's length, in seconds: what STS's AssumeRole accepts (``DurationSeconds``), and
#: so what ``--duration``, a profile's ``duration_seconds``, the preference and the console allow.
MIN_DURATION, MAX_DURATION = 900, 43200


class Invalid(ValueError):
    """A value a command can't take; ``str()`` is the sentence for the user.  Every check raises a
    ValueError whose ``str()`` is that sentence (this, or an MFA code's ``InvalidCode``)."""


# --- the checks ---------------------------------------------------------------------------------


def duration_problem() -> str:
    """The sentence for a duration out of bounds (also the preference's and the help's words)."""
    from trayapp.i18n import _

    return _("must be a number of seconds between {low} and {high}").format(low=MIN_DURATION, high=MAX_DURATION)


def in_bounds(seconds: int) -> bool:
    return MIN_DURATION <= seconds <= MAX_DURATION


def duration(text: str) -> int:
    """``--duration``: seconds as a person types them (``３６００`` from an input method is 3600)."""
    from trayapp.core.typed import typed_int

    try:
        seconds = typed_int(text)
    except ValueError:
        seconds = 0
    if not in_bounds(seconds):
        raise Invalid(duration_problem())
    return seconds


def code(text: str) -> str:
    """``--code`` or the line of ``--code-stdin``: the six ASCII digits it stands for, checked
    whether or not the role will ask for one (a tray holding an MFA session, a role without MFA):
    a malformed code is a mistake worth saying at once, on every path alike.  A bad one raises
    :class:`trayapp.core.errors.InvalidCode` (a ValueError, like :class:`Invalid`)."""
    from trayapp.core.mfa import normalise

    return normalise(text)


#: ``botocore.utils.validate_region_name``'s pattern (a DNS host label), copied so that checking a
#: region does not import botocore.utils (with urllib3: ~0.2 s); a test keeps them equal.
REGION_NAME = r"^(?![0-9]+$)(?!-)[a-zA-Z0-9-]{,63}(?<!-)$"


def region_problem(value: str, where: str, *, empty: bool = True) -> str | None:
    """Why *value* is not a region name botocore accepts (*where* names it: a profile's key, the
    option), or None.  A profile's ``region`` is checked here too (core/profiles.py); *empty*
    False: an empty name is refused as well (an option given no region)."""
    import re

    if re.match(REGION_NAME, value) and (value or empty):
        return None
    from trayapp.i18n import _

    return _("{where} '{value}' is not a region name like eu-west-1").format(where=where, value=shown(value))


def region(text: str) -> str:
    """``--region``: a region name botocore accepts, checked as a profile's ``region`` is; not an
    empty one, which would silently mean "the profile's region"."""
    from trayapp.i18n import _

    value = text.strip()
    problem = region_problem(value, _("the region"), empty=False)
    if problem:
        raise Invalid(problem)
    return value


def shown(value: str, limit: int = 40) -> str:
    """A value for a message: control characters escaped, long ones cut."""
    text = value.encode("unicode_escape").decode("ascii") if not value.isprintable() else value
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shell(text: str) -> str:
    """``--shell``: one of the shells trayapp writes lines for, by any of its names (the parser's
    ``choices`` say which when it is none of them)."""
    from trayapp.core import shell as shells

    if text.lower() not in shells.NAMES:
        raise Invalid(text)
    return shells.named(text)


def argparse_type(check: Callable[[str], Any]) -> Callable[[str], Any]:
    """*check* as argparse's ``type=``: its sentence becomes the parser's error."""
    import argparse

    def parse(text: str) -> Any:
        try:
            return check(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = check.__name__  # argparse names the type in some of its errors
    return parse


# --- the commands -------------------------------------------------------------------------------

#: Whether a command may ask a person on the command line's own path: never, or for what its
#: profile needs (an MFA code: a code source, the dialog, the terminal; a sign-in: the browser or a
#: device code) — and then, with nobody to ask, it says so at once (``cli/common.choose_prompt``,
#: ``SsoNobodyToAsk``).  Through the tray none of them asks: the tray answers only what needs nobody.
NEVER, CODE = "never", "code"


class Command:
    """One command as the channel serves it: its options (those that take a value, with the check
    of that value; flags), whether it names a profile, and whether it may ask a person."""

    __slots__ = ("exclusive", "flags", "name", "profile", "prompts", "values")

    def __init__(
        self,
        name: str,
        *,
        values: dict[str, Callable[[str], Any]] | None = None,
        flags: tuple[str, ...] = (),
        profile: bool = True,
        prompts: str = NEVER,
        exclusive: tuple[str, ...] = (),
    ) -> None:
        self.name, self.values, self.flags = name, values or {}, flags
        self.profile, self.prompts, self.exclusive = profile, prompts, exclusive


#: The commands the running tray answers (``trayapp.core.channel.COMMANDS`` is their names).
TABLE = {
    c.name: c
    for c in (
        Command(
            "assume",
            values={"--code": code, "--duration": duration},
            flags=("--code-stdin",),
            prompts=CODE,
            exclusive=("--code", "--code-stdin"),
        ),
        Command("credential-process", prompts=CODE),
        Command("env", values={"--shell": shell, "--region": region}),
        Command("status", flags=("--json",), profile=False),
    )
}


def parse(argv: Sequence[str]) -> dict[str, Any] | None:
    """The request for *argv* when it is one of :data:`TABLE`'s commands in exactly a served form
    with good values, else None: ``--help``, an unknown option, an abbreviation, a repeated option,
    a bad value — the parser's business, so its answer is the one answer.

    The request holds the checked values (``code`` the six digits, ``duration`` an int or None,
    ``shell`` a canonical name or None, ``region`` or None, ``json`` a bool) and the raw words of
    options not given a value yet (``code_stdin``: the code is read by the caller)."""
    if not argv or argv[0] not in TABLE:
        return None
    command = TABLE[argv[0]]
    rest = list(argv[1:])
    positional: list[str] = []
    options: dict[str, str | None] = {}
    while rest:
        word = rest.pop(0)
        if word == "--":
            return None  # argparse's own reading of what follows (`status --` is an error there)
        if not word.startswith("-") or word == "-":
            positional.append(word)
            continue
        name, eq, value = word.partition("=")
        if name in options:
            return None
        if name in command.values:
            if not eq:
                if not rest:
                    return None
                value = rest.pop(0)
            options[name] = value
        elif name in command.flags and not eq:
            options[name] = None
        else:
            return None
    if sum(name in options for name in command.exclusive) > 1:
        return None  # a usage error: the parser says so
    request: dict[str, Any] = {"command": command.name}
    if command.profile:
        if len(positional) != 1 or not positional[0]:
            return None
        request["profile"] = positional[0]
    elif positional:
        return None
    for name in command.flags:
        request[name.lstrip("-").replace("-", "_")] = name in options
    try:
        for name, check in command.values.items():
            raw = options.get(name)
            request[name.lstrip("-").replace("-", "_")] = None if raw is None else check(raw)
    except ValueError:
        return None
    return request


def well_formed(request: dict[str, Any]) -> bool:
    """Whether *request*'s values are what :func:`parse` makes of a command line the parser takes:
    the tray answers nothing else (the command line's parser then says what is wrong)."""
    command = TABLE.get(str(request.get("command")))
    if command is None:
        return False
    if command.profile and not (isinstance(request.get("profile"), str) and request["profile"]):
        return False
    for name, check in command.values.items():
        value = request.get(name.lstrip("-").replace("-", "_"))
        if value is None:
            continue
        raw = str(value) if type(value) is int else value
        try:
            if not isinstance(raw, str) or check(raw) != value:
                return False  # not in the form the command line sends (normalised)
        except ValueError:
            return False
    return True
