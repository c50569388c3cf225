"""Tune Arrow–Hurwicz's step size by gradient descent through the unrolled procedure (issue: sensitivity).

    python experiments/tune_step_size.py [--steps 100] [--batch 256] [--iters 40] [--initial 0.02]

The README's numbers are this command's output with the defaults (two batches of 256 economies, keys 10 and 11).

The loss is the mean, over a batch of random decreasing-returns economies, of log10(gap + infeasibility)
of the plan after K steps of the multiplicative price rule with step size η (AH's plans are infeasible
before the limit, so the welfare gap alone would reward prices that merely sit near U*). Its gradient with respect to η is
exact (reverse mode through the unrolled, checkpointed `jplan.run`, vmapped over the batch); optax's Adam
descends on log η. The tuned η is then evaluated on a fresh batch against the starting η.
"""

import argparse
import json
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from jplan.economies import sample_batch  # noqa: E402
from jplan.solvers import optimum  # noqa: E402
from jplan.procedures import ArrowHurwicz, run  # noqa: E402


def mean_log_gap(log_eta, economies, optimal, steps):
    proc = ArrowHurwicz(rule="multiplicative", step_size=jnp.exp(log_eta), tolerance=0.0)
    def distance(e, u):
        tr = run(proc, e, steps, optimal_welfare=u, checkpoint=True)
        return tr.gap[-1] + tr.infeasibility[-1]

    return jnp.mean(jnp.log10(jax.vmap(distance)(economies, optimal) + 1e-16))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--iters", type=int, default=40)
    ap.add_argument("--initial", type=float, default=0.02)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "results" / "tune_step_size"))
    args = ap.parse_args()
    train = sample_batch(jax.random.PRNGKey(10), args.batch, 8, 2, returns_to_scale=(0.6, 0.9), density=0.7)
    test = sample_batch(jax.random.PRNGKey(11), args.batch, 8, 2, returns_to_scale=(0.6, 0.9), density=0.7)
    u_train = jax.vmap(optimum)(train).welfare
    u_test = jax.vmap(optimum)(test).welfare
    loss_and_grad = jax.jit(jax.value_and_grad(lambda le: mean_log_gap(le, train, u_train, args.steps)))
    evaluate = jax.jit(lambda le: mean_log_gap(le, test, u_test, args.steps))
    opt = optax.adam(0.1)
    log_eta = jnp.log(args.initial)
    state = opt.init(log_eta)
    history = []
    bar = tqdm(range(args.iters), desc="Adam on log eta", unit="iteration")
    for it in bar:
        loss, g = loss_and_grad(log_eta)
        history.append({"iteration": it, "eta": float(jnp.exp(log_eta)), "mean_log10_gap": float(loss), "gradient": float(g)})
        updates, state = opt.update(g, state)
        log_eta = optax.apply_updates(log_eta, updates)
        bar.set_postfix(eta=f"{float(jnp.exp(log_eta)):.4f}", loss=f"{float(loss):.3f}")
    before, after = float(evaluate(jnp.log(args.initial))), float(evaluate(log_eta))
    result = {
        "steps": args.steps, "initial_eta": args.initial, "tuned_eta": float(jnp.exp(log_eta)),
        "test_mean_log10_gap_initial": before, "test_mean_log10_gap_tuned": after, "history": history,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "result.json").write_text(json.dumps(result, indent=2))
    print(f"held-out batch: mean log10(gap + infeasibility) after {args.steps} steps {before:.2f} at eta={args.initial} -> "
          f"{after:.2f} at tuned eta={result['tuned_eta']:.4f} ({out / 'result.json'})")


if __name__ == "__main__":
    main()
