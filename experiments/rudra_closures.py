"""Experiment: how much Rudra's full central calculation depends on the reading of step 8 (the closure).

    python experiments/rudra_closures.py [--batch 64] [--seed 0]

Runs `central_calculation` under each closure of `jplan.economies.rudra_full.CLOSURES` on the worked example
(`examples/rudra_full.toml`) and on `--batch` random economies of `sample_rudra_full` (n = N = 4), vmapped in
one compiled call per closure, and prints a Markdown table: status, λ, π, ψ, the direct-tax rates' range, the
balancing item (the import sector's direct tax d_N under "import-balance", the public saving S_g under
"direct-taxes") and its share of λ (for d_N its contribution r_N·d_N to λ). The random economies run twice:
as `sample_rudra_full` draws them, and with their savings rates scaled by `calibrate_savings` to agree with
their own plans (d_N = 0 under "import-balance" by construction: that row measures the other closure and λ
on consistent data, not the default closure). The README's table is this script's output.
"""

import argparse
import os

import jax

jax.config.update("jax_enable_x64", True)

import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from jplan.economies.rudra_full import BALANCED_BY_IMPORT_TAX, CLOSURES, load_rudra_full, sample_rudra_full  # noqa: E402
from jplan.rudra.full import calibrate_savings, central_calculation  # noqa: E402

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "examples", "rudra_full.toml")


def summary(e, out):
    """Per economy: (converged, λ, π, ψ, lowest and highest direct-tax rate, balancing item, its share of λ)."""
    r = out.result
    inc = r.incomes
    lam = r.capital_gap
    rates = jnp.concatenate([inc.old_direct_tax / inc.old_income, inc.direct_tax / inc.income], axis=-1)
    if e.closure in BALANCED_BY_IMPORT_TAX:
        item = inc.import_direct_tax
        share = jnp.abs(e.import_growth * item) / jnp.abs(lam)
    else:
        item = r.savings_gap
        share = jnp.abs(item) / jnp.abs(lam)
    first = out.history_prices[..., 0, :]
    moved = jnp.max(jnp.abs(r.prices.market - first) / jnp.abs(first), axis=-1)
    return dict(converged=out.status == 0, lam=lam, pi=r.prices.rate_of_return, psi=r.price_level,
                rate_min=jnp.min(rates, axis=-1), rate_max=jnp.max(rates, axis=-1), item=item, share=share,
                rounds=out.rounds, moved=moved)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    example = load_rudra_full(EXAMPLE).economy
    keys = jax.random.split(jax.random.PRNGKey(args.seed), args.batch)
    drawn = jax.vmap(lambda k: sample_rudra_full(k))(keys)
    calibrate = eqx.filter_jit(jax.vmap(calibrate_savings))
    print("| closure | economies | converged | λ | π | ψ | market prices, round 1 → last | direct-tax rates | balancing item | its share of λ |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for closure in CLOSURES:
        e = example.with_closure(closure)
        s = {k: np.asarray(v) for k, v in eqx.filter_jit(lambda e: summary(e, central_calculation(e)))(e).items()}
        item = "S_g" if closure == "direct-taxes" else "d_N"
        psi = lambda v: "–" if np.isnan(v) else f"{v:.3f}"  # noqa: E731  (market-prices has no single level)
        print(f"| {closure} | worked example | {'yes' if s['converged'] else 'no'} ({int(s['rounds'])} rounds) | "
              f"{s['lam']:.1f} | {s['pi']:.3f} | {psi(s['psi'])} | moved up to {100 * s['moved']:.1f}% | "
              f"{s['rate_min']:.3f}–{s['rate_max']:.3f} | {item} = {s['item']:.2f} | {100 * s['share']:.1f}% |")
        calibrated, factor = calibrate(drawn.with_closure(closure))
        for label, source in ((f"{args.batch} random (n = N = 4)", drawn),
                              (f"the same, savings calibrated (×{np.median(np.asarray(factor)):.2f} median)", calibrated)):
            batch = source.with_closure(closure)
            b = {k: np.asarray(v) for k, v in
                 eqx.filter_jit(jax.vmap(lambda e: summary(e, central_calculation(e))))(batch).items()}
            ok = b["converged"]
            share = b["share"][ok]
            over = int(np.sum(share > 0.1))
            moved = b["moved"][ok]
            levels = "–" if np.all(np.isnan(b["psi"][ok])) else f"{np.min(b['psi'][ok]):.3f}–{np.max(b['psi'][ok]):.3f}"
            print(f"| {closure} | {label} | {int(ok.sum())} | median {np.median(b['lam'][ok]):.1f} | "
                  f"median {np.median(b['pi'][ok]):.3f} | {levels} | "
                  f"moved in {int(np.sum(moved > 1e-9))} (median {100 * np.median(moved):.1f}%) | "
                  f"{np.nanmin(b['rate_min'][ok]):.3f}–{np.nanmax(b['rate_max'][ok]):.3f} | "
                  f"median \\|{item}\\| {np.median(np.abs(b['item'][ok])):.2f} | median {100 * np.median(share):.1f}%, "
                  f"max {100 * np.max(share):.1f}%; {over} of {int(ok.sum())} over 10% |")


if __name__ == "__main__":
    main()
