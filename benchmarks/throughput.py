"""Economy-steps per second: jplan (jit + vmap of `jplan.run`) vs NumPy implementations of the same
algorithms, vectorised over the batch, measured side by side in one run.

    python benchmarks/throughput.py                 # n = 10, 30, 100; batches 64, 256, 1024
    python benchmarks/throughput.py --quick         # n = 10 only, for a fast check
    python benchmarks/throughput.py --out docs/benchmarks.md

The NumPy side runs only the procedure's step (no trace bookkeeping) while jplan's side runs the full
`run` loop (observation, gap, infeasibility and message counts every step), so the ratio is conservative.
Both run the same number of steps on the same economies and reach the same plans (the last column).
JIT compile time is reported separately and excluded from the throughput.
"""

from __future__ import annotations

import argparse
import platform
import time

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

from jplan.economies import sample_batch  # noqa: E402
from jplan.procedures import ArrowHurwicz, HealProportional, Malinvaud, run  # noqa: E402
from jplan.procedures.heal import reported_start  # noqa: E402


def _np(e):
    return {k: np.asarray(getattr(e, k)) for k in ("endowments", "welfare_weights", "tfp", "returns_to_scale", "resource_shares", "input_shares")}


def _xlogy(a, x):
    return np.where(a > 0, a * np.log(np.where(a > 0, x, 1.0)), 0.0)


# -- NumPy reference implementations (batch axis first) ----------------------------------------------
def numpy_ah(e, steps, eta=0.05):
    """Arrow–Hurwicz, multiplicative rule with a fixed step."""
    A, rho, al, be, R, w = e["tfp"], e["returns_to_scale"], e["resource_shares"], e["input_shares"], e["endowments"], e["welfare_weights"]
    B, n, m = al.shape
    shares = np.concatenate([al, be], axis=2)
    p, s = np.ones((B, n)), np.ones((B, m))

    def respond(p, s):
        prices = np.concatenate([s, p], axis=1)[:, None, :]
        ratio = np.where(shares > 0, shares / prices, 1.0)
        q = np.exp((np.log(A) + rho * np.log(rho * p) + rho * _xlogy(shares, ratio).sum(2)) / (1 - rho))
        demand = np.where(shares > 0, rho[..., None] * shares * (p * q)[..., None] / prices, 0.0)
        return q, demand[..., :m], demand[..., m:], w / p

    q, r, v, c = respond(p, s)
    for _ in range(steps):
        dg, dr = c + v.sum(1), r.sum(1)
        p = p * np.exp(eta * (dg - q) / (dg + q))
        s = s * np.exp(eta * (dr - R) / (dr + R))
        q, r, v, c = respond(p, s)
    return c


def numpy_malinvaud(e, steps):
    A, al, be, L, w = e["tfp"], e["resource_shares"][..., 0], e["input_shares"], e["endowments"][:, 0], e["welfare_weights"]
    B, n = al.shape
    const = -_xlogy(al, al) - _xlogy(be, be).sum(2) - np.log(A)
    p = np.broadcast_to((2 * np.max(np.exp(const / al), axis=1))[:, None], (B, n)).copy()
    eye = np.eye(n)
    for _ in range(steps + 1):
        unit = np.exp(_xlogy(be, p[:, None, :]).sum(2) + const)
        a0 = al * unit
        V = np.where(be > 0, be * unit[..., None] / p[:, None, :], 0.0)
        p = np.linalg.solve(eye - V, a0[..., None])[..., 0]
        c = w / w.sum(1, keepdims=True) * L[:, None] / p
        np.linalg.solve(eye - np.swapaxes(V, 1, 2), c[..., None])
    return c


def numpy_heal(e, r, v, steps, eta=1.0):
    """Heal with fixed η (every step accepted): fractions towards above-average value, outputs predicted."""
    A, rho, al, be, R, w = e["tfp"], e["returns_to_scale"], e["resource_shares"], e["input_shares"], e["endowments"], e["welfare_weights"]
    B, n, m = al.shape
    eye = np.eye(n)

    def produce(r, v):
        q = np.exp(np.log(A) + rho * (_xlogy(al, r).sum(2) + _xlogy(be, v).sum(2)))
        mp_r = np.where(r > 0, rho[..., None] * al * q[..., None] / np.where(r > 0, r, 1), 0.0)
        mp_v = np.where(v > 0, rho[..., None] * be * q[..., None] / np.where(v > 0, v, 1), 0.0)
        return q, mp_r, mp_v

    def reshare(x, val):
        tot = x.sum(1, keepdims=True)
        avg = (x * val).sum(1, keepdims=True) / tot
        used = (x > 0) & (val > 0)
        moved = np.where(used, x / tot * np.where(used, val / avg, 1.0) ** eta, 0.0)
        return moved / moved.sum(1, keepdims=True)

    def lr(a, b):
        ok = (a > 0) & (b > 0)
        return np.where(ok, np.log(np.where(ok, a, 1)) - np.log(np.where(ok, b, 1)), 0.0)

    q, mp_r, mp_v = produce(r, v)
    for _ in range(steps):
        c = q - v.sum(1)
        pi = w / c
        g_new = reshare(r, pi[..., None] * mp_r)
        uses = np.concatenate([v, c[:, None, :]], axis=1)
        f_new = reshare(uses, np.concatenate([pi[..., None] * mp_v, pi[:, None, :]], axis=1))
        eps_r = mp_r * r / q[..., None]
        eps_v = mp_v * v / q[..., None]
        rhs = (eps_r * lr(g_new, r / R[:, None, :])).sum(2) + (eps_v * lr(f_new[:, :n], (uses / q[:, None, :])[:, :n])).sum(2)
        dq = np.linalg.solve(eye - eps_v, rhs[..., None])[..., 0]
        r = g_new * R[:, None, :]
        v = f_new[:, :n] * (q * np.exp(dq))[:, None, :]
        q, mp_r, mp_v = produce(r, v)
    return q - v.sum(1)


def _time(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def bench(name, n, batch, steps, repeats=2):
    m = 1 if name == "malinvaud" else 2
    rho = 1.0 if name == "malinvaud" else 0.85
    econ = sample_batch(jax.random.PRNGKey(0), batch, n, m, returns_to_scale=rho, density=0.8)
    e = _np(econ)
    if name == "arrow-hurwicz-multiplicative":
        proc = ArrowHurwicz(rule="multiplicative", step_size=0.05, tolerance=0.0)
        numpy_fn = lambda: numpy_ah(e, steps)
    elif name == "malinvaud":
        proc = Malinvaud(tolerance=0.0)
        numpy_fn = lambda: numpy_malinvaud(e, steps)
    else:
        # η fixed at 1 (grow = 1) so that both sides take exactly the same steps
        proc = HealProportional(step_size=1.0, tolerance=0.0, grow=1.0)  # the variant the NumPy twin implements
        r0, v0, _ = jax.vmap(reported_start)(econ)
        numpy_fn = lambda: numpy_heal(e, np.asarray(r0), np.asarray(v0), steps)
    f = jax.jit(jax.vmap(lambda x: run(proc, x, steps)))
    t0 = time.perf_counter()
    compiled = f.lower(econ).compile()
    compile_s = time.perf_counter() - t0
    out = jax.block_until_ready(compiled(econ))
    t_jax = min(_time(lambda: jax.block_until_ready(compiled(econ))) for _ in range(repeats))
    t_np = min(_time(numpy_fn) for _ in range(repeats))
    c_jax, c_np = np.asarray(out.plan.consumption), numpy_fn()
    diff = float(np.max(np.abs(c_jax - c_np) / np.abs(c_np)))
    return dict(procedure=name, n=n, batch=batch, steps=steps, compile_s=compile_s,
                jplan_rate=batch * steps / t_jax, numpy_rate=batch * steps / t_np, ratio=t_np / t_jax, max_rel_diff=diff)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="n = 10 only")
    ap.add_argument("--out", default=None, help="write a markdown table here")
    args = ap.parse_args()
    ns = (10,) if args.quick else (10, 30, 100)
    batches = (64, 256, 1024)
    steps = {"arrow-hurwicz-multiplicative": 200, "malinvaud": 10, "heal-proportional": 20}
    rows = []
    for n in ns:
        for batch in batches:
            if n == 100 and batch > 256:
                continue  # keeps the full run within a few minutes on 2 cores
            for name in ("arrow-hurwicz-multiplicative", "malinvaud", "heal-proportional"):
                row = bench(name, n, batch, steps[name])
                rows.append(row)
                print(f"{name:14s} n={n:4d} batch={batch:5d}  jplan {row['jplan_rate']:12.0f}/s  numpy {row['numpy_rate']:12.0f}/s  "
                      f"ratio {row['ratio']:6.2f}x  compile {row['compile_s']:.2f}s  max rel diff {row['max_rel_diff']:.1e}", flush=True)
    header = f"Device: {jax.devices()[0].platform} x{jax.device_count()}, {platform.machine()}, jax {jax.__version__}, float64\n\n"
    table = ("| procedure | n | batch | steps | jplan econ-steps/s | NumPy econ-steps/s | jplan / NumPy | compile (s) | max rel. diff of plans |\n"
             "|---|---|---|---|---|---|---|---|---|\n")
    for r in rows:
        table += (f"| {r['procedure']} | {r['n']} | {r['batch']} | {r['steps']} | {r['jplan_rate']:.3g} | {r['numpy_rate']:.3g} | "
                  f"{r['ratio']:.2f}× | {r['compile_s']:.2f} | {r['max_rel_diff']:.1e} |\n")
    if args.out:
        with open(args.out, "w") as fh:
            fh.write("# Throughput benchmark\n\nGenerated by `python benchmarks/throughput.py --out docs/benchmarks.md`.\n\n" + header + table)
    print(header + table)


if __name__ == "__main__":
    main()
