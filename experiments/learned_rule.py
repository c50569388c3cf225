"""Train the learned price rule and compare it with the hand-designed rules on held-out economies (issue 28).

    python experiments/learned_rule.py            # train (about 1 minute on 2 cores), save, evaluate
    python experiments/learned_rule.py --no-train # evaluate the shipped rule only

Training: `jplan.learn.train_rule` on fresh batches of 64 Cobb–Douglas economies (n = 5, m = 2, returns
0.6–0.9) per iteration, 400 Adam iterations, loss = mean log(gap + 1e-6) over the first 100 rounds; the parameters kept are those that scored best on a
validation batch of 256 economies (fewest runs not within 1e-6 after 300 rounds, then the loss). The parameters are
written to jplan/procedures/learned_rule.json (what `LearnedTatonnement()` loads). Evaluation: 256 held-out
economies (a key never used in training) of the training family, of the same family at n = 10, and of three
families never seen in training (CES complements, CES substitutes, Stone–Geary welfare), 1,500 rounds at
most, against the multiplicative Arrow–Hurwicz rule (η = 0.2), its adaptive variant and the accelerated dual,
all on Arrow–Hurwicz's messages. Prints the README's table (between the learned-table markers).
"""

import argparse
import sys
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import jplan  # noqa: E402
from jplan.learn import train_rule  # noqa: E402
from jplan.procedures import ArrowHurwicz, LearnedTatonnement, make_procedure, run  # noqa: E402
from jplan.procedures.learned import load_rule, save_rule  # noqa: E402
from jplan.solvers import optimum  # noqa: E402

RULE = Path(__file__).resolve().parents[1] / "jplan" / "procedures" / "learned_rule.json"
TRAINING = dict(n=5, m=2, batch=64, rounds=100, iterations=400, learning_rate=3e-3)
FAMILIES = {
    "Cobb–Douglas, n = 5 (the training family, held out)": (5, dict(returns_to_scale=(0.6, 0.9))),
    "Cobb–Douglas, n = 10 (unseen size)": (10, dict(returns_to_scale=(0.6, 0.9))),
    "CES complements σ 0.3–0.7 (unseen)": (5, dict(returns_to_scale=(0.6, 0.9), technology="ces", elasticity=(0.3, 0.7))),
    "CES substitutes σ 1.5–3 (unseen)": (5, dict(returns_to_scale=(0.6, 0.9), technology="ces", elasticity=(1.5, 3.0))),
    "Stone–Geary welfare (unseen)": (5, dict(returns_to_scale=(0.6, 0.9), welfare="stone-geary", subsistence=(0.0, 0.3))),
}
HELD_OUT = 777  # the evaluation key; training draws from PRNGKey(0) splits
SIZE = 256  # economies per family


def evaluate():
    network, log_step, amplitude = load_rule(RULE)
    learned = LearnedTatonnement(network=network, log_step=log_step, amplitude=amplitude)
    procedures = {"learned-tatonnement": learned,
                  "arrow-hurwicz (multiplicative, η = 0.2)": ArrowHurwicz(rule="multiplicative", step_size=0.2),
                  "arrow-hurwicz-adaptive": make_procedure("arrow-hurwicz-adaptive"),
                  "accelerated-dual": make_procedure("accelerated-dual")}
    rows = ["| economies (256 each) | rule | converged | rounds → 1e-2 | rounds → 1e-4 | rounds → 1e-6 |",
            "|---|---|---|---|---|---|"]
    for family, (n, options) in FAMILIES.items():
        es = jplan.sample_batch(jax.random.PRNGKey(HELD_OUT), SIZE, n, 2, **options)
        u = jax.jit(jax.vmap(optimum))(es).welfare
        for name, proc in procedures.items():
            tr = jax.jit(jax.vmap(lambda e, w: run(proc, e, 1500, optimal_welfare=w)))(es, u)
            gap, status = np.asarray(tr.gap), np.asarray(tr.status)

            def rounds(t):
                hit = (gap <= t).any(axis=1)
                first = np.argmax(gap <= t, axis=1)
                med = f"{np.median(first[hit]):.0f}" if hit.any() else "—"
                return med if hit.all() else f"{med} ({hit.sum()}/{hit.size})"

            converged = f"{np.sum(status == 1)}/{status.size}"
            rows.append(f"| {family} | {name} | {converged} | {rounds(1e-2)} | {rounds(1e-4)} | {rounds(1e-6)} |")
    return "\n".join(rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-train", action="store_true", help="evaluate the shipped rule only")
    args = ap.parse_args(argv)
    if not args.no_train:
        start = time.perf_counter()
        report = lambda i, v, s: print(f"iteration {i:4d}  loss {v:8.3f}  {s:6.1f} s", file=sys.stderr) if i % 50 == 0 else None
        proc, history = train_rule(jax.random.PRNGKey(0), progress=report, **TRAINING)
        save_rule(RULE, proc.network, proc.log_step, proc.amplitude,
                  {"command": "python experiments/learned_rule.py", **TRAINING, "family": "cobb-douglas, returns 0.6-0.9",
                   "final_loss": round(float(np.mean(history[-20:])), 3)})
        print(f"trained in {time.perf_counter() - start:.0f} s: loss {history[0]:.2f} → {np.mean(history[-20:]):.2f}; "
              f"η = {float(jnp.exp(proc.log_step)):.3f}, a = {float(proc.amplitude):.3f}; saved {RULE.name}", file=sys.stderr)
    print("<!-- learned-table:start -->")
    print(evaluate())
    print("<!-- learned-table:end -->")


if __name__ == "__main__":
    main()
