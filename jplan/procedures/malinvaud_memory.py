"""Malinvaud's price-guided procedure with memory (Malinvaud 1967; the nonlinear Dantzig–Wolfe).

Each step the centre announces prices (p, s) for goods and resources; every firm answers with its
profit-maximising proposal at those prices (output q_k, inputs v_k, resources r_k: 1 + n + m floats up).
The centre keeps every proposal received so far (up to `memory` per firm) and solves its *master
problem*: maximise welfare over the plans it can build from what it has been told,

    max_{λ, c}  U(c)   subject to   c ≤ Σ_{k,t} λ_kt (q_kt e_k − v_kt)      (goods)
                                    Σ_{k,t} λ_kt r_kt ≤ R                    (resources)
                                    λ_kt ≥ 0,  Σ_t λ_kt ≤ 1 for every firm k,

that is, welfare over the convex hull of each firm's proposals and inaction (inside the firm's production
set because that set is convex and contains 0). Its shadow prices are the next prices. Because the hull
only grows, every central plan is feasible and welfare never falls (Malinvaud's monotonicity); and at the
announced prices each firm's profit, the consumer problem and the value of the resources give the
Lagrangian bound g(p, s) = max_c [U(c) − p·c] + Σ_k profit_k + s·R ≥ U*, so the optimality gap is known
at every step: the procedure's residual is (best bound − U)/Σw (in log points for CES welfare, as
`jplan.procedures.relative_gap`), and it stops when that is ≤ `tolerance`.

The centre computes only from public data (welfare, endowments) and the proposals. Its first prices are
the same public-data start as Arrow–Hurwicz's multiplicative rule (every price `initial_price`); its first
plan weights the opening proposals by λ ∝ (diag(q) − Vᵀ)⁻¹·1, the mix that yields one unit of every good
net (the opening proposals form a productive system because each earns a profit at positive prices),
scaled to half the resources and half of each firm's proposal.

The master is solved in JAX by a primal log-barrier method (damped Newton with a fraction-to-the-boundary
rule and backtracking; the Newton system is n·memory wide but diagonal plus rank 2n + m, solved by the
push-through identity in a (2n + m)-square system), with the barrier weight lowered geometrically from
`barrier_start`·Σw to `barrier_start`·10^−`barrier_levels`·Σw. Every iterate is strictly feasible; the
master's optimality error is about the final barrier weight times the number of constraints (≈ 1e-12 of Σw
by default), which bounds how far the recorded welfare can fall short of monotone. The resource prices are
the barrier's multiplier estimates μ/(R_j − use_j), exact in the limit.

When a firm's memory is full its proposal with the smallest weight in the current master (never its first)
is replaced. Domain: decreasing returns in every firm (a profit-maximising proposal exists). A start at
which the master has no strictly feasible plan (welfare −∞: Stone–Geary subsistence above what half the
resources can make) ends as "failed"; the centre has no phase I.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array

from .._linalg import solve
from ..economies.production import Plan, ProductionEconomy, consumer_demand, is_cobb_douglas, welfare, welfare_index
from .arrow_hurwicz import firms_supply
from .base import Messages, Observation, Procedure

__all__ = ["MalinvaudMemory"]

#: Halvings tried by the master's backtracking line search.
BACKTRACKS = 30
#: Opening probe rounds at most (goods prices 1, 2, 4, … against resource prices 1).
START_PROBES = 60


class Proposals(eqx.Module):
    """The proposals the centre has heard, `memory` slots per firm: output q [n, T], input demands
    v [n, T, n], resource demands r [n, T, m], which slots hold one (`used`), and when each arrived."""

    q: Array
    v: Array
    r: Array
    used: Array
    arrived: Array


class MemoryState(eqx.Module):
    proposals: Proposals
    weights: Array  # λ [n, T] of the current master solution
    goods_prices: Array
    resource_prices: Array
    plan: Plan
    value: Array  # the master's objective φ at its solution
    bound: Array  # the best Lagrangian bound heard so far
    count: Array  # step counter (for the arrival stamps)


def _objective(economy: ProductionEconomy, c: Array) -> Array:
    """φ(c): U for the log forms, u = log U for CES welfare (the units of `consumer_demand`'s prices)."""
    u = welfare(economy, c)
    return jnp.where(is_cobb_douglas(economy.welfare_elasticity), u, welfare_index(economy, u))


def _scale(economy: ProductionEconomy) -> Array:
    """Units of the gap: Σw for the log forms, 1 for CES (φ is already log U)."""
    return jnp.where(is_cobb_douglas(economy.welfare_elasticity), jnp.sum(economy.welfare_weights), 1.0)


def _columns(economy: ProductionEconomy, props: Proposals):
    """The master's constraint matrices over the n·T flattened columns: net outputs A [n, nT], resource
    use B [m, nT], firm membership E [n, nT]."""
    n, T = props.q.shape
    own = jnp.eye(n, dtype=props.q.dtype)[:, :, None] * props.q[None, :, :]  # [good, firm, slot]
    A = (own - jnp.transpose(props.v, (2, 0, 1))).reshape(n, n * T)
    B = jnp.transpose(props.r, (2, 0, 1)).reshape(economy.m, n * T)
    E = jnp.repeat(jnp.eye(n, dtype=props.q.dtype), T, axis=1)
    return A, B, E


def _barrier_value(economy, A, B, E, used, lam, mu):
    net = A @ lam
    res = economy.endowments - B @ lam
    cap = 1.0 - E @ lam
    ok = jnp.all(net > 0) & jnp.all(res > 0) & jnp.all(cap > 0) & jnp.all(jnp.where(used, lam > 0, True))
    safe = lambda x: jnp.where(ok, x, 1.0)
    f = (_objective(economy, jnp.where(ok, net, 1.0))
         + mu * (jnp.sum(jnp.log(safe(net))) + jnp.sum(jnp.log(safe(res))) + jnp.sum(jnp.log(safe(cap)))
                 + jnp.sum(jnp.where(used, jnp.log(jnp.where(used & ok, lam, 1.0)), 0.0))))
    return jnp.where(ok & jnp.isfinite(f), f, -jnp.inf)


def _newton(economy, A, B, E, used, lam, mu):
    """One damped Newton step on the barrier problem at weight μ."""
    n = A.shape[0]
    net = A @ lam
    res = economy.endowments - B @ lam
    cap = 1.0 - E @ lam
    grad_phi = jax.grad(lambda c: _objective(economy, c))(net)
    hess_phi = jax.hessian(lambda c: _objective(economy, c))(net)
    safe_lam = jnp.where(used, lam, 1.0)
    g = A.T @ (grad_phi + mu / net) - B.T @ (mu / res) - E.T @ (mu / cap) + jnp.where(used, mu / safe_lam, 0.0)
    d_inv = jnp.where(used, safe_lam**2 / mu, 0.0)  # inverse of the diagonal part; unused columns stay fixed
    U = jnp.concatenate([A, B, E], axis=0)  # [2n + m, nT]
    r = U.shape[0]
    M = jnp.zeros((r, r), lam.dtype)
    M = M.at[:n, :n].set(-hess_phi + jnp.diag(mu / net**2))
    M = M.at[n:, n:].set(jnp.diag(jnp.concatenate([mu / res**2, mu / cap**2])))
    # (D + Uᵀ M U)⁻¹ g = D⁻¹g − D⁻¹Uᵀ (I + M U D⁻¹ Uᵀ)⁻¹ M U D⁻¹ g
    dg = d_inv * g
    W = (U * d_inv[None, :]) @ U.T
    y = solve(jnp.eye(r, dtype=lam.dtype) + M @ W, M @ (U @ dg))
    d = dg - d_inv * (U.T @ y)
    # the longest step that keeps every constraint strictly satisfied, then backtracking (Armijo)
    def limit(value, change):
        return jnp.min(jnp.where(change < 0, -value / jnp.where(change < 0, change, -1.0), jnp.inf))

    alpha_max = jnp.minimum(
        1.0,
        0.99 * jnp.min(jnp.stack([
            limit(net, A @ d), limit(res, -(B @ d)), limit(cap, -(E @ d)), limit(jnp.where(used, lam, 1.0), jnp.where(used, d, 0.0)),
        ])),
    )
    f0 = _barrier_value(economy, A, B, E, used, lam, mu)
    alphas = alpha_max * 0.5 ** jnp.arange(BACKTRACKS, dtype=lam.dtype)
    values = jax.vmap(lambda a: _barrier_value(economy, A, B, E, used, lam + a * d, mu))(alphas)
    good = values >= f0 + 1e-4 * alphas * jnp.dot(g, d)
    first = jnp.argmax(good)
    alpha = jnp.where(jnp.any(good), alphas[first], 0.0)
    return lam + alpha * d


class MalinvaudMemory(Procedure):
    """Malinvaud's procedure with memory (see the module docstring).

    Attributes:
        memory: proposals kept per firm (static); the master has n·memory weights.
        tolerance: stop when the Lagrangian gap (best bound − welfare, in gap units) is below this.
        initial_price: the first price of every good and resource.
        barrier_start, barrier_levels, newton_steps: the master solver's barrier schedule (the weight falls
            tenfold per level from `barrier_start`·Σw; `newton_steps` Newton steps per level).
    """

    name: ClassVar[str] = "malinvaud-memory"
    memory: int = eqx.field(default=16, static=True)
    tolerance: Array = eqx.field(default_factory=lambda: jnp.asarray(1e-9), converter=jnp.asarray)
    initial_price: Array = eqx.field(default_factory=lambda: jnp.asarray(1.0), converter=jnp.asarray)
    barrier_start: Array = eqx.field(default_factory=lambda: jnp.asarray(1e-2), converter=jnp.asarray)
    barrier_levels: int = eqx.field(default=11, static=True)
    newton_steps: int = eqx.field(default=6, static=True)

    def domain_violation(self, economy: ProductionEconomy) -> Array:
        return jnp.any(economy.returns_to_scale >= 1.0)

    def domain_message(self) -> str:
        return (
            "malinvaud-memory: needs decreasing returns (every returns_to_scale < 1), so that every firm has "
            "a profit-maximising proposal at positive prices"
        )

    # -- the centre's master problem ---------------------------------------------------------------
    def _master(self, economy: ProductionEconomy, props: Proposals, lam: Array):
        """Solve the master from a strictly feasible λ; return λ, the plan, its φ and the shadow prices."""
        A, B, E = _columns(economy, props)
        used = props.used.reshape(-1)
        size = _scale(economy)
        mus = self.barrier_start * size * 10.0 ** (-jnp.arange(self.barrier_levels, dtype=lam.dtype))

        def level(lam, mu):
            lam = jax.lax.fori_loop(0, self.newton_steps, lambda _, x: _newton(economy, A, B, E, used, x, mu), lam)
            return lam, None

        lam, _ = jax.lax.scan(level, lam.reshape(-1), mus)
        mu = mus[-1]
        net = A @ lam
        p = jax.grad(lambda c: _objective(economy, c))(net) + mu / net
        s = mu / (economy.endowments - B @ lam)
        n, T = props.q.shape
        lam = lam.reshape(n, T)
        plan = Plan(
            consumption=net,
            output=jnp.sum(lam * props.q, axis=1),
            resource_use=jnp.einsum("kt,ktj->kj", lam, props.r),
            intermediate_use=jnp.einsum("kt,kti->ki", lam, props.v),
        )
        return lam, plan, _objective(economy, net), p, s

    def _ask(self, economy: ProductionEconomy, p: Array, s: Array):
        """Prices down (one broadcast); each firm's proposal up (q, v, r) and its profit."""
        q, r, v, _, work = firms_supply(economy, jnp.concatenate([p, s]))
        # the Lagrangian bound at these prices, from the proposals alone (the consumer problem is the centre's own)
        profit = p * q - v @ p - r @ s
        c = consumer_demand(economy, p)
        bound = _objective(economy, c) - jnp.sum(p * c) + jnp.sum(jnp.maximum(profit, 0.0)) + jnp.sum(s * economy.endowments)
        msgs = Messages.of((p, s), (q, v, r), firm_work=work)
        return (q, v, r), bound, msgs

    def init(self, economy: ProductionEconomy) -> tuple[MemoryState, Messages]:
        n, m, T = economy.n, economy.m, self.memory
        dtype = economy.endowments.dtype
        # probe rounds: goods prices t = 1, 2, 4, … against resource prices 1 until the proposals ask for at
        # least the endowment of every resource (so the opening hull can use all resources)
        ts = 2.0 ** jnp.arange(START_PROBES, dtype=dtype)
        s = jnp.full((m,), self.initial_price, dtype)
        asks = jax.vmap(lambda t: self._ask(economy, jnp.full((n,), t * self.initial_price, dtype), s))(ts)
        covered = jax.vmap(lambda r: jnp.all(jnp.sum(r, axis=0) >= economy.endowments))(asks[0][2])
        k = jnp.argmax(covered)
        (q, v, r), bound = jax.tree_util.tree_map(lambda x: x[k], (asks[0], asks[1]))
        msgs = (k + 1) * jax.tree_util.tree_map(lambda x: x[0], asks[2])
        probes_ok = jnp.any(covered)
        props = Proposals(
            q=jnp.zeros((n, T), dtype).at[:, 0].set(q),
            v=jnp.zeros((n, T, n), dtype).at[:, 0].set(v),
            r=jnp.zeros((n, T, m), dtype).at[:, 0].set(r),
            used=jnp.zeros((n, T), bool).at[:, 0].set(True),
            arrived=jnp.zeros((n, T), jnp.int32),
        )
        # one unit of every good net: (diag(q) − Vᵀ) x = 1, x the activity levels λ_k
        x = solve(jnp.diag(q) - v.T, jnp.ones((n,), dtype))
        use = r.T @ x
        t = 0.5 * jnp.minimum(1.0 / jnp.max(x), jnp.min(economy.endowments / jnp.maximum(use, 1e-300)))
        lam0 = jnp.zeros((n, T), dtype).at[:, 0].set(t * x)
        lam, plan, value, p, s = self._master(economy, props, lam0)
        start_ok = probes_ok & jnp.all(x > 0) & jnp.isfinite(value)
        state = MemoryState(props, lam, p, s, plan, jnp.where(start_ok, value, jnp.nan), bound, jnp.asarray(0, jnp.int32))
        return state, msgs + Messages(down=0, up=0, solves=1)

    def step(self, economy: ProductionEconomy, state: MemoryState) -> tuple[MemoryState, Messages]:
        n, T = economy.n, self.memory
        (q, v, r), bound, msgs = self._ask(economy, state.goods_prices, state.resource_prices)
        props, lam = state.proposals, state.weights
        count = state.count + 1
        # each firm's slot for the new proposal: an empty one, else the one with the smallest weight (not the first)
        key = jnp.where(props.used, lam, -jnp.inf).at[:, 0].set(jnp.inf)
        slot = jnp.argmin(key, axis=1)
        hit = jax.nn.one_hot(slot, T, dtype=bool)
        # a strictly feasible start: ¾ of the current solution (the dropped column's weight removed, which keeps
        # it feasible only while that weight is negligible; guarded below) plus a little of the new proposals
        kept = jnp.where(hit, 0.0, lam) * 0.75
        props = Proposals(
            q=jnp.where(hit, q[:, None], props.q),
            v=jnp.where(hit[:, :, None], v[:, None, :], props.v),
            r=jnp.where(hit[:, :, None], r[:, None, :], props.r),
            used=props.used | hit,
            arrived=jnp.where(hit, count, props.arrived),
        )
        A, B, E = _columns(economy, props)
        base = kept.reshape(-1)
        new = hit.reshape(-1).astype(base.dtype)
        net0, res0, cap0 = A @ base, economy.endowments - B @ base, 1.0 - E @ base
        dnet, dres, dcap = A @ new, -(B @ new), -(E @ new)
        room = lambda value, change: jnp.min(jnp.where(change < 0, -value / jnp.where(change < 0, change, -1.0), jnp.inf))
        eps = 0.5 * jnp.minimum(jnp.minimum(room(net0, dnet), room(res0, dres)), jnp.minimum(room(cap0, dcap), 1.0))
        lam0 = (base + eps * new).reshape(n, T)
        lam, plan, value, p, s = self._master(economy, props, lam0)
        better = jnp.isfinite(value)
        new_state = MemoryState(props, lam, p, s, plan, value, jnp.minimum(state.bound, bound), count)
        # a master that failed (no finite value) keeps the previous proposals, plan and prices
        old_state = eqx.tree_at(lambda x: (x.bound, x.count), state, (jnp.minimum(state.bound, bound), count))
        new_state = jax.tree_util.tree_map(lambda a, b: jnp.where(better, a, b), new_state, old_state)
        return new_state, msgs

    def observe(self, economy: ProductionEconomy, state: MemoryState) -> Observation:
        residual = (state.bound - state.value) / _scale(economy)
        return Observation(
            plan=state.plan,
            goods_prices=state.goods_prices,
            resource_prices=state.resource_prices,
            residual=jnp.where(jnp.isfinite(residual), jnp.maximum(residual, 0.0), jnp.inf),
            failed=~jnp.isfinite(state.value),
        )
