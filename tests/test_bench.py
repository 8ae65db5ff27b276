"""The benchmark runs and reports every figure (quick mode). No timing is asserted here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.fixtures import require_tools

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.desktop
def test_quick_benchmark_reports_every_budget_line(tmp_path: Path) -> None:
    require_tools("Xvfb", "dbus-daemon", "trayer", "xdotool", "jq")
    pytest.importorskip("matplotlib")
    res = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    data = json.loads((tmp_path / "results.json").read_text())
    assert (tmp_path / "scale.png").stat().st_size > 0

    from bench.run import CORE_IDS, TRAY_IDS

    rows = {row["id"]: row for row in data["budgets"]}
    for ident in CORE_IDS:
        assert ident in rows, ident
    for ident in TRAY_IDS:
        assert any(key.startswith(ident + "_") for key in rows), ident
    for row in data["budgets"]:
        assert {"label", "value", "unit", "budget", "met", "note"} <= row.keys()
        if row["budget"] is not None:
            assert isinstance(row["met"], bool)
            assert row["label"] in res.stdout  # every budget line is in the printed table
    # The figures behind the table.
    assert data["resident"]["mfa"]["code_to_readable"]["n"] >= 10
    for way in ("trayapp", "aws", "manual"):
        assert data["cold_cli"][way]["n"] == 3
    for n in ("10", "100", "1000"):
        assert data["scale"]["menu"]["by_size"][n]["list_cli"]["median_ms"] > 0
        assert data["scale"]["credentials"]["by_size"][n]["fresh_object"]["median_ms"] > 0
    assert data["tray"]["available"] is True
    for backend in data["tray"]["backends"].values():
        if "error" not in backend:
            assert backend["icon_docked"]["n"] >= 1
            assert backend["idle"]["wakeups"] >= 0
