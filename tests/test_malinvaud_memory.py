"""Malinvaud's procedure with memory (issue 16): every central plan feasible, welfare monotone, the Lagrangian
bound above the optimum at every step, the gap closing; the firms' capped answers against SciPy; the centre
reading only proposals; jit = vmap, and gradients."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import minimize

import jplan
from jplan.procedures import CONVERGED, RUNNING, MalinvaudMemory, capped_supply, firm_supply, run
from jplan.procedures.malinvaud_memory import lagrangian_bound, master, opening_weights

from .helpers import batch, index

FAMILIES = {
    "cobb-douglas": dict(returns_to_scale=(0.5, 0.95), density=0.8),
    "ces": dict(returns_to_scale=(0.6, 0.9), technology="ces", elasticity=(0.5, 3.0), welfare="ces",
                welfare_elasticity=(0.5, 3.0)),
}
STEPS = 60


# the CES family (~40 s of compiling) runs with the slow tests; `jplan study decomposition` covers CES too
@pytest.mark.parametrize("family", ["cobb-douglas", pytest.param("ces", marks=pytest.mark.slow)])
def test_feasible_monotone_bracketed_and_closing(family):
    economies, opt = batch(71, 32, 4, 2, **FAMILIES[family])
    tr = jax.jit(jax.vmap(lambda e, u: run(MalinvaudMemory(), e, STEPS, optimal_welfare=u)))(economies, opt.welfare)
    status = np.asarray(tr.status)
    assert np.all((status == CONVERGED) | (status == RUNNING)), status
    # every central plan is feasible (relative excess demand at rounding level) ...
    assert np.max(np.asarray(tr.infeasibility)) <= 1e-12
    # ... and welfare never falls
    assert np.all(np.diff(np.asarray(tr.welfare), axis=1) >= 0.0)
    # the bound is above the optimum at every step: residual = bound − welfare ≥ optimum − welfare = gap
    gap, residual = np.asarray(tr.gap), np.asarray(tr.residual)
    assert np.all(residual >= gap - 1e-12)
    # the gap closes: from about 1 at the start to 1e-2 in ten steps and 1e-5 by the end (measured medians:
    # 1e-3 and 5e-7)
    assert np.median(gap[:, 0]) > 0.1
    assert np.median(gap[:, 10]) <= 1e-2
    assert np.max(gap[:, -1]) <= 1e-5
    assert np.mean(status == CONVERGED) >= 0.9


def test_capped_answer_is_the_capped_profit_maximum():
    """A firm whose resource use is capped: its answer against SciPy's bounded maximisation of profit."""
    e = jplan.sample(jax.random.PRNGKey(3), 3, 2, returns_to_scale=(0.6, 0.9))
    n, m = e.n, e.m
    caps = jnp.asarray([0.05, 0.08])
    for prices in (jnp.asarray([1.0, 0.8, 1.2, 1e-9, 0.02]), jnp.asarray([1.0, 1.0, 1.0, 0.3, 0.4])):
        for k in range(n):
            tech = index(e.firms, k)
            q, r, v = capped_supply(firm_supply, tech, k, prices, caps)
            assert np.all(np.asarray(r) <= np.asarray(caps) * (1 + 1e-9))
            profit = float(prices[k] * q - prices[:n] @ v - prices[n:] @ r)

            def neg_profit(x):
                res, inputs = x[:m], x[m:]
                return -(float(prices[k]) * float(tech.output(jnp.asarray(res), jnp.asarray(inputs)))
                         - float(prices[:n] @ inputs) - float(prices[n:] @ res))

            start = np.concatenate([np.minimum(np.asarray(r), np.asarray(caps)) * 0.9, np.asarray(v) * 0.9]) + 1e-6
            bounds = [(1e-12, float(c)) for c in caps] + [(1e-12, None)] * n
            best = minimize(neg_profit, start, bounds=bounds, method="L-BFGS-B", options=dict(ftol=1e-15, gtol=1e-12, maxiter=5000))
            assert profit >= -best.fun - 1e-9 * max(1.0, abs(best.fun)), (k, profit, -best.fun)


def test_the_centre_reads_only_proposals():
    """The centre's functions give the same answers with every firm's technology replaced by NaN."""
    from .test_faithful import without_technology

    e = jplan.sample(jax.random.PRNGKey(5), 4, 2, technology="ces", elasticity=(0.6, 2.0), returns_to_scale=(0.6, 0.9))
    hidden = without_technology(e)
    proc = MalinvaudMemory()
    state, _ = eqx.filter_jit(proc.init)(e)
    state, msgs = eqx.filter_jit(proc.step)(e, state)
    # messages: the n + m prices broadcast once; each firm's proposal (output, n inputs, m resources) up
    assert (int(msgs.down), int(msgs.up)) == (e.n + e.m, e.n * (1 + e.n + e.m))
    props = state.proposals
    p, s = state.goods_prices, state.resource_prices
    q, v, r = props.q[:, 0], props.v[:, 0], props.r[:, 0]
    mus = proc._mus(e, props, jnp.asarray(1e-3))
    for fn, args in ((opening_weights, (q, v, r)), (lagrangian_bound, (p, s, q, v, r)),
                     (lambda x, *a: master(x, *a, proc.newton_steps), (props, state.weights, mus))):
        seen = jax.tree_util.tree_leaves(fn(e, *args))
        blind = jax.tree_util.tree_leaves(fn(hidden, *args))
        for a, b in zip(seen, blind):
            assert np.array_equal(np.asarray(a), np.asarray(b))


def test_jit_equals_vmap_and_eager_and_gradients_are_finite():
    economies, opt = batch(72, 3, 3, 2, returns_to_scale=(0.6, 0.9))
    proc = MalinvaudMemory(memory=8)
    f = lambda e, u: run(proc, e, 8, optimal_welfare=u)
    batched = jax.jit(jax.vmap(f))(economies, opt.welfare)
    single = jax.jit(f)
    for i in range(3):
        one = single(index(economies, i), opt.welfare[i])
        # the batched and single programs round differently, and the master's line search (a first-accepted
        # step among halvings) passes that on: agreement to 1e-6 relative, not to the last bits
        for a, b in zip(jax.tree_util.tree_leaves(one), jax.tree_util.tree_leaves(index(batched, i))):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-9)
    # op by op (a reduced master, two steps: eager execution is slow)
    small = MalinvaudMemory(memory=4, barrier_levels=3, newton_steps=2, cap_sweeps=1)
    e0, u0 = index(economies, 0), opt.welfare[0]
    jitted = jax.jit(lambda e, u: run(small, e, 2, optimal_welfare=u))(e0, u0)
    with jax.disable_jit():
        eager = run(small, e0, 2, optimal_welfare=u0)
    for field in ("welfare", "gap", "infeasibility", "residual", "messages_down", "messages_up"):
        np.testing.assert_allclose(np.asarray(getattr(eager, field)), np.asarray(getattr(jitted, field)), rtol=1e-6, atol=1e-9)
    # gradients of the final welfare with respect to the endowments, through the unrolled steps: finite, and
    # equal to central differences of the same program
    e = index(economies, 1)
    welfare_of = jax.jit(lambda R: run(proc, eqx.tree_at(lambda x: x.endowments, e, R), 4).welfare[-1])
    g = jax.jit(jax.grad(lambda R: run(proc, eqx.tree_at(lambda x: x.endowments, e, R), 4).welfare[-1]))(e.endowments)
    assert bool(jnp.all(jnp.isfinite(g)))
    h = 1e-6 * e.endowments[0]
    fd = (welfare_of(e.endowments.at[0].add(h)) - welfare_of(e.endowments.at[0].add(-h))) / (2 * h)
    np.testing.assert_allclose(float(g[0]), float(fd), rtol=1e-4)


def test_domain_and_a_start_without_a_feasible_plan():
    crs, _ = batch(73, 2, 3, 1, returns_to_scale=1.0)
    assert bool(jnp.all(jax.vmap(MalinvaudMemory().domain_violation)(crs)))
    # Stone–Geary subsistence above what the opening proposals can make: the centre has no phase I, and says so
    sg = jplan.sample(jax.random.PRNGKey(74), 3, 2, returns_to_scale=(0.6, 0.9), welfare="stone-geary")
    proc = MalinvaudMemory()
    state, _ = eqx.filter_jit(proc.init)(sg)
    assert bool(proc.observe(sg, state).failed)
