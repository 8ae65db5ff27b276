"""3. Start to icon and 4. idle cost: the real tray (``trayapp`` with no command) under Xvfb + trayer.

Reuses tests.support.desktop.Desktop (Xvfb, private bus, notification recorder, trayer) and its
find_tray_icons(); every process started here is stopped by PID.
"""

from __future__ import annotations

import contextlib
import importlib.util
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import PYTHON, Codes, check, cpu_seconds, proc_status, run_timed, summary, trayapp_argv
from tests.support.desktop import REPO_ROOT, Desktop
from tests.support.procs import ManagedProcess

READY_LINE = "tray icon shown"  # trayapp.tray.app logs it at INFO from pystray's setup callback
DIALOG_TITLE = "trayapp — MFA code"
START_TIMEOUT = 10.0


def tray_available() -> bool:
    return importlib.util.find_spec("trayapp.tray.app") is not None


def backends() -> list[str]:
    """xorg always; gtk when PyGObject and GTK 3 are importable."""
    probe = "import gi; gi.require_version('Gtk', '3.0'); from gi.repository import Gtk"
    res = subprocess.run([PYTHON, "-c", probe], capture_output=True, timeout=30)
    return ["xorg", "gtk"] if res.returncode == 0 else ["xorg"]


def boto_on_start_path() -> dict[str, bool]:
    """Does importing the tray module pull in boto3/botocore?"""
    probe = (
        "import sys, trayapp.tray.app, trayapp.cli; print(int('boto3' in sys.modules), int('botocore' in sys.modules))"
    )
    res = subprocess.run([PYTHON, "-c", probe], capture_output=True, text=True, timeout=30, cwd=REPO_ROOT)
    check(res, "import probe")
    boto3, botocore = res.stdout.split()
    return {"boto3": boto3 == "1", "botocore": botocore == "1"}


# --- X helpers ---------------------------------------------------------------------------


def _toplevels(desktop: Desktop) -> set[int]:
    """Viewable children of the root window (menus, popups, dialogs; trayer's panel)."""
    from Xlib import X
    from Xlib.error import XError

    found = set()
    for win in desktop.xdisplay.screen().root.query_tree().children:
        with contextlib.suppress(XError):
            if win.get_attributes().map_state == X.IsViewable:
                found.add(win.id)
    return found


def _poll(probe: Callable[[], Any], timeout: float, interval: float = 0.002) -> Any:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        with contextlib.suppress(Exception):
            value = probe()
            if value:
                return value
        time.sleep(interval)
    return None


class TrayRun:
    """One ``trayapp`` tray process on the desktop, timed from just before its start."""

    def __init__(
        self, desktop: Desktop, env: dict[str, str], backend: str, name: str, *, importtime: bool = False
    ) -> None:
        self.desktop = desktop
        env = {**env, "PYSTRAY_BACKEND": backend, "TRAYAPP_LOG": "info"}
        argv = [PYTHON, "-X", "importtime", "-m", "trayapp"] if importtime else trayapp_argv()
        self.t0 = time.perf_counter()
        self.proc = ManagedProcess(name, argv, env=env, log_dir=desktop.log_dir, cwd=REPO_ROOT)
        self.t_icon: float | None = None
        self.t_ready: float | None = None
        self.icon: tuple[int, int, int, int, int] | None = None
        self.log_at_icon = ""

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        return self.proc.log_path.read_text(errors="replace") if self.proc.log_path.exists() else ""

    def wait_icon(self, timeout: float = START_TIMEOUT) -> None:
        """Poll for the docked icon (and the ready log line) as fast as the X round trips allow."""
        deadline = self.t0 + timeout
        while time.perf_counter() < deadline:
            if self.t_ready is None and READY_LINE in self.log():
                self.t_ready = time.perf_counter() - self.t0
            if self.t_icon is None:
                icons = self.desktop.find_tray_icons()
                if icons:
                    self.t_icon = time.perf_counter() - self.t0
                    self.icon = icons[0]
                    self.log_at_icon = self.log()
            if self.t_icon is not None and self.t_ready is not None:
                return
            self.proc.check_alive()
            time.sleep(0.001)
        if self.t_icon is None:
            raise RuntimeError(f"no tray icon within {timeout} s; log:\n{self.log()[-1500:]}")

    #: Seconds to wait for the menu before clicking again (a click right after docking can be lost).
    retry = 0.4

    def open_menu(self, timeout: float = 6.0) -> float | None:
        """Click the icon (again if nothing opens within ``retry`` s) until a new top-level window
        (GTK menu or Tk popup) is viewable; seconds from process start, None if it never opens."""
        assert self.icon is not None
        before = _toplevels(self.desktop)
        deadline = time.perf_counter() + timeout
        self.clicks = 0
        while time.perf_counter() < deadline:
            self.desktop.click_icon(self.icon, 1)
            self.clicks += 1
            new = _poll(lambda: _toplevels(self.desktop) - before, self.retry)
            if new:
                self.menu_windows = new
                return time.perf_counter() - self.t0
        return None

    def close_menu(self) -> None:
        with contextlib.suppress(Exception):
            self.desktop.xdotool("key", "Escape", timeout=3)
        _poll(lambda: not (getattr(self, "menu_windows", set()) & _toplevels(self.desktop)), 2.0)

    def stop(self) -> None:
        self.proc.stop()
        _poll(lambda: not self.desktop.find_tray_icons(), 3.0)


def _import_report(log: str) -> dict[str, Any]:
    """From ``-X importtime`` output up to the icon: was boto3/botocore imported, and the
    heaviest top-level imports."""
    top: list[tuple[int, str]] = []
    names: set[str] = set()
    for line in log.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if not m:
            continue
        names.add(m.group(4).split(".")[0])
        if len(m.group(3)) == 1:  # top level (one space after the bar)
            top.append((int(m.group(2)), m.group(4)))
    top.sort(reverse=True)
    return {
        "boto3_imported_at_icon": "boto3" in names,
        "botocore_imported_at_icon": "botocore" in names,
        "keyring_imported_at_icon": "keyring" in names,
        "tkinter_imported_at_icon": "tkinter" in names,
        "top_level_import_ms": round(sum(us for us, _ in top) / 1000, 1),
        "heaviest_imports_ms": {name: round(us / 1000, 1) for us, name in top[:8]},
    }


# --- the measurements ----------------------------------------------------------------------


def start_to_icon(desktop: Desktop, env: dict[str, str], backend: str, runs: int) -> dict[str, Any]:
    icon, ready, menu, clicks = [], [], [], []
    for i in range(runs + 1):  # run 0 warms the page cache; not counted
        run = TrayRun(desktop, env, backend, f"tray-{backend}-{i}")
        try:
            run.wait_icon()
            t_menu = run.open_menu()
            run.close_menu()
        finally:
            run.stop()
        if i == 0:
            continue
        assert run.t_icon is not None
        icon.append(run.t_icon)
        if run.t_ready is not None:
            ready.append(run.t_ready)
        if t_menu is not None:
            menu.append(t_menu)
            clicks.append(run.clicks)
    traced = TrayRun(desktop, env, backend, f"tray-{backend}-importtime", importtime=True)
    try:
        traced.wait_icon()
        imports = _import_report(traced.log_at_icon)
    finally:
        traced.stop()
    return {
        "runs": runs,
        "icon_docked": summary(icon),
        "ready_logged": summary(ready),
        "menu_opened": summary(menu),
        "menu_opened_in": f"{len(menu)}/{runs} runs",
        "clicks_until_menu": clicks,
        "imports": imports,
    }


def _drive_assume_in_tray(run: TrayRun, code: str, credentials: Path) -> bool:
    """Icon click → menu → first role → "Assume role" → type the code into the dialog → Enter.
    True when the session section appeared in the credentials file."""
    if run.open_menu(timeout=3.0) is None:
        return False
    desktop = run.desktop
    try:
        desktop.xdotool("key", "Down", timeout=3)
        time.sleep(0.15)
        desktop.xdotool("key", "Right", timeout=3)
        time.sleep(0.15)
        desktop.xdotool("key", "Return", timeout=3)
        desktop.type_into(DIALOG_TITLE, code, timeout=6)
        desktop.key(DIALOG_TITLE, "Return", timeout=6)
    except Exception:
        run.close_menu()
        return False
    return bool(_poll(lambda: "[role0000-session]" in credentials.read_text(), 10.0, 0.05))


def idle_cost(desktop: Desktop, home: Any, backend: str, seconds: float) -> dict[str, Any]:
    env = home.env
    run = TrayRun(desktop, env, backend, f"tray-{backend}-idle")
    out: dict[str, Any] = {"backend": backend, "window_s": seconds}
    try:
        run.wait_icon()
        time.sleep(1.0)
        out["after_start"] = proc_status(run.pid)
        code = Codes(400000)()
        if _drive_assume_in_tray(run, code, home.credentials):
            out["assume_driven_by"] = "the tray itself (menu → Assume role → Tk MFA dialog, via xdotool)"
        else:
            argv = [*trayapp_argv(), "assume", "role0000", "--code-stdin"]
            _, res = run_timed(argv, env, stdin=Codes(410000)() + "\n")
            check(res, "trayapp assume (for the idle run)")
            out["assume_driven_by"] = "trayapp assume in another process (the tray could not be driven)"
        time.sleep(2.0)
        out["after_assume"] = proc_status(run.pid)
        cpu0, st0 = cpu_seconds(run.pid), proc_status(run.pid)
        time.sleep(seconds)
        cpu1, st1 = cpu_seconds(run.pid), proc_status(run.pid)
        out["after_idle"] = st1
        out["cpu_ms"] = round((cpu1 - cpu0) * 1000, 1)
        out["voluntary_switches"] = st1["voluntary"] - st0["voluntary"]
        out["nonvoluntary_switches"] = st1["nonvoluntary"] - st0["nonvoluntary"]
        out["wakeups"] = out["voluntary_switches"] + out["nonvoluntary_switches"]
        out["wakeups_per_min"] = round(out["wakeups"] * 60 / seconds, 1)
        out["rss_after_start_mb"] = round(out["after_start"]["rss_kb"] / 1024, 1)
        out["rss_after_assume_mb"] = round(out["after_assume"]["rss_kb"] / 1024, 1)
        out["threads"] = st1["threads"]
    finally:
        run.stop()
    return out


def run(sts_url: str, *, runs: int, idle_seconds: float) -> dict[str, Any]:
    from bench.common import aws_home

    if not tray_available():
        return {"available": False, "note": "trayapp/tray.py does not exist yet: nothing to measure"}
    out: dict[str, Any] = {"available": True, "import_probe": boto_on_start_path(), "backends": {}}
    with Desktop(notifications=True, tray=True) as desktop:
        out["desktop_start_s"] = round(desktop.timings.get("total", 0.0), 3)
        for backend in backends():
            try:
                with aws_home(sts_url, roles=3, base=desktop.env) as home:
                    res = start_to_icon(desktop, home.env, backend, runs)
                    res["idle"] = idle_cost(desktop, home, backend, idle_seconds)
                    from bench.click_bench import click_to_window

                    res["clicks"] = click_to_window(desktop, home.env, backend, max(3, runs + 1))
            except Exception as exc:  # one broken backend must not hide the other's figures
                res = {"error": " ".join(str(exc).split())[-600:]}
            out["backends"][backend] = res
    return out


__all__ = ["run", "tray_available"]
