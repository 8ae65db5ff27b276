"""5. Scale: 10, 100, 1,000 (full run: up to 100,000) role profiles → roles() + menu build and
``trayapp list``; credentials files of as many sections → one ``write_section`` update; and the cold
processes a person waits for at 10,000 and 100,000 (``trayapp list``; ``trayapp assume`` with a
credentials file of that many sections): wall time and peak RSS."""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.common import (
    REGION,
    aws_home,
    check,
    growth,
    patched_environ,
    role_arn,
    role_name,
    run_timed,
    summary,
    trayapp_argv,
)

SIZES = (10, 100, 1000)
#: The full run's curve reaches generated configs (one profile per account × role).
FULL_SIZES = (10, 100, 1000, 10_000, 100_000)
#: Cold processes measured with their peak RSS (full run; the quick run only checks the step).
BIG_SIZES = (10_000, 100_000)
QUICK_BIG_SIZES = (1000,)


def _repeat(n: int, repeat: int) -> int:
    """Fewer repetitions for the large sizes: each one takes seconds there."""
    return repeat if n <= 1000 else max(2, repeat // 4) if n <= 10_000 else 2


def _menu_builder() -> tuple[Callable[[Any], object], str]:
    """(service → menu, what it times): trayapp.tray.menu_model.build_menu when it exists."""
    try:
        from trayapp.tray.menu_model import build_menu
    except ImportError:
        return (lambda service: service.roles()), "Service.roles() only (no trayapp.tray.menu_model.build_menu)"

    takes_path = "config_path" in inspect.signature(build_menu).parameters

    def build(service: Any) -> object:
        roles = service.roles()
        kwargs = {"config_path": service.config().config_path} if takes_path else {}
        return build_menu(roles, service.problems(), service.now(), service.warn_lead(), **kwargs)

    return build, "Service.roles() + trayapp.tray.menu_model.build_menu()"


def _timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def menu_and_list(sts_url: str, sizes: Sequence[int], repeat: int, cli_runs: int) -> dict[str, Any]:
    from trayapp.core.preferences import Preferences
    from trayapp.core.service import Service

    build, what = _menu_builder()
    rows: dict[str, Any] = {}
    for n in sizes:
        # Half the roles have a session, as in a busy day's credentials file.
        with aws_home(sts_url, roles=n, sessions=n // 2) as home:
            with patched_environ(home.env):
                import os

                cold = []
                for _ in range(_repeat(n, repeat)):  # a fresh service: config parsed, files read
                    service = Service(environ=os.environ, preferences=Preferences)
                    cold += _timed(lambda s=service: build(s), 1)
                service = Service(environ=os.environ, preferences=Preferences)
                build(service)
                warm = _timed(lambda s=service: build(s), _repeat(n, repeat))  # config cached, credentials re-read
                entries = len(service.roles())
                if entries != n + 1:
                    raise RuntimeError(f"expected {n + 1} roles, the service listed {entries}")
            listing = []
            for _ in range(min(cli_runs, _repeat(n, cli_runs))):
                seconds, res = run_timed([*trayapp_argv(), "list"], home.env)
                check(res, "trayapp list")
                if res.stdout.count("\n") < n:
                    raise RuntimeError(f"trayapp list printed {res.stdout.count(chr(10))} lines for {n} roles")
                listing.append(seconds)
        rows[str(n)] = {"menu_cold": summary(cold), "menu_warm": summary(warm), "list_cli": summary(listing)}
    out: dict[str, Any] = {"menu_timed": what, "sizes": list(sizes), "by_size": rows}
    for key in ("menu_cold", "menu_warm", "list_cli"):
        out[f"{key}_growth"] = growth(sizes, [rows[str(n)][key]["median_ms"] for n in sizes])
    return out


def _values(i: int) -> dict[str, str]:
    return {
        "aws_access_key_id": f"ASIAUPDATED{i:09d}",
        "aws_secret_access_key": "u" * 40,
        "aws_session_token": "v" * 300,
        "region": REGION,
        "trayapp_profile": role_name(0),
        "trayapp_role_arn": role_arn(0),
        "trayapp_expiration": "2099-01-01T00:00:00+00:00",
    }


def credentials_update(sts_url: str, sizes: Sequence[int], repeat: int) -> dict[str, Any]:
    """Replace one section in the middle of a file of n sections: through one reused object, as
    the Service does (the verified-bytes fast path), and through a fresh CredentialsFile each
    time, as the first write of a new process (the full botocore-compatible check)."""
    from trayapp.core.credentials_file import CredentialsFile

    rows: dict[str, Any] = {}
    counter = iter(range(10**9))
    for n in sizes:
        with aws_home(sts_url, roles=0, sessions=n) as home:
            path: Path = home.credentials
            section = f"{role_name(n // 2)}-session"
            CredentialsFile(path).write_section(section, _values(next(counter)))  # warm the page cache
            fresh = _timed(
                lambda p=path, s=section: CredentialsFile(p).write_section(s, _values(next(counter))),
                _repeat(n, repeat),
            )
            reused_file = CredentialsFile(path)
            reused_file.read_managed()
            reused = _timed(
                lambda f=reused_file, s=section: f.write_section(s, _values(next(counter))), _repeat(n, repeat)
            )
            size_kb = path.stat().st_size / 1024
        rows[str(n)] = {"fresh_object": summary(fresh), "reused_object": summary(reused), "file_kb": round(size_kb, 1)}
    out: dict[str, Any] = {"sizes": list(sizes), "by_size": rows}
    for key in ("fresh_object", "reused_object"):
        out[f"{key}_growth"] = growth(sizes, [rows[str(n)][key]["median_ms"] for n in sizes])
    return out


#: Runs the command given as arguments and prints its peak RSS: a small parent, since on Linux a
#: child's ru_maxrss starts from the RSS of the process that forked it (the bench holds GBs by then).
_PEAK_LAUNCHER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "sys.stderr.write('\\nPEAK_RSS_KB %d\\n' % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.exit(code)\n"
)


def _run_measured(argv: Sequence[str], env: dict[str, str], stdin: str = "") -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB, stdout) of one process: the time from a run of its own, the
    peak RSS from a second run under a small launcher."""
    import subprocess
    import sys

    from bench.common import REPO_ROOT

    seconds, res = run_timed(argv, env, stdin=stdin, timeout=300)
    check(res, " ".join(argv[-2:]))
    peak = subprocess.run(
        [sys.executable, "-c", _PEAK_LAUNCHER, *argv],
        env=env,
        cwd=REPO_ROOT,
        input=_next_stdin(stdin),
        capture_output=True,
        text=True,
        timeout=300,
    )
    check(peak, " ".join(argv[-2:]) + " (peak RSS)")
    kb = int(peak.stderr.rsplit("PEAK_RSS_KB", 1)[1].split()[0])
    return seconds, kb / 1024, res.stdout


def _next_stdin(stdin: str) -> str:
    """A second run needs a code of its own (trayapp refuses a reused one)."""
    code = stdin.strip()
    return f"{(int(code) + 500) % 900000 + 100000:06d}\n" if code.isdigit() else stdin


def _add_key_sections(path: Path, count: int) -> None:
    """*count* sections of long-term keys after the source's (~120 bytes each: 100,000 make the
    12 MB file of issue 14's figure)."""
    with path.open("a") as out:
        for i in range(count):
            out.write(f"\n[acct{i:06d}-admin]\naws_access_key_id = AKIA{i:016d}\naws_secret_access_key = {'k' * 40}\n")


def big_processes(sts_url: str, sizes: Sequence[int], runs: int) -> dict[str, Any]:
    """``trayapp list`` with n role profiles and ``trayapp assume`` with a credentials file of n
    sections (``assume``: long-term keys, ~120 bytes a section; ``assume_sessions``: sessions trayapp
    wrote, ~620 bytes each), cold processes: median wall time and peak RSS (each process on its own)."""
    from bench.common import Codes

    codes = Codes(400000)
    rows: dict[str, Any] = {}
    for n in sizes:
        row: dict[str, Any] = {}
        with aws_home(sts_url, roles=n, sessions=0) as home:
            walls, peaks = [], []
            for _ in range(runs):
                seconds, peak, out = _run_measured([*trayapp_argv(), "list"], home.env)
                if out.count("\n") < n:
                    raise RuntimeError(f"trayapp list printed {out.count(chr(10))} lines for {n} roles")
                walls.append(seconds)
                peaks.append(peak)
            row["list"] = {**summary(walls), "peak_rss_mb": round(max(peaks), 1)}
        for what, sessions in (("assume", 0), ("assume_sessions", n)):
            with aws_home(sts_url, roles=1, sessions=sessions) as home:
                if not sessions:
                    _add_key_sections(home.credentials, n - 1)
                walls, peaks = [], []
                for _ in range(runs):
                    seconds, peak, _out = _run_measured(
                        [*trayapp_argv(), "assume", role_name(0), "--code-stdin"], home.env, codes() + "\n"
                    )
                    walls.append(seconds)
                    peaks.append(peak)
                row[what] = {
                    **summary(walls),
                    "peak_rss_mb": round(max(peaks), 1),
                    "file_mb": round(home.credentials.stat().st_size / 2**20, 1),
                }
        rows[str(n)] = row
    return {"sizes": list(sizes), "by_size": rows}


__all__ = [
    "BIG_SIZES",
    "FULL_SIZES",
    "QUICK_BIG_SIZES",
    "SIZES",
    "big_processes",
    "credentials_update",
    "menu_and_list",
]
