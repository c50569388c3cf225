"""Sparse national-size economies: the sampler's guarantees, the iterative Leontief and labour-value solves
against SciPy's direct solver, implicit gradients against finite differences, jit/vmap, and honest
non-convergence."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import sparse
from scipy.sparse.linalg import spsolve

from jplan.economies.sparse import input_slots, sample_sparse, technique_times, technique_transpose_times, to_scipy
from jplan.solvers.sparse import METHODS, labour_values, leontief_quantities


def reference(economy):
    """(x, p) by SuperLU on the same matrix."""
    A = to_scipy(economy)
    I = sparse.identity(A.shape[0], format="csc")
    return (spsolve((I - A).tocsc(), np.asarray(economy.final_demand)),
            spsolve((I - A.T).tocsc(), np.asarray(economy.labour)))


@pytest.mark.parametrize("method", METHODS)
def test_solves_match_scipy_on_random_sparse_economies(method):
    solve = jax.jit(lambda e: (leontief_quantities(e, method=method), labour_values(e, method=method)))
    for n, seed in ((50, 0), (500, 1), (3000, 2)):
        e = sample_sparse(jax.random.PRNGKey(seed), n)
        q, p = solve(e)
        x_ref, p_ref = reference(e)
        assert bool(q.converged) and bool(p.converged) and float(q.residual) <= 1e-10 and float(p.residual) <= 1e-10
        for ours, theirs in ((q.x, x_ref), (p.x, p_ref)):
            assert np.max(np.abs(np.asarray(ours) - theirs)) <= 1e-9 * np.max(np.abs(theirs)), (n, method)
        assert np.all(np.asarray(q.x) >= np.asarray(e.final_demand) - 1e-12)  # gross output covers final demand
        assert np.all(np.asarray(p.x) >= np.asarray(e.labour) - 1e-12)  # a value embodies at least its direct labour


def test_sampler_is_productive_sparse_and_skewed():
    n = 5000
    e = sample_sparse(jax.random.PRNGKey(7), n)
    K = input_slots(n)
    assert e.inputs.shape == (n, K) and e.coefficients.shape == (n, K)
    coefficients = np.asarray(e.coefficients)
    column_sums = coefficients.sum(axis=1)
    assert column_sums.min() >= 0.2 - 1e-12 and column_sums.max() <= 0.8 + 1e-12  # ‖A‖₁ < 1: productive
    used = coefficients > 0
    assert not np.any((np.asarray(e.inputs) == np.arange(n)[:, None]) & used)  # no good is its own input
    counts = used.sum(axis=1)
    assert counts.min() >= 1 and counts.max() <= K
    assert 0.5 * n * np.log(n) <= counts.sum() <= 1.5 * n * np.log(n)  # about n ln n non-zeros
    assert counts.max() >= 3 * np.median(counts)  # a skewed number of inputs per good
    A = to_scipy(e).toarray()
    x = np.random.default_rng(0).random(n)
    np.testing.assert_allclose(np.asarray(technique_times(e, jnp.asarray(x))), A @ x, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(technique_transpose_times(e, jnp.asarray(x))), A.T @ x, rtol=1e-12)


def test_implicit_gradients_match_finite_differences():
    """d(wᵀx)/d(a, d) and d(wᵀp)/d(a, a₀) by the implicit adjoint (one transposed solve) against central
    differences of the solves themselves; the adjoint identity ∂(wᵀp)/∂a₀ = (I − A)⁻¹w holds."""
    e = sample_sparse(jax.random.PRNGKey(3), 60)
    w = jax.random.uniform(jax.random.PRNGKey(4), (60,), minval=0.5, maxval=1.5)
    at = lambda field, value: eqx.tree_at(lambda t: getattr(t, field), e, value)
    quantity = jax.jit(lambda field, v: jnp.dot(w, leontief_quantities(at(field, v)).x), static_argnums=0)
    value = jax.jit(lambda field, v: jnp.dot(w, labour_values(at(field, v)).x), static_argnums=0)
    h = 1e-6
    for f, field in ((quantity, "coefficients"), (quantity, "final_demand"), (value, "coefficients"), (value, "labour")):
        base = getattr(e, field)
        g = np.asarray(jax.grad(lambda v: f(field, v))(base))
        entries = [(0, 0), (7, 1), (33, 0)] if base.ndim == 2 else [(0,), (17,), (59,)]
        for idx in entries:
            if base.ndim == 2 and float(base[idx]) == 0.0:
                continue
            fd = (f(field, base.at[idx].add(h)) - f(field, base.at[idx].add(-h))) / (2 * h)
            assert g[idx] == pytest.approx(float(fd), rel=1e-6, abs=1e-9), (field, idx)
    adjoint = jax.grad(lambda a0: value("labour", a0))(e.labour)
    np.testing.assert_allclose(adjoint, leontief_quantities(at("final_demand", w)).x, rtol=1e-8)


def test_jit_vmap_and_eager_agree():
    keys = jax.random.split(jax.random.PRNGKey(5), 3)
    batch = jax.vmap(lambda k: sample_sparse(k, 200))(keys)
    solved = jax.jit(jax.vmap(lambda e: labour_values(e).x))(batch)
    for i in range(3):
        e = jax.tree_util.tree_map(lambda x: x[i], batch)
        np.testing.assert_allclose(solved[i], labour_values(e).x, rtol=1e-12)


def test_an_unconverged_solve_says_so():
    e = sample_sparse(jax.random.PRNGKey(6), 300)
    for method in METHODS:
        short = leontief_quantities(e, method=method, max_iter=2)
        assert not bool(short.converged) and float(short.residual) > 1e-10 and int(short.iterations) <= 2
    with pytest.raises(ValueError, match="method"):
        labour_values(e, method="gauss")
    with pytest.raises(ValueError, match="at least 2 goods"):
        sample_sparse(jax.random.PRNGKey(0), 1)


def test_sparse_malinvaud_matches_the_dense_procedure_and_is_monotone():
    """Malinvaud's procedure on the sparse type: the same rounds as the dense `Malinvaud` on the same
    economy (`to_dense`), feasible by construction, welfare non-decreasing, converged."""
    from jplan.economies import sample_sparse_production
    from jplan.procedures import Malinvaud, run
    from jplan.procedures import sparse_malinvaud

    for seed in range(3):
        e = sample_sparse_production(jax.random.PRNGKey(seed), 30)
        r = jax.jit(lambda e: sparse_malinvaud(e, 30))(e)
        assert int(r.status) == 1
        tr = jax.jit(lambda d: run(Malinvaud(tolerance=1e-9), d, 30))(e.to_dense())
        np.testing.assert_allclose(r.prices, tr.goods_prices, rtol=1e-10)
        np.testing.assert_allclose(r.consumption, tr.plan.consumption, rtol=1e-10)
        k = int(r.steps) + 1
        np.testing.assert_allclose(r.welfare[:k], tr.welfare[:k], rtol=1e-10)
        assert np.all(np.diff(np.asarray(r.welfare)[:k]) >= -1e-9)
        # labour used equals the endowment, and gross outputs deliver consumption net of inputs
        assert abs(float(jnp.sum(r.prices * r.consumption)) / float(e.labour) - 1) < 1e-10
