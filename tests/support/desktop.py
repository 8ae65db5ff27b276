"""A private, throw-away X11 desktop for end-to-end tests.

``Desktop`` starts, each bounded by a timeout and torn down by PID on exit:

* a fresh temp dir used as ``HOME``, ``XDG_RUNTIME_DIR`` (0700) and ``TMPDIR``;
* ``Xvfb`` on a display number it picks itself (``-displayfd``);
* a private ``dbus-daemon`` session bus (listens in the temp dir, allows
  everything, auto-starts nothing);
* optionally the recording notification server (``tests.support.notify_server``);
* optionally ``trayer`` as the XEmbed system tray (waits for ``_NET_SYSTEM_TRAY_S0``);
* optionally ``gnome-keyring-daemon`` (secrets only, unlocked).

Usage::

    with Desktop() as d:
        subprocess.run(["notify-send", "hi"], env=d.env, check=True)
        d.wait_for_notification(lambda n: n["summary"] == "hi")
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from .procs import (
    START_TIMEOUT,
    HarnessError,
    ManagedProcess,
    read_line_from_fd,
    scaled,
    wait_until,
)

REPO_ROOT = Path(__file__).resolve().parents[2]

NOTIFICATIONS_NAME = "org.freedesktop.Notifications"
NOTIFICATIONS_PATH = "/org/freedesktop/Notifications"
SECRETS_NAME = "org.freedesktop.secrets"

#: Tools a full Desktop (Xvfb + bus + tray + xdotool) needs on PATH.
REQUIRED_TOOLS = ("Xvfb", "dbus-daemon", "trayer", "xdotool")

#: Variables never inherited into the desktop's environment (besides AWS_*):
#: they would point programs at the developer's real session.
_DROPPED_VARS = frozenset(
    {
        "DISPLAY",
        "WAYLAND_DISPLAY",
        "XAUTHORITY",
        "DBUS_SESSION_BUS_ADDRESS",
        "SESSION_MANAGER",
        "GNOME_KEYRING_CONTROL",
        "SSH_AUTH_SOCK",
        "XDG_SESSION_ID",
        "XDG_CONFIG_HOME",
        "XDG_DATA_HOME",
        "XDG_CACHE_HOME",
        "XDG_STATE_HOME",
        "XDG_RUNTIME_DIR",
        "HOME",
        "TMPDIR",
    }
)

BUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <keep_umask/>
  <listen>unix:dir={listen_dir}</listen>
  <auth>EXTERNAL</auth>
  <servicedir>{service_dir}</servicedir>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
    <allow user="*"/>
  </policy>
</busconfig>
"""


_DIR_PREFIX = "trayapp-desktop-"


def _sweep_stale_dirs(min_age: float = 60.0) -> None:
    """Remove Desktop dirs left by test processes that were killed before cleaning up.

    Only dirs with an ``owner.pid`` whose process is gone, older than *min_age* seconds.
    """
    now = time.time()
    for d in Path(tempfile.gettempdir()).glob(_DIR_PREFIX + "*"):
        try:
            pid = int((d / "owner.pid").read_text())
            if now - d.stat().st_mtime < min_age:
                continue
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(d, ignore_errors=True)
        except (OSError, ValueError):
            continue


def missing_tools(tools: Sequence[str] = REQUIRED_TOOLS) -> list[str]:
    return [t for t in tools if shutil.which(t) is None]


def clean_base_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """*base* (default ``os.environ``) without AWS_* and session-specific variables."""
    src = os.environ if base is None else base
    return {k: v for k, v in src.items() if not k.startswith("AWS_") and k not in _DROPPED_VARS}


def _ere_escape(text: str) -> str:
    """Escape *text* for a POSIX extended regex (what ``xdotool search`` uses)."""
    return "".join("\\" + c if c in ".[]()*+?{}|^$\\" else c for c in text)


class Desktop:
    """Private X display + session bus (+ notifications, tray, keyring) for one test."""

    def __init__(
        self,
        *,
        notifications: bool = True,
        tray: bool = True,
        keyring: bool = False,
        keyring_password: str = "test-password",
        screen: str = "1280x800x24",
        tray_align: str = "left",
        timeout: float = START_TIMEOUT,
        keep_dir: bool = False,
    ) -> None:
        self.want_notifications = notifications
        self.want_tray = tray
        self.want_keyring = keyring
        self.keyring_password = keyring_password
        self.screen = screen
        self.tray_align = tray_align  # trayer's panel along the bottom edge: left, center or right
        self.timeout = timeout
        self.keep_dir = keep_dir

        self.root: Path | None = None
        self.display: str | None = None  # ":N"
        self.bus_address: str | None = None
        self.notify_file: Path | None = None
        #: seconds each start-up step took (filled in by start())
        self.timings: dict[str, float] = {}
        self._procs: list[ManagedProcess] = []
        self._xdisplay: Any = None  # Xlib.display.Display, opened lazily
        self._bus: Any = None  # jeepney blocking DBusConnection, opened lazily

    # ------------------------------------------------------------------ paths
    def _path(self, *parts: str) -> Path:
        if self.root is None:
            raise HarnessError("Desktop is not started")
        return self.root.joinpath(*parts)

    @property
    def home(self) -> Path:
        return self._path("home")

    @property
    def runtime_dir(self) -> Path:
        return self._path("run")

    @property
    def tmp_dir(self) -> Path:
        return self._path("tmp")

    @property
    def log_dir(self) -> Path:
        return self._path("logs")

    # -------------------------------------------------------------------- env
    @property
    def env(self) -> dict[str, str]:
        """Environment for programs run on this desktop (a fresh copy each time).

        ``os.environ`` (PATH, LANG, ...) minus every ``AWS_*`` variable and the
        developer's own session variables, plus DISPLAY, DBUS_SESSION_BUS_ADDRESS,
        NO_AT_BRIDGE=1, HOME, XDG_RUNTIME_DIR, TMPDIR and XDG_{CONFIG,DATA,CACHE}_HOME
        inside HOME.
        """
        if self.display is None or self.bus_address is None:
            raise HarnessError("Desktop is not started")
        env = clean_base_env()
        home = self.home
        env.update(
            DISPLAY=self.display,
            DBUS_SESSION_BUS_ADDRESS=self.bus_address,
            NO_AT_BRIDGE="1",
            HOME=str(home),
            XDG_RUNTIME_DIR=str(self.runtime_dir),
            TMPDIR=str(self.tmp_dir),
            XDG_CONFIG_HOME=str(home / ".config"),
            XDG_DATA_HOME=str(home / ".local" / "share"),
            XDG_CACHE_HOME=str(home / ".cache"),
        )
        return env

    # ------------------------------------------------------------- lifecycle
    def __enter__(self) -> Desktop:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> Desktop:
        missing = missing_tools(
            ("Xvfb", "dbus-daemon")
            + (("trayer",) if self.want_tray else ())
            + (("gnome-keyring-daemon",) if self.want_keyring else ())
        )
        if missing:
            raise HarnessError(f"Desktop needs these programs on PATH: {', '.join(missing)}")
        t_all = time.monotonic()
        try:
            self._make_dirs()
            self._step("xvfb", self._start_xvfb)
            self._step("dbus", self._start_dbus)
            if self.want_notifications:
                self._step("notifications", self._start_notifications)
            if self.want_tray:
                self._step("trayer", self._start_trayer)
            if self.want_keyring:
                self._step("keyring", self._start_keyring)
        except BaseException:
            self.stop()
            raise
        self.timings["total"] = time.monotonic() - t_all
        return self

    def _step(self, name: str, fn: Callable[[], None]) -> None:
        t0 = time.monotonic()
        fn()
        self.timings[name] = time.monotonic() - t0

    def stop(self) -> None:
        """Stop every process started here, by PID, newest first; remove the temp dir."""
        if self._bus is not None:
            with contextlib.suppress(OSError):
                self._bus.close()
            self._bus = None
        if self._xdisplay is not None:
            with contextlib.suppress(Exception):  # the X server may be gone already
                self._xdisplay.close()
            self._xdisplay = None
        for proc in reversed(self._procs):
            proc.stop()
        self._procs.clear()
        if self.root is not None and not self.keep_dir:
            shutil.rmtree(self.root, ignore_errors=True)

    def _make_dirs(self) -> None:
        _sweep_stale_dirs()
        self.root = Path(tempfile.mkdtemp(prefix=_DIR_PREFIX))
        (self.root / "owner.pid").write_text(str(os.getpid()))
        for sub in ("home", "tmp", "logs", "bus", "services"):
            (self.root / sub).mkdir()
        self.runtime_dir.mkdir(mode=0o700)
        os.chmod(self.runtime_dir, 0o700)

    def _spawn(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        pass_fds: Sequence[int] = (),
        stdin: int | None = subprocess.DEVNULL,
    ) -> ManagedProcess:
        proc = ManagedProcess(
            name,
            argv,
            env=env if env is not None else self.env,
            log_dir=self.log_dir,
            cwd=self.home,
            pass_fds=pass_fds,
            stdin=stdin,
        )
        self._procs.append(proc)
        return proc

    def _start_xvfb(self) -> None:
        r, w = os.pipe()
        try:
            env = clean_base_env()
            env.update(HOME=str(self.home), TMPDIR=str(self.tmp_dir))
            proc = self._spawn(
                "Xvfb",
                ["Xvfb", "-displayfd", str(w), "-screen", "0", self.screen, "-nolisten", "tcp"],
                env=env,
                pass_fds=(w,),
            )
            os.close(w)
            w = -1
            number = read_line_from_fd(r, "Xvfb to report its display number", self.timeout, proc)
        finally:
            os.close(r)
            if w != -1:
                os.close(w)
        if not number.isdigit():
            raise HarnessError(f"Xvfb reported a strange display number: {number!r}")
        self.display = f":{number}"

    def _start_dbus(self) -> None:
        conf = self._path("bus.conf")
        conf.write_text(BUS_CONF.format(listen_dir=self._path("bus"), service_dir=self._path("services")))
        r, w = os.pipe()
        try:
            env = clean_base_env()
            env.update(HOME=str(self.home), TMPDIR=str(self.tmp_dir))
            proc = self._spawn(
                "dbus-daemon",
                [
                    "dbus-daemon",
                    f"--config-file={conf}",
                    "--nofork",
                    "--nopidfile",
                    f"--print-address={w}",
                ],
                env=env,
                pass_fds=(w,),
            )
            os.close(w)
            w = -1
            address = read_line_from_fd(r, "dbus-daemon to print its address", self.timeout, proc)
        finally:
            os.close(r)
            if w != -1:
                os.close(w)
        if not address.startswith("unix:"):
            raise HarnessError(f"dbus-daemon printed a strange address: {address!r}")
        self.bus_address = address

    def _start_notifications(self) -> None:
        self.notify_file = self._path("notifications.jsonl")
        env = self.env
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
        proc = self._spawn(
            "notify_server",
            [sys.executable, "-m", "tests.support.notify_server", str(self.notify_file)],
            env=env,
        )
        self.wait_for_bus_name(NOTIFICATIONS_NAME, proc=proc)

    def start_trayer(self) -> None:
        """Start the XEmbed tray now (for a desktop started with ``tray=False``)."""
        self._start_trayer()

    def _start_trayer(self) -> None:
        proc = self._spawn(
            "trayer",
            [
                "trayer",
                "--edge",
                "bottom",
                "--align",
                self.tray_align,
                "--widthtype",
                "pixel",
                "--width",
                "300",
                "--height",
                "32",
            ],
        )
        atom = self.xdisplay.intern_atom("_NET_SYSTEM_TRAY_S0")
        wait_until(
            "trayer to own the _NET_SYSTEM_TRAY_S0 selection",
            lambda: self.xdisplay.get_selection_owner(atom) not in (0, None),
            self.timeout,
            proc=proc,
        )

    def _start_keyring(self) -> None:
        proc = self._spawn(
            "gnome-keyring-daemon",
            ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
            stdin=subprocess.PIPE,
        )
        assert proc.popen.stdin is not None
        proc.popen.stdin.write(self.keyring_password.encode())
        proc.popen.stdin.close()
        self.wait_for_bus_name(SECRETS_NAME, proc=proc)

    # ---------------------------------------------------------------- spawn
    def spawn(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        name: str | None = None,
        extra_env: Mapping[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start a program on this desktop; it is stopped (by PID) when the Desktop stops.

        Output goes to ``logs/NAME.log`` (see ``log(name)``).
        """
        full_env = dict(env) if env is not None else self.env
        full_env.update(extra_env or {})
        label = name or f"{Path(argv[0]).name}-{len(self._procs)}"
        return self._spawn(label, argv, env=full_env).popen

    def log(self, name: str) -> str:
        """The output so far of the process started under *name*."""
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._procs]

    # ------------------------------------------------------------------ D-Bus
    @property
    def bus(self) -> Any:
        """A jeepney blocking connection to the private session bus (the harness's own)."""
        if self._bus is None:
            from jeepney.io.blocking import open_dbus_connection

            if self.bus_address is None:
                raise HarnessError("Desktop is not started")
            self._bus = open_dbus_connection(bus=self.bus_address)
        return self._bus

    def name_has_owner(self, name: str) -> bool:
        from jeepney.bus_messages import message_bus

        reply = self.bus.send_and_get_reply(message_bus.NameHasOwner(name), timeout=2)
        return bool(reply.body[0])

    def wait_for_bus_name(self, name: str, timeout: float | None = None, proc: ManagedProcess | None = None) -> None:
        wait_until(
            f"{name} to appear on the session bus",
            lambda: self.name_has_owner(name),
            self.timeout if timeout is None else timeout,
            proc=proc,
        )

    # ---------------------------------------------------------- notifications
    def _call_test_method(self, method: str, signature: str, body: tuple[Any, ...]) -> None:
        from jeepney import DBusAddress, MessageType, new_method_call

        if not self.want_notifications:
            raise HarnessError("Desktop was started with notifications=False")
        addr = DBusAddress(NOTIFICATIONS_PATH, bus_name=NOTIFICATIONS_NAME, interface="org.trayapp.Test")
        reply = self.bus.send_and_get_reply(new_method_call(addr, method, signature, body), timeout=5)
        if reply.header.message_type == MessageType.error:
            raise HarnessError(f"notify_server {method} failed: {reply.body!r}")

    def invoke_action(self, notification_id: int, action_key: str, *, close: bool = True) -> None:
        """Act as if the user clicked *action_key* on notification *notification_id*.

        The recording server emits ``ActionInvoked(id, key)`` and then, like real
        daemons do, ``NotificationClosed(id, 2)`` unless ``close=False``.
        """
        self._call_test_method("Invoke", "us", (notification_id, action_key))
        if close:
            self.close_notification(notification_id, 2)

    def close_notification(self, notification_id: int, reason: int = 2) -> None:
        """Emit ``NotificationClosed(id, reason)`` (1 expired, 2 dismissed, 3 closed, 4 other)."""
        self._call_test_method("Close", "uu", (notification_id, reason))

    def _read_jsonl(self, path: Path | None) -> list[dict[str, Any]]:
        if path is None:
            raise HarnessError("Desktop was started with notifications=False")
        if not path.exists():
            return []
        out = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.endswith("}"):  # skip a line still being written
                out.append(json.loads(line))
        return out

    def notifications(self) -> list[dict[str, Any]]:
        """Every Notify call so far: app_name, replaces_id, app_icon, summary, body,
        actions, hints, expire_timeout, id."""
        return self._read_jsonl(self.notify_file)

    def closed_notifications(self) -> list[int]:
        """Ids passed to CloseNotification by clients so far."""
        path = None if self.notify_file is None else Path(str(self.notify_file) + ".closed")
        return [rec["id"] for rec in self._read_jsonl(path)]

    def wait_for_notification(
        self,
        predicate: Callable[[dict[str, Any]], bool] = lambda n: True,
        timeout: float = 5.0,
    ) -> dict[str, Any]:
        """The first recorded notification matching *predicate* (HarnessError on timeout)."""

        def probe() -> dict[str, Any] | None:
            return next((n for n in self.notifications() if predicate(n)), None)

        try:
            return wait_until("a matching notification", probe, timeout, interval=0.01)
        except HarnessError as exc:
            raise HarnessError(f"{exc}; recorded so far: {self.notifications()!r}") from None

    # -------------------------------------------------------------------- X11
    @property
    def xdisplay(self) -> Any:
        """A python-xlib Display connected to this Xvfb (the harness's own)."""
        if self._xdisplay is None:
            from Xlib.display import Display

            if self.display is None:
                raise HarnessError("Desktop is not started")
            self._xdisplay = Display(self.display)
        return self._xdisplay

    def find_tray_icons(self) -> list[tuple[int, int, int, int, int]]:
        """Viewable windows carrying ``_XEMBED_INFO``: ``[(window_id, x, y, w, h)]``,
        x/y absolute (root) coordinates."""
        from Xlib import X
        from Xlib.error import XError

        d = self.xdisplay
        xembed = d.intern_atom("_XEMBED_INFO")
        root = d.screen().root
        found: list[tuple[int, int, int, int, int]] = []
        stack = [root]
        while stack:
            win = stack.pop()
            try:
                children = win.query_tree().children
            except XError:
                continue  # vanished while we walked
            for child in children:
                try:
                    attrs = child.get_attributes()
                    if attrs.map_state != X.IsViewable:
                        continue
                    stack.append(child)
                    if child.get_full_property(xembed, X.AnyPropertyType) is None:
                        continue
                    geo = child.get_geometry()
                    pos = root.translate_coords(child, 0, 0)
                    found.append((child.id, pos.x, pos.y, geo.width, geo.height))
                except XError:
                    continue
        return found

    def wait_for_tray_icon(self, timeout: float = 5.0) -> tuple[int, int, int, int, int]:
        """The first docked icon (window_id, x, y, w, h); HarnessError on timeout."""
        icons = wait_until(
            "a tray icon (viewable window with _XEMBED_INFO)",
            self.find_tray_icons,
            timeout,
            interval=0.01,
        )
        return icons[0]

    def window_geometry(self, wid: int) -> tuple[int, int, int, int]:
        """(x, y, width, height) of window *wid*, x/y absolute."""
        d = self.xdisplay
        win = d.create_resource_object("window", wid)
        geo = win.get_geometry()
        pos = d.screen().root.translate_coords(win, 0, 0)
        return (pos.x, pos.y, geo.width, geo.height)

    def xdotool(self, *args: str, timeout: float = 10.0) -> str:
        """Run ``xdotool ARGS`` on this display; HarnessError on failure or timeout."""
        argv = ["xdotool", *args]
        timeout = scaled(timeout)
        try:
            res = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise HarnessError(f"timed out after {timeout:.1f}s: {' '.join(argv)}") from None
        if res.returncode != 0:
            raise HarnessError(f"{' '.join(argv)} failed with status {res.returncode}: {res.stderr.strip()}")
        return res.stdout

    def click(self, x: int, y: int, button: int = 1) -> None:
        """Move the pointer to (x, y) and click *button* (1 left, 2 middle, 3 right)."""
        self.xdotool("mousemove", str(x), str(y), "click", str(button))

    def click_icon(self, icon: tuple[int, int, int, int, int], button: int = 1) -> None:
        """Click the centre of an icon returned by find_tray_icons()."""
        _, x, y, w, h = icon
        self.click(x + w // 2, y + h // 2, button)

    def wait_for_window(self, name_substring: str, timeout: float = 5.0) -> int:
        """Id of the first window whose name contains *name_substring* (literal text)."""
        out = self.xdotool("search", "--sync", "--name", _ere_escape(name_substring), timeout=timeout)
        return int(out.split()[0])

    def type_into(self, window_name: str, text: str, timeout: float = 10.0) -> None:
        """Focus the window named *window_name* (substring) and type *text*."""
        self.xdotool(
            "search",
            "--sync",
            "--name",
            _ere_escape(window_name),
            "windowfocus",
            "--sync",
            "type",
            "--",
            text,
            timeout=timeout,
        )

    def key(self, window_name: str, *keys: str, timeout: float = 10.0) -> None:
        """Focus the window named *window_name* and press *keys* (e.g. "Return", "Escape").

        The keys go through XTEST to the focused window in a second xdotool call: in a
        chain xdotool would XSendEvent them to the window itself and fail with BadWindow
        when the key closes it (Enter submits, Escape cancels) before the key-up.
        """
        self.focus(window_name, timeout=timeout)
        self.xdotool("key", *keys, timeout=timeout)

    def focus(self, window_name: str, timeout: float = 10.0) -> None:
        """Wait for the window named *window_name* and give it the input focus."""
        self.xdotool("search", "--sync", "--name", _ere_escape(window_name), "windowfocus", "--sync", timeout=timeout)

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        """The RGB colour of the screen at (x, y)."""
        from PIL import ImageGrab

        if self.display is None:
            raise HarnessError("Desktop is not started")
        img = ImageGrab.grab(bbox=(x, y, x + 1, y + 1), xdisplay=self.display).convert("RGB")
        pixel = img.getpixel((0, 0))
        if not isinstance(pixel, tuple):
            raise HarnessError(f"unexpected pixel value {pixel!r}")
        return (int(pixel[0]), int(pixel[1]), int(pixel[2]))

    def wait_for_pixel(
        self, x: int, y: int, predicate: Callable[[tuple[int, int, int]], bool], timeout: float = 5.0
    ) -> tuple[int, int, int]:
        """Poll the colour at (x, y) until *predicate* accepts it (a window may map before it paints)."""
        seen: list[tuple[int, int, int]] = []

        def probe() -> tuple[int, int, int] | None:
            seen.append(self.pixel(x, y))
            return seen[-1] if predicate(seen[-1]) else None

        try:
            return wait_until(f"the pixel at ({x}, {y}) to match", probe, timeout, interval=0.02)
        except HarnessError as exc:
            raise HarnessError(f"{exc}; last colour {seen[-1] if seen else None}") from None

    def screenshot(self, path: str | os.PathLike[str]) -> Path:
        """Save a PNG of the whole screen; returns the path."""
        from PIL import ImageGrab

        if self.display is None:
            raise HarnessError("Desktop is not started")
        img = ImageGrab.grab(xdisplay=self.display)
        out = Path(path)
        img.save(out)
        return out
