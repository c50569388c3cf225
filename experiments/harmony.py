"""Cockshott's harmony algorithm against the LP optimum of the same multi-year plans: the README's table
"Harmony against the LP".

    python experiments/harmony.py [--batch 64]

`jplan.solvers.multiyear.harmony_multiyear` (his Pascal constants, and his Java version's: 100 iterations,
phase2adjust 0.4, the largest user gain for a nonfinal product) beside `solve_multiyear` (jplan's simplex)
on:

- his documented toy economy (`examples/cockshott_toy`, 5 years);
- the economies his own generator (`planning.testeconomy`) wrote, kept in `tests/data/harmony_java` with
  his Java program's output (jplan reproduces it to 2e-8, `tests/test_harmony.py`);
- `--batch` random economies of `jplan.economies.multiyear.sample_multiyear` (4 goods) planned over 1, 2
  and 5 years (one-year plans have no investment);
- the US economy of 2021 (`multiyear_from_table`, 15 sectors, 1 year: the LP solves it), measured in the
  table's $ million and in $ trillion (harmony's fixed targets 0.02/0.03 for products without a target are
  in the data's units, so the unit is not neutral), and over 5 years (harmony only: jplan's dense simplex
  does not solve this 2,330-variable LP in 15 minutes).

Per set: the median of harmony's objective as a share of the LP optimum (1 = optimal; the LP's objective
is the sum over years of each year's least fulfilled target), the share of plans within 5% of the
optimum, the share whose harmony plan uses more of some product than there is (shortfall > 1e-6), and the
share where harmony failed (a non-finite intensity).
"""

from __future__ import annotations

import argparse
import glob
import os
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from jplan.economies.multiyear import MultiYearEconomy, multiyear_from_table, read_cockshott, sample_multiyear  # noqa: E402
from jplan.economies.table import read_table  # noqa: E402
from jplan.solvers.harmony import HARMONY_DEFAULTS, HARMONY_JAVA  # noqa: E402
from jplan.solvers.multiyear import harmony_multiyear, solve_multiyear  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VERSIONS = (("Pascal", HARMONY_DEFAULTS), ("Java", HARMONY_JAVA))


def stack(economies):
    return jax.tree_util.tree_map(lambda *a: jnp.stack(a), *economies)


def rescaled(e: MultiYearEconomy, unit: float) -> MultiYearEconomy:
    """The same economy with every quantity divided by `unit` (coefficients unchanged)."""
    return MultiYearEconomy(inputs=e.inputs, capital=e.capital, depreciation=e.depreciation, labour=e.labour,
                            initial_capital=e.initial_capital / unit, labour_supply=e.labour_supply / unit,
                            targets=e.targets / unit, goods=e.goods, years=e.years)


def measure(label, economies, lp_objective=None):
    """One row per version: (label, version, count, median share, within 5%, infeasible, failed)."""
    batch = stack(economies)
    if lp_objective is None:
        lp = jax.jit(jax.vmap(solve_multiyear))(batch)
        lp_objective = np.asarray(lp.objective)
    rows = []
    for version, options in VERSIONS:
        h = jax.jit(jax.vmap(lambda e: harmony_multiyear(e, **options)))(batch)
        failed = np.asarray(h.failed)
        objective = np.asarray(h.objective)
        share = np.where(failed, np.nan, objective / lp_objective) if np.all(np.isfinite(lp_objective)) else None
        infeasible = ~failed & (np.asarray(h.infeasibility) > 1e-6)
        rows.append((label, version, len(economies), share, infeasible, failed, objective))
    return rows


def fmt_share(share):
    if share is None:
        return "–", "–"
    ok = share[np.isfinite(share)]
    if ok.size == 0:
        return "–", "–"
    return f"{np.median(ok):.3f}", f"{np.mean(ok >= 0.95):.0%}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64, help="random economies per plan length (default 64)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    rows = []
    rows += measure("Cockshott's toy economy (5 years)", [read_cockshott(os.path.join(ROOT, "examples", "cockshott_toy"))])
    for folder in sorted(glob.glob(os.path.join(ROOT, "tests", "data", "harmony_java", "gen_*"))):
        e = read_cockshott(folder)
        rows += measure(f"his generator: {e.n} goods, {e.T} years", [e])
    keys = jax.random.split(jax.random.PRNGKey(0), args.batch)
    for years in (1, 2, 5):
        economies = [jax.tree_util.tree_map(lambda a: a[i], jax.vmap(lambda k: sample_multiyear(k, 4, years))(keys))
                     for i in range(args.batch)]
        rows += measure(f"random, 4 goods, {years} year{'s' if years > 1 else ''}", economies)
    table = read_table("us-bea-2021-15")
    us1, _ = multiyear_from_table(table, years=1)
    lp1 = float(solve_multiyear(us1).objective)
    rows += measure("US 2021, 15 sectors, 1 year, $ million", [us1], np.array([lp1]))
    rows += measure("US 2021, 15 sectors, 1 year, $ trillion", [rescaled(us1, 1e6)], np.array([lp1]))
    us5, _ = multiyear_from_table(table, years=5)
    rows += measure("US 2021, 15 sectors, 5 years, $ trillion (no LP)", [rescaled(us5, 1e6)], np.array([np.nan]))
    print("| plans | version | plans run | harmony / LP optimum (median) | within 5% | shortfall > 1e-6 | failed |")
    print("|---|---|---|---|---|---|---|")
    for label, version, count, share, infeasible, failed, objective in rows:
        median, within = fmt_share(share)
        if share is None:  # no LP optimum to compare with: harmony's own objective
            median = f"objective {np.nanmedian(objective):.3g} (no LP)" if np.any(np.isfinite(objective)) else "–"
        print(f"| {label} | {version} | {count} | {median} | {within} | {np.mean(infeasible):.0%} | {np.mean(failed):.0%} |")
    print(f"\n({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
