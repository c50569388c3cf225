"""Experiment: how much Rudra's full central calculation depends on the reading of step 8 (the closure).

    python experiments/rudra_closures.py [--batch 64] [--seed 0]

Runs `central_calculation` under each closure of `jplan.economies.rudra_full.CLOSURES` on the worked example
(`examples/rudra_full.toml`) and on `--batch` random economies of `sample_rudra_full` (n = N = 4), vmapped in
one compiled call per closure, and prints a Markdown table: status, λ, π, ψ, the direct-tax rates' range, the
balancing item (the import sector's direct tax d_N under "import-balance", the public saving S_g under
"direct-taxes") and its share of λ (for d_N its contribution r_N·d_N to λ). The random economies run twice:
as `sample_rudra_full` draws them, and with their savings rates scaled by `calibrate_savings` to agree with
their own plans (d_N = 0 under "import-balance" by construction: that row measures the other closure and λ
on consistent data, not the default closure). A second table varies "market-prices"' cap on indirect taxes
(`max_indirect_tax_rate`, t_i ≤ cap·p_i(d)) on `--cap-batch` calibrated random economies: how many converge, λ,
how many goods sit at the cap, and how many keep a balancing item over 10% of λ, split by cause (no
consistent savings rate: d_N > 0 even with savings cut to a tenth; the others, where the ones inspected by
hand have rounds that cycle between two plans around the consistent rate). The README's tables are this script's output.
"""

import argparse
import os

import jax

jax.config.update("jax_enable_x64", True)

import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from jplan.economies.rudra_full import (BALANCED_BY_IMPORT_TAX, CLOSURES, MAX_INDIRECT_TAX_RATE, load_rudra_full,  # noqa: E402
                                       sample_rudra_full)  # noqa: E402
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
    ap.add_argument("--cap-batch", type=int, default=320)
    ap.add_argument("--caps", default="1.0,0.5,0.3,0.15,0.1")
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
    cap_table(args)


def cap_table(args) -> None:
    """"market-prices" on `--cap-batch` calibrated random economies at each cap on the indirect taxes."""
    keys = jax.random.split(jax.random.PRNGKey(args.seed), args.cap_batch)
    drawn = jax.vmap(lambda k: sample_rudra_full(k))(keys).with_closure("market-prices")

    @eqx.filter_jit
    def measure(cap):
        e = eqx.tree_at(lambda x: x.max_indirect_tax_rate, drawn, jnp.full(args.cap_batch, cap))
        calibrated, _ = jax.vmap(calibrate_savings)(e)
        out = jax.vmap(central_calculation)(calibrated)
        s = summary(calibrated, out)
        ness = ~calibrated.essential
        at_cap = ness & (out.result.prices.indirect_tax >= (1 - 1e-7) * cap * out.result.prices.cost)
        tenth = eqx.tree_at(lambda x: (x.savings_rate, x.old_savings_rate), e, (0.1 * e.savings_rate, 0.1 * e.old_savings_rate))
        low = jax.vmap(central_calculation)(tenth)
        s["at_cap"] = jnp.sum(at_cap, axis=-1) / jnp.sum(ness, axis=-1)
        s["no_rate"] = (low.status == 0) & (low.result.incomes.import_direct_tax > 0)
        return s

    print()
    print("| cap on t_i / p_i(d) | economies | converged | λ | π | non-essential goods at the cap | balancing item over 10% of λ | of which: no consistent savings rate | of which: the others |")
    print("|---|---|---|---|---|---|---|---|---|")
    for cap in (float(c) for c in args.caps.split(",")):
        b = {k: np.asarray(v) for k, v in measure(jnp.asarray(cap)).items()}
        ok = b["converged"]
        over = ok & (b["share"] > 0.1)
        no_rate = int(np.sum(over & b["no_rate"]))
        default = " (default)" if cap == MAX_INDIRECT_TAX_RATE else ""
        print(f"| {cap:g}{default} | {args.cap_batch} calibrated | {int(ok.sum())} | median {np.median(b['lam'][ok]):.1f} | "
              f"median {np.median(b['pi'][ok]):.3f} | {100 * np.mean(b['at_cap'][ok]):.0f}% | {int(over.sum())} | "
              f"{no_rate} | {int(over.sum()) - no_rate} |")


if __name__ == "__main__":
    main()
