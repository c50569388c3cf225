"""Slow: the experiment scripts end to end (run with `python3 -m pytest -m slow`)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def readme_env() -> dict:
    """The environment of a user running the README's commands: without the XLA flags the suite sets for
    compile speed (conftest.py), which change the last bits of results and so the README's tables."""
    flags = [f for f in os.environ.get("XLA_FLAGS", "").split()
             if f not in ("--xla_backend_optimization_level=0", "--xla_llvm_disable_expensive_passes=true")]
    return {**os.environ, "XLA_FLAGS": " ".join(flags)}


@pytest.mark.parametrize("script", ["default_comparison", "increasing_returns", "cost_vs_n"])
def test_experiment_runs_and_writes_results(script, tmp_path):
    subprocess.run([sys.executable, str(ROOT / "experiments" / f"{script}.py"), "--out", str(tmp_path / script)],
                   check=True, cwd=ROOT)
    summary = json.loads((tmp_path / script / "summary.json").read_text())
    for procs in summary["scenarios"].values():
        for name in ("heal", "heal-proportional", "malinvaud"):
            s = procs.get(name)
            if s and "reach" in s:
                # feasible and monotone in every run that started (failed starts are never reported as plans)
                started = 1.0 - s["fraction_failed"]
                assert s["fraction_feasible_every_iterate"] >= started - 1e-12, name
                assert s["fraction_monotone"] == 1.0, name


def test_step_size_tuning_improves_held_out_gap(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "experiments" / "tune_step_size.py"), "--iters", "20", "--batch", "64",
                    "--out", str(tmp_path)], check=True, cwd=ROOT)
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["test_mean_log10_gap_tuned"] < result["test_mean_log10_gap_initial"] - 1.0


TIMING_COLUMNS = ("ms→1e-4", "µs/econ-step")


def _table_rows(lines):
    """Cells of a markdown table, without the machine-dependent timing columns."""
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines if line.startswith("|")]
    keep = [i for i, name in enumerate(rows[0]) if name not in TIMING_COLUMNS]
    return [[row[i] for i in keep] for row in rows if not set(row[0]) <= {"-"}]


def assert_converged_means_close(out: Path, bound: float = 1e-5):
    """No run of a study is reported `converged` farther than `bound` from its reference optimum (every
    procedure's tolerance is at most 1e-5 in its own measure; the largest converged gap measured is 7e-6)."""
    import pandas as pd

    runs = pd.read_parquet(out / "runs.parquet")
    converged = runs[runs.status == "converged"]
    assert len(converged) > 0
    far = converged[converged.final_gap > bound]
    assert far.empty, far[["scenario", "procedure", "economy", "final_gap"]].to_string()


def test_readme_table_is_what_jplan_study_prints(tmp_path):
    """The README's first command prints exactly the README's table (timing columns aside), and no run it
    reports converged is farther than 1e-5 from the optimum."""
    proc = subprocess.run([sys.executable, "-m", "jplan.cli", "study", "--out", str(tmp_path / "d"), "--quiet"],
                          capture_output=True, text=True, cwd=tmp_path, check=True, env=readme_env())
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- study-table:start -->", 1)[1].split("<!-- study-table:end -->", 1)[0]
    assert _table_rows(proc.stdout.splitlines()) == _table_rows(block.splitlines())
    assert_converged_means_close(tmp_path / "d")


def _assert_study_prints_the_readme_table(tmp_path, study: str, marker: str):
    """`jplan study STUDY` prints the README's table between `<!-- MARKER:start/end -->` (timing columns
    aside), and no run it reports converged is farther than 1e-5 from the optimum."""
    proc = subprocess.run([sys.executable, "-m", "jplan.cli", "study", study, "--out", str(tmp_path / "d"), "--quiet"],
                          capture_output=True, text=True, cwd=tmp_path, check=True, env=readme_env())
    readme = (ROOT / "README.md").read_text()
    block = readme.split(f"<!-- {marker}:start -->", 1)[1].split(f"<!-- {marker}:end -->", 1)[0]
    assert _table_rows(proc.stdout.splitlines()) == _table_rows(block.splitlines())
    assert_converged_means_close(tmp_path / "d")


def test_readme_decomposition_study_table_is_what_the_study_prints(tmp_path):
    """`jplan study decomposition` prints the README's Malinvaud-with-memory table (timing columns aside)."""
    _assert_study_prints_the_readme_table(tmp_path, "decomposition", "decomposition-study-table")


def test_readme_us_study_table_is_what_the_study_prints(tmp_path):
    """`jplan study us_table` (economies around the US table) prints the README's table (timing columns aside)."""
    _assert_study_prints_the_readme_table(tmp_path, "us_table", "us-study-table")


def test_us_table_experiment_matches_the_readme():
    """`experiments/us_table.py` prints the README's table of every procedure on the US economy (seconds aside)."""
    proc = subprocess.run([sys.executable, str(ROOT / "experiments" / "us_table.py")], check=True, cwd=ROOT,
                          capture_output=True, text=True, env=readme_env())
    readme = (ROOT / "README.md").read_text()
    start = readme.index("| economy | procedure | status | steps |")
    quoted = [line for line in readme[start:].split("\n\n", 1)[0].splitlines() if line.startswith("|")]
    printed = [line for line in proc.stdout.splitlines() if line.startswith("|")]
    strip = lambda rows: [r.rsplit("|", 2)[0] for r in rows]  # noqa: E731  (the last column is seconds)
    assert strip(printed) == strip(quoted)


def test_malinvaud_memory_experiment_matches_the_readme():
    """`experiments/malinvaud_memory.py` prints the README's table of the procedure's design choices."""
    proc = subprocess.run([sys.executable, str(ROOT / "experiments" / "malinvaud_memory.py")], check=True, cwd=ROOT,
                          capture_output=True, text=True, env=readme_env())
    printed = [line for line in proc.stdout.splitlines() if line.startswith("|")]
    readme = (ROOT / "README.md").read_text()
    start = readme.index("| variant | k = 1 |")
    quoted = [line for line in readme[start:].split("\n\n", 1)[0].splitlines() if line.startswith("|")]
    assert printed == quoted


def test_rudra_cycles_experiment(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "experiments" / "rudra_cycles.py"), "--batch", "32", "--cycles", "20",
                    "--out", str(tmp_path)], check=True, cwd=ROOT)
    summary = json.loads((tmp_path / "summary.json").read_text())
    constant = summary["scenarios"]["constant returns"]
    assert constant["share_converged"] >= 0.95  # 256/256 at the default size
    assert (tmp_path / "cycles.png").exists() and (tmp_path / "report.md").exists()
    for s in summary["scenarios"].values():
        assert abs(sum(s[f"share_{k}"] for k in ("converged", "cycle_limit", "cycling", "diverged", "base_infeasible")) - 1) < 1e-12


def test_decomposition_experiment_matches_the_readme(tmp_path):
    """`experiments/decomposition.py` runs, and at the README's batch its table is the README's."""
    proc = subprocess.run([sys.executable, str(ROOT / "experiments" / "decomposition.py"), "--batch", "100", "--out", str(tmp_path)],
                          check=True, cwd=ROOT, capture_output=True, text=True, env=readme_env())
    assert (tmp_path / "decomposition.png").exists()
    printed = [line for line in proc.stdout.splitlines() if line.startswith("|")]
    readme = (ROOT / "README.md").read_text().split("(100 random economies per size", 1)[1]
    quoted = [line for line in readme.split("![decomposition]", 1)[0].splitlines() if line.startswith("|")]
    assert printed == quoted


def test_scale_benchmark_runs_side_by_side(tmp_path):
    """`benchmarks/scale.py` at small sizes: every side finishes, the solutions agree, the report is written."""
    out, figure = tmp_path / "scale.md", tmp_path / "scale.png"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "scale.py"), "--sizes", "500,2000", "--timeout", "120",
                    "--out", str(out), "--figure", str(figure)], check=True, cwd=ROOT, capture_output=True, text=True)
    rows = [line for line in out.read_text().splitlines() if line.startswith("| 500 ") or line.startswith("| 2,000 ")]
    assert len(rows) == 6 and figure.exists()  # two sizes in each of the three tables
    for row in rows[:2]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert "—" not in cells  # every side finished
        diffs = [float(x) for x in cells[14].split(",")]  # SuperLU, SciPy's BiCGSTAB, the padded layout
        assert max(diffs) <= 1e-8 and float(cells[15]) <= 1e-10 and float(cells[5]) <= 1.5  # matrix / CSR bytes
    for row in rows[4:]:  # the procedures on the sparse type: LSM converged, Heal's rule gained welfare
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[1].isdigit()  # Malinvaud's rounds, without "(not converged)"
        assert cells[3].endswith("✓")  # the padded layout took the same rounds to the same prices
        start, end = (float(x) for x in cells[7].split("→"))
        assert 0 <= end < start


def _assert_script_prints_the_readme_table(script: str, marker: str, *args: str):
    """`python experiments/<script> [args]` prints, row for row, the README's table between the `marker` comments."""
    proc = subprocess.run([sys.executable, str(ROOT / "experiments" / script), *args], check=True, cwd=ROOT,
                          capture_output=True, text=True, env=readme_env())
    printed = [line for line in proc.stdout.splitlines() if line.startswith("|")]
    readme = (ROOT / "README.md").read_text()
    block = readme.split(f"<!-- {marker}:start -->")[1].split(f"<!-- {marker}:end -->")[0]
    assert printed == [line for line in block.splitlines() if line.startswith("|")]


def test_harmony_experiment_matches_the_readme():
    """`experiments/harmony.py` prints the README's table of Cockshott's harmony algorithm against the LP."""
    _assert_script_prints_the_readme_table("harmony.py", "harmony-table")


def test_rudra_closures_experiment_matches_the_readme():
    """`experiments/rudra_closures.py` prints the README's table of the step-8 closures."""
    _assert_script_prints_the_readme_table("rudra_closures.py", "rudra-closures-table")


def test_learned_rule_evaluation_matches_the_readme():
    """`experiments/learned_rule.py --no-train` (the shipped rule on held-out economies beside the hand-designed
    rules) prints the README's table."""
    _assert_script_prints_the_readme_table("learned_rule.py", "learned-table", "--no-train")


def test_readme_modern_study_table_is_what_the_study_prints(tmp_path):
    """`jplan study modern` (classic, participatory, modern and learned procedures) prints the README's table."""
    _assert_study_prints_the_readme_table(tmp_path, "modern", "modern-study-table")


def test_scaling_study_prints_what_the_docs_and_readme_say(tmp_path):
    """`python experiments/scaling.py` (the CPU-sized scaling study, about 23 minutes on 2 cores) prints
    docs/scaling.md's tables row for row, and every row of the README's growth-law excerpt is one of them; the
    figure is written."""
    out = tmp_path / "scaling"
    proc = subprocess.run([sys.executable, str(ROOT / "experiments" / "scaling.py"), "--out", str(out)], check=True,
                          cwd=ROOT, capture_output=True, text=True, env=readme_env())
    printed = [line for line in proc.stdout.splitlines() if line.startswith("|")]
    docs = (ROOT / "docs" / "scaling.md").read_text()
    block = docs.split("<!-- scaling-tables:start -->")[1].split("<!-- scaling-tables:end -->")[0]
    assert printed == [line for line in block.splitlines() if line.startswith("|")]
    readme = (ROOT / "README.md").read_text()
    excerpt = readme.split("<!-- scaling-summary:start -->")[1].split("<!-- scaling-summary:end -->")[0]
    rows = [line for line in excerpt.splitlines() if line.startswith("|")][2:]
    assert rows and all(row in printed for row in rows)
    assert (out / "scaling.png").stat().st_size > 50_000
