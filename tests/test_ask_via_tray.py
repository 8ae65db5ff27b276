"""Nobody to ask here, a tray on the desktop (issue 29, item 4): ``trayapp credential-process prod``
run with no display and no terminal (an SDK started by a service, an ssh shell) beside a running
tray of the same user has the tray show its MFA dialog; the caller waits while it is shown and gets
the keys once a code is typed, or one sentence when the dialog is cancelled.  Before, the command
was refused at once with "needs an MFA code … --code-stdin" though a person sat at the desktop.

Real parts: the tray (xorg backend) on Xvfb with moto's STS, its real Tk dialog typed into with
xdotool, the command line as a separate process without ``DISPLAY`` and with ``/dev/null`` as its
standard input, and the real ``aws`` CLI running it through ``credential_process``."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.aws_files import AWS
from tests.support.channel import Tray, running_tray
from tests.support.desktop import Desktop
from tests.support.dialog import find_window, press, wait_gone
from tests.support.fixtures import SsoServer
from tests.support.procs import refused_url, scaled, wait_until
from tests.support.sso import CORP_CONFIG, browser_script
from tests.support.tray_desktop import answer_the_dialog, aws_env, start_tray, write_aws_files

pytestmark = pytest.mark.desktop

#: What would let the command line ask by itself: none of it is there.
NOBODY = ("DISPLAY", "WAYLAND_DISPLAY", "SSH_TTY", "BROWSER")
#: What the caller says when the tray stops answering while it asks.
STOPPED = (
    "trayapp: The running tray stopped answering while it asked for a sign-in for 'prod'; run the command again.\n"
)


@pytest.fixture
def tray() -> Iterator[Tray]:
    """A tray of its own per test: the MFA session a code opens would sign the next test's assume."""
    with running_tray() as running:
        yield running


def headless(tray: Tray) -> dict[str, str]:
    env = {k: v for k, v in tray.env.items() if k not in NOBODY}
    env.pop("TRAYAPP_NO_CHANNEL", None)
    return env


@contextlib.contextmanager
def credential_process(tray: Tray, profile: str = "prod") -> Iterator[subprocess.Popen[str]]:
    child = subprocess.Popen(
        [sys.executable, "-m", "trayapp", "credential-process", profile],
        env=headless(tray), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        yield child
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()


def finished(child: subprocess.Popen[str], timeout: float = 30) -> tuple[int, str, str]:
    out, err = child.communicate(timeout=scaled(timeout))
    return child.returncode, out, err


def test_credential_process_with_nobody_here_gets_the_keys_from_the_trays_dialog(tray: Tray) -> None:
    with credential_process(tray) as child:
        answer_the_dialog(tray.desktop, "246810")
        status, out, err = finished(child)
    assert status == 0, err
    document = json.loads(out)
    assert document["Version"] == 1 and document["AccessKeyId"].startswith("ASIA")
    assert document["SessionToken"] and document["Expiration"]
    assert "[prod-session]" in (tray.desktop.home / ".aws" / "credentials").read_text()
    assert "246810" not in tray.log()


def test_the_trays_dialog_cancelled_ends_the_waiting_caller_with_a_sentence(tray: Tray) -> None:
    with credential_process(tray) as child:
        find_window(tray.desktop, timeout=20)
        press(tray.desktop, "Escape")
        wait_gone(tray.desktop)
        status, out, err = finished(child)
    assert status == 1 and out == ""
    assert err == "trayapp: The tray's MFA dialog for 'prod' was closed without a new session.\n"


def test_a_tray_that_quits_while_its_dialog_is_shown_ends_the_waiting_caller_with_a_sentence(tray: Tray) -> None:
    with credential_process(tray) as child:
        find_window(tray.desktop, timeout=20)
        tray.process.terminate()
        status, out, err = finished(child)
    assert status == 1 and out == ""
    # Said by the tray on its way out, or by the caller when the tray was gone first.
    assert err in ("trayapp: The tray quit before 'prod' had a new session.\n", STOPPED), err
    assert "Traceback" not in err


def test_a_tray_gone_silent_while_its_dialog_is_shown_is_given_up_on(tray: Tray) -> None:
    """Stopped (SIGSTOP) as a swapped-out or frozen tray is: no keep-alive comes, and the caller
    ends with a sentence instead of waiting for good (10 s without a line)."""
    with credential_process(tray) as child:
        find_window(tray.desktop, timeout=20)
        wait_until("the caller to be told", lambda: "asking on the desktop for 'prod'" in tray.log(), 20)
        with tray.stopped():
            status, out, err = finished(child)
    assert status == 1 and out == ""
    assert err == STOPPED


def test_two_callers_share_one_dialog_and_both_get_the_keys(tray: Tray) -> None:
    """An SDK often starts several processes at once: one dialog, joined, never a second."""
    with credential_process(tray) as first:
        find_window(tray.desktop, timeout=20)
        with credential_process(tray) as second:
            wait_until(
                "the second caller to join", lambda: tray.log().count("asking on the desktop for 'prod'") == 2, 20
            )
            answer_the_dialog(tray.desktop, "135790")
            results = [finished(first), finished(second)]
    for status, out, err in results:
        assert status == 0, err
        assert json.loads(out)["Version"] == 1
    assert tray.log().count("is under way already: the command line waits for it") == 1


def test_a_caller_that_goes_away_leaves_the_dialog_and_its_code_makes_the_session(tray: Tray) -> None:
    with credential_process(tray) as child:
        find_window(tray.desktop, timeout=20)
        child.kill()
        child.wait()
    answer_the_dialog(tray.desktop, "975310")
    credentials = tray.desktop.home / ".aws" / "credentials"
    wait_until("the session the dialog made", lambda: "[prod-session]" in credentials.read_text(), 30)
    with credential_process(tray) as again:  # the next call: the session, no dialog
        status, out, err = finished(again)
    assert status == 0, err
    assert json.loads(out)["Version"] == 1


def test_the_aws_cli_through_credential_process_waits_for_the_trays_dialog(tray: Tray, tmp_path: Path) -> None:
    config = tray.desktop.home / ".aws" / "config"
    config.write_text(
        config.read_text()
        + f"\n[profile via-prod]\ncredential_process = {sys.executable} -m trayapp credential-process prod\n"
        "region = eu-west-1\n"
    )
    env = headless(tray)
    command = [AWS, "sts", "get-caller-identity", "--profile", "via-prod", "--output", "json"]
    aws = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)  # fmt: skip
    try:
        answer_the_dialog(tray.desktop, "864200")
        status, out, err = finished(aws, 60)
    finally:
        if aws.poll() is None:
            aws.kill()
            aws.communicate()
    assert status == 0, err
    assert json.loads(out)["Arn"].startswith("arn:aws:sts::123456789012:assumed-role/Admin/")


def test_assume_with_nobody_here_is_done_by_the_trays_dialog_for_the_duration_asked(tray: Tray) -> None:
    """``trayapp assume prod --duration 7200`` over ssh (no display, no terminal): the tray's dialog
    asks, and the session is the two hours asked for.  Before: refused at once (pass --code)."""
    command = [sys.executable, "-m", "trayapp", "assume", "prod", "--duration", "7200"]
    child = subprocess.Popen(command, env=headless(tray), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        answer_the_dialog(tray.desktop, "112358")
        status, out, err = finished(child)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert status == 0, err
    assert "Assumed prod: session profile 'prod-session'" in out, out
    assert "trayapp_duration = 7200" in (tray.desktop.home / ".aws" / "credentials").read_text()


def test_an_iam_identity_center_profile_signed_out_has_the_tray_sign_in_and_the_caller_gets_its_keys(
    desktop: Desktop, sso_server: SsoServer, tmp_path: Path
) -> None:
    """No sign-in yet: the tray starts the sign-in its menu's **Sign in…** starts (the browser: a
    script that follows the page as a person's click would) and the caller gets corp-admin's keys.
    Before, the caller was told at once to run 'trayapp sso login corp'."""
    write_aws_files(desktop.home)
    (desktop.home / ".aws" / "config").write_text(CORP_CONFIG)
    browsed = tmp_path / "browser.log"
    browser = str(browser_script(tmp_path / "b.sh", browsed))
    env = aws_env(desktop, refused_url(), PYSTRAY_BACKEND="xorg", BROWSER=browser, **sso_server.env())
    tray = Tray(desktop, env, start_tray(desktop, env))
    try:
        wait_until("the tray's channel", lambda: "serving the command line" in tray.log(), 30, interval=0.05)
        with credential_process(tray, "corp-admin") as child:
            status, out, err = finished(child, 60)
        assert status == 0, err + tray.log()
        document = json.loads(out)
        assert document["Version"] == 1 and document["AccessKeyId"] and document["SessionToken"]
        assert len(browsed.read_text().splitlines()) == 1  # one sign-in, in the tray's browser
        assert "asking on the desktop for 'corp-admin'" in tray.log()
    finally:
        tray.process.terminate()
        tray.process.wait(15)
