"""Experiment: why Malinvaud's procedure with memory is built the way it is.

    python experiments/malinvaud_memory.py [--batch 16] [--n 4] [--steps 100]

Runs `malinvaud-memory` (Malinvaud's rule: the master's optimal shadow prices), `malinvaud-memory-centred`
(the barrier's well-centred prices of a master solved to a tenth of the current gap), each also asked for
1e-9, the centred variant with its master solved to the barrier's floor (`centring=0`: the barrier's own
price estimates, which are *not* the master's optimal prices there), and Malinvaud's rule with unbounded firm
proposals (`bounded=False`), on the same `--batch` random Cobb–Douglas economies with decreasing returns,
each vmapped in one compiled call. Prints the median gap to the optimum after 1,
10, 30 and the last step, the share converged, and the median largest relative error of the final goods
and resource prices against the optimum's (the module docstring and the README quote it).
"""

import argparse

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from jplan.economies import sample_batch  # noqa: E402
from jplan.procedures import CONVERGED, MalinvaudMemory, MalinvaudMemoryCentred, run  # noqa: E402
from jplan.solvers.production import reference_function  # noqa: E402

VARIANTS = {
    "malinvaud-memory (Malinvaud's rule: the master's optimal prices)": MalinvaudMemory(),
    "malinvaud-memory, tolerance 1e-9": MalinvaudMemory(tolerance=1e-9),
    "malinvaud-memory-centred (well-centred prices)": MalinvaudMemoryCentred(),
    "malinvaud-memory-centred, tolerance 1e-9": MalinvaudMemoryCentred(tolerance=1e-9),
    "barrier estimates of the solved master (centred, centring = 0)": MalinvaudMemoryCentred(centring=0.0),
    "Malinvaud's rule, unbounded proposals (bounded = False)": MalinvaudMemory(bounded=False),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--n", type=int, default=4)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    economies = sample_batch(jax.random.PRNGKey(args.seed), args.batch, args.n, 2, returns_to_scale=(0.5, 0.95), density=0.8)
    optimum = jax.jit(jax.vmap(reference_function(economies)))(economies)
    marks = [1, 10, 30, args.steps]
    lines = [f"Malinvaud's procedure with memory on {args.batch} random Cobb–Douglas economies (n = {args.n}, m = 2, "
             f"returns to scale 0.5–0.95); median gap to the optimum after k steps.", "",
             "| variant | " + " | ".join(f"k = {k}" for k in marks) + " | converged | final goods / resource prices vs optimum |",
             "|---|" + "---|" * (len(marks) + 2)]
    for label, proc in tqdm(VARIANTS.items(), desc="malinvaud-memory", unit="variant"):
        trace = jax.jit(jax.vmap(lambda e, u: run(proc, e, args.steps, optimal_welfare=u)))(economies, optimum.welfare)
        gap = np.asarray(trace.gap)
        converged = np.mean(np.asarray(trace.status) == CONVERGED)
        error = lambda a, b: np.nanmedian(np.max(np.abs(np.asarray(a) / np.asarray(b) - 1), axis=1))
        prices = f"{error(trace.goods_prices, optimum.goods_prices):.1e} / {error(trace.resource_prices, optimum.resource_prices):.1e}"
        lines.append(f"| {label} | " + " | ".join(f"{np.nanmedian(gap[:, k]):.1e}" for k in marks) + f" | {converged:.0%} | {prices} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
