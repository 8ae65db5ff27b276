"""Run trayapp's benchmark: ``python -m bench.run [--quick] [--out bench/out]``.

Prints one table (every budget line of docs/ARCHITECTURE.md: measured, budget, met) plus the figures that
explain them, and writes the same figures to OUT/results.json and the scale curves to OUT/scale.png.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import click_bench, cold_cli, desktop_bench, resident, scale, sni_bench
from bench.common import aws_home, git_commit
from tests.support.sts import MotoServer


@dataclass(frozen=True)
class Settings:
    resident_assumes: int
    cold_runs: int
    tray_runs: int
    idle_seconds: float
    scale_repeat: int
    list_runs: int
    big_runs: int = 1


FULL = Settings(
    resident_assumes=60, cold_runs=12, tray_runs=7, idle_seconds=60, scale_repeat=10, list_runs=5, big_runs=3
)
QUICK = Settings(resident_assumes=10, cold_runs=3, tray_runs=1, idle_seconds=10, scale_repeat=3, list_runs=1)

#: Budget line ids every run reports (tray lines are added per backend: ``*_<backend>``).
CORE_IDS = (
    "resident_mfa_median",
    "resident_no_mfa_median",
    "cold_ratio_aws",
    "cold_ratio_manual",
    "boto3_off_start_path",
    "menu_1000_config_changed",
    "menu_1000_unchanged",
    "credentials_update_1000",
    "sni_menu_ready",
    "sni_bench_rss_sni",
)
TRAY_IDS = ("icon_docked", "menu_usable", "rss_after_start", "rss_after_assume", "idle_wakeups")


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def budget(ident: str, label: str, value: float | None, limit: float, unit: str, note: str = "") -> dict[str, Any]:
    return {
        "id": ident,
        "label": label,
        "value": None if value is None else round(value, 3),
        "unit": unit,
        "budget": limit,
        "met": value is not None and value <= limit,
        "note": note if value is not None or note else "not measured",
    }


def info(ident: str, label: str, value: Any, unit: str = "", note: str = "") -> dict[str, Any]:
    if isinstance(value, float):
        value = round(value, 3)
    return {"id": ident, "label": label, "value": value, "unit": unit, "budget": None, "met": None, "note": note}


def _heaviest(imports: dict[str, float], count: int = 4) -> str:
    return ", ".join(f"{name} {ms}" for name, ms in list(imports.items())[:count])


def budget_lines(r: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    res, cold, tray, sc = r["resident"], r["cold_cli"], r["tray"], r["scale"]

    # 1. resident
    rows.append(
        budget(
            "resident_mfa_median",
            "1 Resident assume, MFA role: code submitted → section readable, median",
            _get(res, "mfa", "code_to_readable", "median_ms"),
            30,
            "ms",
        )
    )
    rows.append(info("resident_mfa_p95", "  … p95", _get(res, "mfa", "code_to_readable", "p95_ms"), "ms"))
    rows.append(
        budget(
            "resident_no_mfa_median",
            "1 Resident assume, no-MFA role: call → section readable, median",
            _get(res, "no_mfa", "code_to_readable", "median_ms"),
            30,
            "ms",
        )
    )
    rows.append(info("resident_no_mfa_p95", "  … p95", _get(res, "no_mfa", "code_to_readable", "p95_ms"), "ms"))
    rows.append(
        info(
            "resident_mfa_whole_call",
            "  MFA role, whole assume() call incl. source keys, median",
            _get(res, "mfa", "whole_call", "median_ms"),
            "ms",
        )
    )
    rows.append(
        info(
            "resident_first_assume",
            "  first assume in the process (botocore loaded, client made)",
            _get(res, "mfa", "first_assume_ms"),
            "ms",
        )
    )
    rows.append(
        info(
            "sts_floor",
            "  floor: one reused botocore client's AssumeRole at moto, median",
            _get(res, "sts_round_trip", "median_ms"),
            "ms",
        )
    )

    # 2. cold command line
    rows.append(
        budget(
            "cold_ratio_aws",
            "2 Cold CLI: trayapp assume / aws sts assume-role (medians)",
            cold.get("ratio_trayapp_aws"),
            1.0,
            "×",
        )
    )
    rows.append(
        budget(
            "cold_ratio_manual",
            "2 Cold CLI: trayapp assume / manual recipe (aws + 3 × jq)",
            cold.get("ratio_trayapp_manual"),
            0.5,
            "×",
        )
    )
    for way in ("trayapp", "aws", "manual"):
        rows.append(
            info(
                f"cold_{way}_median", f"  {way}, median of {cold.get('runs')} runs", _get(cold, way, "median_ms"), "ms"
            )
        )

    # 3./4. tray
    if not tray.get("available"):
        note = tray.get("note", "trayapp.tray.app missing")
        rows.append(budget("boto3_off_start_path", "3 boto3 not imported on the start path", None, 0, "", note))
        for ident in TRAY_IDS:
            rows.append(budget(f"{ident}_none", f"3/4 {ident}", None, 0, "", note))
    else:
        probe = tray.get("import_probe", {})
        at_icon = [b.get("imports", {}).get("boto3_imported_at_icon") for b in tray["backends"].values()]
        boto3_seen = any(at_icon) or probe.get("boto3", False)
        rows.append(
            budget(
                "boto3_off_start_path",
                "3 boto3 imported before the icon shows (0 = no)",
                float(boto3_seen),
                0,
                "",
                "botocore imported at icon: " + ("yes" if probe.get("botocore") else "no"),
            )
        )
        for backend, b in tray["backends"].items():
            err = b.get("error", "")
            rows.append(
                budget(
                    f"icon_docked_{backend}",
                    f"3 Start → icon docked in trayer ({backend}), median",
                    _get(b, "icon_docked", "median_ms"),
                    400,
                    "ms",
                    err[:200],
                )
            )
            rows.append(
                budget(
                    f"menu_usable_{backend}",
                    f"3 Start → menu opened by a click ({backend}), median",
                    _get(b, "menu_opened", "median_ms"),
                    400,
                    "ms",
                    err[:200] or f"clicks needed: {b.get('clicks_until_menu')}",
                )
            )
            if not err:
                rows.append(
                    info(
                        f"import_ms_{backend}",
                        f"  imports before the icon ({backend}, -X importtime)",
                        _get(b, "imports", "top_level_import_ms"),
                        "ms",
                        _heaviest(b["imports"]["heaviest_imports_ms"]),
                    )
                )
            idle = b.get("idle", {})
            rows.append(
                budget(
                    f"rss_after_start_{backend}",
                    f"4 RSS after start ({backend})",
                    idle.get("rss_after_start_mb"),
                    80,
                    "MB",
                    err[:200],
                )
            )
            rows.append(
                budget(
                    f"rss_after_assume_{backend}",
                    f"4 RSS after one assume ({backend})",
                    idle.get("rss_after_assume_mb"),
                    80,
                    "MB",
                    idle.get("assume_driven_by", err[:200]),
                )
            )
            rows.append(
                budget(
                    f"idle_wakeups_{backend}",
                    f"4 Wake-ups (context switches) over {idle.get('window_s', '?')} s idle ({backend})",
                    idle.get("wakeups"),
                    0,
                    "",
                    "the session's timer is due in ~50 min: any wake-up in the window is polling",
                )
            )
            rows.extend(click_bench.rows(backend, b.get("clicks", {})))
            rows.append(
                info(f"idle_cpu_{backend}", f"  CPU time over the idle window ({backend})", idle.get("cpu_ms"), "ms")
            )
    probe = r.get("core_rss", {})
    rows.append(
        info(
            "core_rss_after_assume",
            f"  core-only process: RSS after one assume (boto3 loaded: {probe.get('boto3_loaded')})",
            probe.get("after_assume_mb"),
            "MB",
            f"before: {probe.get('roles_listed_mb')} MB",
        )
    )

    rows.extend(sni_bench.budget_rows(r.get("sni", {}), budget, info))

    # 5. scale
    ml, cu = sc["menu"], sc["credentials"]
    rows.append(
        budget(
            "menu_1000_config_changed",
            "5 1,000 roles: menu built, config just changed (fresh Service)",
            _get(ml, "by_size", "1000", "menu_cold", "median_ms"),
            100,
            "ms",
            ml.get("menu_timed", ""),
        )
    )
    rows.append(
        budget(
            "menu_1000_unchanged",
            "5 1,000 roles: menu built again, config unchanged",
            _get(ml, "by_size", "1000", "menu_warm", "median_ms"),
            100,
            "ms",
        )
    )
    rows.append(
        budget(
            "credentials_update_1000",
            "5 Credentials file of 1,000 sections: one update (as the Service does: one object)",
            _get(cu, "by_size", "1000", "reused_object", "median_ms"),
            50,
            "ms",
        )
    )
    for n in ml.get("sizes", []):
        rows.append(
            info(
                f"list_cli_{n}",
                f"  trayapp list, cold process, {n} roles",
                _get(ml, "by_size", str(n), "list_cli", "median_ms"),
                "ms",
            )
        )
    for key, label in (
        ("menu_cold", "menu (config changed)"),
        ("menu_warm", "menu (unchanged)"),
        ("list_cli", "trayapp list"),
    ):
        g = ml.get(f"{key}_growth", {})
        rows.append(
            info(
                f"growth_{key}",
                f"  growth of {label}: log-log slope",
                g.get("loglog_slope"),
                "",
                f"ratios {g.get('ratios')}",
            )
        )
    for key, label in (("fresh_object", "credentials update"), ("reused_object", "credentials update, reused object")):
        g = cu.get(f"{key}_growth", {})
        rows.append(
            info(
                f"growth_{key}",
                f"  growth of {label}: log-log slope",
                g.get("loglog_slope"),
                "",
                f"ratios {g.get('ratios')}",
            )
        )
    rows += scale_lines(sc)
    rows.append(
        info(
            "credentials_update_1000_fresh",
            "  1,000 sections, first update in a fresh process (new CredentialsFile, full check)",
            _get(cu, "by_size", "1000", "fresh_object", "median_ms"),
            "ms",
        )
    )
    return rows


def _fmt(value: Any, unit: str) -> str:
    if value is None:
        return "n/a"
    text = str(value)
    if isinstance(value, float):
        text = f"{value:.2f}" if unit == "×" else f"{value:.1f}"
    return f"{text} {unit}".strip()


def table(rows: list[dict[str, Any]]) -> str:
    width = max(len(r["label"]) for r in rows)
    lines = [f"{'Budget line':<{width}}  {'measured':>12}  {'budget':>10}  met  note", "-" * (width + 50)]
    for r in rows:
        limit = "—" if r["budget"] is None else "≤ " + _fmt(float(r["budget"]), r["unit"])
        met = "—" if r["met"] is None else ("yes" if r["met"] else "NO")
        lines.append(f"{r['label']:<{width}}  {_fmt(r['value'], r['unit']):>12}  {limit:>10}  {met:<3}  {r['note']}")
    return "\n".join(lines)


def chart(sc: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    ml, cu = sc["menu"], sc["credentials"]
    for key, label in (
        ("menu_cold", "menu build, config changed"),
        ("menu_warm", "menu build, unchanged"),
        ("list_cli", "trayapp list (cold process)"),
    ):
        sizes = ml["sizes"]
        left.plot(sizes, [ml["by_size"][str(n)][key]["median_ms"] for n in sizes], marker="o", label=label)
    left.axhline(100, color="red", linestyle="--", label="menu budget at 1,000 (100 ms)")
    left.set(title="Role profiles", xlabel="role profiles", ylabel="median ms", xscale="log", yscale="log")
    for key, label in (
        ("fresh_object", "write_section (fresh object, as Service)"),
        ("reused_object", "write_section (reused object)"),
    ):
        sizes = cu["sizes"]
        right.plot(sizes, [cu["by_size"][str(n)][key]["median_ms"] for n in sizes], marker="o", label=label)
    right.axhline(50, color="red", linestyle="--", label="budget at 1,000 (50 ms)")
    right.set(title="Credentials file", xlabel="sections", ylabel="median ms", xscale="log", yscale="log")
    for ax in (left, right):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("trayapp scale curves (log-log)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


#: Issue 14's scale lines: (id, label, figure path under scale/, budget, unit).
SCALE_LINES = (
    ("list_10000", "5 10,000 roles: trayapp list, cold process", ("big", "10000", "list", "median_ms"), 350, "ms"),
    (
        "menu_10000",
        "5 10,000 roles: menu built, config just changed",
        ("menu", "10000", "menu_cold", "median_ms"),
        150,
        "ms",
    ),
    ("list_100000", "5 100,000 roles: trayapp list, cold process", ("big", "100000", "list", "median_ms"), 3500, "ms"),
    ("list_100000_rss", "5 100,000 roles: trayapp list, peak RSS", ("big", "100000", "list", "peak_rss_mb"), 200, "MB"),
    (
        "assume_100000_sections",
        "5 Credentials file of 100,000 sections: trayapp assume, cold process",
        ("big", "100000", "assume", "median_ms"),
        2000,
        "ms",
    ),
    (
        "assume_100000_sections_rss",
        "5 Credentials file of 100,000 sections: trayapp assume, peak RSS",
        ("big", "100000", "assume", "peak_rss_mb"),
        200,
        "MB",
    ),
)


def scale_lines(sc: dict[str, Any]) -> list[dict[str, Any]]:
    """The 10,000 / 100,000 lines (full run only: the quick run shows them as not measured)."""
    rows = []
    for ident, label, (part, size, *keys), limit, unit in SCALE_LINES:
        value = _get(sc, part, "by_size", size, *keys)
        note = "" if value is not None else "not measured (full run only)"
        if ident.startswith("assume") and value is not None:
            note = f"credentials file of {_get(sc, 'big', 'by_size', size, 'assume', 'file_mb')} MB"
        rows.append(budget(ident, label, value, limit, unit, note))
    labels = {
        "list": "roles: trayapp list",
        "assume": "sections of keys: trayapp assume",
        "assume_sessions": "sessions: trayapp assume",
    }
    for size in _get(sc, "big", "sizes") or []:
        for what, label in labels.items():
            row = _get(sc, "big", "by_size", str(size), what) or {}
            file_mb = f", file {row['file_mb']} MB" if "file_mb" in row else ""
            rows.append(
                info(
                    f"big_{what}_{size}",
                    f"  {size:,} {label}",
                    row.get("median_ms"),
                    "ms",
                    f"peak RSS {row.get('peak_rss_mb')} MB{file_mb}",
                )
            )
    return rows


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("boto3", "botocore", "awscli", "moto", "pystray", "PyGObject", "matplotlib"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "missing"
    return out


def _sni(sts_url: str, quick: bool) -> dict[str, Any]:
    from tests.support.desktop import Desktop

    out: dict[str, Any] = {}
    try:
        with Desktop(notifications=False, tray=False) as desktop:
            assert desktop.bus_address is not None
            sizes = sni_bench.QUICK_SIZES if quick else sni_bench.SIZES
            out["menu"] = sni_bench.menu_at_scale(sts_url, desktop.bus_address, sizes, 3 if quick else 9)
    except Exception as exc:  # the other figures still count
        out["menu_error"] = " ".join(str(exc).split())[-600:]
    out["memory"] = sni_bench.tray_memory(sts_url)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts (about a minute): checks it runs")
    parser.add_argument("--out", type=Path, default=Path("bench/out"), help="folder for results.json and scale.png")
    args = parser.parse_args(argv)
    s = QUICK if args.quick else FULL
    args.out.mkdir(parents=True, exist_ok=True)
    t_start = time.monotonic()
    results: dict[str, Any] = {
        "meta": {
            "quick": args.quick,
            "settings": s.__dict__,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "python": sys.version.split()[0],
            "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
            "load_average_at_start": os.getloadavg(),
            "commit": git_commit(),
            "versions": _versions(),
        }
    }

    def step(name: str) -> None:
        print(f"[{time.monotonic() - t_start:5.1f} s] {name}…", file=sys.stderr, flush=True)

    with MotoServer() as moto:
        results["meta"]["sts"] = "moto server on loopback"
        step("1 resident assume")
        with aws_home(moto.url, roles=3) as home:
            results["resident"] = resident.run(home, moto.url, s.resident_assumes)
            results["core_rss"] = resident.rss_probe(home)
            step("2 cold command line")
            results["cold_cli"] = cold_cli.run(home, s.cold_runs)
        step("5 scale")
        sizes = scale.SIZES if args.quick else scale.FULL_SIZES
        results["scale"] = {
            "menu": scale.menu_and_list(moto.url, sizes, s.scale_repeat, s.list_runs),
            "credentials": scale.credentials_update(moto.url, sizes, s.scale_repeat),
            "big": scale.big_processes(moto.url, scale.QUICK_BIG_SIZES if args.quick else scale.BIG_SIZES, s.big_runs),
        }
        step("3/4 tray: start to icon, idle cost")
        results["tray"] = desktop_bench.run(moto.url, runs=s.tray_runs, idle_seconds=s.idle_seconds)
        step("4/5 the StatusNotifierItem backend: menu at scale, memory per backend")
        results["sni"] = _sni(moto.url, args.quick)
    results["meta"]["seconds"] = round(time.monotonic() - t_start, 1)
    rows = budget_lines(results)
    results["budgets"] = rows
    (args.out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    chart(results["scale"], args.out / "scale.png")
    print(table(rows))
    unmet = [r["id"] for r in rows if r["met"] is False]
    print(f"\n{len(unmet)} budget line(s) not met: {', '.join(unmet) or 'none'}")
    print(f"Figures: {args.out / 'results.json'}, chart: {args.out / 'scale.png'} ({results['meta']['seconds']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
