"""Experiment (b): increasing returns, where price-guided procedures fail and Heal does not (seed 001 §5.2).

    python experiments/increasing_returns.py [--out DIR]

Runs configs/increasing_returns.toml and adds `by_returns.png`: per returns-to-scale band, the share of
runs each procedure can run (in domain) and the share it brings within 1e-6 of the optimum.
"""

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from _common import run_named_study  # noqa: E402

if __name__ == "__main__":
    result = run_named_study("increasing_returns", __doc__)
    summary = json.loads((result.out / "summary.json").read_text())
    scenarios = list(summary["scenarios"])
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.2
    for k, (proc, colour) in enumerate([("arrow-hurwicz-adaptive", "tab:orange"), ("heal-proportional", "tab:olive")]):
        dom = [summary["scenarios"][s][proc]["in_domain"] / summary["scenarios"][s][proc]["runs"] for s in scenarios]
        hit = [summary["scenarios"][s][proc].get("reach", {}).get("1e-6", {}).get("fraction_reached", 0.0) * d for s, d in zip(scenarios, dom)]
        x = np.arange(len(scenarios)) + (k - 0.5) * 2 * width
        ax.bar(x - width / 2, dom, width, color=colour, alpha=0.35, label=f"{proc}: in domain")
        ax.bar(x + width / 2, hit, width, color=colour, label=f"{proc}: gap ≤ 1e-6")
    ax.set_xticks(np.arange(len(scenarios)), scenarios)
    ax.set(ylabel="share of runs", title="Which procedure can plan an economy with increasing returns?")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(result.out / "by_returns.png", dpi=110)
    print(f"wrote {result.out / 'by_returns.png'}")
