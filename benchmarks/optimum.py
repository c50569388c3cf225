"""Benchmark: the batched reference optimum (jit + vmap of `jplan.optimum`) against a per-economy loop of
an independent conic solver (CVXPY + Clarabel, the formulation in tests/conic.py), side by side in one run.

    python benchmarks/optimum.py [--out docs/benchmarks_optimum.md]

Economies: CES technology (σ log-uniform in [0.3, 4]), decreasing returns ρ ∈ [0.6, 0.95], m = 3 resources,
density 0.5, log welfare; n = 10, 30, 100. jplan's time excludes compilation (reported separately); the
conic side is reported twice: Clarabel's own solve time, and the whole call with CVXPY's problem
construction. Both solve the same economies; the table also gives the largest welfare-index difference.
Needs the test extra (cvxpy, clarabel).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import jplan  # noqa: E402
from jplan.economies.production import welfare, welfare_index  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from conic import conic_optimum  # noqa: E402

SIZES = ((10, 64, 10), (30, 16, 5), (100, 4, 2))  # (n, jplan batch, conic economies)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=None, help="write the markdown table here")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    rows = []
    for n, batch, k in SIZES:
        economies = jplan.sample_batch(jax.random.PRNGKey(n), batch, n, 3, returns_to_scale=(0.6, 0.95),
                                       density=0.5, technology="ces", elasticity=(0.3, 4.0))
        f = jax.jit(jax.vmap(jplan.optimum))
        t0 = time.perf_counter()
        compiled = f.lower(economies).compile()
        compile_s = time.perf_counter() - t0
        jax.block_until_ready(compiled(economies))
        t0 = time.perf_counter()
        opt = jax.block_until_ready(compiled(economies))
        jplan_s = (time.perf_counter() - t0) / batch
        status_ok = float(np.mean(np.asarray(opt.status) == 0))
        solve_s, total_s, diff, solved = [], [], 0.0, 0
        for i in range(k):
            e = jax.tree_util.tree_map(lambda x: x[i], economies)
            t0 = time.perf_counter()
            ref = conic_optimum(e)
            total_s.append(time.perf_counter() - t0)
            solve_s.append(ref.get("solve_time", np.nan))
            if ref["status"] == "optimal":
                solved += 1
                u_ref = welfare_index(e, welfare(e, jnp.asarray(ref["c"])))
                diff = max(diff, abs(float(welfare_index(e, opt.welfare[i]) - u_ref)))
        conic_solve, conic_total = float(np.nanmedian(solve_s)), float(np.median(total_s))
        rows.append((n, batch, jplan_s, compile_s, status_ok, f"{solved}/{k}", conic_solve, conic_total,
                     conic_solve / jplan_s, conic_total / jplan_s, diff if solved else float("nan")))
        print(rows[-1], flush=True)
    lines = [
        f"Reference optimum throughput ({jax.devices()[0].device_kind}, {jax.device_count()} device(s), "
        f"jax {jax.__version__}, float64). Command: `python benchmarks/optimum.py`.",
        "",
        "| n | jplan batch | jplan s/economy (batched) | compile s | jplan certified optimal | Clarabel solved | Clarabel solve s (median of solved) | CVXPY + Clarabel s (median) | jplan speed-up vs Clarabel solve | vs whole CVXPY call | max welfare-index difference |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        fmt = lambda x, spec: "—" if x != x else format(x, spec)  # NaN: nothing to compare
        lines.append(f"| {r[0]} | {r[1]} | {r[2]:.3g} | {r[3]:.1f} | {r[4]:.0%} | {r[5]} | {fmt(r[6], '.3g')} | {r[7]:.3g} | "
                     f"{fmt(r[8], '.2f')}× | {r[9]:.2f}× | {fmt(r[10], '.1e')} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
