"""The reference optimum against an independent conic solver, closed forms and the KKT conditions."""

import cvxpy as cp
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jplan.economies import excess_demand, from_arrays, infeasibility, load_economy, output, welfare
from jplan.solvers import optimum

from .helpers import as_dict, batch, index


def conic_optimum(e) -> float:
    """Solve the planning problem as a geometric program with Clarabel (exponential cones)."""
    d = as_dict(e)
    A, rho, al, be, R, w = d["tfp"], d["returns_to_scale"], d["resource_shares"], d["input_shares"], d["endowments"], d["welfare_weights"]
    n, m = al.shape
    c = cp.Variable(n, pos=True)
    r = cp.Variable((n, m), pos=True)
    v = cp.Variable((n, n), pos=True)
    cons = []
    for k in range(n):
        q = A[k]
        for j in range(m):
            if al[k, j] > 0:
                q = q * r[k, j] ** (rho[k] * al[k, j])
        for l in range(n):
            if be[k, l] > 0:
                q = q * v[k, l] ** (rho[k] * be[k, l])
        cons.append(c[k] + sum(v[i, k] for i in range(n) if be[i, k] > 0) <= q)
    for j in range(m):
        cons.append(sum(r[i, j] for i in range(n)) <= R[j])
    objective = 1
    for k in range(n):
        objective = objective * c[k] ** w[k]
    problem = cp.Problem(cp.Maximize(objective), cons)
    problem.solve(gp=True, solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    assert problem.status == "optimal"
    return float(np.sum(w * np.log(c.value)))


@pytest.mark.parametrize(
    "rho,density,seed",
    [((0.5, 0.99), 1.0, 0), (1.0, 0.5, 1), ((1.01, 1.5), 0.7, 2), ((0.6, 1.4), 0.3, 3), (0.9, 1.0, 4)],
)
def test_matches_independent_conic_solver(rho, density, seed):
    economies, opt = batch(seed, 12, 5, 2, returns_to_scale=rho, density=density)
    for i in range(12):
        u_ref = conic_optimum(index(economies, i))
        u = float(opt.welfare[i])
        assert abs(u - u_ref) <= 1e-8 * max(1.0, abs(u_ref)), (i, u, u_ref)
        # the conic solver's welfare can never beat the exact optimum by more than its tolerance
        assert u >= u_ref - 1e-9


def test_feasible_balances_bind_and_kkt_hold():
    economies, opt = batch(11, 100, 6, 3, returns_to_scale=(0.5, 1.5), density=0.6)
    for i in range(100):
        e, o = index(economies, i), index(opt, i)
        assert float(infeasibility(e, o.plan)) < 1e-12
        goods, resources = excess_demand(e, o.plan)
        np.testing.assert_allclose(goods, 0.0, atol=1e-9 * float(jnp.max(o.plan.output)))
        np.testing.assert_allclose(resources, 0.0, atol=1e-9 * float(jnp.max(e.endowments)))
        np.testing.assert_allclose(output(e, o.plan.resource_use, o.plan.intermediate_use), o.plan.output, rtol=1e-10)
        # marginal social value of every input equals its shadow price (KKT), via autodiff
        grads = jax.vmap(jax.grad(_out, argnums=(1, 2)))(e.firms, o.plan.resource_use, o.plan.intermediate_use)
        mp_r, mp_v = grads
        np.testing.assert_allclose(o.goods_prices[:, None] * mp_r, np.broadcast_to(o.resource_prices, mp_r.shape), rtol=1e-8)
        used = np.asarray(e.input_shares) > 0
        lhs = np.asarray(o.goods_prices[:, None] * mp_v)[used]
        rhs = np.broadcast_to(np.asarray(o.goods_prices)[None, :], used.shape)[used]
        np.testing.assert_allclose(lhs, rhs, rtol=1e-8)
        np.testing.assert_allclose(e.welfare_weights / o.plan.consumption, o.goods_prices, rtol=1e-10)


def _out(tech, r, v):
    from jplan.economies import firm_output

    return firm_output(tech, r, v)


def test_closed_form_without_intermediate_goods():
    """No intermediate goods, one resource: r_i = R ρ_i w_i / Σ ρ w and c_i = A_i r_i^ρ_i."""
    w = np.array([0.2, 0.3, 0.5])
    rho = np.array([0.7, 1.0, 1.3])
    A = np.array([1.5, 0.8, 1.1])
    R = 80.0
    e = from_arrays(endowments=[R], welfare_weights=w, tfp=A, returns_to_scale=rho,
                    resource_shares=np.ones((3, 1)), input_shares=np.zeros((3, 3)))
    o = optimum(e)
    r = R * rho * w / np.sum(rho * w)
    c = A * r**rho
    np.testing.assert_allclose(o.plan.resource_use[:, 0], r, rtol=1e-13)
    np.testing.assert_allclose(o.plan.consumption, c, rtol=1e-13)
    np.testing.assert_allclose(o.welfare, np.sum(w * np.log(c)), rtol=1e-13)
    np.testing.assert_allclose(o.resource_prices, [np.sum(rho * w) / R], rtol=1e-13)


def test_worked_lsm_example():
    e, _ = load_economy("examples/malinvaud_two_goods.toml")
    o = optimum(e)
    np.testing.assert_allclose(o.goods_prices / o.resource_prices[0], [6.67604722, 5.10673113], rtol=1e-8)
    np.testing.assert_allclose(o.plan.consumption, [5.99156936, 11.74919895], rtol=1e-8)
    np.testing.assert_allclose(o.plan.output, [12.8390772, 18.64952214], rtol=1e-8)
    np.testing.assert_allclose(o.welfare, 2.19441239, rtol=1e-8)


def test_zero_weight_good_nobody_needs_shuts_down():
    e = from_arrays(endowments=[10.0], welfare_weights=[1.0, 0.0], tfp=[1.0, 1.0], returns_to_scale=[1.0, 1.0],
                    resource_shares=[[0.5], [1.0]], input_shares=[[0.5, 0.0], [0.0, 0.0]])
    o = optimum(e)
    assert float(o.plan.output[1]) == 0.0 and float(o.plan.resource_use[1, 0]) == 0.0
    assert np.all(np.isfinite(np.asarray(o.plan.consumption)))
    # all labour to firm 1: max log q - v with q = sqrt(10 v): v = 2.5, c = 2.5
    np.testing.assert_allclose(o.plan.consumption[0], 2.5, rtol=1e-12)
    assert np.isfinite(float(welfare(e, o.plan.consumption)))


def test_a_batch_skips_the_extra_starts_only_where_they_cannot_matter():
    """`optimum(batch)` solves from the first start and runs the multistart only if some economy needs it
    (not certified convex, or its first solve failed): on a convex CES batch it equals the vmapped call to
    the solver's tolerance; a batch with non-convex economies gets every start for those, exactly
    as the vmapped call (set-up costs); the same under jit (the choice by `lax.cond`) and under grad."""
    import jplan
    from jplan.solvers import general

    convex = jplan.sample_batch(jax.random.PRNGKey(5), 24, n=5, m=2, returns_to_scale=(0.6, 0.95), technology="ces",
                                elasticity=(0.3, 4.0), welfare="stone-geary")
    assert bool(jnp.all(jax.vmap(general.certified_convex)(convex)))
    setup = jplan.sample_batch(jax.random.PRNGKey(6), 8, n=5, m=2, returns_to_scale=(0.6, 0.95), technology="ces",
                               elasticity=(0.3, 4.0), welfare="stone-geary", setup=(0.05, 0.2))
    mixed = jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a[:16], b]), convex, setup)
    nonconvex = ~np.asarray(jax.vmap(general.certified_convex)(mixed))
    assert 0 < nonconvex.sum() < 24
    vmapped = jax.jit(jax.vmap(optimum))
    for economies in (convex, mixed):
        ours, theirs = optimum(economies), vmapped(economies)
        np.testing.assert_array_equal(ours.status, theirs.status)
        np.testing.assert_allclose(ours.welfare, theirs.welfare, rtol=1e-10)
        np.testing.assert_allclose(ours.goods_prices, theirs.goods_prices, rtol=1e-6)
        jitted = jax.jit(optimum)(economies)
        np.testing.assert_allclose(jitted.welfare, ours.welfare, rtol=1e-12)
    ours, theirs = optimum(mixed), vmapped(mixed)
    np.testing.assert_allclose(ours.welfare[nonconvex], theirs.welfare[nonconvex], rtol=1e-13)  # every start
    grad = jax.grad(lambda t: jnp.sum(optimum(eqx_tfp(convex, t)).welfare))(convex.tfp)
    reference = jax.grad(lambda t: jnp.sum(jax.vmap(optimum)(eqx_tfp(convex, t)).welfare))(convex.tfp)
    np.testing.assert_allclose(grad, reference, rtol=1e-6)


def eqx_tfp(economies, tfp):
    import equinox as eqx

    return eqx.tree_at(lambda e: e.tfp, economies, tfp)


def test_a_cobb_douglas_or_leontief_batch_passed_whole_gets_each_economys_optimum():
    """`optimum(batch)` on a batch whose reference is the closed form (Cobb–Douglas, log welfare) or the
    Leontief solve: each economy's answer is the one it gets alone (both raised a shape error before)."""
    import jplan
    from jplan.economies.table import calibrate_table, read_table
    from jplan.economies import LeontiefTechnology

    cd = jplan.sample_batch(jax.random.PRNGKey(7), 5, 6, 2, returns_to_scale=(0.7, 0.95))
    t = read_table("us-bea-2021-15")
    one, _ = calibrate_table(t, single_factor=True, technology="leontief")
    assert isinstance(one.technology, LeontiefTechnology)
    scaled = jax.tree_util.tree_map(lambda *x: jnp.stack(x), *[eqx_scale(one, k) for k in (1.0, 2.0, 0.5)])
    for economies in (cd, scaled):
        whole = optimum(economies)
        for i in range(economies.welfare_weights.shape[0]):
            alone = optimum(index(economies, i))
            assert int(whole.status[i]) == int(alone.status)
            np.testing.assert_allclose(float(whole.welfare[i]), float(alone.welfare), rtol=1e-12)
            np.testing.assert_allclose(np.asarray(whole.plan.consumption[i]), np.asarray(alone.plan.consumption), rtol=1e-10)


def eqx_scale(economy, k):
    """The economy with its endowments scaled by k (a different optimum, the same technology)."""
    import equinox as eqx

    return eqx.tree_at(lambda e: e.endowments, economy, economy.endowments * k)


FAMILIES_FOR_JACOBIAN = [
    dict(), dict(technology="ces", elasticity=(0.3, 0.8)), dict(technology="ces", elasticity=(1.5, 4.0)),
    dict(technology="ces", elasticity=(0.5, 2.0), welfare="stone-geary", subsistence=(0.2, 0.6)),
    dict(welfare="ces", welfare_elasticity=(0.5, 2.0)), dict(returns_to_scale=(1.05, 1.3)), dict(setup=(0.1, 0.3)),
]


def test_the_closed_form_jacobian_is_what_jax_differentiates(monkeypatch):
    """`kkt_jacobian` (Newton's Jacobian in closed form, used from `ANALYTIC_JACOBIAN_MIN_N` goods) equals
    `jax.jacfwd` of the KKT residual to 1e-12 relative on every family (Cobb–Douglas, CES complements and
    substitutes, Stone–Geary, CES welfare, increasing returns, set-up costs; two resources and one), along the
    homotopy (t = 0.3) and at its end, at random points; and the optimum of CES economies at n = 16 through it
    has the status and, to 1e-12, the welfare of the solve through `jax.jacfwd`."""
    from jplan.economies import sample, sample_batch
    from jplan.solvers import general
    from jplan.solvers.general import _at, kkt_jacobian, kkt_residual
    from jplan.solvers.status import OPTIMAL

    jac = jax.jit(kkt_jacobian)
    fwd = jax.jit(lambda e, z: jax.jacfwd(lambda y: kkt_residual(e, y))(z))
    for family in FAMILIES_FOR_JACOBIAN:
        for m in (2, 1):
            for i in range(3):
                e = sample(jax.random.PRNGKey(i), 6, m, density=0.7, **{"returns_to_scale": (0.7, 0.95), **family})
                z = 0.3 * jax.random.normal(jax.random.PRNGKey(50 + i), (12 + m,))
                for t in (0.3, 1.0):
                    et = _at(e, jnp.asarray(t))
                    a, b = np.asarray(jac(et, z)), np.asarray(fwd(et, z))
                    assert np.max(np.abs(a - b)) <= 1e-12 * np.max(np.abs(b)), (family, m, i, t)
    economies = sample_batch(jax.random.PRNGKey(3), 4, 16, 2, returns_to_scale=(0.7, 0.95), density=0.7,
                             technology="ces", elasticity=(0.3, 0.8))
    closed = jax.jit(jax.vmap(optimum))(economies)
    monkeypatch.setattr(general, "ANALYTIC_JACOBIAN_MIN_N", 10**6)
    forward = jax.jit(jax.vmap(optimum))(economies)
    np.testing.assert_array_equal(np.asarray(closed.status), np.asarray(forward.status))
    assert np.all(np.asarray(closed.status) == OPTIMAL)
    np.testing.assert_allclose(np.asarray(closed.welfare), np.asarray(forward.welfare), rtol=1e-12)
