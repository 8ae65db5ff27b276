"""The StatusNotifierItem backend: its menu at scale and the tray's memory, beside xorg and gtk.

    .venv/bin/python -m bench.sni_bench            # sizes up to 10,000 roles, RSS per backend
    .venv/bin/python -m bench.sni_bench --quick    # up to 1,000 roles, fewer repetitions

Menu (issue 24, "menu ready ≤ 150 ms after a config change at 10,000 roles, growth linear"): a config
of N MFA roles (half with a session) read once by the tray's own (resident) ``Service``; then one role
is edited in the config and the clock starts: what the running tray does — read what changed,
``take_snapshot``, ``PystrayView.show`` and, on sni, the tray's side of the panel's ``GetLayout(0, 1)``
(xorg ends with ``show``: pystray has no menu there).  Beside it: a session written instead, the first
reading (nothing known), the panel's ``GetLayout`` over a private session bus, opening one role
(``AboutToShow`` + ``GetLayout`` of its submenu, built now), and "before": every role's submenu built
up front (what the tray did before the submenus were built when opened).

Memory (budget 80 MB after one assume): the tray under Xvfb on each backend, one assume driven
through the tray itself (SNI: a watcher + host on the bus click "Assume role" as a panel does;
xorg/gtk: a click on the docked icon), the code typed into the Tk dialog with xdotool; then RSS,
PSS and USS from ``/proc/PID/smaps_rollup``, and whether GTK / PyGObject are mapped.
"""

from __future__ import annotations

import argparse
import gc
import inspect
import json
import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import ACCOUNT, PYTHON, REGION, Codes, aws_home, growth, patched_environ, summary
from tests.support.desktop import Desktop
from tests.support.sts import MotoServer

SIZES = (1000, 2000, 5000, 10_000)
QUICK_SIZES = (100, 1000)
GTK_MARKS = ("libgtk-3", "_gi.cpython")


def _timed(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    value = fn()
    return time.perf_counter() - t0, value


class _StandIn:
    """The part of an icon ``PystrayView.show`` touches once the state is unchanged: ``update_menu``.
    On sni it is ``trayapp.tray.sni.Icon.update_menu``'s one line, on the bench's exported menu; on xorg
    pystray's own ``update_menu`` does nothing ("Menus are not supported on X": the Tk popup is made from
    the snapshot when clicked)."""

    def __init__(self, update: Any) -> None:
        self.update_menu = update


def _edit(config: Path, base: str, role: str, i: int) -> None:
    """A user's edit of one role profile in the middle of the config (new content every time)."""
    config.write_text(base.replace(f"[profile {role}]\n", f"[profile {role}]\nexternal_id = bench-edit-{i}\n", 1))


def menu_at_scale(sts_url: str, bus_address: str, sizes: tuple[int, ...], repeat: int) -> dict[str, Any]:
    """Config changed → menu ready for a panel (sni, over the bus at *bus_address*) and in the tray (xorg)."""
    from jeepney import DBusAddress, new_method_call
    from jeepney.io.blocking import open_dbus_connection

    from trayapp.core.preferences import Preferences
    from trayapp.core.sts import Credentials
    from trayapp.tray import dbusmenu
    from trayapp.tray.app import _default_service
    from trayapp.tray.dbus_service import Bus
    from trayapp.tray.menu_model import LazyChildren, build_menu
    from trayapp.tray.view import Popup, PystrayView, take_snapshot

    bus = Bus(bus_address)
    menu = dbusmenu.DbusMenu(lambda _a: None, lambda m, s, b: bus.emit(dbusmenu.PATH, dbusmenu.IFACE, m, s, b))
    bus.export(dbusmenu.PATH, menu)
    reader = threading.Thread(target=bus.serve, daemon=True)
    reader.start()
    panel = open_dbus_connection(bus=bus_address)
    target = DBusAddress(dbusmenu.PATH, bus_name=bus.unique_name, interface=dbusmenu.IFACE)
    get_layout = menu.methods()["GetLayout"]

    def call(method: str, signature: str, body: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(panel.send_and_get_reply(new_method_call(target, method, signature, body), timeout=30).body)

    def view(update: Any) -> PystrayView:
        shown = PystrayView(lambda _a: None, Popup(lambda _m: None), threading.Event())
        shown.icon = _StandIn(update)
        return shown

    sni_view = view(lambda: menu.set_menu(sni_view.snapshot.menu))
    xorg_view = view(lambda: None)

    takes_previous = "previous" in inspect.signature(take_snapshot).parameters  # the tree before this bench: no
    passes: list[float] = []  # the collector: when the current pass started
    spent: list[float] = []  # the collector: seconds of each pass in the current window

    def on_gc(phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            passes.append(time.perf_counter())
        elif passes:
            spent.append(time.perf_counter() - passes.pop())

    def ready(service: Any, shown: PystrayView, sni: bool) -> tuple[float, float, float]:
        """What the tray does from a change of the files to a menu a panel can read: read what changed,
        take the snapshot (roles, sessions, labels), show it (compare, new revision) and, on sni, the
        tray's side of the panel's ``GetLayout(0, 1)`` to the bytes.  Wall, CPU and garbage-collector seconds."""
        spent.clear()
        gc.callbacks.append(on_gc)
        t0, c0 = time.perf_counter(), time.thread_time()
        try:
            previous = {"previous": shown.snapshot} if takes_previous else {}
            shown.show(take_snapshot(service, **previous))  # as TrayApp.refresh does
            if sni:
                get_layout((0, 1, []))
            return time.perf_counter() - t0, time.thread_time() - c0, sum(spent)
        finally:
            gc.callbacks.remove(on_gc)

    rows: dict[str, Any] = {}
    keys = ("edit_sni", "edit_sni_cpu", "edit_sni_gc", "edit_xorg", "edit_read", "session_sni", "first_read_sni",
            "panel_round_trip", "open_one_role", "before_all_submenus_built")  # fmt: skip
    try:
        for n in sizes:
            samples: dict[str, list[float]] = {key: [] for key in keys}
            with aws_home(sts_url, roles=n, sessions=n // 2) as home, patched_environ(home.env):
                base = home.config.read_text()
                middle = f"role{n // 2:04d}"
                service = _default_service(Preferences)  # the tray's, running: it has read the files once
                for shown in (sni_view, xorg_view):
                    ready(service, shown, False)
                for i in range(repeat):
                    # 1. The user edits one role in the config: sni, then (another edit) xorg.
                    _edit(home.config, base, middle, 2 * i)
                    wall, cpu, collector = ready(service, sni_view, True)
                    samples["edit_sni"].append(wall)
                    samples["edit_sni_cpu"].append(cpu)
                    samples["edit_sni_gc"].append(collector)
                    seconds, (_rev, (_id, _props, top)) = _timed(lambda: call("GetLayout", "iias", (0, 1, [])))
                    samples["panel_round_trip"].append(seconds)
                    if len(top) < n:
                        raise RuntimeError(f"the panel read {len(top)} items for {n} roles")
                    node = top[len(top) // 2][1][0]
                    seconds, _ = _timed(
                        lambda m=node: (call("AboutToShow", "i", (m,)), call("GetLayout", "iias", (m, 1, [])))
                    )
                    samples["open_one_role"].append(seconds)
                    gc.collect()  # the bench's own panel parsed ~1 MB here: its garbage is not the tray's next figure
                    _edit(home.config, base, middle, 2 * i + 1)
                    samples["edit_xorg"].append(ready(service, xorg_view, False)[0])
                    _edit(home.config, base, middle, 2 * i + 2)
                    samples["edit_read"].append(_timed(lambda s=service: (s.roles(), s.problems()))[0])
                    # 2. A session written (an assume, or another trayapp): the credentials file changed.
                    expires = service.now() + timedelta(hours=1, minutes=i)
                    written = Credentials("ASIA" + "B" * 16, "s" * 40, "t" * 300)
                    service.write_session(middle, f"arn:aws:iam::{ACCOUNT}:role/{middle}", written, expires, REGION)
                    samples["session_sni"].append(ready(service, sni_view, True)[0])
                    # 3. The first reading (the tray starting; or every profile changed at once): nothing known.
                    first = _default_service(Preferences)
                    samples["first_read_sni"].append(ready(first, sni_view, True)[0])
                    # Before issue 24: every role's submenu built with the menu.
                    roles, problems = service.roles(), service.problems()
                    t0 = time.perf_counter()
                    for item in build_menu(roles, problems, service.now(), service.warn_lead()):
                        if isinstance(item.children, LazyChildren):
                            len(item.children)
                    samples["before_all_submenus_built"].append(time.perf_counter() - t0)
            rows[str(n)] = {key: summary(values) for key, values in samples.items()}
    finally:
        panel.close()
        bus.close()
    out: dict[str, Any] = {"sizes": list(sizes), "by_size": rows}
    for key in ("edit_sni", "edit_sni_cpu", "edit_xorg", "session_sni", "first_read_sni", "before_all_submenus_built"):
        out[f"{key}_growth"] = growth(sizes, [rows[str(n)][key]["median_ms"] for n in sizes])
    return out


def memory(pid: int) -> dict[str, Any]:
    """RSS, PSS and USS (MB) from smaps_rollup, and GTK / PyGObject mapped or not."""
    fields: dict[str, int] = {}
    with open(f"/proc/{pid}/smaps_rollup") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if value.strip().endswith("kB"):
                fields[key] = int(value.split()[0])
    maps = Path(f"/proc/{pid}/maps").read_text()
    return {
        "rss_mb": round(fields.get("Rss", 0) / 1024, 1),
        "pss_mb": round(fields.get("Pss", 0) / 1024, 1),
        "uss_mb": round((fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)) / 1024, 1),
        "gtk_loaded": any(mark in maps for mark in GTK_MARKS[:1]),
        "pygobject_loaded": any(mark in maps for mark in GTK_MARKS[1:]),
    }


def _sni_tray(desktop: Desktop, env: dict[str, str], credentials: Path, code: str) -> dict[str, Any]:
    from bench.common import trayapp_argv
    from tests.support.procs import ManagedProcess, wait_until
    from tests.support.sni_host import Host, Watcher

    assert desktop.bus_address is not None
    watcher = Watcher(desktop.bus_address).start()
    t0 = time.perf_counter()
    proc = ManagedProcess(
        "tray-sni-memory", trayapp_argv(), env={**env, "TRAYAPP_LOG": "info"}, log_dir=desktop.log_dir
    )
    try:
        name, path = watcher.wait_for_item()
        registered_ms = (time.perf_counter() - t0) * 1000  # polled every 20 ms
        host = Host(desktop.bus_address, name, path)
        wait_until(
            "the roles in the menu", lambda: any(i.label.startswith("role0000") for i in host.layout(0)[1].children), 20
        )
        roles_ms = (time.perf_counter() - t0) * 1000
        time.sleep(1.0)
        after_start = memory(proc.pid)
        host.click(host.find("role0000", "Assume role"))
        desktop.type_into("trayapp — MFA code", code, timeout=15)
        desktop.key("trayapp — MFA code", "Return", timeout=15)
        wait_until("the session written", lambda: "[role0000-session]" in credentials.read_text(), 20)
        time.sleep(2.0)
        out = {
            "start_to_registered_ms": round(registered_ms, 1),
            "start_to_roles_in_menu_ms": round(roles_ms, 1),
            "after_start": after_start,
            "after_assume": memory(proc.pid),
            "assume_driven_by": "a panel's click over dbusmenu",
        }
        host.close()
        return out
    finally:
        proc.stop()
        watcher.stop()


def _pystray_tray(desktop: Desktop, env: dict[str, str], backend: str, credentials: Path, code: str) -> dict[str, Any]:
    from bench.desktop_bench import TrayRun, _drive_assume_in_tray

    run = TrayRun(desktop, env, backend, f"tray-{backend}-memory")
    try:
        run.wait_icon()
        time.sleep(1.0)
        after_start = memory(run.pid)
        driven_by = "a click on the icon"
        if not _drive_assume_in_tray(run, code, credentials):
            from bench.common import check, run_timed, trayapp_argv

            _, res = run_timed([*trayapp_argv(), "assume", "role0000", "--code-stdin"], env, stdin=code + "\n")
            check(res, "trayapp assume (the tray could not be driven)")
            driven_by = "trayapp assume in another process (the tray could not be driven)"
        time.sleep(2.0)
        return {"after_start": after_start, "after_assume": memory(run.pid), "assume_driven_by": driven_by}
    finally:
        run.stop()


def _bare_python(code: str) -> float | None:
    """RSS (MB) of a bare Python after *code*."""
    probe = f"{code}\nimport re\nprint(re.search(r'VmRSS:\\s+(\\d+)', open('/proc/self/status').read())[1])"
    res = subprocess.run([PYTHON, "-c", probe], capture_output=True, text=True, timeout=60)
    return round(int(res.stdout.split()[-1]) / 1024, 1) if res.returncode == 0 and res.stdout.split() else None


def tray_memory(sts_url: str) -> dict[str, Any]:
    from bench.desktop_bench import backends

    out: dict[str, Any] = {"backends": {}}
    codes = Codes(500000)
    with Desktop(notifications=True, tray=True) as desktop:
        for backend in ["sni", *backends()]:
            try:
                with aws_home(sts_url, roles=3, base=desktop.env) as home:
                    if backend == "sni":
                        res = _sni_tray(desktop, home.env, home.credentials, codes())
                    else:
                        res = _pystray_tray(desktop, {**home.env}, backend, home.credentials, codes())
            except Exception as exc:  # one broken backend must not hide the others' figures
                res = {"error": " ".join(str(exc).split())[-600:]}
            out["backends"][backend] = res
    gtk = "import gi; gi.require_version('Gtk', '3.0'); from gi.repository import Gtk"
    out["made_of"] = {
        "bare_python_mb": _bare_python("pass"),
        "python_with_gtk_mb": _bare_python(gtk),
        "python_with_jeepney_mb": _bare_python("import jeepney.io.threading"),
        "python_with_sts_client_mb": _bare_python("import boto3; boto3.client('sts', region_name='eu-west-1')"),
    }
    return out


def budget_rows(results: dict[str, Any], budget: Any, info: Any) -> list[dict[str, Any]]:
    """bench.run's table lines (its ``budget`` and ``info`` row makers)."""
    menu, mem = results.get("menu", {}), results.get("memory", {})
    rows = []
    sizes = menu.get("sizes") or [0]
    top = str(max(sizes))
    row = menu.get("by_size", {}).get(top, {})
    label = f"5 {int(top):,} roles (sni): from a config change to the menu ready for a panel"

    def ms(key: str) -> float | None:
        value: float | None = row.get(key, {}).get("median_ms")
        return value

    cpu, xorg, first = ms("edit_sni_cpu"), ms("edit_xorg"), ms("first_read_sni")
    note = (
        f"CPU time {cpu:.0f} ms; xorg {xorg:.0f} ms; the first reading (nothing known) {first:.0f} ms"
        if cpu and xorg and first
        else "not measured"
    )
    rows.append(budget("sni_menu_ready", label + ", median", ms("edit_sni"), 150, "ms", note))
    slope = menu.get("edit_sni_growth", {}).get("loglog_slope")
    rows.append(info("sni_menu_growth", "  … its growth (log-log slope, 1 = linear)", slope))
    for backend, res in mem.get("backends", {}).items():
        after = res.get("after_assume", {})
        mapped = f"GTK mapped: {after.get('gtk_loaded')}, PyGObject: {after.get('pygobject_loaded')}"
        note = res.get("error", "")[:200] or f"PSS {after.get('pss_mb')} MB, USS {after.get('uss_mb')} MB; {mapped}"
        if backend == "sni":
            note = f"start → registered with the watcher {res.get('start_to_registered_ms')} ms; " + note
        limit = 80 if backend in ("sni", "xorg") else None
        label = f"4 RSS after one assume, smaps ({backend})"
        if limit is None:
            rows.append(info(f"sni_bench_rss_{backend}", "  " + label[2:], after.get("rss_mb"), "MB", note))
        else:
            rows.append(budget(f"sni_bench_rss_{backend}", label, after.get("rss_mb"), limit, "MB", note))
    return rows


#: The menu table's columns: key, heading.
COLUMNS = (("edit_sni", "edit→ready sni"), ("edit_sni_cpu", "…CPU time"), ("edit_sni_gc", "…collector"),
           ("edit_xorg", "edit→ready xorg"),
           ("edit_read", "read alone"), ("session_sni", "session→ready"), ("first_read_sni", "first reading"),
           ("panel_round_trip", "panel GetLayout"), ("open_one_role", "open a role"),
           ("before_all_submenus_built", "before: all built"))  # fmt: skip


def table(menu: dict[str, Any], mem: dict[str, Any]) -> str:
    lines = [
        "Menu, from a config change to the menu ready (budget at 10,000 roles: 150 ms, growth linear); medians.",
        "  edit→ready: one role edited in ~/.aws/config, then what the running tray does: read what changed, take",
        "  the snapshot, show it (sni: the dbusmenu revision and the tray's side of the panel's GetLayout(0, 1) to",
        "  the bytes; xorg: pystray has no menu there, the Tk popup is made from the snapshot when clicked).",
        "  session→ready: a session written to the credentials file instead.  first reading: the tray starting",
        "  (nothing read before; as when every profile changed at once).",
        f"{'roles':>7} " + " ".join(f"{t:>17}" for _k, t in COLUMNS),
    ]
    for n in menu["sizes"]:
        row = menu["by_size"][str(n)]
        lines.append(f"{n:>7} " + " ".join(f"{row[k]['median_ms']:>15.1f}ms" for k, _t in COLUMNS))
    keys = ("edit_sni", "edit_sni_cpu", "edit_xorg", "session_sni", "first_read_sni")
    for key in keys if menu["sizes"] else ():
        lines.append(f"growth of '{key}': log-log slope {menu[f'{key}_growth'].get('loglog_slope')} (1 = linear)")
    lines.append("")
    lines.append("Tray memory after one assume (budget: RSS ≤ 80 MB on sni and xorg)")
    lines.append(f"{'backend':>8} {'RSS':>8} {'PSS':>8} {'USS':>8} {'at start':>9}  GTK/PyGObject mapped")
    for backend, res in mem["backends"].items():
        if "error" in res:
            lines.append(f"{backend:>8}  n/a: {res['error'][:160]}")
            continue
        a, s = res["after_assume"], res["after_start"]
        mapped = f"{'yes' if a['gtk_loaded'] else 'no'}/{'yes' if a['pygobject_loaded'] else 'no'}"
        lines.append(f"{backend:>8} {a['rss_mb']:>6.1f}MB {a['pss_mb']:>6.1f}MB {a['uss_mb']:>6.1f}MB "
                     f"{s['rss_mb']:>7.1f}MB  {mapped}")  # fmt: skip
    sni = mem["backends"].get("sni", {})
    if "start_to_registered_ms" in sni:
        lines.append(f"sni: process start → registered with the watcher {sni['start_to_registered_ms']} ms, "
                     f"→ the roles in the panel's menu {sni['start_to_roles_in_menu_ms']} ms")  # fmt: skip
    made = mem["made_of"]
    if made:
        lines.append(f"what the gtk figure is made of: a bare Python {made['bare_python_mb']} MB; with GTK through "
                     f"PyGObject {made['python_with_gtk_mb']} MB; with jeepney {made['python_with_jeepney_mb']} MB; "
                     f"with boto3's STS client {made['python_with_sts_client_mb']} MB")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sni_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="up to 1,000 roles, fewer repetitions")
    parser.add_argument("--out", type=Path, default=Path("bench/out"), help="folder for sni.json")
    parser.add_argument("--part", choices=("menu", "memory", "both"), default="both", help="what to measure")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    menu: dict[str, Any] = {"sizes": []}
    mem: dict[str, Any] = {"backends": {}, "made_of": {}}
    with MotoServer() as moto:
        if args.part in ("menu", "both"):
            with Desktop(notifications=False, tray=False) as desktop:
                assert desktop.bus_address is not None
                sizes = QUICK_SIZES if args.quick else SIZES
                menu = menu_at_scale(moto.url, desktop.bus_address, sizes, 3 if args.quick else 9)
        if args.part in ("memory", "both"):
            mem = tray_memory(moto.url)
    results = {"menu": menu, "memory": mem, "load_average": os.getloadavg()}
    (args.out / "sni.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(table(menu, mem))
    print(f"\nFigures: {args.out / 'sni.json'} (load average {os.getloadavg()[0]:.2f})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
