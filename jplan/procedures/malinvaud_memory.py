"""Malinvaud's price-guided procedure with memory (Malinvaud 1967; the nonlinear Dantzig–Wolfe).

Each step the centre announces prices (p, s) for goods and resources; every firm answers with its
profit-maximising proposal at those prices (output q_k, inputs v_k, resources r_k: 1 + n + m floats up).
The centre keeps every proposal received so far (up to `memory` per firm) and solves its *master
problem*: maximise welfare over the plans it can build from what it has been told,

    max_{λ, c}  U(c)   subject to   c ≤ Σ_{k,t} λ_kt (q_kt e_k − v_kt)      (goods)
                                    Σ_{k,t} λ_kt r_kt ≤ R                    (resources)
                                    λ_kt ≥ 0,  Σ_t λ_kt ≤ 1 for every firm k,

that is, welfare over the convex hull of each firm's proposals and inaction (inside the firm's production
set because that set is convex and contains 0). Its optimal shadow prices are the next prices. Because the hull
only grows, every central plan is feasible and welfare never falls (Malinvaud's monotonicity); and at the
announced prices each firm's profit, the consumer problem and the value of the resources give the
Lagrangian bound g(p, s) = max_c [U(c) − p·c] + Σ_k profit_k + s·R ≥ U*, so the optimality gap is known
at every step: the procedure's residual is (best bound − U)/Σw (in log points for CES welfare, as
`jplan.procedures.relative_gap`), and it stops when that is ≤ `tolerance`.

Bounded proposals. A firm may propose to use at most the economy's endowment of each resource (public
data; `capped_supply`). Asked at a near-zero resource price, a decreasing-returns firm otherwise proposes an
enormous plan of which any usable fraction is worth little, and the first steps are wasted (median gap 1.9
instead of 5e-4 after 10 steps; `bounded=False` shows it). With an exactly solved master and no bound, the
first master's small hull leaves the resources unpriced and the procedure never leaves its first plan.

The centre computes only from public data (welfare, endowments) and the proposals. Its first prices are
all `initial_price`; its first plan weights the opening proposals by λ ∝ (diag(q) − Vᵀ)⁻¹·1, the mix that
yields one unit of every good net (the opening proposals form a productive system because each earns a
profit at positive prices), scaled to half the resources and half of each firm's proposal.

The master is solved in JAX by a primal log-barrier method (damped Newton with a fraction-to-the-boundary
rule and backtracking; the Newton system is n·memory wide but diagonal plus rank 2n + m, solved by the
push-through identity in a (2n + m)-square system). Every iterate is strictly feasible. The barrier weight
falls tenfold per level from `barrier_start`·Σw, but not below the weight at which the master's duality gap
(≈ μ × its number of constraints) is `centring` × the procedure's current gap.

The prices announced. `malinvaud-memory` is Malinvaud's rule: the master's optimal shadow prices. Its master
is solved to the barrier's floor (`centring` = 0); the goods prices are ∇φ at its optimal consumption
(unique), and the resource prices come from `master_resource_prices`, an LP over the proposals given those
goods prices (the master is degenerate, its optimal resource prices a set; the simplex returns a vertex).
The barrier's own estimates μ/(R − use) are *not* those prices at a tiny μ (they left the resources priced at
~0, and an earlier version that announced them stalled near a gap of 0.2). `malinvaud-memory-centred` is a
variant: a master solved to a tenth of the current gap, announcing the barrier's well-centred estimates
there (Gondzio and Sarkissian's primal–dual column generation).

Monotone welfare: the master's optimum never falls in exact arithmetic; the centre keeps the best plan it
has found (the recorded welfare is monotone by construction, whatever the solver's error), and announces
the latest master's prices. When a firm's memory is full its proposal with the smallest weight (never its
first) is replaced. Domain: convex technologies with decreasing returns (every ρ < 1, no set-up cost). A
start at which the master has no strictly feasible plan (Stone–Geary subsistence above what the opening
proposals can make) ends as "failed": the centre has no phase I. On a user technology the firms answer by
the generic Newton solver, which does not certify its answers, so the bound is not one and the procedure
never reports "converged". Measured (`experiments/malinvaud_memory.py`, n = 4): Malinvaud's rule reaches
1e-5 in every run and 1.9e-9 in 100 steps when asked for 1e-9; the centred variant is faster in the first
steps and stalls near 5e-7.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array

from .._linalg import solve
from ..solvers.lp import OPTIMAL, linprog
from ..economies.production import FirmTechnology, Plan, ProductionEconomy, consumer_demand, is_cobb_douglas, welfare, welfare_index
from .arrow_hurwicz import supply_function
from .work import agent_flops, simplex_flops, solve_flops
from .base import Messages, Observation, Procedure, decreasing_returns_violation

__all__ = ["MalinvaudMemory", "MalinvaudMemoryCentred", "master_resource_prices"]

#: Halvings tried by the master's backtracking line search.
BACKTRACKS = 30


#: Bisections (in log price) per resource and sweep of `capped_supply`.
CAP_BISECTIONS = 60


#: Newton steps (on the log virtual prices of the capped resources) of `capped_supply`, before its sweeps.
CAP_NEWTON = 8

#: Raises of 64 in log price that `capped_supply` may take to leave prices at which demand overflows.
CAP_LIFTS = 12


def _capped_answer(tech, index, prices, caps, *, supply, sweeps: int):
    """`capped_supply` with the firm's own arguments first (for `agent_flops`, whose static keywords key its cache)."""
    return capped_supply(supply, tech, index, prices, caps, sweeps)


def capped_supply(supply, tech, index, prices, caps, sweeps: int = 2):
    """A firm's profit-maximising plan when it may use at most `caps` [m] of each resource.

    The capped problem's optimum is the uncapped one at *virtual* resource prices s' ≥ s, raised just
    enough on each capped resource that its demand meets the cap (the caps' multipliers are s' − s). The
    firm finds s' from its own supply function alone: projected Newton steps on log r(s') = log cap over
    the capped resources (exact in one step for Cobb–Douglas, whose log demands are linear in log prices),
    then `sweeps` Gauss–Seidel sweeps of bisection in log price, resource by resource, as a safeguard.
    Returns (q, r [m], v [n]).
    """
    n = prices.shape[0] - caps.shape[0]
    m = caps.shape[0]
    goods, s = prices[:n], prices[n:]
    info = jnp.finfo(prices.dtype)
    log_s = jnp.log(jnp.maximum(s, jnp.sqrt(info.tiny)))
    top = 0.5 * jnp.log(info.max)  # far above any price and safe from overflow
    log_caps = jnp.log(caps)
    # a user technology's supply is the generic solver's, differentiated implicitly (custom_vjp): reverse mode
    jacobian = jax.jacfwd if isinstance(tech, FirmTechnology) else jax.jacrev
    demand = lambda log_virtual: supply(tech, index, jnp.concatenate([goods, jnp.exp(log_virtual)]))[1]
    log_demand = lambda log_virtual: jnp.log(jnp.maximum(demand(log_virtual), info.tiny))

    def newton(_, log_v):
        excess = log_demand(log_v) - log_caps
        active = (excess > 0) | (log_v > log_s)
        jac = jacobian(log_demand)(log_v)
        jac = jnp.where(active[:, None] & active[None, :], jac, jnp.eye(m, dtype=jac.dtype))
        step = solve(jac, -jnp.where(active, excess, 0.0))
        ok = jnp.all(jnp.isfinite(step))
        return jnp.clip(jnp.where(ok, log_v + step, log_v), log_s, top)

    def one_resource(j, log_v):
        lo = log_s[j]
        # a demand that overflows (near-zero prices: a decreasing-returns firm's demand grows like s^(−1/(1−ρ)))
        # counts as above the cap, never as below it
        too_much = ~(demand(log_v.at[j].set(lo))[j] <= caps[j])

        def bisect(_, bounds):
            a, b = bounds
            mid = 0.5 * (a + b)
            over = ~(demand(log_v.at[j].set(mid))[j] <= caps[j])
            return jnp.where(over, mid, a), jnp.where(over, b, mid)

        _, hi = jax.lax.fori_loop(0, CAP_BISECTIONS, bisect, (jnp.minimum(lo, log_v[j]), jnp.maximum(lo, top)))
        # keep the Newton point where it already meets the cap to rounding (bisection would only blur it)
        exact = jnp.abs(log_demand(log_v)[j] - log_caps[j]) <= 64 * info.eps
        return log_v.at[j].set(jnp.where(too_much, jnp.where(exact & (log_v[j] >= lo), log_v[j], hi), lo))

    def lift(_, log_v):
        # at a zero or near-zero price a decreasing-returns firm's demand overflows (it grows like s^(−1/(1−ρ)))
        # and Newton has nothing to start from: raise every resource's virtual price until it is finite (the
        # caps then bind, and Newton comes back down to where demand meets them, never below the true prices)
        finite = jnp.all(jnp.isfinite(demand(log_v)))
        return jnp.where(finite, log_v, jnp.minimum(log_v + 64.0, top))

    log_v = jax.lax.fori_loop(0, CAP_LIFTS, lift, log_s)
    log_v = jax.lax.fori_loop(0, CAP_NEWTON, newton, log_v)
    log_v = jax.lax.fori_loop(0, sweeps * m, lambda k, x: one_resource(k % m, x), log_v)
    q, r, v, _ = supply(tech, index, jnp.concatenate([goods, jnp.exp(log_v)]))
    return q, r, v


class Proposals(eqx.Module):
    """The proposals the centre has heard, `memory` slots per firm: output q [n, T], input demands
    v [n, T, n], resource demands r [n, T, m], and which slots hold one (`used`)."""

    q: Array
    v: Array
    r: Array
    used: Array


class MemoryState(eqx.Module):
    proposals: Proposals
    weights: Array  # λ [n, T] of the current master solution
    goods_prices: Array
    resource_prices: Array
    plan: Plan
    value: Array  # the master's objective φ at its solution
    bound: Array  # the best Lagrangian bound heard so far


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


def _step_to_boundary(value: Array, change: Array) -> Array:
    """The largest α with value + α·change ≥ 0 in every entry (∞ where nothing decreases)."""
    return jnp.min(jnp.where(change < 0, -value / jnp.where(change < 0, change, -1.0), jnp.inf))


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
    # a singular Newton system (tiny barrier weights on a degenerate master) gives no step, not a NaN one
    d = jnp.where(jnp.all(jnp.isfinite(d)), d, 0.0)
    # the longest step that keeps every constraint strictly satisfied, then backtracking (Armijo)
    limit = _step_to_boundary
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


def master(economy: ProductionEconomy, props: Proposals, start: Array, mus: Array, newton_steps: int, columns=None):
    """The centre's master problem from a strictly feasible start λ [n, T], by the barrier method over the
    weights `mus`. Reads only public data (welfare, endowments) and the proposals (`columns`: their
    `_columns`, when the caller has them already). Returns (λ, plan, φ, p, s)."""
    A, B, E = _columns(economy, props) if columns is None else columns
    used = props.used.reshape(-1)

    def level(lam, mu):
        return jax.lax.fori_loop(0, newton_steps, lambda _, x: _newton(economy, A, B, E, used, x, mu), lam), None

    lam, _ = jax.lax.scan(level, start.reshape(-1), mus)
    mu = mus[-1]
    net = A @ lam
    p = jax.grad(lambda c: _objective(economy, c))(net) + mu / net
    s = mu / (economy.endowments - B @ lam)
    lam = lam.reshape(start.shape)
    plan = Plan(
        consumption=net,
        output=jnp.sum(lam * props.q, axis=1),
        resource_use=jnp.einsum("kt,ktj->kj", lam, props.r),
        intermediate_use=jnp.einsum("kt,kti->ki", lam, props.v),
    )
    return lam, plan, _objective(economy, net), p, s


def master_resource_prices(economy: ProductionEconomy, props: Proposals, goods_prices: Array, columns=None,
                           with_flops: bool = False):
    """The master's optimal resource prices given its goods prices: (s, solved).

    The master's goods prices are unique, p = ∇φ(c*) at its (unique) optimal consumption. Its resource prices
    s and the firms' convexity prices σ_k (the value of one whole unit of firm k's hull) then solve the LP

        min_{s, σ ≥ 0}  sᵀR + Σ_k σ_k   s.t.  σ_k + sᵀr_kt ≥ pᵀa_kt  for every proposal (k, t),

    a_kt the proposal's net outputs: its optimal value plus max_c [φ(c) − pᵀc] is the master's Lagrangian dual
    at (p, s), which equals the master's optimum exactly at its optimal shadow prices. Where the master is
    degenerate the optimal s form a set; the simplex returns a vertex of it. Empty slots are the zero
    proposal (inaction), whose row σ_k ≥ 0 changes nothing. Reads only public data and the proposals.
    """
    A, B, E = _columns(economy, props) if columns is None else columns
    n, m, cols = A.shape[0], B.shape[0], A.shape[1]
    dtype = A.dtype
    rows = jnp.concatenate([B.T, E.T, -jnp.eye(cols, dtype=dtype)], axis=1)  # [s, σ, surplus]
    cost = jnp.concatenate([economy.endowments, jnp.ones(n, dtype), jnp.zeros(cols, dtype)])
    sol = linprog(cost, rows, A.T @ goods_prices)
    ok = sol.status == OPTIMAL
    if with_flops:  # building the LP and its simplex pivots (`jplan.procedures.work`)
        r, c = rows.shape
        return jnp.where(ok, sol.x[:m], jnp.nan), ok, r * c + 2.0 * n * cols + simplex_flops(r, c, sol.iterations)
    return jnp.where(ok, sol.x[:m], jnp.nan), ok


def opening_weights(economy: ProductionEconomy, q: Array, v: Array, r: Array) -> Array:
    """The first plan's activity levels from the opening proposals alone: x = (diag(q) − Vᵀ)⁻¹·1 yields one
    unit of every good net; scaled to use at most half of each resource and half of each proposal.
    Non-positive entries mean the proposals are not productive (the run then fails)."""
    x = solve(jnp.diag(q) - v.T, jnp.ones_like(q))
    use = r.T @ x
    return 0.5 * x * jnp.minimum(1.0 / jnp.max(x), jnp.min(economy.endowments / jnp.maximum(use, jnp.finfo(q.dtype).tiny)))


def lagrangian_bound(economy: ProductionEconomy, p: Array, s: Array, q: Array, v: Array, r: Array) -> Array:
    """g(p, s) = max_c [φ(c) − p·c] + Σ_k profit_k + s·R ≥ φ*: the consumer problem is the centre's own,
    the profits follow from the proposals (each a firm's best answer to (p, s))."""
    profit = p * q - v @ p - r @ s
    c = consumer_demand(economy, p)
    return _objective(economy, c) - jnp.sum(p * c) + jnp.sum(jnp.maximum(profit, 0.0)) + jnp.sum(s * economy.endowments)


class MalinvaudMemory(Procedure):
    """Malinvaud's procedure with memory (see the module docstring).

    Attributes:
        memory: proposals kept per firm (static); the master has n·memory weights.
        tolerance: stop when the Lagrangian gap (best bound − welfare, in gap units) is below this.
        initial_price: the first price of every good and resource.
        barrier_start, barrier_levels, newton_steps: the master's barrier schedule (the weight falls tenfold
            per level from `barrier_start`·Σw; `newton_steps` damped Newton steps per level).
        cap_sweeps: bisection sweeps of each firm's capped response (`capped_supply`).
        centring: the master is solved to about this fraction of the current gap (0: to `barrier_floor`).
        barrier_floor: the smallest barrier weight, in units of Σw.
        bounded: firms' resource use capped by the endowments (False only to show why it is needed).
    """

    name: ClassVar[str] = "malinvaud-memory"
    skip_when_batch_stopped: ClassVar[bool] = True
    memory: int = eqx.field(default=16, static=True)
    tolerance: Array = eqx.field(default_factory=lambda: jnp.asarray(1e-5), converter=jnp.asarray)
    initial_price: Array = eqx.field(default_factory=lambda: jnp.asarray(1.0), converter=jnp.asarray)
    barrier_start: Array = eqx.field(default_factory=lambda: jnp.asarray(1e-2), converter=jnp.asarray)
    barrier_levels: int = eqx.field(default=12, static=True)
    barrier_floor: Array = eqx.field(default_factory=lambda: jnp.asarray(1e-13), converter=jnp.asarray)
    centring: Array = eqx.field(default_factory=lambda: jnp.asarray(0.0), converter=jnp.asarray)
    newton_steps: int = eqx.field(default=6, static=True)
    cap_sweeps: int = eqx.field(default=1, static=True)
    bounded: bool = eqx.field(default=True, static=True)

    def domain_violation(self, economy: ProductionEconomy) -> Array:
        return decreasing_returns_violation(economy)

    def domain_message(self) -> str:
        return (
            f"{self.name}: needs convex technologies with decreasing returns (every returns_to_scale < 1, "
            "no set-up cost), so that the hull of a firm's proposals lies in its production set"
        )

    def _announce(self, economy: ProductionEconomy, props: Proposals, p: Array, s: Array, columns):
        """The prices the centre announces from the master it solved (barrier estimates p, s): Malinvaud's rule,
        the master's optimal shadow prices (p is unique; s from `master_resource_prices`). Returns (p, s, ok,
        the flops of finding them)."""
        s, ok, flops = master_resource_prices(economy, props, p, columns, with_flops=True)
        return p, s, ok, flops

    def _master_flops(self, economy: ProductionEconomy) -> float:
        """The centre's flops of one master solve (`jplan.procedures.work`): `barrier_levels` × `newton_steps`
        damped Newton steps on n·T weights with r = 2n + m constraint rows, each: the products with the
        constraint matrix and the gradient (≈ 12·r·nT), the low-rank system W = U D⁻¹ Uᵀ (2r²·nT), M W (2r³)
        and its solve (2r³/3 + 2r²), the objective's Hessian (n² + 10n), and `BACKTRACKS` trial values
        (2·r·nT + 10r each)."""
        n, m = economy.n, economy.m
        cols, r = n * self.memory, 2 * n + m
        newton = (12 * r * cols + 2 * r * r * cols + 2 * r**3 + solve_flops(r) + n * n + 10 * n
                  + BACKTRACKS * (2 * r * cols + 10 * r))
        return float(self.barrier_levels * self.newton_steps * newton)

    def _mus(self, economy: ProductionEconomy, props: Proposals, gap: Array) -> Array:
        """The barrier weights: tenfold steps from `barrier_start`·Σw, but not below the weight at which the
        master's own duality gap (≈ μ × its number of constraints) is `centring` × the current gap."""
        dtype = economy.endowments.dtype
        constraints = jnp.sum(props.used) + 2 * economy.n + economy.m
        floor = jnp.maximum(self.centring * gap / constraints, self.barrier_floor * _scale(economy))
        mus = self.barrier_start * _scale(economy) * 10.0 ** (-jnp.arange(self.barrier_levels, dtype=dtype))
        return jnp.maximum(mus, jnp.where(jnp.isfinite(floor), floor, 0.0))

    def _ask(self, economy: ProductionEconomy, p: Array, s: Array):
        """Prices down (one broadcast); each firm's proposal up (q, v, r), its resource use capped by the
        endowments (public)."""
        supply, work = supply_function(economy)
        prices = jnp.concatenate([p, s])
        if self.bounded:  # each capped answer: its Newton steps (1 + m responses each) and bisections
            capped = lambda tech, i: capped_supply(supply, tech, i, prices, economy.endowments, self.cap_sweeps)
            q, r, v = jax.vmap(capped)(economy.firms, jnp.arange(economy.n))
            work = work * (1 + (1 + economy.m) * CAP_NEWTON + self.cap_sweeps * economy.m * CAP_BISECTIONS)
        else:  # the unbounded answers (for comparison: the first steps are wasted, see the module docstring)
            q, r, v, _ = jax.vmap(supply)(economy.firms, jnp.arange(economy.n), jnp.broadcast_to(prices, (economy.n, prices.shape[0])))
        msgs = Messages.of((p, s), (q, v, r), firm_work=work, firm_flops=self._firms_flops(economy, supply, prices))
        return (q, v, r), msgs

    def _firms_flops(self, economy: ProductionEconomy, supply, prices: Array):
        """XLA's count of one firm's (capped) answer × n (`jplan.procedures.work`)."""
        n = economy.n
        message = jnp.broadcast_to(prices, (n, prices.shape[0]))
        if self.bounded:
            caps = jnp.broadcast_to(economy.endowments, (n, economy.m))
            flops = agent_flops(_capped_answer, economy.firms, jnp.arange(n), message, caps, supply=supply,
                                sweeps=self.cap_sweeps)
            return jnp.asarray(n * flops, prices.dtype)
        return jnp.asarray(n * agent_flops(supply, economy.firms, jnp.arange(n), message), prices.dtype)

    def init(self, economy: ProductionEconomy) -> tuple[MemoryState, Messages]:
        n, m, T = economy.n, economy.m, self.memory
        dtype = economy.endowments.dtype
        p = jnp.full((n,), self.initial_price, dtype)
        s = jnp.full((m,), self.initial_price, dtype)
        (q, v, r), msgs = self._ask(economy, p, s)
        bound = lagrangian_bound(economy, p, s, q, v, r)
        props = Proposals(
            q=jnp.zeros((n, T), dtype).at[:, 0].set(q),
            v=jnp.zeros((n, T, n), dtype).at[:, 0].set(v),
            r=jnp.zeros((n, T, m), dtype).at[:, 0].set(r),
            used=jnp.zeros((n, T), bool).at[:, 0].set(True),
        )
        x = opening_weights(economy, q, v, r)
        lam0 = jnp.zeros((n, T), dtype).at[:, 0].set(x)
        columns = _columns(economy, props)
        gap0 = bound - _objective(economy, columns[0] @ lam0.reshape(-1))
        lam, plan, value, p, s = master(economy, props, lam0, self._mus(economy, props, gap0), self.newton_steps, columns)
        p, s, priced, price_flops = self._announce(economy, props, p, s, columns)
        start_ok = jnp.all(x > 0) & jnp.isfinite(value) & priced
        value = jnp.where(start_ok, value, jnp.nan)
        state = MemoryState(props, lam, p, s, plan, value, bound)
        # the opening weights (one solve of order n) and the first master
        centre = solve_flops(n) + self._master_flops(economy) + price_flops
        return state, msgs + Messages.of((), (), centre_flops=centre)

    def step(self, economy: ProductionEconomy, state: MemoryState) -> tuple[MemoryState, Messages]:
        n, T = economy.n, self.memory
        (q, v, r), msgs = self._ask(economy, state.goods_prices, state.resource_prices)
        bound = jnp.minimum(state.bound, lagrangian_bound(economy, state.goods_prices, state.resource_prices, q, v, r))
        props, lam = state.proposals, state.weights
        # each firm's slot for the new proposal: an empty one, else its proposal with the smallest weight
        # (never the first, whose weights started the master)
        key = jnp.where(props.used, lam, -jnp.inf).at[:, 0].set(jnp.inf)
        hit = jax.nn.one_hot(jnp.argmin(key, axis=1), T, dtype=bool)
        props = Proposals(
            q=jnp.where(hit, q[:, None], props.q),
            v=jnp.where(hit[:, :, None], v[:, None, :], props.v),
            r=jnp.where(hit[:, :, None], r[:, None, :], props.r),
            used=props.used | hit,
        )
        # a strictly feasible start: ¾ of the current weights (a replaced proposal's weight dropped) plus as
        # much of each new proposal as keeps half of every remaining slack
        A, B, E = _columns(economy, props)
        base = (jnp.where(hit, 0.0, lam) * 0.75).reshape(-1)
        new = hit.reshape(-1).astype(base.dtype)
        room = _step_to_boundary
        eps = 0.5 * jnp.minimum(
            jnp.minimum(room(A @ base, A @ new), room(economy.endowments - B @ base, -(B @ new))),
            jnp.minimum(room(1.0 - E @ base, -(E @ new)), 1.0),
        )
        mus = self._mus(economy, props, bound - state.value)
        lam, plan, value, p, s = master(economy, props, (base + eps * new).reshape(n, T), mus, self.newton_steps, (A, B, E))
        p, s, priced, price_flops = self._announce(economy, props, p, s, (A, B, E))
        solved = jnp.isfinite(value) & priced
        # centre: the Lagrangian bound (≈ 2n(n + m) + 10n), the new columns and start (≈ 8(2n + m)·nT), the
        # master and its announced prices
        cols = n * T
        msgs = msgs + Messages.of((), (), centre_flops=2 * n * (n + economy.m) + 10 * n + 8 * (2 * n + economy.m) * cols
                                  + self._master_flops(economy) + price_flops)
        # the centre announces the new master's prices; it keeps the best plan it has found (the master's
        # optimum never falls in exact arithmetic; this guards against the solver's ~1e-9 error and against
        # a replaced proposal that carried weight)
        better = solved & (value > state.value)
        keep = lambda a, b: jax.tree_util.tree_map(lambda x, y: jnp.where(better, x, y), a, b)
        best_plan, best_value = keep((plan, value), (state.plan, state.value))
        new_state = MemoryState(
            proposals=props,
            weights=jnp.where(solved, lam, state.weights),
            goods_prices=jnp.where(solved, p, state.goods_prices),
            resource_prices=jnp.where(solved, s, state.resource_prices),
            plan=best_plan,
            value=best_value,
            bound=bound,
        )
        return new_state, msgs

    def observe(self, economy: ProductionEconomy, state: MemoryState) -> Observation:
        residual = (state.bound - state.value) / _scale(economy)
        if not isinstance(economy.firms, FirmTechnology):
            # the bound adds up the firms' profits as maxima; a user technology's answers come from the generic
            # Newton solver, which does not certify its answer (it can stall below the maximum), so the bound
            # is not one and the procedure never claims convergence: it runs its step budget
            residual = jnp.full_like(residual, jnp.inf)
        return Observation(
            plan=state.plan,
            goods_prices=state.goods_prices,
            resource_prices=state.resource_prices,
            residual=jnp.where(jnp.isfinite(residual), jnp.maximum(residual, 0.0), jnp.inf),
            failed=~jnp.isfinite(state.value),
        )


class MalinvaudMemoryCentred(MalinvaudMemory):
    """Malinvaud's procedure with memory announcing *well-centred* shadow prices (a variant, not Malinvaud's rule).

    Everything is `MalinvaudMemory` but the prices: the master is solved only to about `centring` × the current
    gap, and the centre announces the barrier's estimates there, p = ∇φ(c) + μ/c and s = μ/(R − use), a point
    near the centre of the master's (degenerate) set of shadow prices rather than a vertex of it: the
    well-centred prices of Gondzio and Sarkissian's primal–dual column generation (Gondzio and Sarkissian 1996;
    Gondzio, González-Brevis and Munari 2013), carried over to Malinvaud's nonlinear master.

    Attributes: as `MalinvaudMemory`; `centring` defaults to 0.1.
    """

    name: ClassVar[str] = "malinvaud-memory-centred"
    centring: Array = eqx.field(default_factory=lambda: jnp.asarray(0.1), converter=jnp.asarray)

    def _announce(self, economy, props, p, s, columns):
        return p, s, jnp.asarray(True), 0.0
