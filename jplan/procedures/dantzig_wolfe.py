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

Phase I: when b₀ ≥ 0 and every b_j ≥ 0 (the sampler's economies, and most files), the zero plan is
feasible: each division's first column is the zero plan, the first master is feasible, and the opening
round asks the divisions for their own optima at π = 0. Otherwise (negative right-hand sides: requirements,
or equalities written as pairs of rows) the centre first solves the *phase-I* master, minimising the sum of
artificial variables on the shared and convexity rows, and announces its duals with a flag (one more float
down) telling the divisions to price their returns at 0: each answers with the point of its own polytope
that best reduces the infeasibility, max −(D_jᵀπ)ᵀx. When the phase-I master reaches 0 the proposals
received admit a feasible plan and the centre switches to the ordinary master; if no proposal can lower a
positive phase-I optimum (every reduced profit ≤ μ_j), the economy is infeasible and the run is `failed`.
While phase I runs the residual is +∞ (no bound is known). The master and the subproblems are solved by
jplan's simplex (Bland's rule after degenerate pivots, so degeneracy cannot make them cycle; the master's
duals at a degenerate optimum are one valid choice among several).

Extreme rays: a division whose private polytope is unbounded may find its profit unbounded at the
announced prices. It then answers with an *extreme ray* d of its polytope along which profit grows (the
direction its simplex found), reported like a proposal, (c_jᵀd, D_j d), with reduced profit +∞: the value
of its Lagrangian subproblem. The centre enters it as a ray column, a weight ρ ≥ 0 outside the convexity
row (Dantzig and Wolfe 1960; Bertsimas and Tsitsiklis 1997, §6.4), and the Lagrangian bound at those prices
is +∞ (no bound; the kept bound is unchanged). If the master itself is unbounded, so is the economy: that
is reported `failed`.

Columns: the centre keeps at most `columns` proposals per division; when they are all taken, a new
proposal replaces the oldest one that is not in the master's current basis (λ = 0), so memory and the
master's size stay fixed under jit (a division can always free a column when `columns` ≥ m0 + 2).

Statuses: `converged` (gap ≤ tolerance), `not_converged` (the step limit: DW's known tailing-off shows as
a slowly closing bound gap, visible in the trace's `residual`), `failed` (the master is unbounded, i.e. the
economy's optimum is infinite, phase I proved the economy infeasible, a division's own polytope is empty,
or an LP hit its iteration limit or a numerical failure).
"""

from __future__ import annotations

from typing import ClassVar, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array

from ..economies.divisions import DivisionPlan, DivisionsEconomy
from ..solvers.lp import OPTIMAL, UNBOUNDED, linprog
from .work import simplex_flops
from .base import Messages, Observation, Procedure

__all__ = ["DantzigWolfe", "MasterSolution", "division_proposal", "master_problem"]


def division_proposal(economy: DivisionsEconomy, j, prices: Array, weight=1.0, with_flops: bool = False):
    """Division j's answer to prices π: its profit-maximising plan v, the return c_jᵀv, the shared use D_j v,
    the reduced profit (w c_j − D_jᵀπ)ᵀv, and whether its LP was solved (False: its own polytope is empty or
    the LP failed).

    `weight` w is 1, or 0 while the centre is in phase I (looking for a feasible plan, it prices only the
    shared resources). When the profit is unbounded at π, v is the extreme ray the simplex found (max entry
    1), the return and use are the ray's, and the reduced profit is +∞ (the subproblem's value). Reads only
    division j's own data and the centre's message.
    """
    c, D, A, b = economy.objective[j], economy.shared_use[j], economy.constraints[j], economy.limits[j]
    mask = economy.activity_mask[j]
    p, a = A.shape
    profit = jnp.where(mask, weight * c - D.T @ prices, 0.0)
    sol = linprog(jnp.concatenate([-profit, jnp.zeros(p, c.dtype)]), jnp.concatenate([A, jnp.eye(p, dtype=c.dtype)], axis=1),
                  b, jnp.concatenate([mask, jnp.ones(p, bool)]))
    ok = sol.status == OPTIMAL
    unbounded = sol.status == UNBOUNDED
    v = jnp.where(mask, jnp.where(ok, sol.x[:a], jnp.where(unbounded, sol.ray[:a], 0.0)), 0.0)
    reduced = jnp.where(unbounded, jnp.inf, jnp.dot(profit, v))
    if with_flops:  # its prices' profit (2·m0·a) and its LP's pivots (`jplan.procedures.work`)
        flops = 2.0 * D.shape[0] * a + simplex_flops(p, a + p, sol.iterations)
        return v, jnp.dot(c, v), D @ v, reduced, ok | unbounded, flops
    return v, jnp.dot(c, v), D @ v, reduced, ok | unbounded


class MasterSolution(NamedTuple):
    """The master LP's answer: weights λ [N, K], prices π [m0], convexity duals μ [N], the plan's value
    Σ λ c v, its phase-I infeasibility (Σ of the artificial variables; 0 in phase II) and whether it solved."""

    weights: Array
    prices: Array
    mu: Array
    value: Array
    infeasibility: Array
    ok: Array
    flops: Array = 0.0
    status: Array = 0  # the LP's status code (`jplan.solvers.lp.LP_STATUS`; 0 optimal)  # the centre's work: building the LP and its simplex pivots (`jplan.procedures.work`)


def master_problem(resources: Array, values: Array, uses: Array, valid: Array, rays: Array | None = None,
                   phase_one=False) -> MasterSolution:
    """The centre's master LP over the proposals received.

    Phase II (the default): maximise Σ λ_jt c_jᵀv_jt over weights λ ≥ 0 with Σ λ_jt D_j v_jt ≤ b₀ and
    Σ_t λ_jt = 1 per division (ray columns outside that sum). Phase I (`phase_one` true): minimise the sum
    of artificial variables a (on the shared rows, Σ λ D v + s − a = b₀) and e (on the convexity rows,
    Σ_t λ_jt + e_j = 1), which is 0 exactly when the proposals received admit a feasible plan. The duals
    are the prices π = −y (shared rows) and μ = −y (convexity rows) of whichever problem was solved.

    Args:
        resources: b₀ [m0] (the centre's own data).
        values: c_jᵀv_jt [N, K], the proposals' returns as reported.
        uses: D_j v_jt [N, K, m0], their shared-resource use as reported.
        valid: [N, K], which column slots hold a proposal.
        rays: [N, K], which of them are extreme rays (weights outside the convexity rows); none by default.
        phase_one: a bool (traced or not): solve the phase-I problem.

    Reads nothing else: the centre never sees a division's technology.
    """
    N, K, m0 = uses.shape
    dtype = values.dtype
    points = jnp.ones((N, K), dtype) if rays is None else jnp.where(rays, 0.0, 1.0).astype(dtype)
    zeros = lambda r, c: jnp.zeros((r, c), dtype)
    shared = jnp.concatenate([jnp.transpose(uses, (2, 0, 1)).reshape(m0, N * K), jnp.eye(m0, dtype=dtype),
                              -jnp.eye(m0, dtype=dtype), zeros(m0, N)], axis=1)
    convexity = jnp.concatenate([(jnp.eye(N, dtype=dtype)[:, :, None] * points[None]).reshape(N, N * K),
                                 zeros(N, 2 * m0), jnp.eye(N, dtype=dtype)], axis=1)
    A = jnp.concatenate([shared, convexity], axis=0)
    b = jnp.concatenate([resources, jnp.ones(N, dtype)])
    returns = jnp.where(valid, values, 0.0).reshape(-1)
    phase_one = jnp.asarray(phase_one)
    artificial = jnp.concatenate([jnp.zeros(N * K + m0, bool), jnp.ones(m0 + N, bool)])
    c = jnp.where(phase_one, artificial.astype(dtype), jnp.concatenate([-returns, jnp.zeros(2 * m0 + N, dtype)]))
    allowed = jnp.concatenate([valid.reshape(-1), jnp.ones(m0, bool), jnp.broadcast_to(phase_one, (m0 + N,))])
    sol = linprog(c, A, b, allowed)
    ok = sol.status == OPTIMAL
    lam = jnp.where(ok, sol.x[: N * K].reshape(N, K), 0.0)
    infeasibility = jnp.where(phase_one, jnp.sum(jnp.where(artificial, sol.x, 0.0)), 0.0)
    rows, cols = A.shape
    return MasterSolution(weights=lam, prices=-sol.duals[:m0] + 0.0, mu=-sol.duals[m0:] + 0.0,
                          value=jnp.where(phase_one, jnp.sum(lam.reshape(-1) * returns), -sol.objective),
                          infeasibility=infeasibility, ok=ok, flops=rows * cols + simplex_flops(rows, cols, sol.iterations),
                          status=sol.status)


#: Failure kinds of a Dantzig–Wolfe run: `Observation.failure` = kind·10 + the LP's status, plus
#: (division + 1)·100 for a division's subproblem; the step is the trace's (`Trace.steps`).
MASTER, MASTER_PHASE_ONE, DIVISION, INFEASIBLE_ECONOMY = 1, 2, 3, 4


def dw_failure_message(code: int) -> str:
    """Words for a Dantzig–Wolfe failure code."""
    from ..solvers.lp import LP_STATUS

    if code <= 0:
        return ""
    division, rest = divmod(code, 100)
    kind, status = divmod(rest, 10)
    lp = LP_STATUS[status] if 0 <= status < len(LP_STATUS) else f"status {status}"
    if kind == MASTER:
        return f"the master LP ended {lp}"
    if kind == MASTER_PHASE_ONE:
        return f"the phase-I master LP ended {lp}"
    if kind == DIVISION:
        return f"division {division - 1}'s subproblem LP did not solve"
    if kind == INFEASIBLE_ECONOMY:
        return "phase I cannot lower the master's infeasibility: the economy is infeasible"
    return ""


class DantzigWolfe(Procedure):
    """Dantzig–Wolfe decomposition: price-guided, with the centre's memory of every proposal (see the
    module docstring).

    Attributes:
        tolerance: stop when (best Lagrangian bound − master value)/max(1, |master value|) ≤ tolerance.
        columns: proposals kept per division (static; at least m0 + 2 is safe).
    """

    name: ClassVar[str] = "dantzig-wolfe"
    skip_when_batch_stopped: ClassVar[bool] = True
    economy_kind: ClassVar[str] = "divisions"
    tolerance: Array = eqx.field(default_factory=lambda: jnp.asarray(1e-9), converter=jnp.asarray)
    columns: int = eqx.field(static=True, default=64)

    # state: (proposals [N,K,a], values [N,K], uses [N,K,m0], valid [N,K], rays [N,K], age [N,K], lam [N,K],
    #         prices [m0], mu [N], master value, best bound, step counter, phase one, ok)
    def _master(self, economy, proposals, values, uses, valid, rays, age, t, bound, phase1, failure):
        sol = master_problem(economy.resources, values, uses, valid, rays, phase1)
        # phase I ends once the proposals admit a feasible plan; the next master is phase II's
        feasible = sol.infeasibility <= 1e-9 * (1.0 + jnp.max(jnp.abs(economy.resources)))
        # the first failure is kept: which master (phase I or II) at which step, and the LP's status
        code = jnp.where(phase1, MASTER_PHASE_ONE, MASTER) * 10 + jnp.asarray(sol.status, jnp.int32)
        failure = jnp.where((failure == 0) & ~sol.ok, code, failure)
        return (proposals, values, uses, valid, rays, age, sol.weights, sol.prices, sol.mu, sol.value, bound, t,
                phase1 & ~feasible, failure), sol.flops

    def init(self, economy: DivisionsEconomy):
        N, a = economy.objective.shape
        m0, K = economy.shared, self.columns
        dtype = economy.objective.dtype
        # every division whose own constraints admit the zero plan (b_j ≥ 0) starts with it as a column;
        # phase I is needed only when some b_j or b₀ entry is negative (the zero plan is infeasible)
        zero_ok = jnp.all(economy.limits >= 0, axis=1)
        phase1 = ~(jnp.all(zero_ok) & jnp.all(economy.resources >= 0))
        proposals = jnp.zeros((N, K, a), dtype)
        values = jnp.zeros((N, K), dtype)
        uses = jnp.zeros((N, K, m0), dtype)
        valid = jnp.zeros((N, K), bool).at[:, 0].set(zero_ok)
        rays = jnp.zeros((N, K), bool)
        age = jnp.zeros((N, K), jnp.int32)
        state, _ = self._master(economy, proposals, values, uses, valid, rays, age, jnp.asarray(1),
                                jnp.asarray(jnp.inf, dtype), phase1, jnp.asarray(0))
        # the opening round: prices π = 0 (the master over the zero plans) and every division's first real
        # proposal, its own optimum ignoring the centre (or a ray); after it the bound is finite unless a ray came
        return self.step(economy, state)

    def step(self, economy: DivisionsEconomy, state):
        proposals, values, uses, valid, rays, age, lam, prices, mu, value, bound, t, phase1, failure = state
        N = economy.divisions
        weight = jnp.where(phase1, 0.0, 1.0)
        v, ret, use, reduced, solved, division_flops = jax.vmap(
            lambda j: division_proposal(economy, j, prices, weight, with_flops=True))(jnp.arange(N))
        is_ray = reduced == jnp.inf  # the centre reads the report: an infinite reduced profit is a ray
        lagrangian = jnp.dot(prices, economy.resources) + jnp.sum(jnp.where(is_ray, 0.0, reduced))
        bound = jnp.where(jnp.any(is_ray) | phase1, bound, jnp.minimum(bound, lagrangian))
        # phase I is over without a feasible plan when no proposal can lower the master's infeasibility:
        # the economy is infeasible (reported as failed)
        improving = is_ray | (reduced > mu + 1e-9 * (1.0 + jnp.abs(mu)))
        infeasible = phase1 & ~jnp.any(improving)
        # the slot each division's proposal takes: an empty one, else the oldest non-basic column
        key = jnp.where(~valid, -1, jnp.where(lam > 1e-12, jnp.iinfo(jnp.int32).max, age))
        slot = jnp.argmin(key, axis=1)
        rows = jnp.arange(N)
        proposals = proposals.at[rows, slot].set(v)
        values = values.at[rows, slot].set(ret)
        uses = uses.at[rows, slot].set(use)
        valid = valid.at[rows, slot].set(True)
        rays = rays.at[rows, slot].set(is_ray)
        age = age.at[rows, slot].set(t)
        failure = jnp.where(failure != 0, failure,
                            jnp.where(~jnp.all(solved), (jnp.argmin(solved) + 1) * 100 + DIVISION * 10,
                                      jnp.where(infeasible, INFEASIBLE_ECONOMY * 10, 0)))
        state, master_flops = self._master(economy, proposals, values, uses, valid, rays, age, t + 1, bound, phase1,
                                           failure)
        # in phase I the centre also tells the divisions to price their returns at 0 (one more float)
        msgs = Messages.of((prices,), (ret, use, reduced), solves=1, firm_work=N,
                           centre_flops=master_flops + 10.0 * N * self.columns, firm_flops=jnp.sum(division_flops)) + Messages(
            down=phase1.astype(jnp.int32), up=jnp.asarray(0))
        return state, msgs

    def observe(self, economy: DivisionsEconomy, state) -> Observation:
        proposals, values, uses, valid, rays, age, lam, prices, mu, value, bound, t, phase1, failure = state
        plan = DivisionPlan(activities=jnp.einsum("jk,jka->ja", lam, proposals))
        gap = (bound - value) / jnp.maximum(1.0, jnp.abs(value))
        residual = jnp.where(phase1, jnp.inf, jnp.maximum(gap, 0.0))
        return Observation(plan=plan, goods_prices=jnp.zeros((0,), prices.dtype), resource_prices=prices,
                           residual=residual, failed=failure != 0, failure=failure)

    def failure_message(self, code: int) -> str:
        """Which LP failed, at which step, and how (the codes `_master` and `step` write)."""
        return dw_failure_message(int(code))
