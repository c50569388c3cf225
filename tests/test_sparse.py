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
        # at most max_iter products of the iteration, and the true residual's
        assert not bool(short.converged) and float(short.residual) > 1e-10 and int(short.iterations) <= 3
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


# -- Heal's rule on the sparse type ----------------------------------------------------------------------

def _distinct_inputs(key, n):
    """A sparse economy whose firms' used slots hold distinct goods (so the dense economy has the same uses)."""
    from jplan.economies import sample_sparse_production

    e = sample_sparse_production(key, n)
    K = e.inputs.shape[1]
    rng = np.random.default_rng(int(jax.random.randint(key, (), 0, 2**30)))
    inputs = np.stack([(j + 1 + rng.permutation(n - 1)[:K]) % n for j in range(n)]).astype(np.int32)
    return eqx.tree_at(lambda x: x.inputs, e, jnp.asarray(inputs))


def _np_project_simplex(y, total):
    """The sort-based Euclidean projection onto {x ≥ 0, Σ x = total} (Held, Wolfe and Crowder), in NumPy."""
    u = np.sort(y)[::-1]
    css = np.cumsum(u) - total
    k = np.nonzero(u - css / np.arange(1, len(y) + 1) > 0)[0][-1]
    return np.maximum(y - css[k] / (k + 1), 0.0)


def test_segment_projection_is_the_sorting_projection_segment_by_segment():
    """Michelot's sort-free projection equals the sort-based one on every segment, and its Jacobian equals
    that of `jplan.procedures.heal.project_simplex` (autodiff through the sort)."""
    from jplan.procedures.heal import project_simplex
    from jplan.procedures.heal_sparse import segment_project_simplex

    rng = np.random.default_rng(0)
    S, E = 8, 160
    project = jax.jit(segment_project_simplex)
    for trial in range(20):
        seg = jnp.asarray(np.concatenate([np.arange(S), rng.integers(0, S, E - S)]))
        y = jnp.asarray(rng.normal(size=E) * rng.uniform(0.1, 3.0))
        totals = jnp.asarray(rng.uniform(0.1, 5.0, S))
        mask = jnp.asarray((rng.uniform(size=E) > 0.2) | (np.arange(E) < S))
        got = np.asarray(project(y, seg, totals, mask))
        assert np.all(got[~np.asarray(mask)] == 0.0)
        for s in range(S):
            idx = np.where((np.asarray(seg) == s) & np.asarray(mask))[0]
            np.testing.assert_allclose(got[idx], _np_project_simplex(np.asarray(y)[idx], float(totals[s])), rtol=1e-12, atol=1e-13)
    J = jax.jacobian(segment_project_simplex)(y, seg, totals, mask)
    for s in range(S):
        idx = np.where((np.asarray(seg) == s) & np.asarray(mask))[0]
        J_ref = jax.jacobian(lambda v: project_simplex(v, totals[s]))(y[idx])
        np.testing.assert_allclose(np.asarray(J)[np.ix_(idx, idx)], J_ref, atol=1e-12)


def test_sparse_heal_steps_are_the_dense_heal_steps():
    """From the same plan, every step of `sparse_heal_step` equals `Heal.step` on the dense economy
    (`to_dense`): the same allocations, welfare and step sizes, to rounding."""
    from jplan.procedures import Heal
    from jplan.procedures.heal import HealState
    from jplan.procedures.heal_sparse import sparse_heal_start, sparse_heal_step

    n = 30
    heal = Heal()
    for seed in range(2):
        e = _distinct_inputs(jax.random.PRNGKey(seed), n)
        d = e.to_dense()
        rows = jnp.arange(n)[:, None]
        st = jax.jit(sparse_heal_start)(e)
        v = jnp.zeros((n, n)).at[rows, e.inputs].add(st.inputs)
        plan, mp_r, mp_v, _ = heal._round(d, st.labour[:, None], v)
        ds = HealState(plan, heal._welfare(d, plan), mp_r, mp_v, st.step_size)
        step_s = jax.jit(sparse_heal_step)
        step_d = jax.jit(lambda s: heal.step(d, s)[0])
        accepted = 0
        for _ in range(30):
            old = float(st.welfare)
            st, ds = step_s(e, st), step_d(ds)
            accepted += float(st.welfare) > old
            # the dense centre keeps every off-pattern allocation at 0, as the sparse one has none
            assert float(jnp.max(ds.plan.intermediate_use.at[rows, e.inputs].set(0.0))) == 0.0
            np.testing.assert_allclose(ds.plan.intermediate_use[rows, e.inputs], st.inputs, rtol=1e-8, atol=1e-300)
            np.testing.assert_allclose(ds.plan.resource_use[:, 0], st.labour, rtol=1e-8)
            np.testing.assert_allclose(float(ds.welfare), float(st.welfare), rtol=1e-11)
            assert float(ds.step_size) == float(st.step_size)
        assert accepted >= 15


def test_sparse_heal_is_feasible_monotone_and_approaches_the_optimum():
    """On random sparse economies (duplicate slots included): labour sums to L, every consumption is
    positive and equals output less the goods' uses, welfare never falls, and the gap to the dense
    closed-form optimum falls by a factor of 100."""
    from jplan.economies import sample_sparse_production
    from jplan.procedures.heal_sparse import sparse_heal
    from jplan.solvers import closed_form

    n = 40
    run = jax.jit(jax.vmap(lambda e: sparse_heal(e, 1500)))
    economies = jax.vmap(lambda k: sample_sparse_production(k, n))(jax.random.split(jax.random.PRNGKey(5), 3))
    r = run(economies)
    for b in range(3):
        e = jax.tree_util.tree_map(lambda x: x[b], economies)
        st = jax.tree_util.tree_map(lambda x: x[b], r.state)
        w = np.asarray(r.welfare[b])
        assert np.all(np.diff(w) >= 0.0)
        assert abs(float(jnp.sum(st.labour)) / float(e.labour) - 1.0) < 1e-12
        uses = np.zeros(n)
        np.add.at(uses, np.asarray(e.inputs).ravel(), np.where(np.asarray(e.input_shares) > 0, np.asarray(st.inputs), 0.0).ravel())
        np.testing.assert_allclose(np.asarray(st.consumption), np.asarray(st.output) - uses, rtol=1e-12)
        assert np.all(np.asarray(st.consumption) > 0)
        u_star = float(closed_form(e.to_dense()).welfare)
        assert w[-1] <= u_star + 1e-9
        scale = float(jnp.sum(e.welfare_weights))
        assert (u_star - w[-1]) / scale <= 1e-2 * (u_star - w[0]) / scale
        assert int(r.status[b]) in (0, 1)


def test_sparse_heal_centre_reads_no_technology_and_runs_under_jit_vmap_grad():
    """The centre's move reads no firm's shares or productivity (NaN technology gives the same move); a
    batched run equals single runs; d(welfare)/d(tfp) through 10 steps matches central differences."""
    from jplan.economies import sample_sparse_production
    from jplan.procedures.heal_sparse import sparse_heal, sparse_heal_proposal, sparse_heal_start

    e = sample_sparse_production(jax.random.PRNGKey(2), 25)
    st = sparse_heal_start(e)
    hidden = eqx.tree_at(lambda x: (x.input_shares, x.labour_shares, x.tfp), e,
                         (jnp.full_like(e.input_shares, jnp.nan), jnp.full_like(e.labour_shares, jnp.nan),
                          jnp.full_like(e.tfp, jnp.nan)))
    for a, b in zip(sparse_heal_proposal(e, st), sparse_heal_proposal(hidden, st)):
        assert np.all(np.isfinite(np.asarray(b))) and np.array_equal(np.asarray(a), np.asarray(b))

    keys = jax.random.split(jax.random.PRNGKey(3), 3)
    batch = jax.vmap(lambda k: sample_sparse_production(k, 25))(keys)
    rb = jax.jit(jax.vmap(lambda x: sparse_heal(x, 40)))(batch)
    r1 = jax.jit(lambda x: sparse_heal(x, 40))(jax.tree_util.tree_map(lambda x: x[1], batch))
    np.testing.assert_allclose(np.asarray(rb.welfare[1]), np.asarray(r1.welfare), rtol=1e-12)

    f = jax.jit(lambda tfp: sparse_heal(eqx.tree_at(lambda x: x.tfp, e, tfp), 10).welfare[-1])
    g = jax.grad(f)(e.tfp)
    h = 1e-6
    for i in (0, 7, 19):
        fd = (f(e.tfp.at[i].add(h)) - f(e.tfp.at[i].add(-h))) / (2 * h)
        assert float(g[i]) == pytest.approx(float(fd), rel=1e-6), i


def test_sparse_solves_never_report_convergence_with_negative_outputs_or_bad_indices():
    """Issue 32: on an unproductive economy the solver reported `converged` with 680 of 1,000 outputs negative;
    out-of-range input indices were dropped by one product and clamped by the other."""
    import jax

    from jplan.economies import sample_sparse
    from jplan.solvers import labour_values, leontief_quantities

    e = sample_sparse(jax.random.PRNGKey(0), 1000)
    assert bool(leontief_quantities(e).converged) and bool(labour_values(e).converged)
    unproductive = type(e)(inputs=e.inputs, coefficients=e.coefficients * 3.0, labour=e.labour,
                           final_demand=e.final_demand)
    q = leontief_quantities(unproductive)
    assert float(q.residual) < 1e-8 and int((q.x < 0).sum()) > 100  # a solution of the equations, not a plan
    assert not bool(q.converged)
    bad = type(e)(inputs=e.inputs.at[0, 0].set(5000), coefficients=e.coefficients, labour=e.labour,
                  final_demand=e.final_demand)
    assert not bool(leontief_quantities(bad).converged) and not bool(labour_values(bad).converged)


# -- the compact layout (issue 31: memory in proportion to the non-zeros, for skewed tables) ---------------

def test_compact_layout_is_the_same_matrix_and_the_same_solves():
    """`compact` stores the ELL economy's non-zeros only; products, solves and reported iterations agree
    with the padded layout (several chunks with padding, and one chunk), and with SuperLU."""
    from jplan.economies.sparse import compact

    rng = np.random.default_rng(0)
    for n, seed, chunk in ((50, 0, 64), (500, 1, 256), (3000, 2, 131_072)):
        e = sample_sparse(jax.random.PRNGKey(seed), n)
        c = compact(e, chunk=chunk)
        assert int(c.nonzeros) == int(e.nonzeros) and c.values.size >= int(e.nonzeros)
        assert c.values.size < int(e.nonzeros) + max(chunk, 64)  # padding under one chunk
        x = jnp.asarray(rng.random(n))
        np.testing.assert_allclose(technique_times(c, x), technique_times(e, x), rtol=1e-13)
        np.testing.assert_allclose(technique_transpose_times(c, x), technique_transpose_times(e, x), rtol=1e-13)
        np.testing.assert_array_equal(to_scipy(c).toarray(), to_scipy(e).toarray())
        q, p = leontief_quantities(c), labour_values(c)
        x_ref, p_ref = reference(e)
        assert bool(q.converged) and bool(p.converged)
        np.testing.assert_allclose(q.x, x_ref, rtol=1e-9)
        np.testing.assert_allclose(p.x, p_ref, rtol=1e-9)
        assert int(q.iterations) == int(leontief_quantities(e).iterations)


def test_from_coordinates_adds_repeats_drops_zeros_and_refuses_bad_input():
    from jplan.economies.sparse import from_coordinates

    rows, cols, values = [1, 1, 0, 2, 0], [0, 0, 2, 1, 1], [0.1, 0.2, 0.3, 0.0, 0.25]
    c = from_coordinates(rows, cols, values, [1.0, 1.0, 1.0], [1.0, 0.0, 2.0])
    A = np.zeros((3, 3))
    A[1, 0], A[0, 2], A[0, 1] = 0.3, 0.3, 0.25
    np.testing.assert_allclose(to_scipy(c).toarray(), A)
    assert int(c.nonzeros) == 4  # the two (1, 0) entries are stored apart and sum in every product
    np.testing.assert_allclose(leontief_quantities(c).x, np.linalg.solve(np.eye(3) - A, [1.0, 0.0, 2.0]), rtol=1e-12)
    ok = dict(labour=[1.0, 1.0, 1.0], final_demand=[1.0, 1.0, 1.0])
    for kwargs, message in (
        (dict(rows=[0, 3], cols=[1, 1], values=[0.1, 0.1]), "rows: integers in \\[0, 3\\)"),
        (dict(rows=[0, 1], cols=[-1, 1], values=[0.1, 0.1]), "cols: integers"),
        (dict(rows=[0, 1], cols=[1, 1], values=[0.1, -0.1]), "values: finite"),
        (dict(rows=[0, 1], cols=[1, 1], values=[0.1, np.nan]), "values: finite"),
        (dict(rows=[0, 1], cols=[1], values=[0.1, 0.1]), "one entry per coefficient"),
        (dict(rows=[0.5], cols=[1], values=[0.1]), "rows: integers"),
    ):
        with pytest.raises(ValueError, match=message):
            from_coordinates(**kwargs, **ok)
    with pytest.raises(ValueError, match="one vector of n entries"):
        from_coordinates([0], [1], [0.1], [1.0, 1.0], [1.0])
    with pytest.raises(ValueError, match="need at least 2 chunks"):
        from_coordinates(np.zeros(100, int), np.ones(100, int), np.full(100, 0.001), **ok, chunk=64, chunks=1)


def test_compact_layout_under_jit_vmap_and_grad():
    """A batch of compact economies padded to one chunk count, solved under vmap, equals the solves one by
    one; the implicit gradient with respect to the stored values matches central differences."""
    from jplan.economies.sparse import compact

    economies = [compact(sample_sparse(jax.random.PRNGKey(s), 200), chunk=512, chunks=4) for s in range(3)]
    batch = jax.tree_util.tree_map(lambda *a: jnp.stack(a), *economies)
    solved = jax.jit(jax.vmap(lambda e: labour_values(e).x))(batch)
    for i, c in enumerate(economies):
        np.testing.assert_allclose(solved[i], labour_values(c).x, rtol=1e-12)
    c = economies[0]
    w = jnp.linspace(0.5, 1.5, c.n)
    f = jax.jit(lambda v: jnp.dot(w, leontief_quantities(eqx.tree_at(lambda t: t.values, c, v)).x))
    g = np.asarray(jax.grad(f)(c.values))
    h = 1e-6
    for idx in list(zip(*np.nonzero(np.asarray(c.values))))[:3]:
        fd = (f(c.values.at[idx].add(h)) - f(c.values.at[idx].add(-h))) / (2 * h)
        assert g[idx] == pytest.approx(float(fd), rel=1e-6), idx


def test_skewed_tables_take_memory_in_proportion_to_their_non_zeros():
    """`sample_skewed`: heavy-tailed input counts (one good uses `max_inputs`); productive; the compact
    layout's bytes within 1.5× a CSR matrix's, where the padded layout would hold n·max slots; the solves match
    SuperLU."""
    from jplan.economies.sparse import sample_skewed

    n, top = 4000, 1500
    c = sample_skewed(3, n, mean_inputs=30, max_inputs=top)
    A = to_scipy(c)
    nnz = A.nnz
    counts = np.diff(A.tocsc().indptr)
    assert counts[0] <= top and counts.max() >= 10 * np.median(counts)  # skewed
    column_sums = np.asarray(A.sum(axis=0)).ravel()
    assert column_sums.min() >= 0.2 - 1e-12 and column_sums.max() <= 0.8 + 1e-12  # productive
    csr_bytes = nnz * 12 + (n + 1) * 4
    assert c.nbytes <= 1.5 * csr_bytes
    assert n * counts.max() >= 10 * nnz  # what the padded layout would have held
    I = sparse.identity(n, format="csc")
    q, p = leontief_quantities(c), labour_values(c)
    assert bool(q.converged) and bool(p.converged)
    np.testing.assert_allclose(q.x, spsolve((I - A).tocsc(), np.asarray(c.final_demand)), rtol=1e-9)
    np.testing.assert_allclose(p.x, spsolve((I - A.T).tocsc(), np.asarray(c.labour)), rtol=1e-9)
    bad = eqx.tree_at(lambda t: t.rows, c, c.rows.at[0, 0].set(n + 5))
    assert not bool(leontief_quantities(bad).converged) and not bool(labour_values(bad).converged)


def test_sparse_malinvaud_in_the_compact_layout_takes_the_same_rounds():
    from jplan.economies import sample_sparse_production
    from jplan.economies.sparse import compact_pattern
    from jplan.procedures import sparse_malinvaud

    for seed, n in ((0, 40), (1, 400)):
        e = sample_sparse_production(jax.random.PRNGKey(seed), n)
        pattern = compact_pattern(e, chunk=512)
        padded = jax.jit(lambda e: sparse_malinvaud(e, 30))(e)
        ours = jax.jit(lambda e, p: sparse_malinvaud(e, 30, pattern=p))(e, pattern)
        assert int(ours.status) == 1 and int(ours.steps) == int(padded.steps)
        np.testing.assert_allclose(ours.prices, padded.prices, rtol=1e-10)
        np.testing.assert_allclose(ours.welfare, padded.welfare, rtol=1e-12)
        np.testing.assert_array_equal(ours.solver_iterations, padded.solver_iterations)
    with pytest.raises(ValueError, match="one economy"):
        compact_pattern(jax.vmap(lambda k: sample_sparse_production(k, 10))(jax.random.split(jax.random.PRNGKey(0), 2)))


@pytest.mark.parametrize("algorithm", ["project_simplex_michelot", "project_simplex_pairwise", "project_simplex"])
def test_dense_projection_equals_the_sorting_projection_values_and_jacobians(algorithm):
    """Every dense projection (Michelot's rounds, all pairs, and `project_simplex`, which picks one of the
    three by size) against the sort-based one and NumPy: random points of sizes on every side of the
    dispatch thresholds, ties, a zero total, entries all negative; the Jacobians agree (autodiff through
    the sort)."""
    import jplan.procedures.heal as heal

    project_simplex_by_sorting = heal.project_simplex_sort
    project_simplex = getattr(heal, algorithm)
    rng = np.random.default_rng(1)
    sizes = (1, 2, 5, 11, heal.SORT_MAX_ENTRIES, heal.SORT_MAX_ENTRIES + 1, 31, heal.PAIRWISE_MAX_ENTRIES,
             heal.PAIRWISE_MAX_ENTRIES + 1, 64)
    cases = [(rng.normal(size=k) * rng.uniform(0.1, 3.0), rng.uniform(0.1, 5.0)) for k in sizes for _ in range(4)]
    cases += [(np.array([1.0, 1.0, 1.0, 0.5]), 1.0), (np.array([0.3, 0.2, 0.1]), 0.0), (-np.abs(rng.normal(size=6)), 2.0),
              (np.repeat(rng.normal(size=9), 3), 1.5), (np.zeros(20), 0.0), (-np.abs(rng.normal(size=50)), 3.0)]
    project = jax.jit(project_simplex)
    for y, total in cases:
        got = np.asarray(project(jnp.asarray(y), jnp.asarray(total)))
        if total == 0:  # the only point of the set is 0 (the sort alone gave max(y - mean(y), 0): now special-cased)
            assert np.all(got == 0.0), got
            assert np.all(np.asarray(project_simplex_by_sorting(jnp.asarray(y), jnp.asarray(total))) == 0.0)
            continue
        np.testing.assert_allclose(got, _np_project_simplex(y, total), rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(got, np.asarray(project_simplex_by_sorting(jnp.asarray(y), jnp.asarray(total))), rtol=1e-12, atol=1e-13)
        if len(set(np.round(y, 12))) == len(y):  # the Jacobian is defined away from ties
            J = jax.jacobian(project_simplex, argnums=(0, 1))(jnp.asarray(y), jnp.asarray(total))
            J_ref = jax.jacobian(project_simplex_by_sorting, argnums=(0, 1))(jnp.asarray(y), jnp.asarray(total))
            for a, b in zip(J, J_ref):
                np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-12)
    for k in (9, 31, 64):
        batch = jnp.asarray(rng.normal(size=(64, k)))
        totals = jnp.asarray(rng.uniform(0.1, 2.0, 64))
        np.testing.assert_allclose(np.asarray(jax.jit(jax.vmap(project_simplex))(batch, totals)),
                                   np.asarray(jax.vmap(project_simplex_by_sorting)(batch, totals)), rtol=1e-12, atol=1e-13)


def test_projection_below_the_threshold_is_the_sort_bit_for_bit():
    """Up to `SORT_MAX_ENTRIES` entries `project_simplex` is the sort (the published tables of n ≤ 15 goods ran
    with it), above it is not (a different algorithm, other last bits allowed)."""
    import jplan.procedures.heal as heal

    rng = np.random.default_rng(2)
    for k in (3, 11, heal.SORT_MAX_ENTRIES):
        y, total = jnp.asarray(rng.normal(size=(32, k))), jnp.asarray(rng.uniform(0.1, 2.0, 32))
        np.testing.assert_array_equal(np.asarray(jax.jit(jax.vmap(heal.project_simplex))(y, total)),
                                      np.asarray(jax.jit(jax.vmap(heal.project_simplex_sort))(y, total)))
