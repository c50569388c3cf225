"""Accuracy of float32 runs: every procedure on the same economies in float32 and in float64, side by side.

    python benchmarks/float32.py [--batch 64] [--out docs/benchmarks_float32.md]

JAX computes in float32 unless `jplan.enable_x64()` is called (the `jplan` command always calls it). A
float32 run is cheaper on GPUs (and half the memory everywhere), but it can only resolve gaps down to its
own rounding: this measures how far. Each precision runs in its own process (x64 is a global switch), on
the same economies (drawn in float64, rounded to float32 for the float32 run); the float64 optimum is the reference for both, so the float32
column is the gap a float32 user would actually reach. Numbers are medians over the batch.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import sys
from pathlib import Path

from _report import emit  # noqa: E402 (the scripts run as python benchmarks/NAME.py)

ROOT = Path(__file__).resolve().parents[1]
PROCEDURES = {  # name -> (steps, sampler options)
    "arrow-hurwicz": (2000, {}),
    "arrow-hurwicz-adaptive": (2000, {}),
    "malinvaud": (20, {"m": 1, "returns_to_scale": (1.0, 1.0)}),
    "heal": (300, {}),
    "heal-proportional": (20, {}),
}

WORKER = r"""
import json, sys
import jax, jax.numpy as jnp, numpy as np
import jplan
x64, batch, folder = sys.argv[1] == "64", int(sys.argv[2]), sys.argv[4]
procedures = json.loads(sys.argv[3])
if x64:
    jplan.enable_x64()
out = {}
for name, (steps, options) in procedures.items():
    opts = {"m": 2, "returns_to_scale": (0.6, 0.95), **{k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}}
    m = opts.pop("m")
    economies = jplan.sample_batch(jax.random.PRNGKey(0), batch, n=8, m=m, **opts)
    leaves, treedef = jax.tree.flatten(economies)
    stored = f"{folder}/{name}.npz"
    if x64:  # the float64 economies, written for the float32 run: both precisions see the same numbers
        np.savez(stored, *[np.asarray(x) for x in leaves])
    else:
        with np.load(stored) as saved:
            leaves = [jnp.asarray(saved[f"arr_{i}"]).astype(x.dtype) for i, x in enumerate(leaves)]
        economies = jax.tree.unflatten(treedef, leaves)
    optima = jax.jit(jax.vmap(jplan.optimum))(economies)
    procedure = jplan.make_procedure(name)
    traces = jax.jit(jax.vmap(lambda e: jplan.run(procedure, e, steps)))(economies)
    welfare = np.asarray(traces.welfare[:, -1], dtype=np.float64)
    out[name] = dict(welfare=welfare.tolist(), optimal=np.asarray(optima.welfare, dtype=np.float64).tolist(),
                     dtype=str(traces.welfare.dtype))
print(json.dumps(out))
"""


def run_worker(bits: str, batch: int, folder: str) -> dict:
    done = subprocess.run([sys.executable, "-c", WORKER, bits, str(batch), json.dumps(PROCEDURES), folder],
                          capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        sys.exit(f"float{bits} worker failed: {done.stderr.strip().splitlines()[-1]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    import numpy as np

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--out", default=None, help="write the markdown table here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as folder:  # float64 first: it draws the economies both runs use
        results = {bits: run_worker(bits, args.batch, folder) for bits in ("64", "32")}
    rows = []
    for name, (steps, _) in PROCEDURES.items():
        u_star = np.asarray(results["64"][name]["optimal"])  # float64 reference for both precisions
        gaps = {}
        for bits in ("32", "64"):
            u = np.asarray(results[bits][name]["welfare"])
            gap = np.abs(u_star - u) / np.maximum(1.0, np.abs(u_star))
            gaps[bits] = float(np.median(gap[np.isfinite(gap)])) if np.isfinite(gap).any() else float("nan")
        u32 = np.asarray(results["32"][name]["welfare"])
        u64 = np.asarray(results["64"][name]["welfare"])
        both = np.isfinite(u32) & np.isfinite(u64)
        diff = float(np.median(np.abs(u32[both] - u64[both]) / np.maximum(1.0, np.abs(u64[both])))) if both.any() else float("nan")
        rows.append((name, steps, gaps["32"], gaps["64"], diff, int(np.isfinite(u32).sum())))
        print(name, *(f"{g:.2e}" for g in (gaps["32"], gaps["64"], diff)), flush=True)
    import jax

    lines = [
        f"float32 against float64 ({jax.devices()[0].device_kind}, jax {jax.__version__}); command: "
        f"`python benchmarks/float32.py`. {args.batch} random economies per procedure (n = 8, m = 2, returns to "
        "scale 0.6–0.95; Malinvaud: one resource, constant returns), each drawn in float64 and run in both precisions (rounded to float32 for the float32 run)"
        "; gaps are measured against the float64 reference optimum. Medians over the batch.",
        "",
        "| procedure | steps | gap, float32 run | gap, float64 run | float32 vs float64 final welfare | finite float32 runs |",
        "|---|---|---|---|---|---|",
    ]
    for name, steps, g32, g64, diff, finite in rows:
        lines.append(f"| `{name}` | {steps} | {g32:.1e} | {g64:.1e} | {diff:.1e} | {finite}/{args.batch} |")
    emit(lines, args.out)


if __name__ == "__main__":
    main()
