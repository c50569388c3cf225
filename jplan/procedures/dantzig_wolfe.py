"""Dantzig–Wolfe decomposition as a planning procedure (Dantzig and Wolfe 1960, 1961; Lustosa 1987,
§5.1.2, where the LSM procedure is likened to it; Rudra's frame paper, note 2).

The economy is block-angular (`jplan.economies.DivisionsEconomy`). Each iteration is one exchange:

- **centre → divisions**: the shared resources' prices π (m0 floats, broadcast once).
- **division j → centre**: its *proposal*, the plan v_j that maximises its own profit at those prices,
  (c_j − D_jᵀπ)ᵀx over {A_j x ≤ b_j, x ≥ 0} (an LP only the division can solve: c_j, D_j, A_j, b_j are
  private), reported as what the centre needs of it: its return c_jᵀv_j, its use of the shared
  resources D_j v_j, and its reduced profit (m0 + 2 floats).
- **centre**: the *master problem*: it chooses weights λ_jt ≥ 0, Σ_t λ_jt = 1 per division, over all
  proposals received so far, to maximise Σ λ_jt c_jᵀv_jt subject to Σ λ_jt D_j v_jt ≤ b₀. Its duals on
  the shared rows are the next prices π, those on the convexity rows μ_j.

The master's value is the value of a feasible plan (x_j = Σ_t λ_jt v_jt is feasible for every private
block as a convex combination of feasible points, and for the shared rows by construction), so it is a
*lower* bound that never falls. Any prices give an *upper* bound, the Lagrangian dual
L(π) = πᵀb₀ + Σ_j max_x (c_j − D_jᵀπ)ᵀx; the procedure keeps the best (smallest) one, so the optimality gap
is known at every step: `residual` = (best bound − master value)/max(1, |master value|). It stops when that
is ≤ `tolerance`; at that point every division's reduced profit is at most μ_j (no proposal can improve the
master), the classical optimality test.

Phase I: the files and the sampler require b₀ ≥ 0 and b_j ≥ 0, so the zero plan is feasible and each
division's first proposal is the zero plan (a feasible master from the start, with π = 0). The master and
the subproblems are solved by jplan's simplex (Bland's rule after degenerate pivots, so degeneracy cannot
make them cycle; the master's duals at a degenerate optimum are one valid choice among several).

Columns: the centre keeps at most `columns` proposals per division; when they are all taken, a new
proposal replaces the oldest one that is not in the master's current basis (λ = 0), so memory and the
master's size stay fixed under jit (a division can always free a column when `columns` ≥ m0 + 2).

Statuses: `converged` (gap ≤ tolerance), `not_converged` (the step limit: DW's known tailing-off shows as
a slowly closing bound gap, visible in the trace's `residual`), `failed` (a division's subproblem is
unbounded, i.e. its private polytope has an improving ray at these prices, or an LP hit its iteration
limit). Extreme rays are not turned into master columns: such an economy is reported `failed`.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array

from ..economies.divisions import DivisionPlan, DivisionsEconomy
from ..solvers.lp import OPTIMAL, linprog
from .base import Messages, Observation, Procedure

__all__ = ["DantzigWolfe", "division_proposal", "master_problem"]


def division_proposal(economy: DivisionsEconomy, j, prices: Array):
    """Division j's answer to prices π: its profit-maximising plan, the return c_jᵀv, the shared use D_j v,
    the reduced profit (c_j − D_jᵀπ)ᵀv, and whether its LP was solved (False when unbounded).

    Reads only division j's own data and the prices.
    """
    c, D, A, b = economy.objective[j], economy.shared_use[j], economy.constraints[j], economy.limits[j]
    mask = economy.activity_mask[j]
    p, a = A.shape
    profit = jnp.where(mask, c - D.T @ prices, 0.0)
    sol = linprog(jnp.concatenate([-profit, jnp.zeros(p, c.dtype)]), jnp.concatenate([A, jnp.eye(p, dtype=c.dtype)], axis=1),
                  b, jnp.concatenate([mask, jnp.ones(p, bool)]))
    ok = sol.status == OPTIMAL
    v = jnp.where(ok & mask, sol.x[:a], 0.0)
    return v, jnp.dot(c, v), D @ v, jnp.dot(profit, v), ok


def master_problem(resources: Array, values: Array, uses: Array, valid: Array):
    """The centre's master LP over the proposals received: (λ [N, K], π [m0], μ [N], value, ok).

    Args:
        resources: b₀ [m0] (the centre's own data).
        values: c_jᵀv_jt [N, K], the proposals' returns as reported.
        uses: D_j v_jt [N, K, m0], their shared-resource use as reported.
        valid: [N, K], which column slots hold a proposal.

    Reads nothing else: the centre never sees a division's technology.
    """
    N, K, m0 = uses.shape
    dtype = values.dtype
    shared = jnp.concatenate([jnp.transpose(uses, (2, 0, 1)).reshape(m0, N * K), jnp.eye(m0, dtype=dtype)], axis=1)
    convexity = jnp.concatenate([jnp.repeat(jnp.eye(N, dtype=dtype), K, axis=1), jnp.zeros((N, m0), dtype)], axis=1)
    A = jnp.concatenate([shared, convexity], axis=0)
    b = jnp.concatenate([resources, jnp.ones(N, dtype)])
    c = jnp.concatenate([-jnp.where(valid, values, 0.0).reshape(-1), jnp.zeros(m0, dtype)])
    sol = linprog(c, A, b, jnp.concatenate([valid.reshape(-1), jnp.ones(m0, bool)]))
    ok = sol.status == OPTIMAL
    lam = jnp.where(ok, sol.x[: N * K].reshape(N, K), 0.0)
    return lam, -sol.duals[:m0] + 0.0, -sol.duals[m0:] + 0.0, -sol.objective, ok


class DantzigWolfe(Procedure):
    """Dantzig–Wolfe decomposition: price-guided, with the centre's memory of every proposal (see the
    module docstring).

    Attributes:
        tolerance: stop when (best Lagrangian bound − master value)/max(1, |master value|) ≤ tolerance.
        columns: proposals kept per division (static; at least m0 + 2 is safe).
    """

    name: ClassVar[str] = "dantzig-wolfe"
    economy_kind: ClassVar[str] = "divisions"
    tolerance: Array = eqx.field(default_factory=lambda: jnp.asarray(1e-9), converter=jnp.asarray)
    columns: int = eqx.field(static=True, default=64)

    # state: (proposals [N,K,a], values [N,K], uses [N,K,m0], valid [N,K], age [N,K], lam [N,K], prices [m0],
    #         master value, best bound, step counter, ok)
    def _master(self, economy, proposals, values, uses, valid, age, t, bound, ok):
        lam, prices, _, value, master_ok = master_problem(economy.resources, values, uses, valid)
        return (proposals, values, uses, valid, age, lam, prices, value, bound, t, ok & master_ok)

    def init(self, economy: DivisionsEconomy):
        N, a = economy.objective.shape
        m0, K = economy.shared, self.columns
        dtype = economy.objective.dtype
        # phase I: every division's first proposal is the zero plan (feasible since b0, b_j >= 0)
        proposals = jnp.zeros((N, K, a), dtype)
        values = jnp.zeros((N, K), dtype)
        uses = jnp.zeros((N, K, m0), dtype)
        valid = jnp.zeros((N, K), bool).at[:, 0].set(True)
        age = jnp.zeros((N, K), jnp.int32)
        state = self._master(economy, proposals, values, uses, valid, age, jnp.asarray(1), jnp.asarray(jnp.inf, dtype),
                             jnp.asarray(True))
        # the opening round: prices π = 0 (the master over the zero plans) and every division's first real
        # proposal, its own optimum ignoring the centre; after it the bound is finite
        return self.step(economy, state)

    def step(self, economy: DivisionsEconomy, state):
        proposals, values, uses, valid, age, lam, prices, value, bound, t, ok = state
        N = economy.divisions
        v, ret, use, reduced, solved = jax.vmap(lambda j: division_proposal(economy, j, prices))(jnp.arange(N))
        bound = jnp.minimum(bound, jnp.dot(prices, economy.resources) + jnp.sum(reduced))
        # the slot each division's proposal takes: an empty one, else the oldest non-basic column
        key = jnp.where(~valid, -1, jnp.where(lam > 1e-12, jnp.iinfo(jnp.int32).max, age))
        slot = jnp.argmin(key, axis=1)
        rows = jnp.arange(N)
        proposals = proposals.at[rows, slot].set(v)
        values = values.at[rows, slot].set(ret)
        uses = uses.at[rows, slot].set(use)
        valid = valid.at[rows, slot].set(True)
        age = age.at[rows, slot].set(t)
        state = self._master(economy, proposals, values, uses, valid, age, t + 1, bound, ok & jnp.all(solved))
        msgs = Messages.of((prices,), (ret, use, reduced), solves=1, firm_work=N)
        return state, msgs

    def observe(self, economy: DivisionsEconomy, state) -> Observation:
        proposals, values, uses, valid, age, lam, prices, value, bound, t, ok = state
        plan = DivisionPlan(activities=jnp.einsum("jk,jka->ja", lam, proposals))
        gap = (bound - value) / jnp.maximum(1.0, jnp.abs(value))
        residual = jnp.maximum(gap, 0.0)
        return Observation(plan=plan, goods_prices=jnp.zeros((0,), prices.dtype), resource_prices=prices,
                           residual=residual, failed=~ok)
