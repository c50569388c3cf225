"""Benchmark: start-up time of the `jplan` command, first call (empty compilation cache) against second
call (the persistent cache of `jplan._x64.enable_compilation_cache`), side by side in one run.

    python benchmarks/startup.py [--out docs/benchmarks_startup.md]

Each command runs as a fresh process, as a user runs it; the import time of jplan and JAX (paid on every
call, cache or not) is measured separately with `python -c "import jplan"`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _report import emit  # noqa: E402 (the scripts run as python benchmarks/NAME.py)

ROOT = Path(__file__).resolve().parents[1]


def timed(argv: list[str], env: dict, codes=(0, 1)) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode not in codes:
        sys.exit(f"{' '.join(argv)} failed: {done.stderr.strip()}")
    return seconds


# The second call's time, phase by phase, in one fresh process with the cache warm: what a second `jplan solve`
# pays before and around the computation (trace and lower run in Python on every call; the persistent cache
# only saves XLA's compilation, and loading its executable is XLA's own deserialisation).
PHASES = r"""
import json, sys, time
t = [time.perf_counter()]
from jplan._x64 import enable_compilation_cache, enable_x64
enable_x64(); enable_compilation_cache()
import jax, equinox as eqx
t.append(time.perf_counter())
from jplan.economies import load_any
from jplan.procedures import make_procedure, registry
t.append(time.perf_counter())
economy, _ = load_any(sys.argv[1])
procedure = make_procedure(sys.argv[2])
reference = registry.optimum(economy)
jax.block_until_ready(reference.welfare)
t.append(time.perf_counter())
steps = registry.DEFAULT_STEPS.get(procedure.name, 1000)
dynamic, static = eqx.partition((procedure, economy, reference.welfare), eqx.is_array)
def run(dynamic):
    p, e, w = eqx.combine(dynamic, static)
    return registry.run(p, e, steps, optimal_welfare=w)
traced = jax.jit(run).trace(dynamic)
t.append(time.perf_counter())
lowered = traced.lower()
t.append(time.perf_counter())
compiled = lowered.compile()
t.append(time.perf_counter())
jax.block_until_ready(compiled(dynamic))
t.append(time.perf_counter())
print(json.dumps([b - a for a, b in zip(t, t[1:])]))
"""
PHASE_NAMES = ("import JAX (and equinox)", "import jplan's economies and procedures", "read the file, the reference optimum",
               "trace the run (Python)", "lower it to XLA", "load the compiled run from the cache", "execute the run")


def phases(economy: str, procedure: str, env: dict) -> list[float]:
    """Best of 3 per phase, each call a fresh process with the cache warm."""
    import json

    runs = []
    for _ in range(3):
        done = subprocess.run([sys.executable, "-c", PHASES, economy, procedure], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"the phase breakdown failed: {done.stderr.strip()}")
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return [min(column) for column in zip(*runs)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=None, help="write the markdown table here")
    args = ap.parse_args()
    jplan = [sys.executable, "-c", "import sys; from jplan.cli import main; sys.exit(main())"]
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "JPLAN_CACHE_DIR": str(Path(tmp) / "cache")}
        economy = str(Path(tmp) / "e.toml")
        import_s = min(timed([sys.executable, "-c", "import jplan.procedures"], env) for _ in range(3))
        bare_s = min(timed([sys.executable, "-c", "pass"], env) for _ in range(3))
        # the paths that end before any computation: no JAX is imported (tests/test_cli.py checks that)
        light = [("jplan --version", ["--version"]), ("jplan --help", ["--help"]),
                 ("jplan solve missing.toml --procedure heal (error)", ["solve", str(Path(tmp) / "missing.toml"), "--procedure", "heal"]),
                 ("jplan sample --n 0 (error)", ["sample", "--n", "0"])]
        light_rows = []
        for label, argv in light:
            seconds = min(timed(jplan + argv, env, codes=(0, 2)) for _ in range(3))
            light_rows.append((label, seconds))
            print(label, f"{seconds:.2f}", flush=True)
        commands = [
            ("jplan sample --n 10 --m 2", ["sample", "--n", "10", "--m", "2", "--out", economy]),
            ("jplan optimum FILE", ["optimum", economy]),
            ("jplan solve FILE --procedure heal-proportional", ["solve", economy, "--procedure", "heal-proportional"]),
            ("jplan solve FILE --procedure arrow-hurwicz-adaptive", ["solve", economy, "--procedure", "arrow-hurwicz-adaptive"]),
        ]
        rows = []
        for label, argv in commands:
            first = timed(jplan + argv, env)
            second = timed(jplan + argv, env)
            rows.append((label, first, second))
            print(label, f"{first:.2f}", f"{second:.2f}", flush=True)
        breakdown = phases(economy, "heal-proportional", env)
        print("phases", " ".join(f"{x:.2f}" for x in breakdown), flush=True)
    import jax

    lines = [
        f"Start-up of the `jplan` command ({jax.devices()[0].device_kind}, jax {jax.__version__}); "
        "command: `python benchmarks/startup.py`. Each call is a fresh process; the first runs with an empty "
        "compilation cache, the second with the cache the first filled.",
        "",
        f"`import jplan.procedures` alone (JAX included, best of 3): {import_s:.2f} s; the Python interpreter's own "
        f"start: {bare_s:.2f} s.",
        "",
        "Commands that end before any computation import no JAX (best of 3, interpreter start included):",
        "",
        "| command | s |",
        "|---|---|",
        *[f"| `{label}` | {seconds:.2f} |" for label, seconds in light_rows],
        "",
        "Commands that compute:",
        "",
        "| command | first call s | second call s | saved |",
        "|---|---|---|---|",
    ]
    for label, first, second in rows:
        lines.append(f"| `{label}` | {first:.2f} | {second:.2f} | {1 - second / first:.0%} |")
    lines += [
        "",
        "Where a second `jplan solve FILE --procedure heal-proportional` spends its time, phase by phase (one fresh "
        "process with the cache warm, best of 3 per phase):",
        "",
        "| phase | s |",
        "|---|---|",
        *[f"| {name} | {seconds:.2f} |" for name, seconds in zip(PHASE_NAMES, breakdown)],
        f"| total | {sum(breakdown):.2f} |",
        "",
        "Importing JAX and loading the cached executable are the engine's (JAX's import, XLA's deserialisation); "
        "tracing and lowering are Python work that JAX's persistent cache does not save.",
    ]
    emit(lines, args.out)


if __name__ == "__main__":
    main()
