"""National-size economies: the Leontief quantity system and the labour values of a sparse economy, jplan
(JAX, iterative) against SciPy's sparse direct solver and SciPy's own BiCGSTAB, each size side by side.

    python benchmarks/scale.py [--large] [--skewed] [--out docs/benchmarks_scale.md] [--figure docs/figures/scale.png]

Sizes n = 10³, 10⁴, 10⁵ goods (and 10⁶ with `--large`), one economy each from
`jplan.economies.sample_sparse` (about n ln n non-zeros, productive by construction); with `--skewed`
also `sample_skewed`'s 55,200-good table with heavy-tailed input counts (28M non-zeros). A *solve* is both
systems, (I − A) x = d and (I − Aᵀ) p = a₀, to a relative residual of 1e-10. Every side runs in its own
process (so its peak memory, the process's maximum resident set, is its own), on the same matrix (the
jplan process writes it for the SciPy processes, which import neither JAX nor jplan):

- jplan: `leontief_quantities` and `labour_values` (BiCGSTAB, float64) under jit on the compact layout
  (`jplan.economies.compact`), and again on the sampler's padded ELL layout; compile time apart; the best of
  three timed solves.
- SciPy direct: `scipy.sparse.linalg.spsolve` (SuperLU) on the CSC matrices, once; a side that runs past
  `--timeout` seconds is reported as such.
- SciPy iterative: `scipy.sparse.linalg.bicgstab` (rtol 1e-10, atol 0) on the CSR matrices, best of three.

Reported: seconds per solve, peak memory (the process's VmHWM), the
largest relative difference between jplan's solutions and SciPy's (‖·‖∞ relative), residuals, and a
roofline: the bytes a matrix-free iteration must stream (the stored matrix and the work vectors, per
product) against the machine's measured copy bandwidth.

Then the procedures on the sparse type, one `sample_sparse_production` economy per size in its own process:
Malinvaud's (`sparse_malinvaud`, rounds and seconds to a price change of 1e-9) and Heal's rule
(`sparse_heal`, `--heal-steps` steps up to 10⁵ goods: marginal seconds per step, steps accepted by the
step-size control, and the welfare gap to Malinvaud's fixed point, which is the optimum).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from _report import device_bounds, device_label, emit  # noqa: E402 (the scripts run as python benchmarks/NAME.py)

ROOT = Path(__file__).resolve().parents[1]

JPLAN = r"""
import json, resource, sys, time
import numpy as np
import jax
import jplan
def peak_gb():
    # the process's own high-water mark (VmHWM restarts at exec; ru_maxrss would carry the parent's)
    try:
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmHWM:")) / 1e6
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
jplan.enable_x64()
from jplan.economies.sparse import CompactSparseEconomy, compact, coordinates, sample_skewed, sample_sparse
from jplan.solvers.sparse import labour_values, leontief_quantities
case, folder, layout = sys.argv[1], sys.argv[2], sys.argv[3]
if case == "skewed":
    economy = sample_skewed(0, 55_200)
else:
    economy = jax.jit(sample_sparse, static_argnums=1)(jax.random.PRNGKey(0), int(case))
    economy = compact(economy) if layout == "compact" else economy
jax.block_until_ready(economy)
n = economy.n
rows, cols, values = coordinates(economy)
if isinstance(economy, CompactSparseEconomy):
    slots, matrix_bytes = economy.values.size, economy.nbytes
else:
    slots, matrix_bytes = economy.coefficients.size, economy.inputs.nbytes + economy.coefficients.nbytes
if layout == "compact":  # the matrix for the SciPy processes (the same whichever layout)
    np.savez(f"{folder}/economy_{case}.npz", rows=rows, cols=cols, values=values, n=n,
             labour=np.asarray(economy.labour), final_demand=np.asarray(economy.final_demand))
solve = lambda e: (leontief_quantities(e), labour_values(e))
t0 = time.perf_counter()
compiled = jax.jit(solve).lower(economy).compile()
compile_s = time.perf_counter() - t0
times = []
for _ in range(3):
    t0 = time.perf_counter()
    q, p = jax.block_until_ready(compiled(economy))
    times.append(time.perf_counter() - t0)
np.savez(f"{folder}/jplan_{layout}_{case}.npz", x=np.asarray(q.x), p=np.asarray(p.x))
print(json.dumps(dict(n=n, seconds=min(times), compile_seconds=compile_s, nonzeros=int(values.size), slots=int(slots),
                      matrix_bytes=int(matrix_bytes), residual=max(float(q.residual), float(p.residual)),
                      products=int(q.iterations) + int(p.iterations), converged=bool(q.converged & p.converged),
                      peak_gb=peak_gb())))
"""

PROCEDURES = r"""
import json, sys, time
import numpy as np
import jax
import jax.numpy as jnp
import jplan
jplan.enable_x64()
from jplan.economies import sample_sparse_production
from jplan.economies.sparse import compact_pattern
from jplan.procedures import sparse_heal, sparse_malinvaud
n, heal_steps = int(sys.argv[1]), int(sys.argv[2])
economy = jax.jit(sample_sparse_production, static_argnums=1)(jax.random.PRNGKey(0), n)
pattern = compact_pattern(economy)
def timed(fn, *args):
    args = args or (economy,)
    compiled = jax.jit(fn).lower(*args).compile()
    jax.block_until_ready(compiled(*args))
    t0 = time.perf_counter()
    out = jax.block_until_ready(compiled(*args))
    return out, time.perf_counter() - t0
lsm, lsm_s = timed(lambda e, p: sparse_malinvaud(e, 50, pattern=p), economy, pattern)
padded, padded_s = timed(lambda e: sparse_malinvaud(e, 50))
same = bool(np.allclose(np.asarray(padded.prices), np.asarray(lsm.prices), rtol=1e-9)) and int(padded.steps) == int(lsm.steps)
out = dict(malinvaud_seconds=lsm_s, malinvaud_padded_seconds=padded_s, malinvaud_same=same,
           malinvaud_rounds=int(lsm.steps) + 1, malinvaud_status=int(lsm.status), optimum=float(lsm.welfare[int(lsm.steps)]))
if heal_steps:
    short, t_short = timed(lambda e: sparse_heal(e, 10, tolerance=0.0))
    heal, t_long = timed(lambda e: sparse_heal(e, heal_steps, tolerance=0.0))
    w = np.asarray(heal.welfare)
    scale = float(jnp.sum(economy.welfare_weights))
    out.update(heal_step_seconds=(t_long - t_short) / (heal_steps - 10), heal_steps=heal_steps,
               heal_accepted=int(np.sum(np.diff(w) > 0)), heal_step_size=float(heal.state.step_size),
               heal_gap_start=(out["optimum"] - w[0]) / scale, heal_gap_end=(out["optimum"] - w[-1]) / scale)
print(json.dumps(out))
"""

SCIPY = r"""
import json, resource, sys, time
import numpy as np
from scipy import sparse
def peak_gb():
    # the process's own high-water mark (VmHWM restarts at exec; ru_maxrss would carry the parent's)
    try:
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmHWM:")) / 1e6
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
from scipy.sparse.linalg import bicgstab, spsolve
case, folder, method = sys.argv[1], sys.argv[2], sys.argv[3]
with np.load(f"{folder}/economy_{case}.npz") as e:
    n = int(e["n"])
    A = sparse.csr_matrix((e["values"], (e["rows"], e["cols"])), shape=(n, n))
    d, a0 = e["final_demand"], e["labour"]
I = sparse.identity(n, format="csr")
systems = [((I - A).tocsr(), d), ((I - A.T).tocsr(), a0)]
def run():
    out = []
    for M, b in systems:
        if method == "direct":
            out.append(spsolve(M.tocsc(), b))
        else:
            x, info = bicgstab(M, b, rtol=1e-10, atol=0.0, maxiter=10_000)
            out.append(x)
    return out
times, repeats = [], 1 if method == "direct" else 3
for _ in range(repeats):
    t0 = time.perf_counter()
    x, p = run()
    times.append(time.perf_counter() - t0)
residual = max(np.linalg.norm(b - M @ s) / np.linalg.norm(b) for (M, b), s in zip(systems, (x, p)))
np.savez(f"{folder}/{method}_{case}.npz", x=x, p=p)
print(json.dumps(dict(seconds=min(times), residual=float(residual), peak_gb=peak_gb())))
"""


def _run(code: str, args: list[str], timeout: float) -> dict | None:
    try:
        proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout,
                              cwd=ROOT, check=True)
    except subprocess.TimeoutExpired:
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def copy_bandwidth() -> float:
    """The machine's memory copy bandwidth in GB/s (bytes read + written), best of five 0.8 GB copies."""
    import time

    import numpy as np

    a = np.ones(50_000_000)
    b = np.empty_like(a)
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        np.copyto(b, a)
        best = min(best, time.perf_counter() - t0)
    return 2 * a.nbytes / best / 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--large", action="store_true", help="add n = 10^6")
    ap.add_argument("--skewed", action="store_true", help="add the skewed 55,200-good table (sample_skewed, 28M non-zeros)")
    ap.add_argument("--sizes", default="1000,10000,100000", help="comma-separated goods counts (default 10^3..10^5)")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds before a side is reported as too slow")
    ap.add_argument("--out", default=None, help="write the markdown report here")
    ap.add_argument("--figure", default=None, help="write the log-log plot here (PNG)")
    ap.add_argument("--heal-steps", type=int, default=100, help="Heal's steps per size (up to 10^5 goods; 0: none)")
    args = ap.parse_args()
    import numpy as np
    from tqdm.auto import tqdm

    cases = [str(int(float(x))) for x in args.sizes.split(",")] + (["1000000"] if args.large else []) + (["skewed"] if args.skewed else [])
    import jax

    jax.config.update("jax_enable_x64", True)
    on_cpu = jax.devices()[0].platform == "cpu"
    device = device_label()
    # the roofline of the device jplan's solves run on (with JAX where that is not the CPU)
    bandwidth = copy_bandwidth() if on_cpu else device_bounds()[0] / 1e9
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for case in tqdm(cases, desc="scale", unit="size"):
            jp = _run(JPLAN, [case, folder, "compact"], args.timeout)
            if jp is None:
                raise SystemExit(f"jplan did not finish {case} within {args.timeout:g} s")
            skewed = case == "skewed"
            # the padded layout on the skewed table holds 10x its non-zeros (3.3 GB of slots, 9.6 GB peak): not rerun
            ell = None if skewed else _run(JPLAN, [case, folder, "ell"], args.timeout)
            # SuperLU's fill-in on 28M non-zeros exceeds the machine: the direct side is not run on the skewed table
            sides = {m: None if (skewed and m == "direct") else _run(SCIPY, [case, folder, m], args.timeout)
                     for m in ("direct", "iterative")}
            ours = np.load(f"{folder}/jplan_compact_{case}.npz")
            diff = {}
            for m, res in list(sides.items()) + [("ell", ell)]:
                if res is not None:
                    theirs = np.load(f"{folder}/{m}_{case}.npz" if m != "ell" else f"{folder}/jplan_ell_{case}.npz")
                    diff[m] = max(float(np.max(np.abs(ours[k] - theirs[k])) / np.max(np.abs(theirs[k]))) for k in ("x", "p"))
            n = jp["n"]
            # bytes a matrix-free product streams: the stored matrix (indices and values) and about ten length-n
            # float64 vectors (BiCGSTAB's updates) per product
            per_product = jp["matrix_bytes"] + 10 * n * 8
            heal_steps = args.heal_steps if n <= 100_000 else 0
            procs = None if skewed else _run(PROCEDURES, [case, str(heal_steps)], 20 * args.timeout)
            rows.append(dict(case=case, n=n, jplan=jp, ell=ell, sides=sides, diff=diff, procedures=procs,
                             achieved_gbs=jp["products"] * per_product / jp["seconds"] / 1e9))
    fmt = lambda res, key="seconds": "—" if res is None else f"{res[key]:.3g}"
    command = "python benchmarks/scale.py" + (" --large" if args.large else "") + (" --skewed" if args.skewed else "") + (
        f" --timeout {args.timeout:g}" if args.timeout != 600 else "")
    label = lambda r: f"{r['n']:,}" + (" (skewed)" if r["case"] == "skewed" else "")
    lines = [
        "# Scale: sparse Leontief and labour-value solves",
        "",
        f"Produced by `{command}` (see its docstring). One economy per size from `jplan.economies.sample_sparse` "
        "(a bounded, skewed number of inputs per good, about n ln n non-zeros); *skewed*: `sample_skewed`, the shape "
        "of a real 55,200-good table (heavy-tailed input counts, one good with 5,000 inputs). A solve is both systems, "
        "(I − A) x = d and (I − Aᵀ) p = a₀, to a relative residual of 1e-10; each side in its own process on the same "
        f"matrix; float64. jplan's device: {device}; SciPy on the host's CPU (one core). `—`: not run (see below) or "
        f"did not finish within {args.timeout:g} s.",
        "",
        "jplan stores the matrix in the compact layout (`CompactSparseEconomy`: the non-zeros only, in cache-sized "
        "chunks, 16 bytes each); *ELL* is the padded layout the sampler draws (`SparseEconomy`, every good padded to "
        "K slots), solved by the same code for comparison. *matrix / CSR* is the bytes jplan's stored matrix takes "
        "over a CSR matrix's (12 bytes per non-zero + 4 per good). jplan's peak memory is its process's, which "
        "draws the economy first (the sampler's padded arrays, or `sample_skewed`'s NumPy arrays on the host) and "
        "compiles: it does not measure the layout; *matrix / CSR* does. SciPy's direct solver is not run on the skewed "
        "table (SuperLU's fill-in on 28M non-zeros exceeds the machine's memory), nor ELL (3.3 GB of slots for "
        "0.34 GB of non-zeros).",
        "",
        "| n | non-zeros | jplan s | jplan compile s | jplan peak GB | matrix / CSR | ELL s | ELL peak GB | SciPy spsolve s "
        "| spsolve peak GB | SciPy BiCGSTAB s | BiCGSTAB peak GB | jplan speed vs spsolve | vs SciPy BiCGSTAB "
        "| max rel. diff (spsolve, BiCGSTAB, ELL) | jplan residual |",
        "|" + "---|" * 16,
    ]
    for r in rows:
        jp, direct, it = r["jplan"], r["sides"]["direct"], r["sides"]["iterative"]
        ratio = lambda res: "—" if res is None else f"{res['seconds'] / jp['seconds']:.2g}×"
        d = lambda m: "—" if m not in r["diff"] else f"{r['diff'][m]:.1e}"
        csr = jp["nonzeros"] * 12 + (r["n"] + 1) * 4
        lines.append(
            f"| {label(r)} | {jp['nonzeros']:,} | {jp['seconds']:.3g} | {jp['compile_seconds']:.2g} | {jp['peak_gb']:.2f} "
            f"| {jp['matrix_bytes'] / csr:.2f} | {fmt(r['ell'])} | {fmt(r['ell'], 'peak_gb')} "
            f"| {fmt(direct)} | {fmt(direct, 'peak_gb')} | {fmt(it)} | {fmt(it, 'peak_gb')} | {ratio(direct)} "
            f"| {ratio(it)} | {d('direct')}, {d('iterative')}, {d('ell')} | {jp['residual']:.1e} |")
    lines += [
        "",
        "Roofline: an iterative solve is bound by memory traffic, not arithmetic (one multiply-add per 16-byte "
        f"stored non-zero). jplan's device copies memory at {bandwidth:.1f} GB/s (read + write, best of five copies: "
        + ("NumPy, 0.8 GB" if on_cpu else "JAX, 1 GB") + "). The "
        "bytes the iteration must stream per product with A or Aᵀ are about the stored matrix (16 bytes per "
        "stored entry) + 10·n·8 (BiCGSTAB's vectors); over the products jplan used (the true residual's included):",
        "",
        "| n | stored entries | products (both systems) | achieved GB/s | share of copy bandwidth |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        jp = r["jplan"]
        lines.append(f"| {label(r)} | {jp['slots']:,} | {jp['products']} | {r['achieved_gbs']:.2g} | {r['achieved_gbs'] / bandwidth:.0%} |")
    lines += [
        "",
        "## The procedures on the sparse type",
        "",
        "One `sample_sparse_production` economy per size (Cobb–Douglas firms, constant returns, one labour "
        "resource), in its own process; compile time apart. *Malinvaud*: `sparse_malinvaud` to a price change "
        "of 1e-9 (its fixed point is the optimum: the gap column below is measured from its welfare), the centre "
        "solving in the compact layout (`pattern=compact_pattern(economy)`) and, for comparison, in the padded one "
        "(*ELL*; the same rounds and prices to 1e-9 where marked ✓). *Heal*: "
        f"`sparse_heal` (Heal's rule, the dense procedure's start and step-size control) for {args.heal_steps} "
        "steps, up to 10⁵ goods; seconds per step are marginal (the run of 10 steps subtracted).",
        "",
        "| n | Malinvaud rounds | Malinvaud s | Malinvaud s (ELL) | Heal s/step | Heal steps accepted | Heal κ at the end | Heal gap: start → end |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        pr = r["procedures"]
        if r["case"] == "skewed":
            continue
        if pr is None:
            lines.append(f"| {r['n']:,} | — | — | — | — | — | — | — |")
            continue
        rounds = f"{pr['malinvaud_rounds']}" + ("" if pr["malinvaud_status"] == 1 else " (not converged)")
        if "heal_steps" in pr:
            heal = (f"{pr['heal_step_seconds']:.3g} | {pr['heal_accepted']}/{pr['heal_steps']} | {pr['heal_step_size']:.2g} "
                    f"| {pr['heal_gap_start']:.2g} → {pr['heal_gap_end']:.2g}")
        else:
            heal = "— | — | — | —"
        padded = f"{pr['malinvaud_padded_seconds']:.3g}" + (" ✓" if pr["malinvaud_same"] else " (differs)")
        lines.append(f"| {r['n']:,} | {rounds} | {pr['malinvaud_seconds']:.3g} | {padded} | {heal} |")
    if args.figure:
        _plot(rows, args.figure)
        import os

        where = os.path.relpath(args.figure, start=os.path.dirname(os.path.abspath(args.out)) if args.out else os.getcwd())
        lines += ["", f"![Seconds and peak memory per solve against n, log–log]({where})"]
    emit(lines, args.out)


def _plot(rows, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = [r["n"] for r in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    rows = [r for r in rows if r["case"] != "skewed"]  # one size of its own kind: in the table only
    n = [r["n"] for r in rows]
    series = [("jplan (JAX BiCGSTAB, compact)", [r["jplan"] for r in rows], "#332288", "o-"),
              ("jplan (padded ELL layout)", [r["ell"] for r in rows], "#88CCEE", "o--"),
              ("SciPy spsolve (SuperLU)", [r["sides"]["direct"] for r in rows], "#CC6677", "s--"),
              ("SciPy BiCGSTAB", [r["sides"]["iterative"] for r in rows], "#117733", "^:")]
    for label, res, colour, style in series:
        keep = [(k, x) for k, x in zip(n, res) if x is not None]
        if keep:
            ax1.plot([k for k, _ in keep], [x["seconds"] for _, x in keep], style, color=colour, label=label)
            ax2.plot([k for k, _ in keep], [x["peak_gb"] for _, x in keep], style, color=colour, label=label)
    ax1.set(xscale="log", yscale="log", xlabel="goods n", ylabel="seconds per solve (both systems)",
            title="Time to a relative residual of 1e-10")
    ax2.set(xscale="log", yscale="log", xlabel="goods n", ylabel="peak resident memory (GB)", title="Memory")
    for ax in (ax1, ax2):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
