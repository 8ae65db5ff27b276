"""trayapp's log file (issue 28, item 5): where the docs say, rotated, 0600 in a 0700 folder, never
through a folder or file another user could change, never a secret in it — and the command line's
unexpected failures say a sentence, not an exception's class name (item 6).

The docs promised "the log" for notifications and the tray's failures, and there was none:
``trayapp sso login corp`` with no network printed ``unexpected error (EndpointConnectionError)``, and
``DISPLAY=:99 trayapp`` ``DisplayConnectionError: Can't connect…``.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fixtures import SsoServer, aws_env
from tests.support.procs import refused_url
from tests.support.sso import CORP_CONFIG, browser_script
from tests.support.sts import MotoServer
from tests.support.tray_desktop import CONFIG, write_aws_files

PYTHON = sys.executable
REPO = Path(__file__).resolve().parents[1]
#: An exception's class name, as Python spells its errors (``EndpointConnectionError``, ``OSError``).
CLASS_NAME = re.compile(r"\b[A-Z][A-Za-z]*(Error|Exception)\b")


def log_of(home: Path) -> Path:
    """Where README and docs/INSTALL.md say the log is on Linux, with XDG_STATE_HOME unset."""
    return home / ".local" / "state" / "trayapp" / "trayapp.log"


def trayapp(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "-m", "trayapp", *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def handler_of() -> Iterator[list[logging.Handler]]:
    """Handlers a test attaches to a private logger, closed after it."""
    made: list[logging.Handler] = []
    yield made
    for handler in made:
        handler.close()


def private_logger(name: str, handler: logging.Handler) -> logging.Logger:
    logger = logging.getLogger(f"tests.logfile.{name}")
    logger.propagate = False
    logger.handlers = [handler]
    logger.setLevel(logging.INFO)
    return logger


# --- the command line, for real -------------------------------------------------------------------


@pytest.mark.integration
def test_sso_login_with_no_network_says_a_sentence_and_logs_the_traceback_in_a_0600_file(aws_home: Path) -> None:
    (aws_home / ".aws" / "config").write_text(CORP_CONFIG)
    closed = refused_url()
    env = aws_env(aws_home, closed, AWS_ENDPOINT_URL_SSO_OIDC=closed, AWS_ENDPOINT_URL_SSO=closed,
                  BROWSER=str(browser_script(aws_home / "b.sh")))  # fmt: skip
    result = trayapp(env, "sso", "login", "corp")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("trayapp: ") and "can't be reached; check your network connection." in lines[0]
    assert closed.removeprefix("http://") in lines[0]
    assert not CLASS_NAME.search(result.stderr), result.stderr
    log = log_of(aws_home)
    assert "EndpointConnectionError" in log.read_text() and "Traceback" in log.read_text()  # for a developer
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700


@pytest.mark.integration
def test_xdg_state_home_moves_the_log(aws_home: Path, tmp_path: Path) -> None:
    (aws_home / ".aws" / "config").write_text(CORP_CONFIG)
    closed = refused_url()
    env = aws_env(aws_home, closed, AWS_ENDPOINT_URL_SSO_OIDC=closed, AWS_ENDPOINT_URL_SSO=closed,
                  BROWSER=str(browser_script(aws_home / "b.sh")), XDG_STATE_HOME=str(tmp_path / "state"))  # fmt: skip
    assert trayapp(env, "sso", "login", "corp").returncode == 1
    assert "Traceback" in (tmp_path / "state" / "trayapp" / "trayapp.log").read_text()
    assert not log_of(aws_home).exists()


def free_display() -> str:
    """A display number no X server listens on."""
    for number in range(99, 400):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            return f":{number}"
    pytest.skip("no free X display number")


@pytest.mark.integration
def test_a_display_that_is_not_there_is_a_sentence_with_no_class_name(tmp_path: Path) -> None:
    """``DISPLAY=:99 trayapp``: pystray's xorg backend fails to open it; the class name stays in the log."""
    pytest.importorskip("Xlib", reason="python-xlib is pystray's X11 backend")
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "config").write_text(CONFIG)
    display = free_display()
    env = aws_env(home, refused_url(), DISPLAY=display, XDG_RUNTIME_DIR=str(tmp_path), PYTHONPATH=str(REPO))
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    env.pop("PYSTRAY_BACKEND", None)
    result = trayapp(env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"trayapp: the tray icon can't be shown: the X display {display} can't be opened; check that it is "
        "running and that DISPLAY names it."
    ]
    assert "DisplayConnectionError" in log_of(home).read_text()


@pytest.mark.integration
def test_the_tray_says_once_that_it_logs_nowhere_when_the_log_folder_is_a_link(tmp_path: Path) -> None:
    """A log folder another program replaced with a symbolic link is not written through; the tray
    says so in one sentence as it starts (here on a display that is not there, so it stops at once)."""
    pytest.importorskip("Xlib", reason="python-xlib is pystray's X11 backend")
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "config").write_text(CONFIG)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (home / ".local" / "state").mkdir(parents=True)
    log_of(home).parent.symlink_to(elsewhere)
    env = aws_env(home, refused_url(), DISPLAY=free_display(), XDG_RUNTIME_DIR=str(tmp_path), PYTHONPATH=str(REPO))
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    result = trayapp(env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0] == (
        f"trayapp: nothing is logged to {log_of(home)}: {log_of(home).parent} is not a folder of yours closed "
        "to other users."
    )
    assert len(lines) == 2 and "X display" in lines[1] and "run it with TRAYAPP_LOG=debug" not in lines[1]
    assert list(elsewhere.iterdir()) == []


@pytest.mark.integration
def test_no_key_token_secret_or_code_of_real_sign_ins_reaches_the_log(
    aws_home: Path, sso_server: SsoServer, moto_sts: MotoServer
) -> None:
    """Every flow that handles secrets, at TRAYAPP_LOG=debug: an SSO sign-in (PKCE), its role's keys,
    a refresh, an MFA assume against moto; then the log is searched for each secret they handled."""
    credentials = write_aws_files(aws_home)
    config = aws_home / ".aws" / "config"
    config.write_text(config.read_text() + "\n" + CORP_CONFIG)
    browser = browser_script(aws_home / "b.sh")
    env = aws_env(aws_home, moto_sts.url, **sso_server.env(), BROWSER=str(browser), TRAYAPP_LOG="debug")
    sso_server.token_seconds = 600  # the assume refreshes the token first
    code = "864209"
    for args in (["sso", "login", "corp"], ["assume", "corp-admin"], ["assume", "prod", "--code", code]):
        result = trayapp(env, *args)
        assert result.returncode == 0, result.stderr
    assert sso_server.grants() == ["authorization_code", "refresh_token"]
    handed_out = set(sso_server.access) | set(sso_server.refresh)
    handed_out |= {c["secret"] for c in sso_server.clients.values()}
    written = dict(re.findall(r"^(aws_\w+) = (\S+)$", credentials.read_text(), re.M))
    handed_out |= {written["aws_secret_access_key"], written["aws_session_token"]}
    log = log_of(aws_home).read_text()
    assert "DEBUG" in log  # the debug level reached the file
    assert {s for s in handed_out if s in log} == set()
    assert code not in log


# --- the file itself --------------------------------------------------------------------------------


def test_the_log_rotates_at_1_mb_keeping_three_old_files_each_0600(
    tmp_path: Path, handler_of: list[logging.Handler]
) -> None:
    from trayapp.core.logfile import LogFile

    path = tmp_path / "state" / "trayapp" / "trayapp.log"
    handler = LogFile(path)
    handler_of.append(handler)
    logger = private_logger("rotation", handler)
    old = os.umask(0o022)  # what most sessions run with: a file opened plainly would be 0644
    try:
        for number in range(5000):
            logger.info("line %d %s", number, "x" * 1000)  # 5 MB
    finally:
        os.umask(old)
    names = sorted(p.name for p in path.parent.iterdir())
    assert names == ["trayapp.log", "trayapp.log.1", "trayapp.log.2", "trayapp.log.3"]
    for file in path.parent.iterdir():
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
        assert file.stat().st_size <= 1_000_000
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert "line 4999 " in path.read_text()


def test_a_log_folder_that_is_a_symlink_or_another_users_is_not_written_through(
    tmp_path: Path, handler_of: list[logging.Handler]
) -> None:
    from trayapp.core.logfile import LogFile

    state = tmp_path / "state"
    state.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (state / "trayapp").symlink_to(elsewhere)
    linked = LogFile(state / "trayapp" / "trayapp.log")
    handler_of.append(linked)
    private_logger("linked", linked).warning("a line")
    assert linked.open() is None and linked.refused is not None
    assert list(elsewhere.iterdir()) == []

    foreign = tmp_path / "foreign"
    (foreign / "trayapp").mkdir(parents=True, mode=0o700)
    os.chown(foreign / "trayapp", 65534, 65534)
    theirs = LogFile(foreign / "trayapp" / "trayapp.log")
    handler_of.append(theirs)
    assert theirs.open() is None
    assert theirs.refused == f"{foreign / 'trayapp'} is not a folder of yours closed to other users"
    assert list((foreign / "trayapp").iterdir()) == []


def test_an_open_folder_and_file_of_ours_are_closed_and_a_linked_file_is_refused(
    tmp_path: Path, handler_of: list[logging.Handler]
) -> None:
    from trayapp.core.logfile import LogFile

    folder = tmp_path / "trayapp"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    path = folder / "trayapp.log"
    path.write_text("older lines\n")
    path.chmod(0o644)
    handler = LogFile(path)
    handler_of.append(handler)
    private_logger("closed", handler).warning("a line")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("older lines\n") and "a line" in path.read_text()

    target = tmp_path / "target"
    target.write_text("")
    path.unlink()
    path.symlink_to(target)
    linked = LogFile(path)
    handler_of.append(linked)
    private_logger("linked-file", linked).warning("a line")
    assert linked.refused == f"{path} is a symbolic link"
    assert target.read_text() == ""


# --- redaction ---------------------------------------------------------------------------------------

SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD6example0123456789"
ACCESS, REFRESH, CODE, STATE = (secrets.token_urlsafe(n) for n in (32, 32, 24, 16))
CLIENT_SECRET = "secret-" + secrets.token_hex(16)


@pytest.mark.parametrize(
    ("line", "hidden"),
    [
        (f"aws_secret_access_key = {SECRET_KEY}", [SECRET_KEY]),
        (f"the answer held {SECRET_KEY} somewhere", [SECRET_KEY]),
        ("AKIAIOSFODNN7EXAMPLE was used", ["AKIAIOSFODNN7EXAMPLE"]),
        (f"session token {TOKEN}", [TOKEN]),
        (f'{{"accessToken": "at-{ACCESS}", "refreshToken": "rt-{REFRESH}"}}', [ACCESS, REFRESH]),
        (f"GET /oauth/callback?code={CODE}&state={STATE} HTTP/1.1", [CODE, STATE]),
        (f"clientSecret: {CLIENT_SECRET}", [CLIENT_SECRET]),
        ("the MFA code=864209 was refused", ["864209"]),
    ],
    # the secrets are new each run: named ids keep the collection alike on every xdist worker
    ids=["key-line", "key-in-text", "key-id", "session-token", "sso-json", "callback", "client-secret", "mfa-code"],
)
def test_secrets_that_reach_a_line_by_accident_are_redacted(
    line: str, hidden: list[str], tmp_path: Path, handler_of: list[logging.Handler]
) -> None:
    from trayapp.core.logfile import LogFile

    path = tmp_path / "trayapp" / "trayapp.log"
    handler = LogFile(path)
    handler_of.append(handler)
    logger = private_logger("redact", handler)
    try:
        raise ValueError(line)
    except ValueError:
        logger.exception("failed: %s", line)  # the message and the traceback's last line
    text = path.read_text()
    assert text.count("[redacted]") >= 2
    for secret in hidden:
        assert secret not in text


def test_what_is_not_a_secret_is_kept() -> None:
    from trayapp.core.logfile import redact

    kept = (
        "/tmp/pytest-of-root/pytest-12/test_a_long_name_of_a_test0/home/.local/state/trayapp/trayapp.log "
        "arn:aws:iam::123456789012:role/Admin prod expires in 10 min; http://127.0.0.1:9 can't be reached; "
        "~/.aws/sso/cache/6b9c9e6c8b2d6f0d2a5e1a0c9b8c7d6e5f4a3b2c.json"
    )
    assert redact(kept) == kept
