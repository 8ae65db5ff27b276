"""The file watcher, on real files with the platform's real notification API (inotify here)."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.fixtures import aws_env
from tests.support.procs import wait_until
from trayapp.tray.watch import FileWatcher, watch_aws_files

QUIET = 0.6  # longer than the debounce window: a second call would have come by then


class Calls:
    def __init__(self) -> None:
        self.times: list[float] = []
        self._event = threading.Event()

    def __call__(self) -> None:
        self.times.append(time.monotonic())
        self._event.set()

    def wait(self, timeout: float = 3.0) -> bool:
        ok = self._event.wait(timeout)
        self._event.clear()
        return ok

    def settle(self, quiet: float = QUIET) -> int:
        """Wait for the first call (if any is coming), then for quiet; the count.

        The quiet is the behaviour under test (no second call comes for one change), so it stays
        a fixed wait: nothing marks "no call is coming"."""
        self.wait()
        time.sleep(quiet)
        return len(self.times)


@pytest.fixture
def aws_dir(tmp_path: Path) -> Path:
    folder = tmp_path / ".aws"
    folder.mkdir(mode=0o700)
    (folder / "config").write_text("[default]\nregion = eu-west-1\n")
    (folder / "credentials").write_text("[default]\naws_access_key_id = AKIAEXAMPLE\n")
    return folder


@pytest.fixture
def watching(aws_dir: Path) -> Iterator[tuple[Calls, FileWatcher]]:
    calls = Calls()
    watcher = FileWatcher([aws_dir / "config", aws_dir / "credentials"], calls).start()
    yield calls, watcher
    watcher.stop()


def atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def test_an_atomic_replace_is_one_change(aws_dir: Path, watching: tuple[Calls, FileWatcher]) -> None:
    calls, _ = watching
    started = time.monotonic()
    atomic_write(aws_dir / "credentials", "[prod-session]\naws_access_key_id = AKIANEW\n")
    assert calls.settle() == 1
    assert calls.times[0] - started < 1.5


def test_a_plain_append_is_one_change(aws_dir: Path, watching: tuple[Calls, FileWatcher]) -> None:
    calls, _ = watching
    with open(aws_dir / "config", "a") as fh:
        fh.write("[profile prod]\n")
        fh.flush()
        fh.write("role_arn = arn:aws:iam::123456789012:role/admin\n")
    assert calls.settle() == 1


def test_creating_a_missing_file_is_a_change(tmp_path: Path) -> None:
    folder = tmp_path / ".aws"
    folder.mkdir()
    calls = Calls()
    with FileWatcher([folder / "config", folder / "credentials"], calls):  # watching once entered
        (folder / "credentials").write_text("[default]\n")
        assert calls.settle() == 1


def test_a_missing_folder_is_watched_from_its_parent_until_it_appears(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    calls = Calls()
    with FileWatcher([home / ".aws" / "config", home / ".aws" / "credentials"], calls) as watcher:
        assert watcher.watched == [home]
        (home / ".aws").mkdir()
        (home / ".aws" / "credentials").write_text("[default]\n")
        assert calls.settle() == 1
        assert watcher.watched == [home / ".aws"]
        atomic_write(home / ".aws" / "config", "[default]\n")  # now watched in .aws itself
        assert calls.settle() == 2


def test_a_folder_removed_and_made_again_is_followed(aws_dir: Path, watching: tuple[Calls, FileWatcher]) -> None:
    calls, watcher = watching
    for child in aws_dir.iterdir():
        child.unlink()
    aws_dir.rmdir()
    assert calls.settle() == 1
    assert watcher.watched == [aws_dir.parent]
    aws_dir.mkdir()
    (aws_dir / "config").write_text("[default]\n")
    assert calls.settle() == 2
    assert watcher.watched == [aws_dir]
    atomic_write(aws_dir / "credentials", "[default]\n")
    assert calls.settle() == 3


def test_a_burst_of_writes_is_one_call(aws_dir: Path) -> None:
    # The burst's own debounce and limit, wider than the defaults: on a loaded machine the writing
    # loop or the observer's thread can stall for a few hundred ms, which ends a burst by design.
    debounce, max_delay = 0.5, 3.0
    calls = Calls()
    written: list[float] = []
    with FileWatcher([aws_dir / "config", aws_dir / "credentials"], calls, debounce=debounce, max_delay=max_delay):
        for i in range(20):
            atomic_write(aws_dir / "credentials", f"[default]\n# {i}\n")
            with open(aws_dir / "config", "a") as fh:
                fh.write(f"# {i}\n")
            written.append(time.monotonic())
            time.sleep(0.005)  # the behaviour under test: a burst of writes, 5 ms apart
        count = calls.settle(quiet=debounce + QUIET)
    took = written[-1] - written[0]
    pauses = sum(1 for a, b in itertools.pairwise(written) if b - a >= 0.8 * debounce)
    if pauses == 0 and took < 0.9 * max_delay:
        assert count == 1
    else:  # the loop itself stalled: each pause may end a burst, each max_delay reports one
        assert 1 <= count <= 2 + pauses + int(took // max_delay)


def test_a_long_burst_still_reports_within_the_maximum_delay(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    calls = Calls()
    with FileWatcher([path], calls, debounce=0.2, max_delay=0.5):
        started = time.monotonic()
        while time.monotonic() - started < 1.2:  # never 200 ms of quiet
            with open(path, "a") as fh:
                fh.write("x\n")
            time.sleep(0.05)  # the behaviour under test: a write every 50 ms
        wait_until("the call after the burst", lambda: calls.times and calls.times[-1] > started + 1.2, 3)
        time.sleep(QUIET)  # and no more after it
    assert 2 <= len(calls.times) <= 4
    assert calls.times[0] - started < 0.8


def test_other_files_and_reads_wake_nothing(aws_dir: Path, watching: tuple[Calls, FileWatcher]) -> None:
    calls, _ = watching
    (aws_dir / "credentials.lock").write_text("")
    (aws_dir / "cli").mkdir()
    (aws_dir / "cli" / "cache.json").write_text("{}")
    for _ in range(5):
        (aws_dir / "credentials").read_text()
        (aws_dir / "config").read_bytes()
    assert not calls.wait(QUIET)
    assert calls.times == []


def test_a_symlinked_file_is_watched_where_it_points(tmp_path: Path) -> None:
    home = tmp_path / "home" / ".aws"
    home.mkdir(parents=True)
    vault = tmp_path / "vault"
    vault.mkdir()
    (vault / "credentials").write_text("[default]\n")
    (home / "credentials").symlink_to(vault / "credentials")
    calls = Calls()
    with FileWatcher([home / "config", home / "credentials"], calls) as watcher:
        assert set(watcher.watched) == {home, vault}
        atomic_write(vault / "credentials", "[default]\n# changed through the link's target\n")
        assert calls.settle() == 1


def test_stop_ends_the_calls_and_the_threads(aws_dir: Path) -> None:
    calls = Calls()
    before = set(threading.enumerate())
    watcher = FileWatcher([aws_dir / "credentials"], calls).start()
    watcher.stop()
    (aws_dir / "credentials").write_text("[default]\n")
    assert not calls.wait(QUIET)
    wait_until("the watcher's threads to end", lambda: not set(threading.enumerate()) - before, 3)


def test_the_aws_cli_writing_the_config_in_another_process_is_noticed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    env = aws_env(home, "http://127.0.0.1:9")
    calls = Calls()
    with watch_aws_files(calls, env) as watcher:
        assert watcher.watched == [home / ".aws"]
        subprocess.run(
            [sys.executable, "-m", "awscli", "configure", "set", "region", "eu-central-1", "--profile", "prod"],
            env=env,
            check=True,
            timeout=60,
        )
        assert calls.settle() == 1
    assert "eu-central-1" in (home / ".aws" / "config").read_text()


def test_a_failing_handler_is_logged_and_watching_goes_on(aws_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    seen: list[int] = []

    def boom() -> None:
        seen.append(1)
        raise RuntimeError("boom")

    with FileWatcher([aws_dir / "credentials"], boom, debounce=0.05):
        (aws_dir / "credentials").write_text("a\n")
        wait_until("the first call", lambda: len(seen) == 1, 3)
        (aws_dir / "credentials").write_text("b\n")
        wait_until("the second call, after the first failed", lambda: len(seen) == 2, 3)
    assert len(seen) == 2
    assert "Handling a change to the AWS files failed" in caplog.text


def _switches(native_id: int) -> int:
    """Voluntary + involuntary context switches of one thread: each wake-up is one."""
    status = Path(f"/proc/self/task/{native_id}/status").read_text()
    return sum(int(line.split()[1]) for line in status.splitlines() if "ctxt_switches:" in line)


def _settled(native_ids: set[int], quiet: float = 0.2) -> dict[int, int]:
    """Wait until the threads have made no switch for *quiet* seconds (done starting); their counts."""
    seen = [(time.monotonic(), {n: _switches(n) for n in native_ids})]

    def probe() -> dict[int, int] | None:
        now = {n: _switches(n) for n in native_ids}
        if now != seen[-1][1]:
            seen.append((time.monotonic(), now))
        return now if time.monotonic() - seen[-1][0] >= quiet else None

    return wait_until("the watcher's threads to finish starting", probe, 5)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_an_idle_watcher_never_wakes_up(aws_dir: Path) -> None:
    before = set(threading.enumerate())
    with FileWatcher([aws_dir / "config", aws_dir / "credentials"], Calls()):
        threads = wait_until("watchdog's own threads", lambda: [t for t in set(threading.enumerate()) - before
                             if t.native_id is not None], 3)  # fmt: skip
        start = _settled({t.native_id for t in threads if t.native_id})
        time.sleep(2.0)  # the behaviour under test: two idle seconds without a wake-up
        woke = {t.name: _switches(t.native_id) - start[t.native_id] for t in threads if t.native_id}
    assert woke == dict.fromkeys(woke, 0)


def test_a_change_made_while_the_tray_starts_watching_is_not_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process's assume landing while the tray's services start (seen under load: the icon
    stayed grey for good). The tray reads the files after its watcher is in place, so a change is
    either in that read or wakes the watcher."""
    from trayapp.core.preferences import Preferences
    from trayapp.core.service import Service
    from trayapp.tray import watch
    from trayapp.tray.app import TrayApp
    from trayapp.tray.prefs import PrefsHolder

    aws = tmp_path / ".aws"
    aws.mkdir(mode=0o700)
    (aws / "config").write_text("[profile dev]\nrole_arn = arn:aws:iam::111111111111:role/Dev\nsource_profile = base\n")
    credentials = aws / "credentials"
    credentials.write_text("[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = s\n")
    session = (
        "\n[dev-session]\ntrayapp_managed = 1\naws_access_key_id = ASIAEXAMPLE\naws_secret_access_key = s\n"
        "aws_session_token = t\ntrayapp_profile = dev\ntrayapp_role_arn = arn:aws:iam::111111111111:role/Dev\n"
        "trayapp_expiration = 2099-01-01T00:00:00+00:00\n"
    )
    real = watch.watch_aws_files

    def slow_to_start(on_change: Any, **kwargs: Any) -> Any:
        with open(credentials, "a") as fh:  # the other process writes while the watcher is starting
            fh.write(session)
        return real(on_change, **kwargs)

    monkeypatch.setattr(watch, "watch_aws_files", slow_to_start)
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    prefs = PrefsHolder()
    prefs.set(Preferences())
    app = TrayApp(Service(environ={"HOME": str(tmp_path)}, preferences=prefs), prefs=prefs, watch=True,
                  copy=lambda text: None, popup=lambda menu: None)  # fmt: skip
    try:
        app.refresh()  # what the tray shows when its icon appears
        assert app.snapshot.state == "none"
        app._start_services()
        app._worker.submit(lambda: None).result(timeout=10)
        assert app.snapshot.state == "valid"
    finally:
        app._shutdown()


def test_a_sign_in_written_to_the_sso_token_cache_is_a_change(tmp_path: Path) -> None:
    """``aws sso login`` or trayapp writes ~/.aws/sso/cache/<key>.json (folders made on the way):
    the tray hears it, so a sign-in's label follows."""
    (tmp_path / ".aws").mkdir()
    calls = Calls()
    with watch_aws_files(calls, {"HOME": str(tmp_path)}):
        cache = tmp_path / ".aws" / "sso" / "cache"
        cache.mkdir(parents=True)
        assert calls.settle() >= 0  # the folders appearing may count; what follows must
        before = len(calls.times)
        atomic_write(cache / "0123abcd.json", "{}")
        assert calls.settle() == before + 1
        (cache / "0123abcd.json").unlink()  # signed out
        assert calls.settle() == before + 2
