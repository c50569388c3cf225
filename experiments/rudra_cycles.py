"""Experiment: how often do Rudra's planning cycles converge, how fast, and how much do they save?

    python experiments/rudra_cycles.py [--batch 256] [--sectors 6] [--cycles 30] [--out DIR]

Seed 002 leaves open "the convergence of decision sequences" (its Conclusion). This study runs the cycles
(`jplan.rudra.plan_cycles`, vmapped over economies) on random economies (`sample_rudra`, commodity balances
as equalities so that plans stay bounded) whose every sector chooses between two projects along a frontier
(`sample_frontiers`, reference levels at the preliminary targets), in three scenarios: constant returns
(every scale elasticity 0), mild scale economies (project elasticities in [−0.3, 0]) and strong ones
([−1, 0]). For each it reports the share of runs that converge / cycle / diverge / hit the cycle limit,
the cycles needed, and the gap after the cycles relative to the preliminary round, λ_final / λ_0.
Writes summary.json, report.md and cycles.png to the output folder.
"""

import argparse
import json
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from jplan.economies import sample_frontiers, sample_rudra  # noqa: E402
from jplan.rudra import CYCLE_STATUS, plan_cycles, solve_central  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = {"constant returns": (0.0, 0.0), "mild scale economies": (-0.3, 0.0), "strong scale economies": (-1.0, 0.0)}


def one_run(key, sectors, scale, cycles, steps):
    k1, k2 = jax.random.split(key)
    economy = sample_rudra(k1, sectors)
    economy = eqx.tree_at(lambda e: e.balance_equality, economy, jnp.array(True))
    levels = solve_central(economy).targets
    tech = sample_frontiers(k2, economy, levels, scale_elasticity=scale)
    history = plan_cycles(economy, tech, cycles=cycles, steps=steps)
    last = history.cycles
    return {
        "status": history.status,
        "cycles": last,
        "period": history.period,
        "lambda_0": history.capital_gap[0],
        "lambda_final": history.capital_gap[last],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--sectors", type=int, default=6)
    ap.add_argument("--cycles", type=int, default=30)
    ap.add_argument("--steps", type=int, default=150, help="gradient steps per sectoral search")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--chunk", type=int, default=32, help="economies per compiled call (progress is reported per chunk)")
    ap.add_argument("--out", default=str(ROOT / "results" / "rudra_cycles"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    keys = jax.random.split(jax.random.PRNGKey(args.seed), args.batch)
    summary = {"batch": args.batch, "sectors": args.sectors, "cycle_limit": args.cycles, "steps": args.steps, "scenarios": {}}
    raw = {}
    chunk = max(1, min(args.chunk, args.batch))
    for name, scale in SCENARIOS.items():
        t0 = time.perf_counter()
        run = jax.jit(jax.vmap(lambda k: one_run(k, args.sectors, scale, args.cycles, args.steps)))
        parts = []
        with tqdm(total=args.batch, desc=name, unit="economy") as bar:
            for start in range(0, args.batch, chunk):
                part = keys[start:start + chunk]
                padded = jnp.concatenate([part, jnp.repeat(part[-1:], chunk - len(part), axis=0)])  # one shape
                parts.append({k: np.asarray(v)[: len(part)] for k, v in run(padded).items()})
                bar.update(len(part))
        res = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        seconds = time.perf_counter() - t0
        raw[name] = res
        conv = res["status"] == CYCLE_STATUS.index("converged")
        ratio = res["lambda_final"][conv] / res["lambda_0"][conv]
        summary["scenarios"][name] = {
            "scale_elasticity_range": list(scale),
            **{f"share_{s}": float(np.mean(res["status"] == i)) for i, s in enumerate(CYCLE_STATUS)},
            "periods_seen": sorted({int(p) for p in res["period"][res["period"] > 0]}),
            "cycles_to_converge_median": float(np.median(res["cycles"][conv])) if conv.any() else None,
            "cycles_to_converge_max": int(np.max(res["cycles"][conv])) if conv.any() else None,
            "lambda_ratio_median": float(np.median(ratio)) if conv.any() else None,
            "lambda_ratio_range": [float(ratio.min()), float(ratio.max())] if conv.any() else None,
            "seconds": seconds,
        }
        print(f"{name}: {summary['scenarios'][name]}")
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    rows = ["| scenario | converged | cycling | diverged | cycle limit | cycles to converge (median / max) | λ_final/λ_0 median (range) | seconds |", "|---|---|---|---|---|---|---|---|"]
    for name, s in summary["scenarios"].items():
        rng = s["lambda_ratio_range"]
        rows.append(
            f"| {name} | {s['share_converged']:.0%} | {s['share_cycling']:.0%} | {s['share_diverged']:.0%} | {s['share_cycle_limit']:.0%} | "
            f"{s['cycles_to_converge_median']} / {s['cycles_to_converge_max']} | "
            + (f"{s['lambda_ratio_median']:.3f} ({rng[0]:.3f}–{rng[1]:.3f})" if rng else "—")
            + f" | {s['seconds']:.0f} |"
        )
    table = "\n".join(rows)
    (out / "report.md").write_text(
        f"# Rudra planning cycles on {args.batch} random economies per scenario (N = {args.sectors}, "
        f"two projects per sector, cycle limit {args.cycles})\n\n{table}\n"
    )
    print(table)
    # empirical distribution functions, not overlapping histograms: each curve reads off directly as "the
    # share of runs that had converged by cycle k" (ending below 1 where some never did) and "the share of
    # converged runs whose λ fell to at most x times the preliminary one"
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10.5, 4))
    colours = dict(zip(SCENARIOS, ("#0072B2", "#E69F00", "#D55E00")))
    for name, res in raw.items():
        conv = res["status"] == CYCLE_STATUS.index("converged")
        total = len(conv)
        k = np.sort(res["cycles"][conv])
        a1.step(np.concatenate([[0], k, [args.cycles]]), np.concatenate([[0], np.arange(1, k.size + 1), [k.size]]) / total,
                where="post", color=colours[name], label=f"{name} ({k.size}/{total})")
        ratio = np.sort(res["lambda_final"][conv] / res["lambda_0"][conv])
        a2.step(ratio, np.arange(1, ratio.size + 1) / max(ratio.size, 1), where="post", color=colours[name], label=name)
    a1.set(xlabel="planning cycle k", ylabel="share of runs converged by cycle k", ylim=(-0.02, 1.02),
           title=f"Convergence of the cycles ({args.batch} economies, N = {args.sectors})")
    a2.axvline(1.0, color="0.5", linestyle=":", linewidth=1)
    a2.set(xlabel="λ after the cycles / preliminary λ (converged runs)", ylabel="share of converged runs ≤ x",
           ylim=(-0.02, 1.02), title="Capital gap saved by the sectors' choices")
    for ax in (a1, a2):
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(out / "cycles.png", dpi=130)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
