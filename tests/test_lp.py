"""The JAX simplex (`jplan.solvers.lp`) against SciPy's HiGHS, and its dual-value derivatives."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import linprog as highs

from jplan.solvers.lp import LP_STATUS, linprog, optimal_value

HIGHS_STATUS = {0: "optimal", 2: "infeasible", 3: "unbounded"}


def _random_lps(rng, count, m, nv, kind):
    """Random standard-form LPs: feasible bounded ones, possibly unbounded ones, and some infeasible ones."""
    out = []
    for t in range(count):
        A = rng.normal(size=(m, nv))
        if kind == "degenerate":
            A = np.round(A)  # integer data: ties in the ratio test, degenerate vertices
        x0 = np.maximum(rng.normal(size=nv), 0) * (rng.random(nv) < 0.5)
        b = A @ x0
        if kind == "mixed" and t % 5 == 0:
            b = rng.normal(size=m)  # often infeasible
        c = rng.normal(size=nv)
        if kind != "mixed" or t % 2 == 0:
            c = np.abs(c) + 0.1  # bounded below by 0
        out.append((c, A, b))
    return out


@pytest.mark.parametrize("kind,m,nv", [("general", 4, 9), ("degenerate", 5, 12), ("mixed", 3, 7)])
def test_linprog_matches_highs_status_and_objective(kind, m, nv):
    rng = np.random.default_rng({"general": 1, "degenerate": 2, "mixed": 3}[kind])
    lps = _random_lps(rng, 60, m, nv, kind)
    c, A, b = (jnp.asarray(np.stack(x)) for x in zip(*lps))
    sol = jax.vmap(linprog)(c, A, b)
    seen = set()
    for i, (ci, Ai, bi) in enumerate(lps):
        ref = highs(ci, A_eq=Ai, b_eq=bi, bounds=(0, None), method="highs")
        status = LP_STATUS[int(sol.status[i])]
        assert status == HIGHS_STATUS[ref.status], (i, status, ref.message)
        seen.add(status)
        if status == "optimal":
            assert abs(float(sol.objective[i]) - ref.fun) <= 1e-9 * max(1.0, abs(ref.fun))
            x = np.asarray(sol.x[i])
            assert np.all(x >= 0) and np.allclose(Ai @ x, bi, atol=1e-9 * (1 + np.abs(bi).max()))
            # Dual feasibility of the reported duals, and strong duality.
            assert np.all(np.asarray(sol.reduced_costs[i]) >= -1e-9)
            assert float(sol.duals[i] @ bi) == pytest.approx(ref.fun, rel=1e-9, abs=1e-9)
        if status == "unbounded":  # the reported ray proves it: d ≥ 0, A d = 0, cᵀd < 0
            d = np.asarray(sol.ray[i])
            assert np.all(d >= 0) and d.max() == 1.0 and np.abs(Ai @ d).max() <= 1e-9 and ci @ d < -1e-12, i
        else:
            assert np.all(np.asarray(sol.ray[i]) == 0.0)
    assert "optimal" in seen
    if kind == "mixed":
        assert {"infeasible", "unbounded"} <= seen


def test_linprog_jit_equals_no_jit_and_vmap_equals_loop():
    rng = np.random.default_rng(4)
    lps = _random_lps(rng, 6, 3, 6, "general")
    c, A, b = (jnp.asarray(np.stack(x)) for x in zip(*lps))
    batched = jax.vmap(linprog)(c, A, b)
    for i in range(0, 6, 2):
        with jax.disable_jit():
            plain = linprog(c[i], A[i], b[i])
        assert float(plain.objective) == pytest.approx(float(batched.objective[i]), rel=1e-12)
        np.testing.assert_allclose(plain.x, batched.x[i], atol=1e-12)


def test_beale_cycling_example_terminates():
    """Beale's (1955) LP cycles under Dantzig's rule with naive tie-breaking; the optimum is -1/20."""
    c = jnp.array([-0.75, 150.0, -0.02, 6.0, 0.0, 0.0, 0.0])
    A = jnp.array(
        [
            [0.25, -60.0, -0.04, 9.0, 1.0, 0.0, 0.0],
            [0.5, -90.0, -0.02, 3.0, 0.0, 1.0, 0.0],
            [0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
        ]
    )
    b = jnp.array([0.0, 0.0, 1.0])
    sol = linprog(c, A, b)
    assert LP_STATUS[int(sol.status)] == "optimal"
    assert float(sol.objective) == pytest.approx(-0.05, abs=1e-12)


def test_allowed_mask_fixes_columns_at_zero():
    c = jnp.array([1.0, 2.0, 0.5])
    A = jnp.array([[1.0, 1.0, 1.0]])
    b = jnp.array([4.0])
    free = linprog(c, A, b)
    masked = linprog(c, A, b, jnp.array([True, True, False]))
    assert float(free.objective) == pytest.approx(2.0)
    assert float(masked.objective) == pytest.approx(4.0)
    assert float(masked.x[2]) == 0.0


def test_optimal_value_gradients_are_the_dual_formulas_and_match_finite_differences():
    rng = np.random.default_rng(5)
    checked = 0
    for c, A, b in _random_lps(rng, 40, 3, 7, "general"):
        c, A, b = jnp.asarray(c), jnp.asarray(A), jnp.asarray(b)
        allowed = jnp.ones(7, bool)
        sol = linprog(c, A, b)
        x, y = np.asarray(sol.x), np.asarray(sol.duals)
        basic = np.asarray(sol.basis)
        # Only non-degenerate optima have a derivative (elsewhere V has a kink).
        if np.any(basic >= 7):  # an artificial column left at zero level: a degenerate vertex
            continue
        nonbasic = np.setdiff1d(np.arange(7), basic)
        if np.min(x[basic]) < 1e-6 or np.min(np.asarray(sol.reduced_costs)[nonbasic]) < 1e-6:
            continue
        gc, gA, gb = jax.grad(optimal_value, argnums=(0, 1, 2))(c, A, b, allowed)
        np.testing.assert_allclose(gc, x, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(gb, y, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(gA, -np.outer(y, x), rtol=1e-10, atol=1e-12)
        # Central finite differences along random directions, and forward mode = reverse mode.
        for _ in range(3):
            dc, dA, db = rng.normal(size=7), rng.normal(size=(3, 7)), rng.normal(size=3)
            h = 1e-6
            fd = (
                optimal_value(c + h * dc, A + h * dA, b + h * db, allowed)
                - optimal_value(c - h * dc, A - h * dA, b - h * db, allowed)
            ) / (2 * h)
            _, jvp = jax.jvp(lambda c_, A_, b_: optimal_value(c_, A_, b_, allowed), (c, A, b), (jnp.asarray(dc), jnp.asarray(dA), jnp.asarray(db)))
            directional = float(np.sum(gc * dc) + np.sum(gA * dA) + np.sum(gb * db))
            assert float(jvp) == pytest.approx(directional, rel=1e-10, abs=1e-10)
            assert float(fd) == pytest.approx(directional, rel=1e-5, abs=1e-6)
        checked += 1
    assert checked >= 10


def test_pivot_limit_in_phase_one_is_an_iteration_limit_not_infeasibility():
    """A feasible LP that needs several phase-I pivots, cut off after one: no proof of infeasibility."""
    c = jnp.array([1.0, 1.0, 1.0])
    A = jnp.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    b = jnp.array([1.0, 2.0])
    assert LP_STATUS[int(linprog(c, A, b).status)] == "optimal"
    assert LP_STATUS[int(linprog(c, A, b, max_iter=1).status)] == "iteration_limit"


def _check_against_highs(lps, sol):
    for i, (ci, Ai, bi) in enumerate(lps):
        ref = highs(ci, A_eq=Ai, b_eq=bi, bounds=(0, None), method="highs")
        status = LP_STATUS[int(sol.status[i])]
        assert status == HIGHS_STATUS[ref.status], (i, status, ref.message)
        if status == "optimal":
            assert abs(float(sol.objective[i]) - ref.fun) <= 1e-8 * max(1.0, abs(ref.fun)), i
            x = np.asarray(sol.x[i])
            assert np.all(x >= 0) and np.allclose(Ai @ x, bi, atol=1e-8 * (1 + np.abs(bi).max()))


LARGER = [pytest.param("general", 20, 40, 100), pytest.param("degenerate", 20, 40, 100),
          pytest.param("general", 60, 120, 20),
          pytest.param("general", 100, 200, 100, marks=pytest.mark.slow),
          pytest.param("degenerate", 100, 200, 100, marks=pytest.mark.slow),
          # Known limitation (issue 31): at 250 × 500 these LPs (b = A x₀ with half of x₀ zero: highly degenerate)
          # take the dense simplex past its pivot limit of 20·(m + n) on most draws (3 of 3 before Harris's ratio
          # test, 2 of 3 after); HiGHS solves them. Strict: the mark must go when the simplex copes. (500 × 500, a
          # square system whose feasible set is nearly a point, passes.)
          pytest.param("general", 250, 500, 20, marks=[pytest.mark.slow, pytest.mark.xfail(strict=True, reason="pivot limit")]),
          pytest.param("general", 500, 500, 10, marks=pytest.mark.slow)]


@pytest.mark.parametrize("kind, m, nv, count", LARGER)
def test_larger_random_lps_match_highs(kind, m, nv, count):
    """Issue 31, item 2: random LPs (feasible and bounded, or degenerate with integer data) at sizes up to
    500 × 500 (the largest with the slow tests): the same status and the optimum to 1e-8 of HiGHS."""
    rng = np.random.default_rng(1000 + m)
    lps = _random_lps(rng, count, m, nv, kind)
    c, A, b = (jnp.asarray(np.stack(x)) for x in zip(*lps))
    _check_against_highs(lps, jax.jit(jax.vmap(linprog))(c, A, b))
