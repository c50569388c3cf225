"""Economy-steps per second of the batched procedures: jplan (`jit(vmap_chunked(run))`) against NumPy programs
of the same algorithms, vectorised over the batch, measured side by side in one run.

    python benchmarks/throughput.py                  # n = 10, 30 (batches 256, 1024, 4096) and n = 100 (256)
    python benchmarks/throughput.py --quick          # n = 10, batch 1024 only, for a fast check
    python benchmarks/throughput.py --out docs/benchmarks.md

What is timed: the *marginal* cost of a step. Each side runs S and S + ΔS steps from the same starting
state (the centre's opening computed by jplan, handed to the NumPy program), and the rate is
batch · ΔS / (t(S + ΔS) − t(S)); so neither side's opening rounds nor jplan's compile time (reported
separately) enter the rate. jplan's side is the whole `run` loop: besides the step it observes the
iterate and records welfare, gap, infeasibility, residual and message counts at every step. Each NumPy
program runs twice: as the bare step (`NumPy step only`, recording nothing) and keeping the same per-step
record as jplan's trace (`NumPy recording`: welfare, infeasibility and the residual at every step, into
[steps, batch] arrays; `Recorder`), the fair comparison for the work a study does. Both sides reach the
same plans (last column: the largest relative difference of consumption after S + ΔS steps). The sides'
runs are interleaved, round by round, and each run's best round counts, so that a slow spell of a shared
machine falls on both sides alike.

Large batches: jplan runs a batch whose arrays do not fit in the CPU's cache in pieces (`jplan.vmap_chunked`,
about 4 MB of economies a piece, at least 64 economies; column `pieces`), each piece in cache for its whole
run. NumPy's twin is timed both on the whole batch and in the same pieces (a Python loop over them), and
the faster way counts (named in the column); where jplan takes the whole batch, so does NumPy.

Heal's rule projects onto the simplex. NumPy's twin sorts (NumPy's fastest: at n = 30, batch 1,024, 13.6 ms
a step's projections against 199 ms comparing all pairs; Michelot's rounds 3× slower at n = 10). jplan's
`project_simplex` picks its algorithm by the number of entries k: the sort up to 16 (n ≤ 15 goods, as
every published table ran), all pairs up to 40, Michelot's rounds above (XLA's CPU sort is slow from 17
entries on); the same point to rounding (last column).

Both sides know the family: the NumPy programs are Cobb–Douglas with log welfare by construction, and
jplan's batch is marked so by `jplan.economies.specialise` (as `jplan study` marks each chunk), which
compiles those formulas alone instead of branching on the data every step.

The NumPy programs are written as a competent NumPy user would: the same closed forms as jplan's
Cobb–Douglas path (logarithms of the broadcast prices taken once, unit costs as one `einsum` over the
shares), LAPACK's batched solves (`np.linalg.solve`) for the linear systems, no Python loop over economies.

The roofline columns: per economy-step the model counts the floating-point operations of the step's
closed forms and eliminations and the bytes it must move at least (read the shares, write the plan, in
float64); with the machine's measured stream bandwidth and dense matrix-multiply rate (measured in the
same run) that gives the bound min(FLOP rate / flops, bandwidth / bytes) on economy-steps/s, and jplan's
share of it.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from _report import device_bounds, device_label, emit  # noqa: E402

from jplan import vmap_chunked  # noqa: E402
from jplan._batching import chunk_lanes  # noqa: E402
from jplan.economies import sample_batch, specialise  # noqa: E402
from jplan.procedures import ArrowHurwicz, Heal, HealProportional, Malinvaud, run  # noqa: E402


def _np(e):
    return {k: np.asarray(getattr(e, k)) for k in ("endowments", "welfare_weights", "tfp", "returns_to_scale", "resource_shares", "input_shares")}


def _rows(e, index):
    """The economies `index` (a slice) of a batch of NumPy arrays."""
    return {k: v[index] for k, v in e.items()}


def _xlogx(a):
    return np.where(a > 0, a * np.log(np.where(a > 0, a, 1.0)), 0.0)


def _log(x):
    return np.log(np.where(x > 0, x, 1.0))


# -- NumPy programs (batch axis first) ---------------------------------------------------------------
class Recorder:
    """What jplan's `run` records at every step, for the twins that keep a trace too (`record=True`): the
    welfare Σ w log c, the infeasibility (largest relative excess demand, from the totals) and the residual
    (the procedure's own stopping measure, a maximum over goods), into [steps, batch] arrays. `off()` is
    the step-only twin: it records nothing."""

    def __init__(self, steps: int, batch: int, on: bool = True):
        self.on = on
        if on:
            self.welfare, self.infeasibility, self.residual = (np.empty((steps, batch)) for _ in range(3))
        self.k = 0

    def __call__(self, w, c, output, used_goods, used_resources, endowments, residual):
        if not self.on:
            return
        self.welfare[self.k] = np.sum(w * _log(c), axis=1)
        goods = np.maximum(c + used_goods - output, 0.0) / np.maximum(output, 1e-300)
        resources = np.maximum(used_resources - endowments, 0.0) / endowments
        self.infeasibility[self.k] = np.maximum(goods.max(axis=1), resources.max(axis=1))
        self.residual[self.k] = residual
        self.k += 1


def numpy_ah(e, p, s, steps, eta, rule, record=False):
    """Arrow–Hurwicz: firms' supply in closed form at broadcast prices, consumption c = w/p, prices moved
    by excess demand (additive: p + η z/scale, the seed's rule; multiplicative: p e^(η e))."""
    A, rho, al, be, R, w = e["tfp"], e["returns_to_scale"], e["resource_shares"], e["input_shares"], e["endowments"], e["welfare_weights"]
    B, n, m = al.shape
    const = _xlogx(al).sum(2) + _xlogx(be).sum(2)
    log_A = np.log(A)

    def respond(p, s):
        log_kappa = np.einsum("bim,bm->bi", al, _log(s)) + np.einsum("bik,bk->bi", be, _log(p)) - const
        q = np.exp(rho / (1 - rho) * (np.log(rho * p) + log_A / rho - log_kappa))
        spend = rho * p * q
        demand_r = np.einsum("bim,bi->bm", al, spend) / s  # the centre hears totals only
        demand_v = np.einsum("bik,bi->bk", be, spend) / p
        return q, demand_r, demand_v + w / p

    rec = Recorder(steps, p.shape[0], record)
    q, dr, dg = respond(p, s)
    if rule == "additive":
        scale_g, scale_r = (dg + q) / p, R / s
    for _ in range(steps):
        if rule == "additive":
            p = np.maximum(0.0, p + eta * (dg - q) / scale_g)
            s = np.maximum(0.0, s + eta * (dr - R) / scale_r)
        else:
            p = p * np.exp(eta * (dg - q) / (dg + q))
            s = s * np.exp(eta * (dr - R) / (dr + R))
        q, dr, dg = respond(p, s)
        if record:
            c = w / p
            e_max = np.maximum(np.abs((dg - q) / (dg + q)).max(axis=1), np.abs((dr - R) / (dr + R)).max(axis=1))
            rec(w, c, q, dg - c, dr, R, e_max)
    return w / p


def numpy_malinvaud(e, p, steps, record=False):
    """LSM: firms' cost-minimising coefficients at p, prices p = (I − A)⁻¹ a0, outputs g = (I − A)⁻ᵀ c."""
    A, al, be, L, w = e["tfp"], e["resource_shares"][..., 0], e["input_shares"], e["endowments"][:, 0], e["welfare_weights"]
    B, n = al.shape
    const = _xlogx(al) + _xlogx(be).sum(2) + np.log(A)
    eye = np.eye(n)
    share = w / w.sum(1, keepdims=True)
    rec = Recorder(steps, p.shape[0], record)
    for _ in range(steps):
        previous = p
        unit = np.exp(np.einsum("bik,bk->bi", be, _log(p)) - const)
        a0 = al * unit
        V = be * (unit[..., None] / p[:, None, :])
        M = eye - V
        p = np.linalg.solve(M, a0[..., None])[..., 0]
        c = share * L[:, None] / p
        g = np.linalg.solve(np.swapaxes(M, 1, 2), c[..., None])[..., 0]
        v = V * g[..., None]  # the plan: inputs, labour, outputs
        r = a0 * g
        output = np.exp(np.log(A) + (_xlogy_plan(al, r) + _xlogy_plan(be, v).sum(2)))
        rec(w, c, output, v.sum(1), r.sum(1)[:, None], L[:, None], np.abs(p / previous - 1.0).max(axis=1))
    return c


def _xlogy_plan(a, x):
    return np.where(a > 0, a * np.log(np.where(a > 0, x, 1.0)), 0.0)


def _produce(e, r, v):
    A, rho, al, be = e["tfp"], e["returns_to_scale"], e["resource_shares"], e["input_shares"]
    q = np.exp(np.log(A) + rho * (_xlogy_plan(al, r).sum(2) + _xlogy_plan(be, v).sum(2)))
    mp_r = np.where(r > 0, rho[..., None] * al * q[..., None] / np.where(r > 0, r, 1), 0.0)
    mp_v = np.where(v > 0, rho[..., None] * be * q[..., None] / np.where(v > 0, v, 1), 0.0)
    return q, mp_r, mp_v


def _welfare(w, c):
    ok = np.all(c > 0, axis=1)
    return np.where(ok, np.sum(w * np.log(np.where(c > 0, c, 1.0)), axis=1), -np.inf)


def _control(e, r_old, v_old, r, v, state, grow, shrink, max_step):
    """Heal's step-size control: accept a proposal only if every consumption stays positive and welfare
    does not fall."""
    q0, mp_r0, mp_v0, u0, eta = state
    q, mp_r, mp_v = _produce(e, r, v)
    u = _welfare(e["welfare_weights"], q - v.sum(1))
    accept = np.isfinite(u) & (u >= u0)
    new_eta = np.where(accept, np.minimum(eta * grow, max_step), eta * shrink)
    pick = lambda a, b: np.where(accept.reshape((-1,) + (1,) * (a.ndim - 1)), a, b)
    return pick(r, r_old), pick(v, v_old), (pick(q, q0), pick(mp_r, mp_r0), pick(mp_v, mp_v0), pick(u, u0), new_eta)


def _project(y, total):
    """Euclidean projection of y [B, U, K] onto {x ≥ 0, Σ_U x = total [B, K]}, along axis 1."""
    U = y.shape[1]
    u = -np.sort(-y, axis=1)
    css = np.cumsum(u, axis=1) - total[:, None, :]
    idx = np.arange(1, U + 1, dtype=y.dtype)[None, :, None]
    cond = u - css / idx > 0
    last = U - 1 - np.argmax(cond[:, ::-1, :], axis=1)
    tau = np.take_along_axis(css, last[:, None, :], axis=1)[:, 0, :] / (last + 1)
    return np.maximum(y - tau[:, None, :], 0.0)


def _move(x, value, total, kappa):
    """Heal's rule for every good at once: x [B, uses, goods] moved by κ (value − average), projected,
    with no use of positive value losing more than half its allocation."""
    held = x > 0
    count = np.maximum(held.sum(1), 1)
    mean_value = (x * value).sum(1) / np.where(total > 0, total, 1.0)
    safe_mean = np.where(mean_value > 0, mean_value, 1.0)
    average = np.where(held, value, 0.0).sum(1) / count
    speed = kappa[:, None] * total / (count * safe_mean)
    target = _project(x + speed[:, None, :] * (value - average[:, None, :]), total)
    d = target - x
    shrinking = (value > 0) & (d < 0)
    limit = np.min(np.where(shrinking, 0.5 * x / np.where(shrinking, -d, 1.0), 1.0), axis=1)
    return x + np.minimum(limit, 1.0)[:, None, :] * d


def numpy_heal(e, r, v, steps, eta, grow, shrink, max_step, record=False):
    """Heal's rule: allocations moved by κ (marginal social value − average), with the step-size control."""
    R, w = e["endowments"], e["welfare_weights"]
    q, mp_r, mp_v = _produce(e, r, v)
    state = (q, mp_r, mp_v, _welfare(w, q - v.sum(1)), np.full(q.shape[0], eta))
    rec = Recorder(steps, q.shape[0], record)
    for _ in range(steps):
        q, mp_r, mp_v, _, kappa = state
        c = q - v.sum(1)
        pi = w / c
        r_new = _move(r, pi[..., None] * mp_r, R, kappa)
        uses = np.concatenate([v, c[:, None, :]], axis=1)
        values = np.concatenate([pi[..., None] * mp_v, pi[:, None, :]], axis=1)
        moved = _move(uses, values, q, kappa)
        r_old, v_old = r, v
        r, v, state = _control(e, r, v, r_new, moved[:, :-1], state, grow, shrink, max_step)
        if record:
            used = v.sum(1)
            change = np.maximum(np.abs(r - r_old).max(axis=(1, 2)), np.abs(v - v_old).max(axis=(1, 2)))
            rec(w, state[0] - used, state[0], used, r.sum(1), R, change)
    return state[0] - v.sum(1)


def numpy_heal_proportional(e, r, v, steps, eta, grow, shrink, max_step, record=False):
    """The proportional variant: values at λ = (I − Bᵀ)⁻¹(c/q π), fractions moved multiplicatively towards
    above-average uses, outputs predicted from the reported elasticities (I − ε_v) Δlog q = rhs."""
    R, w = e["endowments"], e["welfare_weights"]
    n = v.shape[1]
    eye = np.eye(n)
    q, mp_r, mp_v = _produce(e, r, v)
    state = (q, mp_r, mp_v, _welfare(w, q - v.sum(1)), np.full(q.shape[0], eta))
    rec = Recorder(steps, q.shape[0], record)

    def reshare(x, val, eta):
        tot = x.sum(1, keepdims=True)
        avg = (x * val).sum(1, keepdims=True) / tot
        used = (x > 0) & (val > 0)
        ratio = np.where(used, val / avg, 1.0)
        moved = np.where(used, x / tot * np.exp(eta[:, None, None] * np.log(ratio)), 0.0)
        return moved / moved.sum(1, keepdims=True)

    def lr(a, b):
        ok = (a > 0) & (b > 0)
        return np.where(ok, _log(a) - _log(b), 0.0)

    for _ in range(steps):
        q, mp_r, mp_v, _, kappa = state
        c = q - v.sum(1)
        pi = w / c
        Bm = v * mp_v / q[:, None, :]
        lam = np.linalg.solve(eye - np.swapaxes(Bm, 1, 2), (c / q * pi)[..., None])[..., 0]
        g_new = reshare(r, lam[..., None] * mp_r, kappa)
        uses = np.concatenate([v, c[:, None, :]], axis=1)
        f_new = reshare(uses, np.concatenate([lam[..., None] * mp_v, pi[:, None, :]], axis=1), kappa)
        eps_r = mp_r * r / q[..., None]
        eps_v = mp_v * v / q[..., None]
        rhs = (eps_r * lr(g_new, r / R[:, None, :])).sum(2) + (eps_v * lr(f_new[:, :n], (uses / q[:, None, :])[:, :n])).sum(2)
        dq = np.linalg.solve(eye - eps_v, rhs[..., None])[..., 0]
        r_old, v_old = r, v
        r, v, state = _control(e, r, v, g_new * R[:, None, :], f_new[:, :n] * (q * np.exp(dq))[:, None, :], state, grow, shrink, max_step)
        if record:
            used = v.sum(1)
            change = np.maximum(np.abs(r - r_old).max(axis=(1, 2)), np.abs(v - v_old).max(axis=(1, 2)))
            rec(w, state[0] - used, state[0], used, r.sum(1), R, change)
    return state[0] - v.sum(1)


# -- the roofline ------------------------------------------------------------------------------------
def machine_bounds(size_mb: int = 256) -> tuple[float, float]:
    """(stream bandwidth in bytes/s, float64 matrix-multiply rate in FLOP/s), measured here with NumPy."""
    x = np.ones(size_mb * 2**20 // 8)
    y = np.empty_like(x)
    best = min(_time(lambda: np.copyto(y, x)) for _ in range(5))
    bandwidth = 2 * x.nbytes / best  # read + write
    a = np.ones((2048, 2048))
    t = min(_time(lambda: a @ a) for _ in range(3))
    return bandwidth, 2 * 2048**3 / t


def model(name: str, n: int, m: int) -> tuple[float, float]:
    """(flops, bytes) per economy-step: the closed forms and eliminations, reading the shares once and
    writing the plan once (float64)."""
    k = n * (n + m)  # entries of a firm-by-input matrix
    if name.startswith("arrow-hurwicz"):
        return 8.0 * k, 8.0 * 2 * k  # unit costs (2k), demands (3k), totals (2k), checks; read shares, write plan
    if name == "malinvaud":
        return 6.0 * k + 2 / 3 * n**3 + 4.0 * n * n + 4.0 * k, 8.0 * 2 * k
    if name == "heal":
        return 20.0 * k + 2.0 * k * np.log2(n + 1), 8.0 * 3 * k  # reports, values, moves with sort-sized projections; read plan and shares, write plan
    return 20.0 * k + 3 * (2 / 3 * n**3 + 2.0 * n * n), 8.0 * 3 * k  # heal-proportional: + three eliminations


def _time(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


SPECS = {
    # name: (procedure, m, returns to scale, S, ΔS)
    "arrow-hurwicz": (ArrowHurwicz(tolerance=0.0), 2, 0.85, 10, 40),
    "arrow-hurwicz-multiplicative": (ArrowHurwicz(rule="multiplicative", step_size=0.05, tolerance=0.0), 2, 0.85, 10, 40),
    "malinvaud": (Malinvaud(tolerance=0.0), 1, 1.0, 2, 8),
    "heal": (Heal(tolerance=0.0), 2, 0.85, 2, 8),
    "heal-proportional": (HealProportional(tolerance=0.0), 2, 0.85, 2, 8),
}


def bench(name: str, n: int, batch: int, repeats: int = 3) -> dict:
    proc, m, rho, S, dS = SPECS[name]
    # `specialise` marks the batch Cobb–Douglas with log welfare (decided on the host, as `jplan study` does per
    # chunk), so jplan's program runs those formulas alone, as the NumPy twins do
    econ = specialise(sample_batch(jax.random.PRNGKey(0), batch, n, m, returns_to_scale=rho, density=0.8))
    e = _np(econ)
    state0, _ = jax.jit(jax.vmap(proc.init))(econ)
    if name.startswith("arrow-hurwicz"):
        p0, s0 = np.asarray(state0.goods_prices), np.asarray(state0.resource_prices)
        twin_on = lambda ix: lambda steps, record=False: numpy_ah(_rows(e, ix), p0[ix], s0[ix], steps, float(proc.step_size),
                                                                 proc.rule, record)
    elif name == "malinvaud":
        p0 = np.asarray(state0.previous_prices)  # the reported start: the first prices announced
        # jplan's opening round is one more
        twin_on = lambda ix: lambda steps, record=False: numpy_malinvaud(_rows(e, ix), p0[ix], steps + 1, record)
    else:
        r0, v0 = np.asarray(state0.plan.resource_use), np.asarray(state0.plan.intermediate_use)
        heal_twin = numpy_heal if name == "heal" else numpy_heal_proportional
        twin_on = lambda ix: lambda steps, record=False: heal_twin(_rows(e, ix), r0[ix], v0[ix], steps, float(proc.step_size),
                                                            float(proc.grow), float(proc.shrink), float(proc.max_step), record)
    twin = twin_on(slice(None))
    # jplan runs a batch that does not fit in the cache in pieces (`jplan.vmap_chunked`); NumPy's twin is timed
    # both on the whole batch and in the same pieces, and its faster way counts
    lanes = chunk_lanes((econ,))
    sides = {"numpy": twin}
    if lanes is not None:
        parts = [twin_on(slice(i, i + lanes)) for i in range(0, batch, lanes)]
        sides["numpy pieces"] = lambda steps, record=False: [part(steps, record) for part in parts]

    programs, compile_s = {}, 0.0
    for steps in (S, S + dS):
        t0 = time.perf_counter()
        programs[steps] = jax.jit(vmap_chunked(lambda x, k=steps: run(proc, x, k), lanes)).lower(econ).compile()
        compile_s += time.perf_counter() - t0
        jax.block_until_ready(programs[steps](econ))

    # every side's S- and (S + ΔS)-step runs, interleaved round by round (so a slow spell of the machine
    # falls on every side alike); the best of the rounds counts
    runs = {("jplan", k): (lambda k=k: jax.block_until_ready(programs[k](econ))) for k in (S, S + dS)}
    for side, side_twin in sides.items():
        for k in (S, S + dS):
            runs[(side, k)] = lambda f=side_twin, k=k: f(k)
            runs[(side + " recording", k)] = lambda f=side_twin, k=k: f(k, record=True)
    best = dict.fromkeys(runs, float("inf"))
    with np.errstate(all="ignore"):
        for _ in range(repeats):
            for key, timed in runs.items():
                best[key] = min(best[key], _time(timed))

    def step(side):
        return max(best[(side, S + dS)] - best[(side, S)], 1e-9) / dS

    step_jax = step("jplan")
    step_np = min(step(side) for side in sides)
    step_rec = min(step(side + " recording") for side in sides)
    numpy_way = "pieces" if lanes is not None and step("numpy pieces recording") < step("numpy recording") else "whole"
    trace = programs[S + dS](econ)
    c_jax = np.asarray(trace.plan.consumption)
    with np.errstate(all="ignore"):
        c_np = twin(S + dS)
    # an economy whose prices the step drives out of range (the additive rule at its default speed) is
    # frozen by jplan at its last good iterate and overflows in NumPy: compare the others
    both = np.all(np.isfinite(c_np), axis=1) & (np.asarray(trace.status) != 2)
    diff = float(np.max(np.abs(c_jax[both] - c_np[both]) / np.abs(c_np[both]))) if both.any() else float("nan")
    return dict(procedure=name, n=n, m=m, batch=batch, steps=dS, compile_s=compile_s / 2, compared=int(both.sum()),
                lanes=lanes, numpy_way=numpy_way,
                jplan_rate=batch / step_jax, numpy_rate=batch / step_np, ratio=step_np / step_jax,
                recording_rate=batch / step_rec, recording_ratio=step_rec / step_jax, max_rel_diff=diff)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="n = 10, batch 1024 only")
    ap.add_argument("--procedures", default=",".join(SPECS), help="comma-separated subset of: " + ", ".join(SPECS))
    ap.add_argument("--out", default=None, help="write the markdown report here")
    ap.add_argument("--sizes", default=None,
                    help="comma-separated n:batch pairs instead of the defaults (a GPU: 10:262144,30:32768,100:4096)")
    ap.add_argument("--repeats", type=int, default=7, help="interleaved rounds of timed runs per side (the best counts)")
    args = ap.parse_args(argv)
    names = [p.strip() for p in args.procedures.split(",") if p.strip()]
    unknown = [p for p in names if p not in SPECS]
    if unknown:
        ap.error(f"unknown procedure(s): {', '.join(unknown)}")
    sizes = [(10, 1024)] if args.quick else [(n, b) for n in (10, 30) for b in (256, 1024, 4096)] + [(100, 256)]
    if args.sizes:
        sizes = [tuple(int(float(x)) for x in pair.split(":")) for pair in args.sizes.split(",")]
    # the roofline of the device jplan runs on (NumPy's own machine where that is the CPU)
    bandwidth, flop_rate = machine_bounds() if jax.devices()[0].platform == "cpu" else device_bounds()
    print(f"machine: stream {bandwidth / 1e9:.1f} GB/s, float64 matmul {flop_rate / 1e9:.1f} GFLOP/s", flush=True)
    rows = []
    for n, batch in sizes:
        for name in names:
            row = bench(name, n, batch, args.repeats)
            flops, nbytes = model(name, n, row["m"])
            row["bound"] = min(flop_rate / flops, bandwidth / nbytes)
            row["share"] = row["jplan_rate"] / row["bound"]
            rows.append(row)
            print(f"{name:28s} n={n:4d} batch={batch:5d}  jplan {row['jplan_rate']:10.3g}/s  numpy {row['numpy_rate']:10.3g}/s  "
                  f"ratio {row['ratio']:5.2f}x (recording {row['recording_ratio']:5.2f}x)  bound {row['bound']:9.3g}/s ({100 * row['share']:.0f}%)  compile {row['compile_s']:.1f}s  "
                  f"max rel diff {row['max_rel_diff']:.1e} ({row['compared']}/{batch} compared)  "
                  f"pieces {row['lanes'] or 'whole'} (NumPy's faster: {row['numpy_way']})", flush=True)
    lines = [
        "# Throughput benchmark",
        "",
        "Generated by `python benchmarks/throughput.py --out docs/benchmarks.md` (see the script's docstring for",
        f"what is timed). jplan's device: {device_label()}, float64; NumPy on the host's CPU; "
        f"measured {datetime.date.today().isoformat()}. Bounds of jplan's device measured in the same run: stream bandwidth "
        f"{bandwidth / 1e9:.1f} GB/s, float64 matrix multiply {flop_rate / 1e9:.1f} GFLOP/s.",
        "",
        "Rates are economy-steps per second of the marginal step (openings and compilation excluded, both sides);",
        "`bound` is the roofline bound on economy-steps/s from the step's flop and byte model, `of bound` jplan's",
        "share of it. The model streams the shares from memory at every step: a batch run in pieces (`pieces`,",
        "`jplan.vmap_chunked`; NumPy's twin timed whole and in the same pieces, its faster way named) reads them",
        "from the cache, and can pass that bound.",
        "",
        "| procedure | n | batch | pieces | jplan econ-steps/s | NumPy step only | jplan / NumPy step only | NumPy recording | jplan / NumPy recording | bound econ-steps/s | of bound | compile (s) | max rel. diff of plans (economies compared) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        pieces = "whole" if r["lanes"] is None else f"{r['lanes']} (NumPy: {r['numpy_way']})"
        lines.append(f"| {r['procedure']} | {r['n']} | {r['batch']} | {pieces} | {r['jplan_rate']:.3g} | {r['numpy_rate']:.3g} | {r['ratio']:.2f}× | "
                     f"{r['recording_rate']:.3g} | {r['recording_ratio']:.2f}× | "
                     f"{r['bound']:.3g} | {100 * r['share']:.0f}% | {r['compile_s']:.1f} | {r['max_rel_diff']:.1e} ({r['compared']}/{r['batch']}) |")
    emit(lines, args.out)


if __name__ == "__main__":
    main()
