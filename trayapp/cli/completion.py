"""`trayapp completion bash|zsh|fish`: a script that completes commands, options and role profiles.

The script is generated from the parser itself, so it never drifts from the commands.  Role
profile names come from :mod:`trayapp.cli.profile_names` run as a plain script (or
``trayapp completion --profiles``): only profiles that can be used, and for ``forget`` only those
with a session; a tab press stays under 100 ms with 1,000 profiles (``python -m bench.completion``).

A name is data, never shell text: bash and zsh get the candidates already filtered and quoted, one
a line, read into ``COMPREPLY`` as they are — no ``compgen -W`` (which expands ``$(…)``, backticks
and globs in what it is given) and no unquoted ``$(…)`` word splitting.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from trayapp.cli.common import Subparsers
from trayapp.compat import stdlib
from trayapp.i18n import _

if TYPE_CHECKING:
    from trayapp.core.service import Service

SHELLS = ("bash", "zsh", "fish")
#: Commands whose PROFILE is one with a session trayapp wrote (not any role).
SESSION_COMMANDS = ("forget",)


def register(sub: Subparsers) -> None:
    p = sub.add_parser(
        "completion",
        help=_("print a tab-completion script for bash, zsh or fish"),
        description=_(
            'bash: eval "$(trayapp completion bash)" in ~/.bashrc; zsh: eval "$(trayapp completion zsh)" '
            "in ~/.zshrc; fish: trayapp completion fish > ~/.config/fish/completions/trayapp.fish"
        ),
    )
    p.add_argument("shell", nargs="?", choices=SHELLS, metavar="SHELL", help="bash, zsh, fish")
    p.add_argument("--profiles", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_completion)


def cmd_completion(service: Service | None, args: argparse.Namespace) -> int:
    if args.profiles is not None:
        from trayapp.cli.profile_names import main

        return main(args.profiles)
    if args.shell is None:
        from trayapp.core import errors

        raise errors.UsageError(reason=_("Name the shell: trayapp completion bash, zsh or fish."))
    from trayapp.cli import build_parser

    commands = describe(build_parser())
    script = {"bash": bash_script, "zsh": zsh_script, "fish": fish_script}[args.shell](commands)
    sys.stdout.write(script)
    return 0


# --- what the parser offers -------------------------------------------------------------------


@dataclass
class Command:
    name: str
    options: list[str] = field(default_factory=list)
    #: option → its choices (``--shell`` → posix fish …); options that take a free value map to [].
    values: dict[str, list[str]] = field(default_factory=dict)
    #: positional slots, in order: "profile", "session", a list of choices, or "any".
    positionals: list[str | list[str]] = field(default_factory=list)
    help: str = ""


def describe(parser: argparse.ArgumentParser) -> list[Command]:
    """Every subcommand with its options and positionals, read from *parser*."""
    sub = stdlib.subparsers_action(parser)
    helps = stdlib.subcommand_helps(sub)
    commands: list[Command] = []
    for name, p in sub.choices.items():
        command = Command(name, help=helps.get(name, ""))
        for action in stdlib.parser_actions(p):
            if action.help == argparse.SUPPRESS:
                continue
            if action.option_strings:
                command.options += action.option_strings
                if action.nargs != 0:
                    for option in action.option_strings:
                        command.values[option] = [str(c) for c in action.choices or []]
            elif action.nargs != argparse.REMAINDER:
                if action.metavar == "PROFILE":
                    command.positionals.append("session" if name in SESSION_COMMANDS else "profile")
                elif action.choices:
                    command.positionals.append([str(c) for c in action.choices])
                else:
                    command.positionals.append("any")
        commands.append(command)
    return commands


def _words(items: list[str]) -> str:
    return shlex.quote(" ".join(items))


BASH = """\
# trayapp completion for bash (zsh through bashcompinit). Install:
#   echo 'eval "$(trayapp completion bash)"' >> ~/.bashrc
_trayapp_profiles() {
    %(profiles)s
}

# Each line of standard input is one candidate, taken as it is (nothing expanded or split).
_trayapp_reply() {
    local line
    while IFS= read -r line; do COMPREPLY+=( "$line" ); done
}

_trayapp() {
    local cur="${COMP_WORDS[COMP_CWORD]}"
    local prev=""
    (( COMP_CWORD > 0 )) && prev="${COMP_WORDS[COMP_CWORD-1]}"
    COMPREPLY=()
    if (( COMP_CWORD == 1 )); then
        COMPREPLY=( $(compgen -W %(commands)s -- "$cur") )
        return 0
    fi
    local cmd="${COMP_WORDS[1]}" i
    for (( i = 2; i < COMP_CWORD; i++ )); do
        if [[ "${COMP_WORDS[i]}" == "--" ]]; then
            if (( COMP_CWORD == i + 1 )); then
                _trayapp_reply < <(compgen -c -- "$cur")
            else
                compopt -o filenames 2>/dev/null
                _trayapp_reply < <(compgen -f -- "$cur")
            fi
            return 0
        fi
    done
    local options="" slots="" values=""
    case "$cmd" in
%(cases)s
        *) return 0 ;;
    esac
    local padded=" $values "
    [[ "$prev" == --dir ]] && { compopt -o filenames 2>/dev/null; _trayapp_reply < <(compgen -d -- "$cur"); return 0; }
    case "$padded" in
        *" $prev="*)
            local choices="${padded#* $prev=}"
            choices="${choices%%%% *}"
            COMPREPLY=( $(compgen -W "${choices//,/ }" -- "$cur") )
            return 0 ;;
        *" $prev "*) return 0 ;;
    esac
    if [[ "$cur" == -* ]]; then
        COMPREPLY=( $(compgen -W "$options" -- "$cur") )
        return 0
    fi
    local n=0 word skip=0
    for (( i = 2; i < COMP_CWORD; i++ )); do
        word="${COMP_WORDS[i]}"
        if (( skip )); then skip=0; continue; fi
            case "$padded" in *" $word="*) skip=1; continue ;; esac
        [[ "$word" == -* ]] || (( n++ ))
    done
    local -a slotlist=( $slots )
    local slot="${slotlist[n]}"
    case "$slot" in
        profile) _trayapp_reply < <(_trayapp_profiles --complete "$cur") ;;
        session) _trayapp_reply < <(_trayapp_profiles --sessions --complete "$cur") ;;
        any|"") ;;
        *) COMPREPLY=( $(compgen -W "${slot//,/ }" -- "$cur") ) ;;
    esac
    return 0
}
complete -F _trayapp trayapp
"""


def bash_script(commands: list[Command]) -> str:
    cases = []
    for c in commands:
        # values: " --shell=posix,fish --region= " (an option that takes a value, its choices after '=');
        # flags are listed in options only.
        values = " ".join(f"{option}={','.join(choices)}" for option, choices in c.values.items())
        slots = " ".join(slot if isinstance(slot, str) else ",".join(slot) for slot in c.positionals)
        cases.append(
            f"        {shlex.quote(c.name)}) options={_words(c.options)}; slots={shlex.quote(slots)}; "
            f"values={shlex.quote(values)} ;;"
        )
    names = [c.name for c in commands] + ["--help", "--version"]
    fallback = '"${COMP_WORDS[0]}" completion --profiles "$@" 2>/dev/null'
    profiles = profiles_command(fallback, '"$@"')
    return BASH % {"commands": _words(names), "cases": "\n".join(cases), "profiles": profiles}


def profiles_command(fallback: str, args: str = "") -> str:
    """The shell command that lists profiles (*args*: shell words passed on): this Python, isolated,
    running profile_names.py by path, else *fallback* (``trayapp completion --profiles``)."""
    if getattr(sys, "frozen", False):
        return fallback
    from pathlib import Path

    script = Path(__file__).with_name("profile_names.py")
    words = " ".join(w for w in (shlex.quote(sys.executable), "-I", "-S", shlex.quote(str(script)), args) if w)
    return f"{words} 2>/dev/null || {fallback}"


def zsh_script(commands: list[Command]) -> str:
    return (
        "# trayapp completion for zsh. Install:\n"
        "#   echo 'eval \"$(trayapp completion zsh)\"' >> ~/.zshrc\n"
        "autoload -U +X compinit && compinit\n"
        "autoload -U +X bashcompinit && bashcompinit\n" + bash_script(commands).split("\n", 2)[2]
    )


def fish_script(commands: list[Command]) -> str:
    lines = [
        "# trayapp completion for fish. Install:",
        "#   trayapp completion fish > ~/.config/fish/completions/trayapp.fish",
        "complete -c trayapp -f",
    ]
    names = " ".join(c.name for c in commands)
    for c in commands:
        lines.append(
            f"complete -c trayapp -n 'not __fish_seen_subcommand_from {names}' -a {shlex.quote(c.name)}"
            f" -d {shlex.quote(c.help)}"
        )
        seen = f"__fish_seen_subcommand_from {shlex.quote(c.name)}"
        for option in c.options:
            if not option.startswith("--"):
                continue
            spec = f"complete -c trayapp -n {shlex.quote(seen)} -l {option[2:]}"
            if option in c.values:
                choices = c.values[option]
                spec += " -r" + (f" -a {shlex.quote(' '.join(choices))}" if choices else "")
            lines.append(spec)
        for kind, args in (("profile", ""), ("session", "--sessions")):
            if kind in c.positionals:
                fallback = " ".join(w for w in ("trayapp completion --profiles", args, "2>/dev/null") if w)
                command = profiles_command(fallback, args)
                lines.append(f"complete -c trayapp -n {shlex.quote(seen)} -a {shlex.quote('(' + command + ')')}")
        for slot in c.positionals:
            if isinstance(slot, list):
                lines.append(f"complete -c trayapp -n {shlex.quote(seen)} -a {shlex.quote(' '.join(slot))}")
    return "\n".join(lines) + "\n"
