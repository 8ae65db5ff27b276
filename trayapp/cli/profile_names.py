"""Profile names for tab completion, run as a plain script by the completion scripts.

``python -I -S …/profile_names.py [--sessions] [--complete WORD]`` prints one name a line:

* the role and SSO profiles that can be used — read by :func:`trayapp.core.profiles.load`, the reading
  every command uses, so a broken profile (no source, a loop, a bad ARN…) is never offered;
* with ``--sessions``: the profiles that have a session trayapp wrote (what ``forget`` removes);
* with ``--complete WORD`` (bash, zsh): only the names that start with WORD as the shell will read
  it (quotes and backslashes undone, nothing expanded), each quoted for the shell
  (:func:`shlex.quote`), so a name like ``$(touch x)`` or ``*`` is offered — and inserted —
  literally, never run or globbed.  fish quotes what it inserts itself: it takes the bare names.

Reading 1,000 profiles with botocore's rules costs more than a tab press may, so the lists are
remembered in the private runtime folder (:mod:`trayapp.core.runtime`), keyed on both files'
inode, size, mtime and ctime and on the ``AWS_*`` variables: a press after any change reads the
files again (site-packages then added), every other one costs ~20 ms.  The script finds trayapp
beside itself (``-I`` drops the current folder, ``PYTHON*`` variables and the user site; with
``-S`` the folder holding trayapp is the only one added); ``trayapp completion --profiles``
prints the same.  Nothing is printed when the files can't be read.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shlex
import sys
from collections.abc import Mapping, Sequence
from typing import Any

MEMORY = "completion.json"


def _site() -> None:
    """Run as ``python -I -S`` (a remembered press needs no site-packages): add them now."""
    if sys.flags.no_site:
        import site

        site.main()


def role_profile_names(environ: Mapping[str, str]) -> list[str]:
    """The role profiles that can be used (sorted); [] when the files can't be read."""
    _site()
    from trayapp.core import login_config, profiles, sso_config

    try:
        config = profiles.load(environ)
        # SSO and aws login profiles are assumed too
        usable = [*config.roles, *sso_config.load(config).profiles, *login_config.load(config).profiles]
    except Exception:
        return []
    return sorted(name for name in usable if name.isprintable())


def session_profile_names(environ: Mapping[str, str]) -> list[str]:
    """The profiles whose session trayapp wrote in the credentials file (sorted)."""
    import configparser

    _site()
    from trayapp.core import profiles
    from trayapp.core.credentials_file import MANAGED_KEY
    from trayapp.core.sessions import SESSION_SUFFIX, session_name

    parser = configparser.RawConfigParser(strict=False, interpolation=None, default_section="\0none")
    try:
        with open(profiles.credentials_path(environ), encoding="utf-8") as f:
            parser.read_file(f)
    except (OSError, UnicodeDecodeError, configparser.Error):
        return []
    names = set()
    for section in parser.sections():
        values = parser[section]
        if values.get(MANAGED_KEY) != "1":
            continue
        name = values.get("trayapp_profile") or section.removesuffix(SESSION_SUFFIX)  # service.KEY_PROFILE
        if session_name(name) == section and name.isprintable():
            names.add(name)
    return sorted(names)


def typed(word: str) -> str:
    """*word* as the shell will read it once finished (an open quote closed); nothing is expanded."""
    for closing in ("", "'", '"'):
        try:
            parts = shlex.split(word + closing)
        except ValueError:
            continue
        return parts[0] if parts else ""
    return word


def candidates(names: Sequence[str], word: str) -> list[str]:
    """The *names* that complete *word*, quoted for bash and zsh."""
    prefix = typed(word)
    return [shlex.quote(name) for name in names if name.startswith(prefix)]


def _stamp(environ: Mapping[str, str]) -> list[Any]:
    """What the lists depend on: both files as they are now, and the ``AWS_*`` variables (hashed)."""
    home = environ.get("HOME") or os.path.expanduser("~")
    stamp: list[Any] = [os.geteuid() if hasattr(os, "geteuid") else 0]
    for variable, default in (
        ("AWS_CONFIG_FILE", "~/.aws/config"),
        ("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"),
    ):
        path = os.path.expandvars(environ.get(variable) or default)
        path = home + path[1:] if path.startswith("~") and path[1:2] in ("/", "\\", "") else path
        try:
            st = os.stat(path)
        except OSError:
            stamp.append([path])
            continue
        stamp.append([path, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns])
    aws = sorted((k, v) for k, v in environ.items() if k.startswith("AWS_"))
    stamp.append(hashlib.sha256(json.dumps(aws).encode()).hexdigest())
    return stamp


def remembered(environ: Mapping[str, str]) -> dict[str, list[str]]:
    """``{"roles": …, "sessions": …}``: from memory when neither file nor variable changed."""
    from trayapp.core.runtime import private_runtime_dir

    folder = private_runtime_dir(environ)
    stamp = _stamp(environ)
    memory = folder / MEMORY if folder is not None else None
    if memory is not None:
        with contextlib.suppress(OSError, ValueError, TypeError):
            kept = json.loads(memory.read_text(encoding="utf-8"))
            if kept["stamp"] == stamp:
                return {"roles": list(kept["roles"]), "sessions": list(kept["sessions"])}
    lists = {"roles": role_profile_names(environ), "sessions": session_profile_names(environ)}
    if memory is not None and _stamp(environ) == stamp:  # unchanged while read: worth keeping
        with contextlib.suppress(OSError):
            temp = memory.with_name(f".{MEMORY}.{os.getpid()}")
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"stamp": stamp, **lists}, f)
            os.replace(temp, memory)
    return lists


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    environ = os.environ if environ is None else environ
    names = remembered(environ)["sessions" if "--sessions" in args else "roles"]
    if "--complete" in args:
        at = args.index("--complete")
        names = candidates(names, args[at + 1] if at + 1 < len(args) else "")
    if names:
        sys.stdout.write("\n".join(names) + "\n")
    return 0


if __name__ == "__main__":
    # Run by path under -I: trayapp is the package this file is in, whatever the current folder.
    _here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if _here not in sys.path:
        sys.path.insert(0, _here)
    sys.exit(main())
