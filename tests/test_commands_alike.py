"""Each command defined once (issue 29, item 3): the same bad input gets the same answer whether the
running tray answers the command line or the command line does the work itself.

A real tray on a private desktop holds an MFA session for ``prod`` (opened by the first assume
through it); the real CLI runs as a separate process once through the tray and once with the
channel disabled, and the two answers — exit status, standard output, standard error — must be the
same, and a refusal."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.support.channel import Tray, running_tray
from trayapp.core import channel

pytestmark = pytest.mark.integration  # the real CLI as separate processes, a real tray

PYTHON = sys.executable


@pytest.fixture(scope="module")
def tray() -> Iterator[Tray]:
    """A tray whose MFA session for prod's source signs the next assumes without a code, and a
    session of dev's that ``env dev`` would print."""
    with running_tray() as running:
        opened = trayapp(running.env, "assume", "prod", "--code", "314159")
        assert opened.returncode == 0, opened.stderr
        dev = trayapp(running.env, "assume", "dev", "--code", "000000")  # a session for env to print
        assert dev.returncode == 0, dev.stderr
        yield running


def trayapp(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "trayapp", *args], env=env, input=stdin, capture_output=True, text=True, timeout=120
    )


#: (command line, standard input): bad codes, durations, names, regions and shells for each command
#: the tray answers.  None of them may open a prompt (the desktop has a display).
BAD_INPUTS = {
    # prod needs MFA, and the tray's MFA session would make its code unneeded: a malformed code
    # was accepted through the tray (and silently ignored) but refused directly.
    "code-letters-mfa-role": (["assume", "prod", "--code", "abcdef"], ""),
    "code-five-digits-mfa-role": (["assume", "prod", "--code", "12345"], ""),
    "code-seven-digits-mfa-role": (["assume", "prod", "--code", "1234567"], ""),
    "code-empty": (["assume", "prod", "--code", ""], ""),
    "code-stdin-letters": (["assume", "prod", "--code-stdin"], "abcdef\n"),
    "code-stdin-nothing": (["assume", "prod", "--code-stdin"], "\n"),
    # dev needs no MFA: a malformed code is still a mistake, said alike on both paths.
    "code-letters-role-without-mfa": (["assume", "dev", "--code", "12ab56"], ""),
    "code-and-code-stdin": (["assume", "prod", "--code", "123456", "--code-stdin"], "654321\n"),
    "duration-short": (["assume", "prod", "--code", "271828", "--duration", "899"], ""),
    "duration-long": (["assume", "prod", "--code", "271828", "--duration", "43201"], ""),
    "duration-words": (["assume", "prod", "--code", "271828", "--duration", "an hour"], ""),
    "duration-negative": (["assume", "prod", "--code", "271828", "--duration=-3600"], ""),
    "duration-fraction": (["assume", "prod", "--code", "271828", "--duration", "3600.5"], ""),
    "name-unknown-assume": (["assume", "nope", "--code", "161803"], ""),
    "name-empty-assume": (["assume", "", "--code", "161803"], ""),
    "name-unknown-credential-process": (["credential-process", "nope"], ""),
    "name-unknown-env": (["env", "nope"], ""),
    "name-missing-env": (["env"], ""),
    "name-two-credential-process": (["credential-process", "dev", "prod"], ""),
    "region-spaces": (["env", "dev", "--region", "eu west 1"], ""),
    "region-digits": (["env", "dev", "--region", "123"], ""),
    "region-dash": (["env", "dev", "--region=-eu-west-1"], ""),
    "region-empty": (["env", "dev", "--region", ""], ""),  # not "the profile's region", silently
    "shell-unknown": (["env", "dev", "--shell", "klingon"], ""),
    "status-with-a-name": (["status", "prod"], ""),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_answered_alike_through_the_tray_and_directly(tray: Tray, case: str) -> None:
    args, stdin = BAD_INPUTS[case]
    direct = trayapp({**tray.env, channel.DISABLE_ENV: "1"}, *args, stdin=stdin)
    through = trayapp(tray.env, *args, stdin=stdin)
    assert direct.returncode != 0, (case, direct.stdout)
    assert (through.returncode, through.stdout, through.stderr) == (direct.returncode, direct.stdout, direct.stderr)
    assert "Traceback" not in direct.stderr


def test_a_malformed_code_is_refused_with_the_codes_sentence_though_the_tray_holds_an_mfa_session(
    tray: Tray,
) -> None:
    """The divergence the issue found: `assume prod --code abcdef` through a tray with an MFA session."""
    done = trayapp(tray.env, "assume", "prod", "--code", "abcdef")
    assert done.returncode == 2
    assert done.stderr == "trayapp: An MFA code is six digits; it contains characters other than digits.\n"
    assert "Assumed" not in done.stdout


def test_the_tray_refuses_a_malformed_code_from_any_client(tray: Tray) -> None:
    """The tray checks a code as the command line does, whoever sends it (not only this version's
    command line, which checks it before connecting)."""
    connection = channel.connect(tray.env)
    assert connection is not None
    try:
        request = {
            "command": "assume",
            "profile": "prod",
            "duration": None,
            "paths": list(channel.aws_paths(tray.env)),
            "engine": channel.engine_fingerprint(tray.env),
        }
        assert connection.ask(request) == {"ready": True}
        reply = connection.follow({"code": "abcdef"})
    finally:
        connection.close()
    assert reply == {"error": "An MFA code is six digits; it contains characters other than digits.", "exit": 2}


@pytest.mark.parametrize(
    "request_values",
    [
        {"command": "assume", "profile": "prod", "duration": 60},
        {"command": "assume", "profile": "prod", "duration": 99999},
        {"command": "assume", "profile": "prod", "duration": "3600"},
        {"command": "env", "profile": "dev", "shell": "posix", "region": "not a region"},
        {"command": "env", "profile": "dev", "shell": "klingon"},
        {"command": "env", "profile": "", "shell": "posix"},
    ],
    ids=["duration-short", "duration-long", "duration-text", "region", "shell", "name-empty"],
)
def test_the_tray_answers_no_request_the_command_lines_parser_would_refuse(
    tray: Tray, request_values: dict[str, object]
) -> None:
    connection = channel.connect(tray.env)
    assert connection is not None
    try:
        reply = connection.ask(
            {
                **request_values,
                "paths": list(channel.aws_paths(tray.env)),
                "engine": channel.engine_fingerprint(tray.env),
            }
        )
    finally:
        connection.close()
    assert reply == {"fallback": "request"}
