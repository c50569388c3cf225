"""Kornai–Lipták two-level planning (Kornai and Lipták 1965; Lustosa 1987, §5.2), and a subgradient variant.

The economy is block-angular (`jplan.economies.DivisionsEconomy`). Unlike Dantzig–Wolfe, the centre sends
*quantities*: a quota y_j of the shared resources to each division (Σ_j y_j = b₀, y_j ≥ 0). Division j
plans alone within its quota, max c_jᵀx s.t. D_j x ≤ y_j, A_j x ≤ b_j, x ≥ 0, and reports its value V_j(y_j)
and the shadow prices u_j of its quota (m0 + 1 floats). Every iterate is therefore a feasible plan: the
divisions' plans within feasible quotas.

Kornai and Lipták cast the overall problem, max over quotas of Σ_j V_j(y_j), as a zero-sum game between
the centre (choosing quotas) and the divisions (choosing dual prices (u_j, w_j) of their own LPs, paying
Σ_j u_jᵀy_j + w_jᵀb_j), whose value is the optimum, and solve it by *fictitious play* (Brown 1951;
Robinson 1951): each side answers the average of the other's past moves.

- `kornai-liptak` (the authors' procedure): the divisions answer the centre's *average* allocation
  ȳ (they solve their LP at ȳ_j); the centre answers the divisions' *average* prices ū by giving each
  shared resource entirely to a division that values it most (its best response to a linear payoff), and
  ȳ becomes the average of its answers. The plan reported is the divisions' plans at ȳ.
- `kornai-liptak-subgradient` (a variant, not the authors' rule): projected supergradient ascent on the
  concave Σ_j V_j(y_j): y_j ← Π(y_j + α_t (u_j − ū)), α_t = α₀ s_r/√t with s_r = b₀_r/N, Π the projection
  onto {y ≥ 0, Σ_j y_j = b₀} per resource. Its plan is the divisions' plans at the current quotas.

Bounds: the plan's value Σ_j V_j(ȳ_j) is a lower bound on the optimum. Any dual-feasible division prices
give an upper bound, the value of the centre's best response to them: Σ_j (V_j − u_jᵀȳ_j) + Σ_r b₀_r max_j u_jr
(weak duality of the game; V_j − u_jᵀȳ_j = w_jᵀb_j by strong duality of division j's LP, so the centre
computes it from the reports). The procedures keep the best bound, from the average prices (fictitious
play) or the current ones (the variant), and stop when (bound − value)/max(1, |value|) ≤ `tolerance`.
Fictitious play converges (Robinson 1951) but slowly, at rate O(t^(−1/2)) or worse: expect `not_converged`
at tight tolerances, with the gap to the bound in the trace's `residual`.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array

from ..economies.divisions import DivisionPlan, DivisionsEconomy
from ..solvers.lp import OPTIMAL, linprog
from .work import projection_flops, simplex_flops
from .base import Messages, Observation, Procedure
from .heal import project_simplex

__all__ = ["KornaiLiptak", "KornaiLiptakSubgradient", "KornaiLiptakCuttingPlane", "cutting_plane_master", "division_within_quota"]


def division_within_quota(economy: DivisionsEconomy, j, quota: Array, with_flops: bool = False):
    """Division j's plan within its quota y_j: (x, value V_j, quota prices u_j ≥ 0, solved).

    Reads only division j's own data and its quota.
    """
    c, D, A, b = economy.objective[j], economy.shared_use[j], economy.constraints[j], economy.limits[j]
    mask = economy.activity_mask[j]
    m0, p, a = D.shape[0], A.shape[0], A.shape[1]
    dtype = c.dtype
    rows = jnp.concatenate([jnp.concatenate([D, jnp.eye(m0, dtype=dtype), jnp.zeros((m0, p), dtype)], axis=1),
                            jnp.concatenate([A, jnp.zeros((p, m0), dtype), jnp.eye(p, dtype=dtype)], axis=1)])
    cost = jnp.concatenate([-jnp.where(mask, c, 0.0), jnp.zeros(m0 + p, dtype)])
    sol = linprog(cost, rows, jnp.concatenate([quota, b]), jnp.concatenate([mask, jnp.ones(m0 + p, bool)]))
    ok = sol.status == OPTIMAL
    x = jnp.where(ok & mask, sol.x[:a], 0.0)
    if with_flops:  # its LP's pivots (`jplan.procedures.work`)
        return x, -sol.objective, jnp.maximum(-sol.duals[:m0], 0.0), ok, simplex_flops(m0 + p, a + m0 + p, sol.iterations)
    return x, -sol.objective, jnp.maximum(-sol.duals[:m0], 0.0), ok


def _equal_split(resources: Array, divisions: int) -> Array:
    """Quotas [N, m0] giving every division an equal share of every shared resource (public data alone)."""
    return jnp.broadcast_to(resources / divisions, (divisions, resources.shape[0]))


class _KLBase(Procedure):
    economy_kind: ClassVar[str] = "divisions"
    skip_when_batch_stopped: ClassVar[bool] = True
    tolerance: Array = eqx.field(default_factory=lambda: jnp.asarray(1e-6), converter=jnp.asarray)

    def domain_violation(self, economy: DivisionsEconomy) -> Array:
        """Quotas split non-negative shared resources among divisions that can each plan zero, and every
        division's use of the shared resources is a quota y_j = D_j x_j ≥ 0. Outside that domain: a negative
        b₀ (a requirement) or b_j entry, or a negative shared-use entry (a division that *supplies* a shared
        resource, as one year passing capital to the next does in a multi-year plan). There the quotas cannot
        express the plan, and the bound Σ_j (V_j − u_jᵀy_j) + Σ_r b₀_r max_j u_jr is no bound: fictitious
        play would report `converged` at a wrong plan. Checked on the data."""
        return jnp.any(economy.resources < 0) | jnp.any(economy.limits < 0) | jnp.any(economy.shared_use < 0)

    def domain_message(self) -> str:
        return (f"{self.name}: the economy has negative right-hand sides (requirements or equalities) or a negative "
                "shared-resource use (a division supplying a shared resource); quotas split non-negative resources "
                "among divisions that use them, so it is outside this procedure's domain (dantzig-wolfe handles it)")

    def _respond(self, economy, quotas):
        """The divisions' round: every division plans within its quota (vmapped). Returns (plans, values,
        quota prices, solved, the divisions' flops)."""
        N = economy.divisions
        x, values, prices, ok, flops = jax.vmap(lambda j, y: division_within_quota(economy, j, y, with_flops=True))(
            jnp.arange(N), quotas)
        return x, values, prices, ok, jnp.sum(flops)

    @staticmethod
    def _messages(economy, quotas, values, prices, division_flops, centre_flops, solves=0):
        return Messages.of((quotas,), (values, prices), solves=solves, firm_work=economy.divisions,
                           centre_flops=centre_flops, firm_flops=division_flops)

    def _bound(self, economy, values, prices, quotas):
        """The value of the centre's best response to division prices (an upper bound on the optimum)."""
        constant = values - jnp.sum(prices * quotas, axis=1)
        return jnp.sum(constant) + jnp.dot(economy.resources, jnp.max(prices, axis=0))

    def observe(self, economy: DivisionsEconomy, state) -> Observation:
        plan, value, prices, bound, ok = state[-5:]
        gap = (bound - value) / jnp.maximum(1.0, jnp.abs(value))
        return Observation(plan=DivisionPlan(activities=plan), goods_prices=jnp.zeros((0,), value.dtype),
                           resource_prices=jnp.mean(prices, axis=0), residual=jnp.maximum(gap, 0.0), failed=~ok,
                           failure=(~ok).astype(jnp.int32))

    def failure_message(self, code: int) -> str:
        return "a division's LP within its quota did not solve (or the centre's LP, for the cutting plane)" if code else ""


class KornaiLiptak(_KLBase):
    """Kornai–Lipták two-level planning by fictitious play (see the module docstring).

    Attributes:
        tolerance: stop when (best bound − plan value)/max(1, |plan value|) ≤ tolerance.
    """

    name: ClassVar[str] = "kornai-liptak"

    # state: (t, average quotas [N, m0], average division prices [N, m0], average constants [N],
    #         plan [N, a], value, prices (average, reported as the resource prices) [N, m0], best bound, ok)
    def init(self, economy: DivisionsEconomy):
        N = economy.divisions
        quotas = _equal_split(economy.resources, N)
        x, values, prices, ok, work = self._respond(economy, quotas)
        constant = values - jnp.sum(prices * quotas, axis=1)
        bound = self._bound(economy, values, prices, quotas)
        state = (jnp.asarray(1.0, values.dtype), quotas, prices, constant, x, jnp.sum(values), prices, bound, jnp.all(ok))
        return state, self._messages(economy, quotas, values, prices, work, 8.0 * N * economy.shared)

    def step(self, economy: DivisionsEconomy, state):
        t, avg_quotas, avg_prices, avg_constant, _, _, _, best, ok = state
        N = economy.divisions
        # the centre's best response to the divisions' average prices: each resource to a division valuing it most
        winner = jnp.argmax(avg_prices, axis=0)  # [m0]
        answer = (jnp.arange(N)[:, None] == winner[None, :]) * economy.resources[None, :]
        quotas = (t * avg_quotas + answer) / (t + 1)
        # the divisions' best response to the centre's average allocation
        x, values, prices, solved, work = self._respond(economy, quotas)
        constant = values - jnp.sum(prices * quotas, axis=1)
        avg_prices = (t * avg_prices + prices) / (t + 1)
        avg_constant = (t * avg_constant + constant) / (t + 1)
        bound = jnp.sum(avg_constant) + jnp.dot(economy.resources, jnp.max(avg_prices, axis=0))
        best = jnp.minimum(best, bound)
        state = (t + 1, quotas, avg_prices, avg_constant, x, jnp.sum(values), avg_prices, best, ok & jnp.all(solved))
        return state, self._messages(economy, quotas, values, prices, work, 8.0 * N * economy.shared)


class KornaiLiptakSubgradient(_KLBase):
    """Kornai–Lipták's quota-guided exchange with a projected supergradient centre (a variant; see the
    module docstring).

    Attributes:
        step_size: α₀, in units of an equal share of each resource.
        tolerance: stop when (best bound − plan value)/max(1, |plan value|) ≤ tolerance.
    """

    name: ClassVar[str] = "kornai-liptak-subgradient"
    step_size: Array = eqx.field(default_factory=lambda: jnp.asarray(1.0), converter=jnp.asarray)

    # state: (t, quotas [N, m0], plan [N, a], value, prices [N, m0], best bound, ok)
    def init(self, economy: DivisionsEconomy):
        N = economy.divisions
        quotas = _equal_split(economy.resources, N)
        x, values, prices, ok, work = self._respond(economy, quotas)
        bound = self._bound(economy, values, prices, quotas)
        state = (jnp.asarray(1.0, values.dtype), quotas, x, jnp.sum(values), prices, bound, jnp.all(ok))
        return state, self._messages(economy, quotas, values, prices, work, 8.0 * N * economy.shared)

    def step(self, economy: DivisionsEconomy, state):
        t, quotas, _, _, prices, best, ok = state
        N = economy.divisions
        scale = economy.resources / N
        # prices normalised per resource so α is in units of an equal share whatever the price level
        direction = (prices - jnp.mean(prices, axis=0)) / jnp.maximum(jnp.max(jnp.abs(prices), axis=0), 1e-300)
        moved = quotas + self.step_size * scale * direction / jnp.sqrt(t)
        quotas = jax.vmap(project_simplex, in_axes=(1, 0), out_axes=1)(moved, economy.resources)
        x, values, prices, solved, work = self._respond(economy, quotas)
        best = jnp.minimum(best, self._bound(economy, values, prices, quotas))
        state = (t + 1, quotas, x, jnp.sum(values), prices, best, ok & jnp.all(solved))
        # centre: the direction and move (≈ 8 per quota) and one projection per shared resource over N divisions
        centre = 8.0 * N * economy.shared + economy.shared * projection_flops(N)
        return state, self._messages(economy, quotas, values, prices, work, centre)


def cutting_plane_master(resources: Array, points: Array, values: Array, prices: Array, used: Array,
                         with_flops: bool = False):
    """The centre's cutting-plane model of Σ_j V_j, maximised over the quotas (Kelley 1960).

    Every report (y_kj, V_kj, u_kj) of division j is a cut V_j(y) ≤ V_kj + u_kjᵀ(y − y_kj) (V_j is concave and
    u_kj a supergradient), so the model max Σ_j θ_j s.t. θ_j ≤ each cut of j, Σ_j y_j = b₀, y ≥ 0 is an upper
    bound on the optimum at every step. It is solved in its dual form, which is K·N + m0 columns and
    N(1 + m0) rows whatever the number of cuts K:

        min Σ_kj μ_kj h_kj + πᵀb₀   s.t.  Σ_k μ_kj = 1 (each j),  π − Σ_k μ_kj u_kj ≥ 0 (each j),  μ, π ≥ 0,

    with h_kj = V_kj − u_kjᵀy_kj (π ≥ 0 because the u are). Its optimal value is the model's maximum, and the
    model's maximising quotas are the dual values of the rows π − Σ_k μ_kj u_kj ≥ 0.

    Args:
        resources: b₀ [m0].
        points, values, prices: the cuts, y [K, N, m0], V [K, N], u [K, N, m0].
        used: [K], the slots that hold a cut (the others' columns are kept at zero).

    Returns:
        (quotas [N, m0], model maximum, solved).
    """
    K, N, m0 = points.shape
    dtype = values.dtype
    h = values - jnp.einsum("kjr,kjr->kj", prices, points)
    # columns: μ (K·N, index k·N + j), π (m0), surplus w (N·m0, index j·m0 + r)
    convex = jnp.concatenate([jnp.tile(jnp.eye(N, dtype=dtype), (1, K)), jnp.zeros((N, m0 + N * m0), dtype)], axis=1)
    # row (j, r): π_r − Σ_k μ_kj u_kjr − w_jr = 0
    mu_part = -jnp.einsum("kjr,jl->jrkl", prices, jnp.eye(N, dtype=dtype)).reshape(N * m0, K * N)
    pi_part = jnp.tile(jnp.eye(m0, dtype=dtype), (N, 1))
    rows = jnp.concatenate([convex, jnp.concatenate([mu_part, pi_part, -jnp.eye(N * m0, dtype=dtype)], axis=1)])
    cost = jnp.concatenate([h.reshape(-1), resources, jnp.zeros(N * m0, dtype)])
    rhs = jnp.concatenate([jnp.ones(N, dtype), jnp.zeros(N * m0, dtype)])
    allowed = jnp.concatenate([jnp.repeat(used, N), jnp.ones(m0 + N * m0, bool)])
    sol = linprog(cost, rows, rhs, allowed)
    ok = sol.status == OPTIMAL
    quotas = jnp.maximum(sol.duals[N:].reshape(N, m0), 0.0)
    # the dual values satisfy Σ_j y_j = b₀ to the solver's accuracy; restore it exactly (y ≥ 0 kept)
    total = jnp.sum(quotas, axis=0)
    equal = _equal_split(resources, N)
    quotas = jnp.where(total > 0, quotas * resources / jnp.where(total > 0, total, 1.0), equal)
    if with_flops:  # building the LP and its pivots (`jplan.procedures.work`)
        r, c = rows.shape
        flops = r * c + simplex_flops(r, c, sol.iterations)
        return jnp.where(ok, quotas, equal), jnp.where(ok, sol.objective, jnp.inf), ok, flops
    return jnp.where(ok, quotas, equal), jnp.where(ok, sol.objective, jnp.inf), ok


class KornaiLiptakCuttingPlane(_KLBase):
    """Kornai–Lipták's quota-guided exchange with a cutting-plane centre (a variant, not the authors' rule).

    The divisions do what they do in Kornai–Lipták: plan within the quota they are sent and report their value
    V_j(y_j) and the shadow prices u_j of the quota. The centre, instead of fictitious play, keeps every report
    as a cut of the concave function Σ_j V_j and sends the quotas that maximise its cutting-plane model
    (Kelley 1960; Cheney and Goldstein 1959), an LP (`cutting_plane_master`). The model's maximum is an upper
    bound on the optimum at every step, and the best plan heard is a lower bound; V_j is piecewise linear
    (the value of an LP in its right-hand side), so the model is exact after finitely many cuts and the
    method terminates (Kelley's finite convergence for polyhedral functions), unlike fictitious play's
    O(t^(−1/2)). This is the resource-directive decomposition that bundle and level methods stabilise
    (Lemaréchal, Nemirovskii and Nesterov 1995); on these small block economies the plain method already
    converges (measured in the README).

    Attributes:
        memory: cuts kept (static); when full, the oldest cut is replaced.
        tolerance: stop when (model bound − best plan value)/max(1, |best plan value|) ≤ tolerance.
    """

    name: ClassVar[str] = "kornai-liptak-cutting-plane"
    memory: int = eqx.field(default=32, static=True)

    # state: (t, cut points [K, N, m0], cut values [K, N], cut prices [K, N, m0], used [K],
    #         best plan [N, a], best value, prices of the best plan [N, m0], bound, ok)
    def init(self, economy: DivisionsEconomy):
        N, m0, K = economy.divisions, economy.shared, self.memory
        quotas = _equal_split(economy.resources, N)
        x, values, prices, ok, work = self._respond(economy, quotas)
        dtype = values.dtype
        points = jnp.zeros((K, N, m0), dtype).at[0].set(quotas)
        cut_values = jnp.zeros((K, N), dtype).at[0].set(values)
        cut_prices = jnp.zeros((K, N, m0), dtype).at[0].set(prices)
        used = jnp.zeros((K,), bool).at[0].set(True)
        bound = self._bound(economy, values, prices, quotas)
        state = (jnp.asarray(1, jnp.int32), points, cut_values, cut_prices, used, x, jnp.sum(values), prices, bound, jnp.all(ok))
        return state, self._messages(economy, quotas, values, prices, work, 8.0 * N * economy.shared)

    def step(self, economy: DivisionsEconomy, state):
        t, points, cut_values, cut_prices, used, best_x, best_value, best_prices, bound, ok = state
        N, K = economy.divisions, self.memory
        quotas, model, solved_master, master_flops = cutting_plane_master(economy.resources, points, cut_values, cut_prices,
                                                                          used, with_flops=True)
        x, values, prices, solved, work = self._respond(economy, quotas)
        slot = t % K  # the oldest cut is replaced once all K slots hold one
        points, cut_values, cut_prices = points.at[slot].set(quotas), cut_values.at[slot].set(values), cut_prices.at[slot].set(prices)
        value = jnp.sum(values)
        better = value > best_value
        bound = jnp.minimum(jnp.minimum(bound, model), self._bound(economy, values, prices, quotas))
        state = (t + 1, points, cut_values, cut_prices, used.at[slot].set(True),
                 jnp.where(better, x, best_x), jnp.where(better, value, best_value), jnp.where(better, prices, best_prices),
                 bound, ok & jnp.all(solved) & solved_master)
        return state, self._messages(economy, quotas, values, prices, work, master_flops + 8.0 * N * economy.shared, solves=1)
