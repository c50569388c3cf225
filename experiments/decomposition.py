"""Experiment: the decomposition procedures on random block-angular economies.

    python experiments/decomposition.py [--batch 200] [--out DIR]

Dantzig–Wolfe, Kornai–Lipták (fictitious play), its subgradient and cutting-plane variants on `--batch` random economies
(`jplan.economies.sample_divisions`) of two sizes, each run vmapped in one compiled call, measured against
the exact LP optimum (jplan's simplex; the tests check it against HiGHS). For each procedure and size:
the share converged (bound gap ≤ its tolerance), the median steps, the share of runs and the median
iterations and floats exchanged until the gap to the optimum stays ≤ 1e-2, 1e-4, 1e-6, and the median
final gap. Writes `report.md` and `decomposition.png` (median gap by iteration with 25–75% bands) to the
output folder and prints the table (the README quotes it).
"""

import argparse
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import matplotlib  # noqa: E402
import numpy as np  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from jplan._plotting import procedure_style  # noqa: E402
from jplan.economies import sample_divisions  # noqa: E402
from jplan.procedures import DantzigWolfe, KornaiLiptak, KornaiLiptakCuttingPlane, KornaiLiptakSubgradient, run, status_name  # noqa: E402
from jplan.solvers import divisions_optimum  # noqa: E402
from jplan.study.measures import iterations_to  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SIZES = {"N = 4 divisions, 3 activities, 2 shared, 2 private": (4, 3, 2, 2),
         "N = 8 divisions, 6 activities, 4 shared, 4 private": (8, 6, 4, 4),
         "N = 16 divisions, 20 activities, 8 shared, 10 private": (16, 20, 8, 10)}
PROCEDURES = [(DantzigWolfe(columns=32), 100), (KornaiLiptak(), 2000), (KornaiLiptakSubgradient(), 2000),
              (KornaiLiptakCuttingPlane(), 100)]
TOLERANCES = (1e-2, 1e-4, 1e-6)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "results" / "decomposition"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    header = ("| economies | procedure | converged | steps (median) | " + " | ".join(f"reached {t:.0e} (it., floats)" for t in TOLERANCES)
              + " | final gap (median) |")
    rows = [header, "|" + "---|" * (5 + len(TOLERANCES))]
    fig, axes = plt.subplots(1, len(SIZES), figsize=(5.5 * len(SIZES), 4.2), squeeze=False)
    jobs = [(label, size, proc, steps) for label, size in SIZES.items() for proc, steps in PROCEDURES]
    references = {}
    for k, (label, size, proc, steps) in enumerate(tqdm(jobs, desc="decomposition", unit="job")):
        keys = jax.random.split(jax.random.fold_in(jax.random.PRNGKey(args.seed), list(SIZES).index(label)), args.batch)
        economies = jax.vmap(lambda key: sample_divisions(key, *size))(keys)
        if label not in references:
            references[label] = jax.jit(jax.vmap(divisions_optimum))(economies)
        optimum = references[label]
        assert np.all(np.asarray(optimum.status) == 0), "every sampled economy has an LP optimum"
        tr = jax.jit(jax.vmap(lambda e, u: run(proc, e, steps, optimal_welfare=u)))(economies, optimum.objective)
        gap = np.asarray(tr.gap)
        floats = np.cumsum(np.asarray(tr.messages_down) + np.asarray(tr.messages_up), axis=1)
        cells = []
        for tol in TOLERANCES:
            it = iterations_to(gap, tol)
            hit = np.isfinite(it)
            fl = floats[np.arange(len(it)), np.where(hit, it, 0).astype(int)]
            cells.append(f"{hit.mean():.0%} ({np.median(it[hit]):.0f}, {np.median(fl[hit]):.3g})" if hit.any() else "0%")
        converged = np.mean([status_name(s) == "converged" for s in np.asarray(tr.status)])
        rows.append(f"| {label} | `{proc.name}` | {converged:.0%} | {np.median(tr.steps):.0f} | " + " | ".join(cells)
                    + f" | {np.median(gap[:, -1]):.1e} |")
        ax = axes[0, list(SIZES).index(label)]
        t = np.arange(gap.shape[1]) + 1
        lo, med, hi = np.quantile(np.maximum(gap, 1e-16), [0.25, 0.5, 0.75], axis=0)
        ax.plot(t, med, label=proc.name, **procedure_style(proc.name))
        ax.fill_between(t, lo, hi, color=procedure_style(proc.name)["color"], alpha=0.2)
        ax.set(xscale="log", yscale="log", xlabel="iteration + 1", ylabel="gap |V* − V| / max(1, |V*|)", title=label)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"Decomposition procedures on {args.batch} random block-angular economies (median, 25–75% band)", fontsize=10)
    fig.tight_layout()
    fig.savefig(out / "decomposition.png", dpi=130)
    table = "\n".join(rows)
    (out / "report.md").write_text(f"# Decomposition procedures ({args.batch} economies per size, seed {args.seed})\n\n{table}\n")
    print(table)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
