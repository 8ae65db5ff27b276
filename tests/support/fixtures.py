"""pytest fixtures for end-to-end tests.  In ``tests/conftest.py``::

    from tests.support.fixtures import *  # noqa: F403

Fixtures
    ``moto_sts``      (session)  a running ``MotoServer``; ``.url``
    ``fault_sts``     (function) a running ``FaultSts``; ``.push(...)``, ``.requests``
    ``desktop``       (function) a ``Desktop`` with the notification recorder and trayer
    ``desktop_keyring`` (function) the same plus an unlocked gnome-keyring (secrets)
    ``aws_home``      (function) an empty HOME with ``.aws/`` (0700); tests write the files
    ``sso_server``    (function) a running IAM Identity Center stand-in (``SsoServer``); ``.env()``
    ``signin_server`` (function) a running sign-in service stand-in for ``aws login`` (``SigninServer``)
Helpers
    ``aws_env(home, sts_url, base=None, **extra)`` a clean env dict for the app/aws CLI
    ``refused_url()`` an http URL where nothing listens

Desktop fixtures skip with a reason when Xvfb & co. are missing, unless ``CI`` is set:
then missing tools fail the test loudly.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from .desktop import REQUIRED_TOOLS, Desktop, clean_base_env, missing_tools
from .procs import HarnessError, refused_url
from .signin import SigninServer
from .sso import SsoServer
from .sts import FaultSts, MotoServer

__all__ = [
    "Desktop",
    "FaultSts",
    "HarnessError",
    "MotoServer",
    "SigninServer",
    "SsoServer",
    "aws_env",
    "aws_home",
    "desktop",
    "desktop_keyring",
    "fault_sts",
    "moto_sts",
    "refused_url",
    "require_tools",
    "signin_server",
    "sso_server",
]


def _under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require_tools(*tools: str) -> None:
    """Skip (locally) or fail (under CI) when one of *tools* is not on PATH."""
    missing = missing_tools(tools or REQUIRED_TOOLS)
    if not missing:
        return
    reason = f"needs {', '.join(missing)} on PATH (apt-get install xvfb dbus trayer xdotool ...)"
    if _under_ci():
        pytest.fail(f"CI is set and {reason}", pytrace=False)
    pytest.skip(reason)


def aws_env(
    home: str | os.PathLike[str],
    sts_url: str,
    base: Mapping[str, str] | None = None,
    **extra: str,
) -> dict[str, str]:
    """A clean environment for the app or the ``aws`` CLI against a local STS.

    *base* (default ``os.environ``; pass ``desktop.env`` for GUI runs) without any
    inherited ``AWS_*`` variable, plus HOME=*home*, AWS_CONFIG_FILE and
    AWS_SHARED_CREDENTIALS_FILE in ``home/.aws/``, AWS_ENDPOINT_URL_STS=*sts_url*,
    AWS_EC2_METADATA_DISABLED=true, and *extra* (e.g. ``AWS_PROFILE="dev"``).
    """
    home_path = Path(home)
    env = clean_base_env() if base is None else {k: v for k, v in base.items() if not k.startswith("AWS_")}
    env.update(
        HOME=str(home_path),
        AWS_CONFIG_FILE=str(home_path / ".aws" / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(home_path / ".aws" / "credentials"),
        AWS_ENDPOINT_URL_STS=sts_url,
        AWS_EC2_METADATA_DISABLED="true",
    )
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def moto_sts() -> Iterator[MotoServer]:
    """moto's STS server for the whole session (``.url``, ``.reset()``)."""
    with MotoServer() as server:
        yield server


@pytest.fixture
def fault_sts() -> Iterator[FaultSts]:
    """A programmable STS endpoint for one test (``.url``, ``.push()``, ``.requests``)."""
    with FaultSts() as server:
        yield server


@pytest.fixture
def desktop() -> Iterator[Desktop]:
    """Xvfb + private session bus + notification recorder + trayer, for one test."""
    require_tools()
    with Desktop(notifications=True, tray=True) as d:
        yield d


@pytest.fixture
def bare_bus() -> Iterator[Desktop]:
    """Xvfb and a private session bus with nobody on it (no tray host, no notification server)."""
    require_tools("Xvfb", "dbus-daemon")
    with Desktop(notifications=False, tray=False) as d:
        yield d


@pytest.fixture
def desktop_keyring() -> Iterator[Desktop]:
    """Like ``desktop`` plus an unlocked gnome-keyring-daemon (SecretService)."""
    require_tools(*REQUIRED_TOOLS, "gnome-keyring-daemon")
    with Desktop(notifications=True, tray=True, keyring=True) as d:
        yield d


@pytest.fixture
def aws_home(tmp_path: Path) -> Path:
    """A fresh HOME containing an empty ``.aws/`` (mode 0700)."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".aws").mkdir(mode=0o700)
    return home


@pytest.fixture
def signin_server() -> Iterator[SigninServer]:
    """An AWS sign-in service (``aws login``) stand-in for one test (``.env()``, ``.sign_in()``, ``.refreshes``)."""
    with SigninServer() as server:
        yield server


@pytest.fixture
def sso_server() -> Iterator[SsoServer]:
    """An IAM Identity Center stand-in for one test (``.env()``, ``.requests``, ``.grants()``)."""
    with SsoServer() as server:
        yield server
