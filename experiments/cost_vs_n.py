"""Experiment (c): how information and computation grow with the number of goods n (seed 001 §6, items 1–2).

    python experiments/cost_vs_n.py [--out DIR]

Runs configs/cost_vs_n.toml (n = 4, 8, 16, 32) and adds `cost_vs_n.png` and `cost_vs_n.md`: per procedure,
against n, the median iterations and floats exchanged until the gap stays ≤ 1e-4, and the wall time per
economy-step.
"""

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from _common import run_named_study  # noqa: E402

if __name__ == "__main__":
    result = run_named_study("cost_vs_n", __doc__)
    summary = json.loads((result.out / "summary.json").read_text())
    timings = json.loads((result.out / "timings.json").read_text())
    series = {}
    for name, procs in summary["scenarios"].items():
        family, n = name.split("-n")
        for proc, s in procs.items():
            reach = s["reach"]["1e-4"]
            series.setdefault((family, proc), []).append(
                (int(n), reach["iterations_median"], reach["messages_median"], timings[f"{name}/{proc}"]["wall_seconds_per_economy_step"] * 1e6)
            )
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    lines = ["| family | procedure | n | iterations to 1e-4 | floats to 1e-4 | µs per economy-step |", "|---|---|---|---|---|---|"]
    for (family, proc), rows in sorted(series.items()):
        rows.sort()
        ns = [r[0] for r in rows]
        for ax, col in zip(axes, (1, 2, 3)):
            ax.plot(ns, [r[col] for r in rows], marker="o", label=f"{proc} ({'decreasing' if family == 'dec' else 'labour, CRS'})")
        lines += [f"| {family} | {proc} | {r[0]} | {r[1]} | {r[2]} | {r[3]:.2f} |" for r in rows]
    for ax, title in zip(axes, ("iterations until gap ≤ 1e-4", "floats exchanged until gap ≤ 1e-4", "µs per economy-step (batched)")):
        ax.set(xscale="log", yscale="log", xlabel="n (goods = firms)", title=title)
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(result.out / "cost_vs_n.png", dpi=110)
    (result.out / "cost_vs_n.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
