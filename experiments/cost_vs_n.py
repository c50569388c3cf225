"""Experiment (c): how information and computation grow with the number of goods n (Lustosa 1987, §6,
criteria 1–2).

    python experiments/cost_vs_n.py [--out DIR] [--fresh]

Runs configs/cost_vs_n.toml (n = 4, 8, 16, 32; decreasing returns with two resources, and one-factor
constant returns) and adds `cost_vs_n.png` and `cost_vs_n.md`: per procedure, against n, the iterations
and the floats exchanged until the gap stays ≤ 1e-4 (median and 25–75% band over the runs that got there,
with the share that did), and the wall time per economy-step.
"""

import json

import matplotlib
import numpy as np
import pyarrow.parquet as pq

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter  # noqa: E402
from _common import run_named_study  # noqa: E402

from jplan._plotting import procedure_style  # noqa: E402

FAMILIES = {"dec": ("decreasing returns, m = 2", "o"), "lab": ("labour only, constant returns", "s")}

if __name__ == "__main__":
    result = run_named_study("cost_vs_n", __doc__)
    timings = json.loads((result.out / "timings.json").read_text())
    runs = pq.read_table(result.out / "runs.parquet").to_pydict()
    cols = {k: np.asarray(v) for k, v in runs.items()}
    rows = {}
    for scenario in sorted(set(runs["scenario"])):
        family, n = scenario.split("-n")
        for proc in sorted(set(cols["procedure"][cols["scenario"] == scenario])):
            sel = (cols["scenario"] == scenario) & (cols["procedure"] == proc) & (cols["status"] != "out_of_domain")
            it, fl = cols["iterations_to_1e-4"][sel], cols["floats_to_1e-4"][sel]
            hit = np.isfinite(it)
            q = lambda x: np.quantile(x[hit], [0.25, 0.5, 0.75]) if hit.any() else np.full(3, np.nan)
            us = timings[f"{scenario}/{proc}"]["wall_seconds_per_economy_step"] * 1e6
            rows.setdefault((family, proc), []).append((int(n), q(it), q(fl), us, hit.mean(), sel.sum()))
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4))
    lines = ["| family | procedure | n | runs | reached 1e-4 | iterations to 1e-4 (median, 25–75%) | floats to 1e-4 (median) | µs per economy-step |",
             "|---|---|---|---|---|---|---|---|"]
    ns_all = set()
    for (family, proc), data in sorted(rows.items()):
        data.sort(key=lambda r: r[0])
        ns = np.array([r[0] for r in data])
        ns_all |= set(ns.tolist())
        label, marker = FAMILIES[family]
        style = dict(procedure_style(proc), marker=marker, label=f"{proc} ({label})")
        for ax, col in zip(axes[:2], (1, 2)):
            qs = np.array([r[col] for r in data])
            ax.plot(ns, qs[:, 1], **style)
            ax.fill_between(ns, qs[:, 0], qs[:, 2], color=style["color"], alpha=0.15)
        axes[2].plot(ns, [r[3] for r in data], **style)
        lines += [f"| {label} | {proc} | {r[0]} | {r[5]} | {r[4]:.0%} | {r[1][1]:.0f} ({r[1][0]:.0f}–{r[1][2]:.0f}) | "
                  f"{r[2][1]:.3g} | {r[3]:.2f} |" for r in data]
    titles = ("iterations until the gap stays ≤ 1e-4", "floats exchanged until then", "wall time per economy-step (batched)")
    ylabels = ("iterations", "floats (down + up, cumulative)", "µs")
    for ax, title, ylabel in zip(axes, titles, ylabels):
        ax.set(xscale="log", yscale="log", xlabel="n (goods = firms)", ylabel=ylabel, title=title)
        ax.xaxis.set_major_locator(FixedLocator(sorted(ns_all)))  # 4, 8, 16, 32 rather than 10^0 ticks
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_locator(NullLocator())
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle("Cost against economy size (median; bands: 25–75% of the runs that reached 1e-4)", fontsize=10)
    fig.tight_layout()
    fig.savefig(result.out / "cost_vs_n.png", dpi=130)
    (result.out / "cost_vs_n.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
