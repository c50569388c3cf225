"""Issue 27: how each procedure's cost grows with the size of the economy (Lustosa 1987, §6 — seed 001's open
question at scale).

    python experiments/scaling.py [--config scaling | scaling_gpu] [--out DIR] [--fresh] [--bootstrap B]

Runs the study `configs/<config>.toml` (`scaling`: n = 4 … 64 on three families and N = 2 … 16 divisions,
17 minutes cold on 2 CPU cores, then 2 for this analysis; `scaling_gpu`: n = 4 … 256 and N = 2 … 64 for one GPU), then from its
`runs.parquet`:

- per cell (family, procedure, size): the share of runs whose gap stays ≤ 1e-2 and ≤ 1e-4 within the step
  budget, and the median over *all* runs of the iterations, floats exchanged, centre flops and firm flops
  until then — a run that never gets there counts as +∞, so a median is finite only where more than half
  the runs got there (never a median of the survivors) — with a bootstrap 95% interval (B resamples of the
  cell's economies, percentile method);
- growth laws: cost ∝ n^b by least squares on log median against log n over the sizes whose median is
  finite (at least three), the interval for b from the same bootstrap replicates (each refitted), and a
  curvature check: the quadratic term of a log–log quadratic fit, whose 95% interval excluding 0 says the
  power law does not fit;
- the condition number κ of the welfare Hessian at the optimum (log welfare: ∇²u = −diag(w_k / c*_k²), so
  κ = max_k w_k/c*_k² / min_k w_k/c*_k²) of the Cobb–Douglas economies at n ≤ 32 (the first 256 of each
  cell), against the iterations of the first-order rules (Spearman rank correlation).

Writes `scaling.md` (every table), `scaling.json` (every number) and `scaling.png` into the study folder
and prints the tables (docs/scaling.md and the README hold what it prints).
"""

import argparse
import json
import sys
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import matplotlib  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter  # noqa: E402

from jplan._plotting import procedure_style  # noqa: E402
from jplan.solvers import optimum  # noqa: E402
from jplan.study import load_config, run_study, scenario_economies  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = {"cd": "Cobb–Douglas, decreasing returns", "ces": "CES complements, decreasing returns",
            "lab": "one labour factor, constant returns", "div": "block-angular (N divisions)"}
TOLERANCES = ("1e-2", "1e-4")
METRICS = {"iterations": "iterations_to_{}", "floats": "floats_to_{}", "centre flops": "centre_flops_to_{}",
           "firm flops": "firm_flops_to_{}"}
KAPPA_ECONOMIES, KAPPA_MAX_N = 256, 32
#: a quadratic term below this (per (log n)²) bends the line by under 4% over n = 4 … 64: a power law still
FLAT = 0.02


def family_of(scenario: str) -> str:
    return scenario.split("-")[0]


def cells(runs: dict) -> dict:
    """{(family, procedure, size): {metric@tol: values with +inf where not reached}, plus 'runs'}."""
    out = {}
    usable = (runs["status"] != "out_of_domain") & (runs["reference_status"] != "numerical_failure")
    for scenario in dict.fromkeys(runs["scenario"]):
        for proc in dict.fromkeys(runs["procedure"][runs["scenario"] == scenario]):
            sel = (runs["scenario"] == scenario) & (runs["procedure"] == proc) & usable
            size = int(runs["n"][sel][0]) if sel.any() else 0
            cell = {"runs": int(sel.sum()), "excluded": int(((runs["scenario"] == scenario) & (runs["procedure"] == proc) & ~usable).sum())}
            for tol in TOLERANCES:
                for metric, column in METRICS.items():
                    values = np.asarray(runs[column.format(tol)][sel], float)
                    cell[f"{metric}@{tol}"] = np.where(np.isfinite(values), values, np.inf)
            out[(family_of(scenario), proc, size)] = cell
    return out


def bootstrap_medians(values: np.ndarray, rng, replicates: int) -> np.ndarray:
    """Medians of `replicates` resamples (with replacement) of `values`; +inf where over half are +inf."""
    idx = rng.integers(0, values.size, size=(replicates, values.size))
    return np.median(values[idx], axis=1)


def fit(sizes, medians):
    """(b, curvature) of log median on log n: the slope of a line and the quadratic term of a parabola."""
    x, y = np.log(sizes), np.log(medians)
    b = np.polyfit(x, y, 1)[0]
    c = np.polyfit(x, y, 2)[0] if len(sizes) >= 4 else np.nan
    return b, c


def fmt(v, digits=3):
    if v is None or not np.isfinite(v):
        return "–"
    return f"{v:.{digits}g}".replace("e+0", "e").replace("e+", "e")


def analyse(runs: dict, replicates: int) -> dict:
    rng = np.random.default_rng(0)
    table = cells(runs)
    stats, boots = {}, {}
    for key, cell in table.items():
        s = {"runs": cell["runs"], "excluded": cell["excluded"]}
        for tol in TOLERANCES:
            s[f"reached@{tol}"] = float(np.isfinite(cell[f"iterations@{tol}"]).mean()) if cell["runs"] else np.nan
            for metric in METRICS:
                v = cell[f"{metric}@{tol}"]
                if v.size == 0:
                    s[f"{metric}@{tol}"] = (np.inf, np.inf, np.inf)
                    continue
                b = bootstrap_medians(v, rng, replicates)
                boots[(key, metric, tol)] = b
                with np.errstate(invalid="ignore"):  # intervals reaching +inf
                    s[f"{metric}@{tol}"] = (float(np.median(v)), *np.percentile(b, [2.5, 97.5]).tolist())
        stats[key] = s
    laws = {}
    for family in FAMILIES:
        procs = dict.fromkeys(p for (f, p, _) in stats if f == family)
        for proc in procs:
            sizes_all = sorted(n for (f, p, n) in stats if f == family and p == proc)
            for tol in TOLERANCES:
                for metric in METRICS:
                    point = np.array([stats[(family, proc, n)][f"{metric}@{tol}"][0] for n in sizes_all])
                    ok = np.isfinite(point) & (point > 0)
                    sizes = np.array(sizes_all)[ok]
                    law = {"sizes": sizes.tolist(), "censored_from": next((int(n) for n, o in zip(sizes_all, ok) if not o and n > (sizes.max() if sizes.size else 0)), None)}
                    if sizes.size >= 3:
                        b, c = fit(sizes, point[ok])
                        reps = np.stack([boots[((family, proc, int(n)), metric, tol)] for n in sizes], axis=1)
                        good = np.all(np.isfinite(reps) & (reps > 0), axis=1)
                        fits = np.array([fit(sizes, r) for r in reps[good]])
                        law.update(b=float(b), curvature=float(c), replicates=int(good.sum()))
                        if good.sum() >= 0.9 * replicates:
                            law["b_interval"] = np.percentile(fits[:, 0], [2.5, 97.5]).tolist()
                            if sizes.size >= 4:
                                law["curvature_interval"] = np.percentile(fits[:, 1], [2.5, 97.5]).tolist()
                    laws[(family, proc, tol, metric)] = law
    return {"cells": stats, "laws": laws}


def condition_numbers(config, runs: dict) -> dict:
    """κ of the welfare Hessian at the optimum for the Cobb–Douglas cells up to KAPPA_MAX_N, and the rank
    correlation of the first-order rules' iterations to 1e-2 with it."""
    solve = jax.jit(jax.vmap(optimum))
    result = {"kappa": {}, "iterations": {}}
    for si, sc in enumerate(config.scenarios):
        if family_of(sc.name) != "cd" or sc.n > KAPPA_MAX_N:
            continue
        economies = scenario_economies(config, si)
        k = min(KAPPA_ECONOMIES, config.economies(si))
        economies = jax.tree_util.tree_map(lambda x: x[:k], economies)
        opt = solve(economies)
        w, c = np.asarray(economies.welfare_weights), np.asarray(opt.plan.consumption)
        curvature = np.where(w > 0, w / np.maximum(c, 1e-300) ** 2, np.nan)
        kappa = np.nanmax(curvature, axis=1) / np.nanmin(curvature, axis=1)
        result["kappa"][sc.n] = kappa
        for proc in ("arrow-hurwicz-adaptive", "heal"):
            sel = (runs["scenario"] == sc.name) & (runs["procedure"] == proc) & (runs["economy"] < k)
            it = np.asarray(runs["iterations_to_1e-2"][sel], float)
            result["iterations"][(sc.n, proc)] = np.where(np.isfinite(it), it, np.inf)
    return result


def spearman(x, y):
    rank = lambda v: np.argsort(np.argsort(v, kind="stable"), kind="stable").astype(float)
    rx, ry = rank(x), rank(y)
    return float(np.corrcoef(rx, ry)[0, 1])


def tables(config, result: dict, kappa: dict) -> list[str]:
    lines = [f"Study `{config.name}` (seed {config.seed}); medians over all runs (unreached = ∞), bootstrap 95% "
             "intervals in brackets.", "", "### Growth exponents b (cost ∝ n^b)", "",
             "| family | procedure | tolerance | sizes fitted | iterations b [95%] | floats b [95%] | centre flops b [95%] "
             "| firm flops b [95%] | power law |", "|---|---|---|---|---|---|---|---|---|"]
    for (family, proc, tol, metric), law in result["laws"].items():
        if metric != "iterations":
            continue
        row = [FAMILIES[family], proc, tol]
        sizes = law["sizes"]
        row.append(f"{sizes[0]}–{sizes[-1]} ({len(sizes)})" if len(sizes) >= 3 else
                   f"too few ({len(sizes)} reached by half the runs)")
        verdict = "–"
        for m in METRICS:
            lw = result["laws"][(family, proc, tol, m)]
            if "b" not in lw:
                row.append("–")
                continue
            lo, hi = lw.get("b_interval", (np.nan, np.nan))
            row.append(f"{lw['b']:.2f} [{lo:.2f}, {hi:.2f}]" if np.isfinite(lo) else f"{lw['b']:.2f} [–]")
            if m == "iterations":
                ci = lw.get("curvature_interval")
                if ci is None:
                    verdict = "too few sizes to test" if len(sizes) < 4 else "unstable (censored replicates)"
                elif (ci[0] > 0 or ci[1] < 0) and abs(lw["curvature"]) >= FLAT:
                    verdict = f"no: curved ({lw['curvature']:+.2f} per (log n)²)"
                else:
                    verdict = "yes"
        if law.get("censored_from"):
            verdict += f"; censored from n = {law['censored_from']}"
        row.append(verdict)
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "### Cost per cell", "",
              "| family | procedure | size | runs | reached 1e-2 | iterations to 1e-2 | reached 1e-4 | iterations to 1e-4 "
              "| floats to 1e-4 | centre flops to 1e-4 | firm flops to 1e-4 |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for (family, proc, n), s in result["cells"].items():
        med = lambda key: f"{fmt(s[key][0])} [{fmt(s[key][1])}, {fmt(s[key][2])}]" if np.isfinite(s[key][0]) else "–"
        lines.append(f"| {family} | {proc} | {n} | {s['runs']} | {s['reached@1e-2']:.0%} | {med('iterations@1e-2')} | "
                     f"{s['reached@1e-4']:.0%} | {med('iterations@1e-4')} | {fmt(s['floats@1e-4'][0])} | "
                     f"{fmt(s['centre flops@1e-4'][0])} | {fmt(s['firm flops@1e-4'][0])} |")
    if kappa["kappa"]:
        lines += ["", "### Conditioning (Cobb–Douglas, decreasing returns)", "",
                  "| n | economies | κ median [25–75%] | Spearman ρ(κ, iterations to 1e-2): arrow-hurwicz-adaptive | heal |",
                  "|---|---|---|---|---|"]
        for n, k in kappa["kappa"].items():
            q = np.percentile(k, [50, 25, 75])
            rhos = [spearman(k, kappa["iterations"][(n, p)]) for p in ("arrow-hurwicz-adaptive", "heal")]
            lines.append(f"| {n} | {k.size} | {fmt(q[0])} [{fmt(q[1])}–{fmt(q[2])}] | {rhos[0]:+.2f} | {rhos[1]:+.2f} |")
    return lines


def figure(result: dict, kappa: dict, path: Path):
    fams = [f for f in FAMILIES if any(k[0] == f for k in result["cells"])]
    fig, axes = plt.subplots(2, len(fams) + 1, figsize=(4.2 * (len(fams) + 1), 8), squeeze=False)
    for col, family in enumerate(fams):
        for row, (metric, tol) in enumerate((("iterations", "1e-2"), ("iterations", "1e-4"))):
            ax = axes[row, col]
            sizes_seen = set()
            for proc in dict.fromkeys(p for (f, p, _) in result["cells"] if f == family):
                pts = sorted((n, s[f"{metric}@{tol}"]) for (f, p, n), s in result["cells"].items() if f == family and p == proc)
                ns = np.array([n for n, _ in pts])
                sizes_seen |= set(ns.tolist())
                med = np.array([v[0] for _, v in pts])
                lo, hi = np.array([v[1] for _, v in pts]), np.array([v[2] for _, v in pts])
                ok = np.isfinite(med)
                style = procedure_style(proc)
                label = proc if ok.any() else f"{proc}: not reached by half the runs"
                if ok.any():
                    yerr = np.stack([med[ok] - lo[ok], np.where(np.isfinite(hi[ok]), hi[ok], med[ok]) - med[ok]])
                    ax.errorbar(ns[ok], med[ok], yerr=yerr, marker="o", capsize=2, label=label, **style)
                else:
                    ax.plot([], [], label=label, **style)
            ax.set(xscale="log", yscale="log", title=f"{FAMILIES[family]}\n{metric} until the gap stays ≤ {tol}",
                   xlabel="N (divisions)" if family == "div" else "n (goods)", ylabel=f"{metric} (median, 95% CI)")
            ax.xaxis.set_major_locator(FixedLocator(sorted(sizes_seen)))
            ax.xaxis.set_major_formatter(ScalarFormatter())
            ax.xaxis.set_minor_locator(NullLocator())
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=7, loc="best")
    for row, proc in enumerate(("arrow-hurwicz-adaptive", "heal")):
        ax = axes[row, -1]
        for n, k in kappa["kappa"].items():
            it = kappa["iterations"][(n, proc)]
            ok = np.isfinite(it)
            ax.scatter(k[ok], it[ok], s=6, alpha=0.5, label=f"n = {n}")
        ax.set(xscale="log", yscale="log", xlabel="κ of the welfare Hessian at the optimum",
               ylabel="iterations to 1e-2", title=f"{proc} against conditioning\n(Cobb–Douglas)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _jsonable(result: dict, kappa: dict) -> dict:
    key = lambda k: "/".join(str(x) for x in k)
    return {"cells": {key(k): v for k, v in result["cells"].items()},
            "laws": {key(k): v for k, v in result["laws"].items()},
            "kappa": {str(n): np.asarray(v).tolist() for n, v in kappa["kappa"].items()}}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default="scaling", help="scaling (CPU size, the default), scaling_gpu, or a study file's path")
    ap.add_argument("--out", default=None, help="study folder (default results/<config>)")
    ap.add_argument("--fresh", action="store_true", help="discard earlier results in the folder")
    ap.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples per cell (default 1000)")
    args = ap.parse_args()
    config = load_config(args.config if args.config.endswith(".toml") else str(ROOT / "configs" / f"{args.config}.toml"))
    # the study's own progress and summary table go to stderr: stdout is this analysis's tables alone
    study = run_study(config, args.out or str(ROOT / "results" / args.config), fresh=args.fresh,
                      echo=lambda text: print(text, file=sys.stderr))
    runs = {k: np.asarray(v) for k, v in pq.read_table(study.out / "runs.parquet").to_pydict().items()}
    result = analyse(runs, args.bootstrap)
    kappa = condition_numbers(config, runs)
    lines = tables(config, result, kappa)
    figure(result, kappa, study.out / "scaling.png")
    (study.out / "scaling.md").write_text("\n".join(lines) + "\n")
    (study.out / "scaling.json").write_text(json.dumps(_jsonable(result, kappa), indent=1, default=float))
    print("\n".join(lines))
