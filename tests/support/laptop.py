"""A laptop's day for the real tray: its wall clock moved by libfaketime, the system bus's signals
(logind's resume, NetworkManager, timedated) sent on a private system bus, STS stopped and started.

``LaptopDay`` is entered inside a test that has a ``Desktop``; it starts a private system bus, a
moto server that shares the tray's fake wall clock (so the sessions it issues are in the same time),
and gives the environment to start the tray in.  libfaketime with ``FAKETIME_DONT_FAKE_MONOTONIC``
moves the wall clock alone: timers (monotonic) run on, which is what a closed lid does.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.support.desktop import BUS_CONF, Desktop, clean_base_env
from tests.support.procs import HarnessError, ManagedProcess, read_line_from_fd, wait_until
from tests.support.sts import MotoServer
from tests.support.tray_desktop import CREDENTIALS, aws_env, session_section

FAKETIME_LIB = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1")
#: How long a process keeps the offset it read.  Not FAKETIME_NO_CACHE: with it and
#: FAKETIME_DONT_FAKE_MONOTONIC, libfaketime 0.9.10 deadlocks now and then when two threads start
#: at once (the tray's import of keyring beside its X connection hung 1 start in 3 here).
CACHE_SECONDS = 1
#: How long the tray may take to show its icon.  libfaketime 0.9.10 with FAKETIME_DONT_FAKE_MONOTONIC
#: turns the deadline of every monotonic timed wait into one already past (clock_nanosleep even gets a
#: negative one): Python's GIL hand-over then spins, and two threads importing at once (the tray's
#: start: the keyring beside the X connection) crawl on a loaded machine.  Past this, the harness
#: dumps the stacks into the log and starts the tray once more.
START_SECONDS = 60

#: libfaketime compares whole seconds ("older than 1 s" is 2 s at worst): the wait after a move.
SETTLE_SECONDS = 2.5

#: The session bus's permissive config, as the machine's system bus.
SYSTEM_BUS_CONF = BUS_CONF.replace("<type>session</type>", "<type>system</type>")

#: The tray as tray_desktop.start_tray runs it, with one shim for libfaketime 0.9.10: with
#: FAKETIME_DONT_FAKE_MONOTONIC its clock_nanosleep hands the kernel a negative deadline (EINVAL from
#: every time.sleep), so time.sleep waits on a threading.Event as threading's own waits do.
TRAY_CODE = (
    "import threading, time; time.sleep = lambda s: threading.Event().wait(s) and None; "
    "import faulthandler, logging, signal, sys; faulthandler.register(signal.SIGUSR1); "
    "logging.basicConfig(level=logging.INFO); from trayapp.tray.app import run_tray; sys.exit(run_tray())"
)


class FakeWall:
    """The wall clock of every process given :meth:`env`: real time plus an offset the test sets.

    Two files: the laptop's (the tray and the commands beside it) and the world's (moto's STS).
    While a laptop sleeps the world's time goes on and the laptop catches up when it wakes, so a
    move forward reaches STS first: the tray can never ask STS for a session in the old time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.world = path.with_name(path.name + "-world")
        self.offset = timedelta(0)
        self.moved_at = 0.0
        self.set(timedelta(0))

    def set(self, offset: timedelta) -> None:
        """Move the clock; a process sees it within CACHE_SECONDS (the signals that follow wait for that)."""
        seconds = int(offset.total_seconds())
        forward = offset > self.offset
        self._write(self.world, seconds)
        if forward:
            time.sleep(SETTLE_SECONDS)  # STS has read it before the laptop can
        self._write(self.path, seconds)
        self.offset = offset
        self.moved_at = time.monotonic()

    @staticmethod
    def _write(path: Path, seconds: int) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(f"{'+' if seconds >= 0 else '-'}{abs(seconds)}\n")
        tmp.replace(path)

    def settled(self) -> None:
        """Wait until every process has read the file since the last move (libfaketime's cache)."""
        left = self.moved_at + SETTLE_SECONDS - time.monotonic()
        if left > 0:
            time.sleep(left)

    def move(self, by: timedelta) -> None:
        self.set(self.offset + by)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def env(self, *, monotonic_too: bool = False, world: bool = False) -> dict[str, str]:
        """The laptop's clock (*world*: STS's); *monotonic_too* for a short-lived command."""
        env = {
            "LD_PRELOAD": str(FAKETIME_LIB),
            "FAKETIME_TIMESTAMP_FILE": str(self.world if world else self.path),
            "FAKETIME_CACHE_DURATION": str(CACHE_SECONDS),
        }
        if not monotonic_too:
            env["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"
        return env


class SystemBus:
    """A private ``<type>system</type>`` dbus-daemon; the test sends the machine's signals on it."""

    def __init__(self, root: Path, log_dir: Path) -> None:
        self.root = root
        self.log_dir = log_dir
        self.address = ""
        self._proc: ManagedProcess | None = None
        self._conn: Any = None

    def start(self) -> SystemBus:
        listen = self.root / "system-bus"
        listen.mkdir(exist_ok=True)
        conf = self.root / "system-bus.conf"
        conf.write_text(SYSTEM_BUS_CONF.format(listen_dir=listen, service_dir=listen))
        r, w = os.pipe()
        try:
            self._proc = ManagedProcess(
                "system-bus",
                ["dbus-daemon", f"--config-file={conf}", "--nofork", "--nopidfile", f"--print-address={w}"],
                env=clean_base_env(),
                log_dir=self.log_dir,
                pass_fds=(w,),
            )
            os.close(w)
            w = -1
            self.address = read_line_from_fd(r, "the system bus to print its address", 20, self._proc)
        finally:
            os.close(r)
            if w != -1:
                os.close(w)
        from jeepney.io.blocking import open_dbus_connection

        self._conn = open_dbus_connection(bus=self.address)
        return self

    def stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._proc is not None:
            self._proc.stop()
            self._proc = None

    def _emit(self, path: str, interface: str, member: str, signature: str, body: tuple[Any, ...]) -> None:
        from jeepney import DBusAddress, new_signal

        self._conn.send(new_signal(DBusAddress(path, interface=interface), member, signature, body))

    def prepare_for_sleep(self, sleeping: bool) -> None:
        self._emit("/org/freedesktop/login1", "org.freedesktop.login1.Manager", "PrepareForSleep", "b", (sleeping,))

    def network(self, state: int) -> None:
        """NetworkManager's ``StateChanged``: 20 disconnected, 70 connected (global)."""
        self._emit("/org/freedesktop/NetworkManager", "org.freedesktop.NetworkManager", "StateChanged", "u", (state,))

    def time_settings_changed(self) -> None:
        """systemd-timedated's ``PropertiesChanged`` (a time zone or NTP change)."""
        body: tuple[str, dict[str, object], list[str]] = ("org.freedesktop.timedate1", {}, ["Timezone"])
        self._emit(
            "/org/freedesktop/timedate1", "org.freedesktop.DBus.Properties", "PropertiesChanged", "sa{sv}as", body
        )


class LaptopDay:
    """The pieces of a laptop's day around one real tray (see the module's docstring)."""

    def __init__(self, desktop: Desktop) -> None:
        self.desktop = desktop
        root = desktop.tmp_dir
        self.wall = FakeWall(root / "faketime")
        self.bus = SystemBus(root, desktop.log_dir)
        self.sts = MotoServer(env=self.wall.env(world=True), log_dir=desktop.log_dir)
        self.tray: subprocess.Popen[bytes] | None = None
        self.credentials = desktop.home / ".aws" / "credentials"

    def __enter__(self) -> LaptopDay:
        self.bus.start()
        try:
            self.sts.start()
        except BaseException:
            self.bus.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.tray is not None and self.tray.poll() is None:
            self.tray.terminate()
            try:
                self.tray.wait(10)
            except subprocess.TimeoutExpired:
                self.tray.kill()
        self.sts.stop()
        self.bus.stop()

    def write_session(self, profile: str, left: timedelta, duration: int = 3600) -> datetime:
        """The credentials file: the IAM user's keys and one session with *left* to go (fake time);
        returns when the session ends."""
        expires = self.wall.now() + left
        self.credentials.write_text(CREDENTIALS + "\n" + session_section(profile, expires, duration))
        return expires

    # --- the tray ---------------------------------------------------------------------

    def env(self, *, tray: bool = False, **extra: str) -> dict[str, str]:
        """The environment of the tray (*tray*: monotonic time left real) or of a command beside it."""
        env = aws_env(self.desktop, self.sts.url, PYSTRAY_BACKEND="xorg", DBUS_SYSTEM_BUS_ADDRESS=self.bus.address)
        env.update(self.wall.env(monotonic_too=not tray))
        env.update(extra)
        return env

    def start_tray(self, *, zone: str | None = None, **extra: str) -> subprocess.Popen[bytes]:
        """Start the tray; with *zone*, in a mount namespace of its own whose /etc/localtime is a file
        the test rewrites (:meth:`set_zone`), as a change of time zone in the system settings does."""
        argv = [sys.executable, "-c", TRAY_CODE]
        env = self.env(tray=True, **extra)
        if zone is not None:
            self.set_zone(zone)
            env.pop("TZ", None)
            bind = 'mount --bind "$1" /etc/localtime && shift && exec "$@"'
            argv = ["unshare", "-m", "--propagation", "private", "sh", "-c", bind, "sh", str(self.localtime), *argv]
        for attempt in (1, 2):
            self.tray = self.desktop.spawn(argv, env=env, name="tray")
            try:
                self.desktop.wait_for_tray_icon(START_SECONDS)
                break
            except HarnessError as exc:
                self.tray.send_signal(signal.SIGUSR1)  # every thread's stack into the log
                wait_until("the stacks in the log", lambda: "Thread 0x" in self.log(), 5)
                if attempt == 2:
                    raise self.fail(str(exc)) from None
                self.tray.kill()  # libfaketime's crawl at start (see START_SECONDS): once more
                self.tray.wait(10)
        # The tray listens on the system bus before it serves the command line (tray/app.py).
        self.wait_for_log("serving the command line", 30)  # status goes through the tray
        assert self.tray is not None
        return self.tray

    @property
    def localtime(self) -> Path:
        return self.desktop.tmp_dir / "localtime"

    def set_zone(self, zone: str) -> None:
        """Rewrite the tray's /etc/localtime in place (the bind mount keeps the file, not the name)."""
        self.localtime.write_bytes((Path("/usr/share/zoneinfo") / zone).read_bytes())

    def log(self) -> str:
        return self.desktop.log("tray")

    def wait_for_log(self, text: str, timeout: float) -> None:
        wait_until(f"{text!r} in the tray's log", lambda: text in self.log(), timeout, interval=0.05)

    def fail(self, why: str) -> AssertionError:
        return AssertionError(f"{why}\n--- notifications ---\n{self.notices()!r}\n--- tray log ---\n{self.log()}")

    # --- a day's events -----------------------------------------------------------------

    def sleep(self, hours: float) -> None:
        """Close the lid for *hours* and open it again."""
        self.bus.prepare_for_sleep(True)
        self.wall.move(timedelta(hours=hours))
        self.wall.settled()  # logind says "resumed" once the clock is right
        self.bus.prepare_for_sleep(False)

    def trayapp(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """The command line beside the tray, on the same fake wall clock (asks the tray first)."""
        return subprocess.run([sys.executable, "-m", "trayapp", *args], env=self.env(), input=stdin,
                              capture_output=True, text=True, timeout=60)  # fmt: skip

    def status(self) -> dict[str, str]:
        """``trayapp status --json`` through the tray: profile → state."""
        import json

        done = self.trayapp("status", "--json")
        if done.returncode != 0:
            raise self.fail(f"status failed: {done.stderr}")
        return {s["profile"]: s["state"] for s in json.loads(done.stdout)}

    def icon_title(self) -> str:
        """The icon's title (xorg: its window's name), which follows the state it is drawn in."""
        wid = self.desktop.find_tray_icons()[0][0]
        return self.desktop.xdotool("getwindowname", str(wid)).strip()

    def wait_for_title(self, text: str, timeout: float) -> None:
        seen: list[str] = []

        def probe() -> bool:
            seen.append(self.icon_title())
            return text in seen[-1]

        try:
            wait_until(f"the icon's title to say {text!r}", probe, timeout, interval=0.05)
        except HarnessError as exc:
            raise self.fail(f"{exc}; it says {seen[-1:]!r}") from None

    def wait_for_icon(self, state: str, timeout: float) -> None:
        """Wait until the tray has last drawn its icon in *state* (``valid``, ``expired``, ``needs-mfa``…)."""

        def probe() -> bool:
            shown = re.findall(r"the icon shows ([\w-]+)", self.log())
            return bool(shown) and shown[-1] == state

        self.wait(f"the tray to draw its icon {state!r}", probe, timeout)

    def notices(self) -> list[str]:
        """Every notification so far, as ``summary — body``."""
        return [f"{n['summary']} — {n['body']}" for n in self.desktop.notifications()]

    def wait_for_notice(self, pattern: str, timeout: float) -> str:
        def probe() -> str | None:
            return next((n for n in self.notices() if re.search(pattern, n)), None)

        try:
            return wait_until(f"a notification matching {pattern!r}", probe, timeout, interval=0.05)
        except HarnessError:
            raise self.fail(f"no notification matching {pattern!r} within {timeout} s") from None

    def wait(self, what: str, probe: Any, timeout: float) -> Any:
        try:
            return wait_until(what, probe, timeout, interval=0.05)
        except HarnessError as exc:
            raise self.fail(str(exc)) from None

    def access_key(self) -> str:
        match = re.search(r"aws_access_key_id = (\S+)", self.credentials.read_text().split("-session]", 1)[-1])
        return match.group(1) if match else ""

    def expiry(self, profile: str) -> datetime:
        text = self.credentials.read_text().split(f"[{profile}-session]", 1)[1]
        found = re.search(r"trayapp_expiration = (\S+)", text)
        assert found is not None
        return datetime.fromisoformat(found.group(1))

    def resources(self) -> tuple[int, int]:
        """The tray's resident memory (kB) and thread count, from /proc."""
        assert self.tray is not None
        status = Path(f"/proc/{self.tray.pid}/status").read_text()
        rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
        threads = int(re.search(r"Threads:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
        return rss, threads
