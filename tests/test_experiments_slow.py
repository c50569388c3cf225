"""Slow: the experiment scripts end to end (run with `python3 -m pytest -m slow`)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("script", ["default_comparison", "increasing_returns", "cost_vs_n"])
def test_experiment_runs_and_writes_results(script, tmp_path):
    subprocess.run([sys.executable, str(ROOT / "experiments" / f"{script}.py"), "--out", str(tmp_path / script)],
                   check=True, cwd=ROOT)
    summary = json.loads((tmp_path / script / "summary.json").read_text())
    for procs in summary["scenarios"].values():
        heal = procs.get("heal-proportional")
        if heal:
            # feasible and monotone always; a rare run (1 in 128-256 seen) stalls short of its own
            # tolerance within the step budget: a known open problem of the step control
            assert heal["fraction_monotone"] == 1.0 and heal["fraction_feasible_every_iterate"] == 1.0
            assert heal["fraction_converged"] >= 0.99


def test_step_size_tuning_improves_held_out_gap(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "experiments" / "tune_step_size.py"), "--iters", "20", "--batch", "64",
                    "--out", str(tmp_path)], check=True, cwd=ROOT)
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["test_mean_log10_gap_tuned"] < result["test_mean_log10_gap_initial"] - 1.0


def test_default_study_command(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "jplan.cli", "study", "--out", str(tmp_path / "d"), "--quiet"],
                          capture_output=True, text=True, cwd=ROOT, check=True)
    assert "| cd-decreasing" in proc.stdout and "| heal " in proc.stdout


def test_rudra_cycles_experiment(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "experiments" / "rudra_cycles.py"), "--batch", "32", "--cycles", "20",
                    "--out", str(tmp_path)], check=True, cwd=ROOT)
    summary = json.loads((tmp_path / "summary.json").read_text())
    constant = summary["scenarios"]["constant returns"]
    assert constant["share_converged"] >= 0.95  # 256/256 at the default size
    assert (tmp_path / "cycles.png").exists() and (tmp_path / "report.md").exists()
    for s in summary["scenarios"].values():
        assert abs(sum(s[f"share_{k}"] for k in ("converged", "cycle_limit", "cycling", "diverged", "base_infeasible")) - 1) < 1e-12
