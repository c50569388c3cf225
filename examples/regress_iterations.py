"""Regress each procedure's iterations to a 1e-4 gap on the economies' mean returns to scale, from a
finished study's tidy results (no notebook; needs pandas).

    jplan study --out results/default          # or any study folder
    python examples/regress_iterations.py results/default

Prints, per procedure and scenario with enough converged runs, the OLS fit
iterations_to_1e-4 = a + b · mean ρ, with the number of runs used and R².
"""

from __future__ import annotations

import sys

import numpy as np

from jplan.study import load


def main(folder: str) -> None:
    runs = load(folder)
    print(f"{'scenario':<16} {'procedure':<24} {'runs':>5} {'a':>10} {'b (per unit of rho)':>20} {'R^2':>6}")
    for (scenario, procedure), g in runs.groupby(["scenario", "procedure"]):
        g = g.dropna(subset=["iterations_to_1e-4"])
        x, y = g["returns_to_scale_mean"].to_numpy(), g["iterations_to_1e-4"].to_numpy()
        if len(g) < 8 or np.ptp(x) == 0:  # too few runs, or ρ fixed in this scenario
            continue
        X = np.column_stack([np.ones_like(x), x])
        (a, b), *_ = np.linalg.lstsq(X, y, rcond=None)
        spread = np.sum((y - y.mean()) ** 2)  # zero when every run took the same number of iterations
        r2 = "—" if spread == 0 else f"{1 - np.sum((y - X @ [a, b]) ** 2) / spread:.2f}"
        print(f"{scenario:<16} {procedure:<24} {len(g):>5} {a:>10.1f} {b:>20.1f} {r2:>6}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python examples/regress_iterations.py STUDY_FOLDER")
    main(sys.argv[1])
