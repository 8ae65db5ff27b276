"""Codes nobody types: a profile's mfa_process and a YubiKey (a fake ykman on PATH), real processes."""

from __future__ import annotations

import contextlib
import io
import os
import signal
from pathlib import Path

import pytest

from tests.support.code_sources import FakeYkman, alive, script
from tests.support.procs import wait_until
from trayapp.core import code_sources
from trayapp.core.code_sources import SourcedPrompt
from trayapp.core.prompts import MfaRequest

SERIAL = "arn:aws:iam::000000000000:mfa/alice"
ROLE = "arn:aws:iam::222222222222:role/Admin"


def request(mfa_process: str | None = None) -> MfaRequest:
    return MfaRequest("prod", ROLE, SERIAL, mfa_process)


class Typist:
    """A fallback prompt that records what it was told and 'types' *answer*."""

    def __init__(self, answer: str | None = "111111") -> None:
        self.answer = answer
        self.asked: list[tuple[str, str | None]] = []
        self.closed = False

    def ask(self, req: MfaRequest, error: str | None = None) -> str | None:
        self.asked.append((req.profile, error))
        return self.answer

    def close(self) -> None:
        self.closed = True


def no_ykman() -> None:
    return None


def test_mfa_process_code_is_used_without_asking(tmp_path: Path) -> None:
    gen = script(tmp_path, "gen", "echo ' 482 913 '")  # spaces as some generators print them
    typist = Typist()
    prompt = SourcedPrompt(typist, ykman=no_ykman, out=io.StringIO())
    assert prompt.ask(request(str(gen))) == "482913"
    assert typist.asked == []


def test_mfa_process_runs_through_the_shell_like_aws_vault(tmp_path: Path) -> None:
    out = tmp_path / "ran"
    command = f"echo 135 > {out}; cat {out} | tr -d ' ' | sed 's/135/135790/'"
    assert SourcedPrompt(Typist(), ykman=no_ykman).ask(request(command)) == "135790"
    assert code_sources.shell_argv("x", platform="linux") == ["/bin/sh", "-c", "x"]
    assert code_sources.shell_argv("x", platform="win32")[-2:] == ["/c", "x"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("echo 'secret-ish junk 12345' ; exit 3", "it exited with status 3"),
        ("echo 'token: 9876543'", "it printed no six-digit code"),
        ("echo 'password: hunter2'", "it printed no six-digit code"),
        ("head -c 100000 /dev/zero | tr '\\0' 7", "it printed no six-digit code"),
        ("true", "it printed no six-digit code"),
    ],
)
def test_a_failing_process_falls_back_to_typing_with_one_sentence(tmp_path: Path, body: str, reason: str) -> None:
    gen = script(tmp_path, "gen", body)
    typist = Typist("222222")
    assert SourcedPrompt(typist, ykman=no_ykman).ask(request(str(gen))) == "222222"
    sentence = f"No MFA code came from mfa_process of profile 'prod': {reason}."
    assert typist.asked == [("prod", sentence)]
    for printed in ("12345", "9876543", "hunter2", "777777"):
        assert printed not in sentence


def test_a_command_that_is_not_there_says_so(tmp_path: Path) -> None:
    typist = Typist()
    SourcedPrompt(typist, ykman=no_ykman).ask(request(str(tmp_path / "missing-generator")))
    assert typist.asked == [("prod", "No MFA code came from mfa_process of profile 'prod': it exited with status 127.")]


def test_a_hanging_process_and_its_children_are_ended(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    gen = script(tmp_path, "gen", f"echo $$ > {pids}; sleep 1000 & echo $! >> {pids}; wait")
    typist = Typist("333333")
    prompt = SourcedPrompt(typist, ykman=no_ykman, timeout=1.5)
    assert prompt.ask(request(str(gen))) == "333333"
    assert typist.asked == [
        ("prod", "No MFA code came from mfa_process of profile 'prod': it did not answer within 1 s and was stopped.")
    ]
    started = [int(p) for p in pids.read_text().split()]
    assert len(started) == 2
    wait_until("the process group to end with the timeout", lambda: not any(alive(p) for p in started), 5)


def test_a_code_printed_by_a_process_that_stays_is_taken_and_the_process_ended(tmp_path: Path) -> None:
    # Issue 20, item 6: done on the code line, not on the end of output or the exit; no zombie left.
    pids = tmp_path / "pids"
    gen = script(tmp_path, "gen", f"echo $$ > {pids}; echo 424242; sleep 300 & echo $! >> {pids}; wait")
    running = code_sources.start_mfa_process(request(str(gen)), timeout=120)
    assert running.done(30), "the code was printed but the source was still waited for"
    assert running.result() == "424242"
    started = [int(p) for p in pids.read_text().split()]
    # alive() counts a zombie as ended
    wait_until("the source's process group to end", lambda: not any(alive(p) for p in started), 10)
    # our child: gone only once it is waited for
    wait_until("the source to be reaped, not left a zombie", lambda: not Path(f"/proc/{started[0]}").exists(), 10)


def test_all_a_source_wrote_before_it_exited_is_read_though_a_child_holds_the_pipe(tmp_path: Path) -> None:
    pid = tmp_path / "pid"
    body = f"for i in $(seq 300); do echo account-$i; done; setsid sh -c 'echo $$ > {pid}; exec sleep 60' &"
    listing = code_sources.Running(["/bin/sh", "-c", body], "ykman", "")
    try:
        assert listing.done(20)
        assert bytes(listing._output).decode().split() == [f"account-{i}" for i in range(1, 301)]
    finally:
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(pid.read_text()), signal.SIGKILL)


def test_one_automatic_try_per_request_then_typing(tmp_path: Path) -> None:
    """A generator repeats its code within a window: after STS refused it, the user types."""
    gen = script(tmp_path, "gen", f"echo x >> {tmp_path / 'runs'}; echo 555555")
    typist = Typist("666666")
    prompt = SourcedPrompt(typist, ykman=no_ykman)
    req = request(str(gen))
    assert prompt.ask(req) == "555555"
    assert prompt.ask(req, "AWS rejected the MFA code") == "666666"
    assert typist.asked == [("prod", "AWS rejected the MFA code")]
    assert (tmp_path / "runs").read_text() == "x\n"


def test_without_ykman_or_an_account_the_prompt_is_asked_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    typist = Typist()
    assert SourcedPrompt(typist, ykman=no_ykman).ask(request()) == "111111"
    assert typist.asked == [("prod", None)]

    fake = FakeYkman(tmp_path, ["Amazon Web Services:bob@123456789012", "GitHub:alice", SERIAL + "-old"])
    for key, value in fake.env().items():
        monkeypatch.setenv(key, value)
    typist, out = Typist(), io.StringIO()
    assert SourcedPrompt(typist, out=out).ask(request()) == "111111"
    assert typist.asked == [("prod", None)] and out.getvalue() == ""
    assert fake.calls() == ["oath accounts list"]  # no account named like the serial: no touch asked


def test_a_yubikey_account_named_like_the_serial_gives_the_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeYkman(tmp_path, ["GitHub:alice", f"AWS:{SERIAL}"], code="246810")
    for key, value in fake.env().items():
        monkeypatch.setenv(key, value)
    out = io.StringIO()
    typist = Typist()
    assert SourcedPrompt(typist, out=out, interactive=True).ask(request()) == "246810"
    assert typist.asked == []
    assert fake.calls() == ["oath accounts list", f"oath accounts code --single AWS:{SERIAL}"]
    assert out.getvalue() == "trayapp: Touch your YubiKey… (Ctrl-C to type the code instead)\n"
    assert "246810" not in out.getvalue()


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("fail", "it exited with status 1"), ("junk", "it printed no six-digit code")],
)
def test_a_yubikey_that_fails_falls_back_with_the_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str, reason: str
) -> None:
    fake = FakeYkman(tmp_path, [SERIAL], mode=mode)
    for key, value in fake.env().items():
        monkeypatch.setenv(key, value)
    typist = Typist()
    assert SourcedPrompt(typist, out=io.StringIO(), interactive=False).ask(request()) == "111111"
    assert typist.asked == [("prod", f"No MFA code came from your YubiKey: {reason}.")]


def test_no_yubikey_inserted_is_no_touch_offered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeYkman(tmp_path, [SERIAL])
    (fake.dir / "no-key").write_text("")
    for key, value in fake.env().items():
        monkeypatch.setenv(key, value)
    typist = Typist()
    out = io.StringIO()
    assert SourcedPrompt(typist, out=out).ask(request()) == "111111"
    assert typist.asked == [("prod", None)] and out.getvalue() == ""
    assert fake.calls() == ["oath accounts list"]


def test_a_yubikey_never_touched_is_stopped_after_the_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeYkman(tmp_path, [SERIAL], mode="hang")
    for key, value in fake.env().items():
        monkeypatch.setenv(key, value)
    typist = Typist()
    assert SourcedPrompt(typist, out=io.StringIO(), timeout=1).ask(request()) == "111111"
    assert typist.asked == [
        ("prod", "No MFA code came from your YubiKey: it did not answer within 1 s and was stopped.")
    ]
    pids = [fake.pid_file("code-pid"), fake.pid_file("grandchild")]
    wait_until("ykman's processes to end", lambda: not any(alive(p) for p in pids), 5)


def test_closing_the_prompt_stops_a_waiting_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    fake = FakeYkman(tmp_path, [SERIAL], mode="hang")
    for key, value in fake.env().items():
        monkeypatch.setenv(key, value)
    typist = Typist(None)
    prompt = SourcedPrompt(typist, out=io.StringIO())
    result: list[str | None] = []
    worker = threading.Thread(target=lambda: result.append(prompt.ask(request())))
    worker.start()
    grandchild = fake.pid_file("grandchild")
    prompt.abort()  # the app quits
    worker.join(5)
    assert not worker.is_alive() and result == [None]
    wait_until("the waiting source to stop", lambda: not alive(grandchild), 5)


def test_quitting_while_a_source_starts_stops_it_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Quit that lands before the YubiKey's ykman is under way (a loaded machine: seen in full runs)
    used to miss it: the source ran to its 60 s timeout and held the prompt's thread."""
    fake = FakeYkman(tmp_path, [SERIAL], mode="hang")
    for key, value in fake.env().items():
        monkeypatch.setenv(key, value)
    prompt = SourcedPrompt(Typist(None), out=io.StringIO())
    prompt.abort()  # the app quits before the source has started
    assert prompt.ask(request()) is None
    assert not (fake.dir / "code-pid").exists()  # nothing was started
