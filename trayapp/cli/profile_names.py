"""Role profile names for tab completion: the config file read with :mod:`configparser` only.

Run as a plain script by the completion scripts (``python -I -S .../profile_names.py``), so a tab
press imports neither trayapp's packages nor boto3/botocore; ``trayapp completion --profiles``
prints the same.  ``AWS_CONFIG_FILE`` is honoured, ``$VAR`` and ``~`` expanded as botocore does.
"""

from __future__ import annotations

import configparser
import os
import re
import sys
from collections.abc import Mapping


def config_file(environ: Mapping[str, str]) -> str:
    """``AWS_CONFIG_FILE`` or ``~/.aws/config``, expanded as botocore expands it (vars, then ``~``)."""
    path = environ.get("AWS_CONFIG_FILE") or "~/.aws/config"
    home = environ.get("HOME")
    path = os.path.expandvars(path) if environ is os.environ else _expandvars(path, environ)
    if path.startswith("~") and home and (path == "~" or path[1] in "/\\"):
        return home + path[1:]
    return os.path.expanduser(path)


def _expandvars(path: str, environ: Mapping[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return environ.get(name, match.group(0))

    return re.sub(r"\$(\w+)|\$\{([^}]*)\}", value, path)


def role_profile_names(environ: Mapping[str, str]) -> list[str]:
    """Names of the config file's profiles that set ``role_arn`` (sorted); [] when unreadable."""
    parser = configparser.RawConfigParser(strict=False, interpolation=None, default_section="\0none")
    try:
        with open(config_file(environ), encoding="utf-8") as f:
            parser.read_file(f)
    except (OSError, UnicodeDecodeError, configparser.Error):
        return []
    names: list[str] = []
    for section in parser.sections():
        if section.startswith("profile "):
            name = section[len("profile ") :].strip().strip("\"'")
        elif section == "default":
            name = section
        else:
            continue
        keys = parser[section]
        if "role_arn" in keys and "web_identity_token_file" not in keys and name and name.isprintable():
            names.append(name)
    return sorted(set(names))


def main() -> int:
    names = role_profile_names(os.environ)
    if names:
        sys.stdout.write("\n".join(names) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
