"""Where the AWS files are: ``AWS_CONFIG_FILE`` and ``AWS_SHARED_CREDENTIALS_FILE`` (or their
defaults) expanded exactly as botocore expands them, for any environment and platform."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

__all__ = ["DEFAULT_CONFIG", "DEFAULT_CREDENTIALS", "config_path", "credentials_path", "expand"]

DEFAULT_CONFIG = "~/.aws/config"
DEFAULT_CREDENTIALS = "~/.aws/credentials"


def expand(path: str, environ: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    """Expand a path exactly as botocore does: ``os.path.expandvars``, then ``os.path.expanduser``.

    The standard library's own functions do it (``posixpath``, or ``ntpath`` when
    *platform* is ``win32``: ``%VAR%`` too, and ``~`` is ``USERPROFILE``, never
    ``HOME``), but read from *environ* instead of the process environment, so
    tests and callers can pass an environment (and a platform) of their own.
    """
    import sys

    env = os.environ if environ is None else environ
    windows = (sys.platform if platform is None else platform) == "win32"
    expandvars, expanduser = _path_functions(env, windows)
    return Path(expanduser(expandvars(path)))


def _path_functions(env: Mapping[str, str], windows: bool) -> tuple[Callable[[str], str], Callable[[str], str]]:
    """``expandvars`` and ``expanduser`` of ``ntpath``/``posixpath``, bound to *env*.

    The functions' own code runs, with an ``os`` whose ``environ`` is *env*
    (upper-cased keys on Windows, whose variable names ignore case).
    """
    import ntpath
    import posixpath

    from trayapp.compat.stdlib import with_globals

    module = ntpath if windows else posixpath
    view = _EnvOs({key.upper(): value for key, value in env.items()} if windows else env, windows)
    scope = {**vars(module), "os": view}
    functions = (module.expandvars, module.expanduser)
    return tuple(with_globals(f, scope) for f in functions)  # type: ignore[return-value]


class _EnvOs:
    """The ``os`` module as seen by the path functions: everything real but ``environ``."""

    def __init__(self, environ: Mapping[str, str], windows: bool) -> None:
        self.environ = _UpperKeys(environ) if windows else environ

    def __getattr__(self, name: str) -> object:
        return getattr(os, name)


class _UpperKeys(dict[str, str]):
    """Windows environment names ignore case (``os.environ`` upper-cases them there)."""

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.upper())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.upper())

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return super().get(key.upper(), default)


def config_path(environ: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    env = os.environ if environ is None else environ
    return expand(_env_get(env, "AWS_CONFIG_FILE", platform) or DEFAULT_CONFIG, env, platform)


def credentials_path(environ: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    env = os.environ if environ is None else environ
    return expand(_env_get(env, "AWS_SHARED_CREDENTIALS_FILE", platform) or DEFAULT_CREDENTIALS, env, platform)


def _env_get(env: Mapping[str, str], name: str, platform: str | None) -> str | None:
    import sys

    if (sys.platform if platform is None else platform) != "win32" or name in env:
        return env.get(name)
    return next((value for key, value in env.items() if key.upper() == name), None)
