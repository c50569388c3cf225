"""Linear programs in pure JAX: a dense two-phase simplex, an exact basis polish, and a value function
whose derivatives are the LP's dual values.

    minimise cᵀz  subject to  A z = b,  z ≥ 0,  z_j = 0 where `allowed[j]` is False.

Why a simplex and not a first-order method (PDHG): the central LPs of Rudra's frame are small and dense
(a few commodities, a few dozen sectors), where a simplex ends on an exact vertex in a handful of pivots,
while PDHG reaches ~1e-4..1e-6 and still needs a crossover to a basis. Both pay, under `vmap`, for the
slowest member of a batch. The tableau iterations run in a `lax.while_loop` (jit/vmap-safe, CPU or GPU);
Dantzig's entering rule is used after a pivot that moved the vertex and Bland's smallest-index rule after
a degenerate one, so the method cannot cycle. When the loop stops, the basis it identified is *polished*:
x_B = A_B⁻¹ b and y = A_B⁻ᵀ c_B are recomputed from the original data with a fresh solve, and the solution is
verified (primal feasibility and dual feasibility, i.e. non-negative reduced costs). The polished values are
what users read; the tableau only names the basis.

Differentiability (`optimal_value`): by the envelope theorem, at a non-degenerate optimum
dV = xᵀdc + yᵀdb − yᵀ(dA)x. That is the `custom_jvp` rule, so `jax.grad`, `jax.jacfwd` and `jax.jvp` of the
optimal value give exactly the dual-value (LP sensitivity) formulas, with no differentiation through the
pivots. At a degenerate optimum the value function has a kink and these are one-sided derivatives.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int

from ._linalg import solve as _solve

__all__ = ["LPSolution", "linprog", "linprog_on_basis", "optimal_value", "LP_STATUS", "lp_status_name"]

OPTIMAL, INFEASIBLE, UNBOUNDED, ITERATION_LIMIT, NUMERICAL = 0, 1, 2, 3, 4
LP_STATUS = ("optimal", "infeasible", "unbounded", "iteration_limit", "numerical_failure")


def lp_status_name(code) -> str:
    """The name of an LP status code (0 optimal, 1 infeasible, 2 unbounded, 3 iteration limit, 4 numerical)."""
    return LP_STATUS[int(code)]


class LPSolution(eqx.Module):
    """The result of `linprog` (a pytree: under vmap every field gains a leading batch axis).

    Attributes:
        x: the polished primal solution [nv] (NaN unless status is optimal).
        duals: y [m], the shadow price of each equality row: ∂(optimal value)/∂b.
        objective: cᵀx.
        reduced_costs: c − Aᵀy [nv] (≥ 0 on allowed columns at an optimum).
        basis: indices of the basic columns [m] (indices ≥ nv are artificial columns of redundant rows).
        status: 0 optimal, 1 infeasible, 2 unbounded, 3 iteration limit, 4 numerical failure.
        iterations: simplex pivots used (both phases).
        ray: when unbounded, an improving direction of the feasible set [nv]: d ≥ 0, A d = 0 (to the
            tableau's accuracy), cᵀd < 0, zero on columns not allowed, scaled to max d = 1; zeros otherwise.
    """

    x: Float[Array, " nv"]
    duals: Float[Array, " m"]
    objective: Float[Array, ""]
    reduced_costs: Float[Array, " nv"]
    basis: Int[Array, " m"]
    status: Int[Array, ""]
    iterations: Int[Array, ""]
    ray: Float[Array, " nv"]


def _simplex_phase(tableau, basis, cost, can_enter, is_artificial, force_out, max_iter, tol, iterations):
    """Run simplex pivots on `tableau` ([m, ncol + 1], last column the right-hand side) until no allowed
    column has a negative reduced cost. Returns (tableau, basis, unbounded, iterations, done, enter), `enter`
    the last entering column (the improving column without a blocking row when unbounded)."""
    m = tableau.shape[0]
    ncol = tableau.shape[1] - 1
    rows = jnp.arange(m)

    def reduced(tableau, basis):
        return cost - cost[basis] @ tableau[:, :ncol]

    def cond(state):
        tableau, basis, unbounded, it, done, degenerate, _ = state
        return (~done) & (~unbounded) & (it < max_iter)

    def body(state):
        tableau, basis, unbounded, it, done, degenerate, _ = state
        r = reduced(tableau, basis)
        in_basis = jnp.zeros(ncol, bool).at[basis].set(True)
        scale = 1.0 + jnp.max(jnp.abs(cost))
        eligible = can_enter & ~in_basis & (r < -tol * scale)
        optimal = ~jnp.any(eligible)
        dantzig = jnp.argmin(jnp.where(eligible, r, jnp.inf))
        bland = jnp.argmax(eligible)
        enter = jnp.where(degenerate, bland, dantzig)
        column = tableau[:, enter]
        rhs = tableau[:, ncol]
        positive = column > tol
        # A zero-level artificial variable still in the basis must leave before it could turn positive.
        forced = force_out & is_artificial[basis] & (jnp.abs(column) > tol) & (jnp.abs(rhs) <= tol * (1.0 + jnp.max(jnp.abs(rhs))))
        ratio = jnp.where(forced, 0.0, jnp.where(positive, jnp.maximum(rhs, 0.0) / jnp.where(positive, column, 1.0), jnp.inf))
        best = jnp.min(ratio)
        no_row = ~jnp.isfinite(best)
        # Harris's two-pass ratio test: the rows whose ratio is within a feasibility tolerance of the minimum
        # (the relaxed bound (rhs + δ)/column) may leave; among them only pivots within a factor 10 of the
        # largest count, so that degenerate LPs (many ratios 0) do not pivot on a 1e-9 entry and end on a
        # near-singular basis; Bland's rule (the smallest basis index) picks among those.
        delta = tol * (1.0 + jnp.max(jnp.abs(rhs)))
        relaxed = jnp.min(jnp.where(forced, 0.0, jnp.where(positive, (jnp.maximum(rhs, 0.0) + delta) / jnp.where(positive, column, 1.0), jnp.inf)))
        ties = (ratio <= jnp.maximum(relaxed, best + tol * (1.0 + jnp.abs(best)))) & (positive | forced)
        size = jnp.where(ties, jnp.abs(column), 0.0)
        ties = ties & (size >= 0.1 * jnp.max(size))
        leave = jnp.argmin(jnp.where(ties, basis, jnp.iinfo(basis.dtype).max))
        pivot_row = tableau[leave] / tableau[leave, enter]
        updated = tableau - column[:, None] * pivot_row[None, :]
        updated = jnp.where((rows == leave)[:, None], pivot_row[None, :], updated)
        move = ~optimal & ~no_row
        tableau = jnp.where(move, updated, tableau)
        basis = jnp.where(move, basis.at[leave].set(enter), basis)
        return (
            tableau,
            basis,
            unbounded | (~optimal & no_row),
            it + move.astype(it.dtype),
            optimal,
            jnp.where(move, best <= tol, degenerate),
            enter,
        )

    state = (tableau, basis, jnp.array(False), iterations, jnp.array(False), jnp.array(False), jnp.array(0))
    tableau, basis, unbounded, iterations, done, _, enter = jax.lax.while_loop(cond, body, state)
    return tableau, basis, unbounded, iterations, done, enter


def _largest(a, axis):
    """The largest |entry| along `axis`, 1 where all are 0."""
    big = jnp.max(jnp.abs(a), axis=axis)
    return jnp.where(big > 0, big, 1.0)


def _power_of_two(x):
    """The power of two nearest x (> 0): multiplying by it changes no bit of a mantissa."""
    return jnp.exp2(jnp.round(jnp.log2(x)))


def _dual_simplex_phase(tableau, basis, cost, can_enter, max_iter, tol, iterations):
    """Dual simplex pivots (Lemke 1954) from a dual-feasible basis until no basic variable is below −tol·scale:
    the most negative row leaves, and the column with the smallest |reduced cost / entry| among the row's
    negative entries enters. Returns (tableau, basis, iterations); stops where no column can enter."""
    m = tableau.shape[0]
    ncol = tableau.shape[1] - 1
    rows = jnp.arange(m)
    scale = 1.0 + jnp.max(jnp.abs(tableau[:, ncol]))

    def step(state):
        tableau, basis, it, stuck = state
        rhs = tableau[:, ncol]
        leave = jnp.argmin(rhs)
        row = tableau[leave, :ncol]
        reduced = cost - cost[basis] @ tableau[:, :ncol]
        in_basis = jnp.zeros(ncol, bool).at[basis].set(True)
        eligible = can_enter & ~in_basis & (row < -tol)
        ratio = jnp.where(eligible, jnp.maximum(reduced, 0.0) / jnp.where(eligible, -row, 1.0), jnp.inf)
        enter = jnp.argmin(ratio)
        ok = jnp.any(eligible)
        pivot_row = tableau[leave] / tableau[leave, enter]
        updated = tableau - tableau[:, enter][:, None] * pivot_row[None, :]
        updated = jnp.where((rows == leave)[:, None], pivot_row[None, :], updated)
        return (jnp.where(ok, updated, tableau), jnp.where(ok, basis.at[leave].set(enter), basis), it + ok.astype(it.dtype), ~ok)

    def infeasible(state):
        tableau, _, it, stuck = state
        return (jnp.min(tableau[:, ncol]) < -tol * scale) & ~stuck & (it < max_iter)

    tableau, basis, iterations, _ = jax.lax.while_loop(infeasible, step, (tableau, basis, iterations, jnp.array(False)))
    return tableau, basis, iterations


def _reinvert(data, basis):
    """B⁻¹·data for the basis columns B = data[:, basis] (Gauss–Jordan with partial pivoting); row k of the
    result belongs to basis position k."""
    m = data.shape[0]
    rows = jnp.arange(m)
    work = jnp.concatenate([data[:, basis], data], axis=1)

    def eliminate(k, work):
        pivot = jnp.argmax(jnp.where(rows >= k, jnp.abs(work[:, k]), -1.0))
        row_k, row_p = work[k], work[pivot]
        work = work.at[k].set(row_p).at[pivot].set(row_k)
        scaled = work[k] / work[k, k]
        work = work - jnp.where(rows != k, work[:, k], 0.0)[:, None] * scaled[None, :]
        return work.at[k].set(scaled)

    return jax.lax.fori_loop(0, m, eliminate, work)[:, m:]


@eqx.filter_jit
def linprog(
    c: Float[Array, " nv"],
    A: Float[Array, "m nv"],
    b: Float[Array, " m"],
    allowed: Bool[Array, " nv"] | None = None,
    *,
    max_iter: int | None = None,
    tol: float = 1e-9,
) -> LPSolution:
    """Solve min cᵀz s.t. A z = b, z ≥ 0 (and z_j = 0 where not `allowed`) exactly.

    Args:
        c: costs, shape (nv,) (float64 recommended); batch with `jax.vmap`.
        A: constraint matrix, shape (m, nv).
        b: right-hand side, shape (m,).
        allowed: optional mask of the columns that may be non-zero (others are fixed at 0); lets one
            compiled program serve LPs whose inequality/equality pattern differs per batch member.
        max_iter: pivot limit over both phases (default 20·(m + nv)).
        tol: pivot and optimality tolerance (relative to the cost scale for reduced costs).

    Returns:
        An `LPSolution`. Status 1 (infeasible) when phase I cannot drive the artificial variables to 0,
        2 (unbounded) when an improving column has no blocking row, 4 when the polished basis fails its
        feasibility/optimality check (ill-conditioning). Non-optimal solutions carry NaN in x and duals.
    """
    c = jnp.asarray(c)
    A = jnp.asarray(A)
    b = jnp.asarray(b)
    m, nv = A.shape
    dtype = jnp.result_type(c, A, b, float)
    c, A, b = c.astype(dtype), A.astype(dtype), b.astype(dtype)
    if allowed is None:
        allowed = jnp.ones(nv, bool)
    if max_iter is None:
        max_iter = 20 * (m + nv)
    # Equilibrate: rows, then columns, to a largest entry of 1 (Curtis–Reid-style scaling by powers of two,
    # so scaling itself is exact). The pivots, ratio tests and the polish's checks run on the scaled LP;
    # x = C x', y = R y' map its solution back. Without it, an LP whose entries span a few decades (a
    # cutting-plane master with quota prices of 10^-2..10^3) ended on a basis its polish rejected.
    row_scale = _power_of_two(1.0 / _largest(A, axis=1))
    col_scale = _power_of_two(1.0 / _largest(A * row_scale[:, None], axis=0))
    c_orig, A_orig = c, A
    A = A * row_scale[:, None] * col_scale[None, :]
    b = b * row_scale
    c = c * col_scale
    sign = jnp.where(b < 0, -1.0, 1.0).astype(dtype)
    As, bs = A * sign[:, None], b * sign
    full = jnp.concatenate([As, jnp.eye(m, dtype=dtype)], axis=1)
    tableau = tableau0 = jnp.concatenate([full, bs[:, None]], axis=1)
    basis = jnp.arange(nv, nv + m)
    is_artificial = jnp.arange(nv + m) >= nv
    can_enter = jnp.concatenate([allowed, jnp.zeros(m, bool)])

    # Phase I: minimise the sum of the artificial variables.
    cost1 = is_artificial.astype(dtype)
    it0 = jnp.array(0)
    tableau, basis, _, it1, phase1_done, _ = _simplex_phase(tableau, basis, cost1, can_enter, is_artificial, False, max_iter, tol, it0)
    infeasibility = cost1[basis] @ tableau[:, -1]
    # Only a finished phase I proves infeasibility; one cut off by max_iter is an iteration limit.
    infeasible = phase1_done & (infeasibility > tol * (1.0 + jnp.max(jnp.abs(bs))))

    # Phase II: the true costs; artificial columns may leave but never enter.
    cost2 = jnp.concatenate([c, jnp.zeros(m, dtype)])
    tableau, basis, unbounded, it2, done, enter = _simplex_phase(tableau, basis, cost2, can_enter, is_artificial, True, max_iter, tol, it1)

    # Refine: the tableau afresh from the data and the final basis (B⁻¹[A | b]: the pivots' updates accumulate
    # rounding error, and a stale tableau can end on a basis that is slightly infeasible, which the polish
    # below rejects); dual simplex pivots restore primal feasibility (the basis is dual feasible), then phase II
    # again. On a sound basis both stop at once.
    # (An unbounded LP keeps the tableau that exhibits its ray.)
    refined = _reinvert(tableau0, basis)
    refined, refined_basis, it3 = _dual_simplex_phase(refined, basis, cost2, can_enter, max_iter, tol, it2)
    refined, refined_basis, unbounded2, it3, done2, enter2 = _simplex_phase(
        refined, refined_basis, cost2, can_enter, is_artificial, True, max_iter, tol, it3)
    keep = unbounded | infeasible
    tableau, basis = jnp.where(keep, tableau, refined), jnp.where(keep, basis, refined_basis)
    enter, it2 = jnp.where(keep, enter, enter2), jnp.where(keep, it2, it3)
    unbounded, done = jnp.where(keep, unbounded, unbounded2), jnp.where(keep, done, done2)

    # Polish: recompute the basic solution and the duals from the (scaled) data, not the tableau.
    basis_matrix = full[:, basis]
    x_basic = _solve(basis_matrix, bs)
    duals_s = _solve(basis_matrix.T, cost2[basis])
    z = jnp.zeros(nv + m, dtype).at[basis].set(x_basic)
    x = z[:nv]
    duals = duals_s * sign
    reduced_costs = c - A.T @ duals
    scale_x = 1.0 + jnp.max(jnp.abs(b))
    scale_c = 1.0 + jnp.max(jnp.abs(c))
    primal_ok = (jnp.min(z) >= -1e-7 * scale_x) & (jnp.max(jnp.abs(z[nv:])) <= 1e-7 * scale_x)
    dual_ok = jnp.all(jnp.where(allowed, reduced_costs >= -1e-7 * scale_c, True))
    status = jnp.where(
        infeasible,
        INFEASIBLE,
        jnp.where(unbounded, UNBOUNDED, jnp.where(~done, ITERATION_LIMIT, jnp.where(primal_ok & dual_ok, OPTIMAL, NUMERICAL))),
    )
    ok = status == OPTIMAL
    # The improving ray of an unbounded LP: the entering column rises at rate 1 and the basic variables
    # change by −(its tableau column), none of which is positive (no blocking row).
    direction = jnp.zeros(nv + m, dtype).at[basis].set(-tableau[:, enter]).at[enter].set(1.0)[:nv]
    direction = jnp.where(allowed, jnp.maximum(direction, 0.0), 0.0)
    # back to the caller's units
    x, duals = x * col_scale, duals * row_scale
    reduced_costs = c_orig - A_orig.T @ duals
    direction = direction * col_scale
    top = jnp.argmax(direction)
    ray = jnp.where(status == UNBOUNDED, (direction / direction[top]).at[top].set(1.0), 0.0)
    x = jnp.where(ok, jnp.maximum(x, 0.0), jnp.nan)
    duals = jnp.where(ok, duals, jnp.nan)
    objective = jnp.where(ok, c_orig @ x, jnp.where(status == UNBOUNDED, -jnp.inf, jnp.nan))
    return LPSolution(
        x=x,
        duals=duals,
        objective=objective,
        reduced_costs=jnp.where(ok, reduced_costs, jnp.nan),
        basis=basis,
        status=status,
        iterations=it2,
        ray=ray,
    )


@jax.custom_jvp
def optimal_value(c: Float[Array, " nv"], A: Float[Array, "m nv"], b: Float[Array, " m"], allowed: Bool[Array, " nv"]) -> Float[Array, ""]:
    """The optimal value V(c, A, b) of min cᵀz s.t. Az = b, z ≥ 0 (z_j = 0 where not allowed).

    Differentiable (forward and reverse) with the LP sensitivity formulas of the envelope theorem:
    ∂V/∂c = x*, ∂V/∂b = y*, ∂V/∂A = −y* x*ᵀ. NaN when the LP is infeasible, −inf when unbounded.
    """
    return linprog(c, A, b, allowed).objective


@optimal_value.defjvp
def _optimal_value_jvp(primals, tangents):
    c, A, b, allowed = primals
    dc, dA, db, _ = tangents
    sol = linprog(c, A, b, allowed)
    x, y = sol.x, sol.duals
    tangent = dc @ x + y @ db - y @ (dA @ x)
    return sol.objective, tangent


def linprog_on_basis(c, A, b, allowed=None, *, max_iter: int | None = None):
    """Solve min cᵀz, Az = b, z ≥ 0 by `linprog` and return (z, status) with z re-derived from the data on
    the optimal basis, z_B = A_B⁻¹ b: the simplex only chooses the basis (no gradient flows through its
    pivots), so derivatives of z are those of the solution map at a fixed basis, exact wherever the optimal
    basis does not change. z is NaN unless the status is optimal."""
    if allowed is None:
        allowed = jnp.ones(jnp.shape(A)[-1], bool)
    sg = jax.lax.stop_gradient
    sol = linprog(sg(c), sg(A), sg(b), allowed, max_iter=max_iter)
    sign = jnp.where(sg(b) < 0, -1.0, 1.0).astype(A.dtype)
    m, nv = A.shape
    full = jnp.concatenate([A * sign[:, None], jnp.eye(m, dtype=A.dtype)], axis=1)
    x_basic = _solve(full[:, sol.basis], b * sign)
    z = jnp.zeros(nv + m, A.dtype).at[sol.basis].set(x_basic)
    return jnp.where(sol.status == OPTIMAL, z[:nv], jnp.nan), sol.status
