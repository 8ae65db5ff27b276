"""Warm Tk children (trayapp.tray.warm): the dialog and the popup menu started before the click.

What a person notices: the window a click asks for is there at once and takes the code as before;
each assume gets a dialog of its own; a waiting child costs no CPU (it does not wake up); and no
child outlives the tray, whether it quits or is killed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.desktop import Desktop
from tests.support.dialog import Asker, dialog_exists, find_window, press, type_into, wait_gone
from tests.support.planted import needs_second_uid, planted_folder
from tests.support.procs import wait_until
from tests.support.sts import MotoServer
from tests.support.tray_desktop import (
    aws_env,
    click_quit,
    dump_stacks,
    exit_status,
    start_tray,
    wait_for,
    write_aws_files,
)
from trayapp import protocol
from trayapp.core.prompts import MfaRequest
from trayapp.tray.dialog_prompt import DialogPrompt
from trayapp.tray.warm import Spare

REQUEST = MfaRequest("prod", "arn:aws:iam::123456789012:role/Admin", "arn:aws:iam::123456789012:mfa/alice")


def switches(pid: int) -> int:
    """Context switches of every thread of *pid* so far: each one is a wake-up."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            text = Path(f"/proc/{pid}/task/{task}/status").read_text()
        except FileNotFoundError:
            continue
        for line in text.splitlines():
            if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                total += int(line.split(":")[1])
    return total


def children(pid: int) -> dict[int, str]:
    """The processes whose parent is *pid*, with the module each runs."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out[int(entry)] = " ".join(part.decode(errors="replace") for part in cmdline)
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def settled(pid: int) -> int:
    """Wait until *pid* has finished starting (no switch for half a second); its count then."""
    seen = [(time.monotonic(), switches(pid))]

    def quiet() -> int | None:
        now = switches(pid)
        if now != seen[-1][1]:
            seen.append((time.monotonic(), now))
        return now if time.monotonic() - seen[-1][0] >= 0.5 else None

    return wait_until("the child to finish starting", quiet, 20)


@pytest.fixture
def spare(desktop: Desktop) -> Iterator[Spare]:
    s = Spare("dialog", spawn=lambda name: protocol.spawn(name, env=desktop.env))
    s.start()
    yield s
    s.close()


@pytest.mark.desktop
def test_a_warm_dialog_takes_the_code_and_each_assume_gets_a_fresh_one(desktop: Desktop, spare: Spare) -> None:
    first = spare.ready
    assert first is not None
    settled(first.pid)
    assert not dialog_exists(desktop)  # waiting withdrawn, untitled: no dialog for anyone yet

    served: list[int] = []

    def take() -> subprocess.Popen[str]:
        proc = spare.take()
        served.append(proc.pid)
        return proc

    for code in ("123456", "654321"):
        prompt = DialogPrompt(spawn=take, on_exit=spare.refill)
        ask = Asker(lambda prompt=prompt: prompt.ask(REQUEST))  # type: ignore[misc]
        find_window(desktop)
        type_into(desktop, code)
        press(desktop, "Return")
        assert ask.get() == code
        prompt.close()
        wait_gone(desktop)

    assert served[0] == first.pid  # the click used the child that was ready
    assert served[1] != served[0]  # the next assume got a new one, started after the first closed
    assert not alive(served[0])
    nxt = spare.ready
    assert nxt is not None and nxt.pid not in served  # and one waits for the third


@pytest.mark.desktop
@needs_second_uid
def test_a_trayapp_package_another_user_left_in_the_folder_never_runs(
    desktop: Desktop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tray started in a shared 1777 folder where another uid left a ``trayapp/`` package (with
    ``PYTHONPATH`` naming it too): the warm dialog and popup are trayapp's own, and the dialog takes
    the code.  (``python -m trayapp.tk.dialog`` imported the planted package at once: its
    ``__init__`` ran as the tray's user before any click.)"""
    with planted_folder() as planted:
        monkeypatch.chdir(planted.folder)
        env = {**desktop.env, "PYTHONPATH": str(planted.folder)}
        spares = [Spare(name, spawn=lambda name: protocol.spawn(name, env=env)) for name in ("dialog", "popup_menu")]
        for s in spares:
            s.start()
        try:
            for s in spares:
                proc = s.ready
                assert proc is not None
                settled(proc.pid)
                assert proc.poll() is None  # started, built its window, waiting
            prompt = DialogPrompt(spawn=spares[0].take, on_exit=spares[0].refill)
            ask = Asker(lambda: prompt.ask(REQUEST))
            find_window(desktop)
            type_into(desktop, "246810")
            press(desktop, "Return")
            assert ask.get() == "246810"
            prompt.close()
        finally:
            for s in spares:
                s.close()
        assert planted.ran() == []


@pytest.mark.desktop
@needs_second_uid
def test_trayapp_assume_in_a_shared_folder_asks_in_its_own_dialog(desktop: Desktop, moto_sts: MotoServer) -> None:
    """``trayapp assume prod`` on a display, run in a 1777 folder where another uid left a
    ``trayapp/`` package: trayapp's dialog asks, the session is written, nothing planted ran."""
    credentials = write_aws_files(desktop.home)
    script = str(Path(sys.executable).with_name("trayapp"))
    with planted_folder() as planted:
        cli = subprocess.Popen(
            [script, "assume", "prod"],
            cwd=planted.folder,
            env=aws_env(desktop, moto_sts.url),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            find_window(desktop, timeout=30)
            type_into(desktop, "135791")
            press(desktop, "Return")
            out, err = cli.communicate(timeout=60)
        finally:
            if cli.poll() is None:
                cli.kill()
        assert planted.ran() == []
    assert cli.returncode == 0, err
    assert "AWS_PROFILE=prod-session" in out and "[prod-session]" in credentials.read_text()


@pytest.mark.desktop
@pytest.mark.parametrize("program", ["dialog", "popup_menu"])
def test_a_waiting_child_never_wakes_up(desktop: Desktop, program: str) -> None:
    """No timer, no polling: a spare blocked on its input makes no context switch at all (the
    dialog used to check its input every 40 ms: 75 wake-ups in these 3 s)."""
    spare = Spare(program, spawn=lambda name: protocol.spawn(name, env=desktop.env))
    spare.start()
    try:
        proc = spare.ready
        assert proc is not None
        before = settled(proc.pid)
        time.sleep(3)  # the behaviour under test: three seconds of waiting without a wake-up
        assert switches(proc.pid) - before <= 2
        assert proc.poll() is None
    finally:
        spare.close()
    assert proc.returncode == 0  # the end of its input ended it cleanly


@pytest.mark.desktop
@pytest.mark.parametrize("ending", ["quit", "killed"])
def test_no_child_outlives_the_tray(desktop: Desktop, moto_sts: MotoServer, ending: str) -> None:
    write_aws_files(desktop.home)
    tray = start_tray(desktop, aws_env(desktop, moto_sts.url, PYSTRAY_BACKEND="xorg"))
    wait_for("the icon to dock", lambda: desktop.find_tray_icons(), 10, desktop)

    def both_spares() -> dict[int, str] | None:
        kids = children(tray.pid)
        programs = " ".join(kids.values())
        return kids if "trayapp.tk.dialog" in programs and "trayapp.tk.popup_menu" in programs else None

    try:
        kids = wait_for("the warm dialog and popup menu", both_spares, 20, desktop)
    except AssertionError:
        dump_stacks(tray, desktop)
        raise AssertionError(f"no warm children; children: {children(tray.pid)}\n{desktop.log('tray')}") from None
    if ending == "quit":
        click_quit(desktop, desktop.find_tray_icons()[0])
        assert exit_status(tray, desktop) == 0
    else:
        tray.kill()
        tray.wait(timeout=5)
    # Killed, the tray closes nothing: its children see the end of their input and exit.
    wait_until("the tray's children to exit", lambda: not any(alive(pid) for pid in kids), 5)


@pytest.mark.desktop
def test_the_dialog_shown_at_the_click_keeps_what_was_typed_before_the_question(desktop: Desktop, spare: Spare) -> None:
    """The tray shows the dialog as the click lands, while the first assume still loads botocore:
    a code typed and submitted in that time is the answer to the question that follows."""
    prompt = DialogPrompt(spawn=spare.take, on_exit=spare.refill)
    prompt.show(REQUEST)
    find_window(desktop)
    type_into(desktop, "246810")
    press(desktop, "Return")
    assert prompt.ask(REQUEST) == "246810"
    prompt.close()
    wait_gone(desktop)


class _Role:
    def __init__(self, name: str, mfa_serial: str | None, source: str = "base", mfa_process: str | None = None):
        self.name, self.role_arn, self.mfa_serial = name, f"arn:aws:iam::123456789012:role/{name}", mfa_serial
        self.source_profile, self.mfa_process = source, mfa_process


class _Service:
    def __init__(self, silent: set[str]) -> None:
        serial = "arn:aws:iam::123456789012:mfa/alice"
        self.roles = {
            "prod": _Role("prod", serial),
            "nomfa": _Role("nomfa", None),
            "chained": _Role("chained", serial, source="prod"),
            "generated": _Role("generated", serial, mfa_process="otp-tool"),
        }
        self.silent = silent

    def config(self) -> _Service:
        return self

    def role(self, name: str) -> _Role:
        return self.roles[name]

    def sessions(self) -> dict[str, object]:
        return {}

    def needs_code(self, name: str, duration: int | None = None) -> bool:
        """The engine's answer (Service.needs_code), as the real one decides it."""
        role = self.roles.get(name)
        if role is None or not role.mfa_serial or role.mfa_process or role.source_profile in self.roles:
            return False
        return name not in self.silent


class _Recorder:
    def __init__(self) -> None:
        self.shown: list[MfaRequest] = []

    def show(self, request: MfaRequest) -> None:
        self.shown.append(request)


def test_the_dialog_is_shown_early_only_when_a_code_will_surely_be_asked_for() -> None:
    from trayapp.tray.dialog_prompt import show_early

    dialog = _Recorder()
    service = _Service(silent={"covered"})
    service.roles["covered"] = _Role("covered", "arn:aws:iam::123456789012:mfa/alice")
    for profile in ("nomfa", "chained", "generated", "covered", "missing"):
        assert not show_early(dialog, service, profile)  # type: ignore[arg-type]
    assert dialog.shown == []
    assert show_early(dialog, service, "prod")  # type: ignore[arg-type]
    assert [r.profile for r in dialog.shown] == ["prod"]


@pytest.mark.desktop
def test_cancel_before_the_question_cancels_and_opens_no_second_dialog(desktop: Desktop, spare: Spare) -> None:
    prompt = DialogPrompt(spawn=spare.take, on_exit=spare.refill)
    prompt.show(REQUEST)
    find_window(desktop)
    press(desktop, "Escape")
    wait_gone(desktop)
    assert prompt.ask(REQUEST) is None  # the same as Cancel in the dialog
    time.sleep(0.5)  # the behaviour under test: no second dialog shows (nothing to wait for)
    assert not dialog_exists(desktop)
    prompt.close()
