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
    emit(lines, args.out)


if __name__ == "__main__":
    main()
