"""The machine's own word that the wall clock moved: a resume, a clock set, a time zone, the network.

The tray's one timer waits on the monotonic clock, which stands still while a laptop sleeps; these
signals make it look at the wall clock again at once (see docs/ARCHITECTURE.md, "How time is kept"):

* logind's ``PrepareForSleep(false)`` on the system bus: the machine resumed;
* systemd-timedated's ``PropertiesChanged``: the time zone (or NTP) changed;
* NetworkManager's ``StateChanged`` to "connected": a renewal waiting for the network may go now;
* a Linux ``timerfd`` on ``CLOCK_REALTIME`` armed with ``TFD_TIMER_CANCEL_ON_SET``: the kernel
  cancels it whenever the clock is set (by NTP or by hand, forward or back).

Each is optional: no system bus, no logind, no timerfd — that part is skipped and the
scheduler's own drift check (each time its timer goes off) still notices.  Two threads, each
blocked in one read; nothing polls.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import select
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

LOGIN1 = ("org.freedesktop.login1.Manager", "PrepareForSleep", "/org/freedesktop/login1")
NETWORK = ("org.freedesktop.NetworkManager", "StateChanged", "/org/freedesktop/NetworkManager")
TIMEDATE = ("org.freedesktop.DBus.Properties", "PropertiesChanged", "/org/freedesktop/timedate1")
#: NetworkManager's NM_STATE_CONNECTED_GLOBAL: the network is back.
NM_CONNECTED_GLOBAL = 70

CLOCK_REALTIME = 0
TFD_CLOEXEC = 0o2000000
TFD_TIMER_ABSTIME = 1
TFD_TIMER_CANCEL_ON_SET = 2
#: How far ahead the clock-set timer is armed (it only matters when it is cancelled).
FAR = 365 * 24 * 3600


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


class WakeWatch:
    """Calls *on_wake* after a resume, a clock set or a time zone change, and *on_network* when
    NetworkManager says the network is connected again.  Both run on this module's threads:
    hand the work over."""

    def __init__(self, on_wake: Callable[[], None], on_network: Callable[[], None]) -> None:
        self._on_wake = on_wake
        self._on_network = on_network
        self._stopped = False
        self._bus: Any = None
        self._stop_pipe: tuple[int, int] | None = None

    def start(self) -> WakeWatch:
        self._start_bus()
        if sys.platform.startswith("linux"):
            self._start_timerfd()
        return self

    def stop(self) -> None:
        self._stopped = True
        bus = self._bus
        if bus is not None:
            with contextlib.suppress(OSError):
                bus.sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked read
        pipe, self._stop_pipe = self._stop_pipe, None
        if pipe is not None:
            with contextlib.suppress(OSError):
                os.write(pipe[1], b"x")
            with contextlib.suppress(OSError):
                os.close(pipe[1])

    # --- the system bus -------------------------------------------------------------

    def _start_bus(self) -> None:
        try:
            from jeepney.bus_messages import MatchRule, message_bus
            from jeepney.io.blocking import open_dbus_connection

            conn = open_dbus_connection(bus="SYSTEM")
        except Exception as exc:  # no system bus here (a container, a CI runner, macOS): skip
            log.info("no system bus (%s); resume and network signals are not watched", exc)
            return
        try:
            for interface, member, path in (LOGIN1, NETWORK, TIMEDATE):
                rule = MatchRule(type="signal", interface=interface, member=member, path=path)
                conn.send_and_get_reply(message_bus.AddMatch(rule), timeout=5)
        except Exception:
            log.info("the system bus refused the match rules; resume signals are not watched", exc_info=True)
            with contextlib.suppress(OSError):
                conn.close()
            return
        self._bus = conn
        log.info("watching resume, time and network signals on the system bus")
        threading.Thread(target=self._read_bus, args=(conn,), name="trayapp-wake-bus", daemon=True).start()

    def _read_bus(self, conn: Any) -> None:
        from jeepney import HeaderFields

        try:
            while not self._stopped:
                try:
                    msg = conn.receive()
                except (ConnectionError, OSError, EOFError):
                    return
                fields = msg.header.fields
                key = (fields.get(HeaderFields.interface), fields.get(HeaderFields.member))
                self._signal(key, msg.body)
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    def _signal(self, key: tuple[Any, Any], body: tuple[Any, ...]) -> None:
        if key == LOGIN1[:2] and body[:1] == (False,):
            log.info("the machine resumed")
            self._call(self._on_wake)
        elif key == TIMEDATE[:2]:
            log.info("the time settings changed")
            self._call(self._on_wake)
        elif key == NETWORK[:2] and body[:1] == (NM_CONNECTED_GLOBAL,):
            log.info("the network is connected")
            self._call(self._on_network)

    @staticmethod
    def _call(fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:
            log.exception("a wake handler failed")

    # --- the clock-set timer ------------------------------------------------------------

    def _start_timerfd(self) -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = libc.timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC)
            if fd < 0:
                raise OSError(ctypes.get_errno(), "timerfd_create")
            settime = libc.timerfd_settime
        except (OSError, AttributeError) as exc:
            log.info("no timerfd (%s); a clock set is noticed when the timer next goes off", exc)
            return
        self._stop_pipe = os.pipe()
        threading.Thread(
            target=self._read_timerfd, args=(fd, settime, self._stop_pipe[0]), name="trayapp-wake-clock", daemon=True
        ).start()

    def _read_timerfd(self, fd: int, settime: Any, stop_read: int) -> None:
        try:
            while not self._stopped:
                spec = _Itimerspec(_Timespec(0, 0), _Timespec(int(time.time()) + FAR, 0))
                if settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, ctypes.byref(spec), None) != 0:
                    log.info("timerfd_settime failed (errno %d); clock sets are not watched", ctypes.get_errno())
                    return
                ready, _, _ = select.select([fd, stop_read], [], [])
                if stop_read in ready:
                    return
                try:
                    os.read(fd, 8)
                except OSError as exc:
                    if exc.errno != errno.ECANCELED:
                        raise
                    log.info("the wall clock was set")
                    self._call(self._on_wake)
        finally:
            for end in (fd, stop_read):
                with contextlib.suppress(OSError):
                    os.close(end)


def watch_wake(on_wake: Callable[[], None], on_network: Callable[[], None]) -> WakeWatch:
    """Start watching; returns the watch (``stop()`` it when the tray ends)."""
    return WakeWatch(on_wake, on_network).start()
