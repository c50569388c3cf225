"""Heal's quantity-guided procedure, "planning without prices" (Heal 1969; Lustosa (1987) §5.2), and a variant.

The centre allocates resources r and intermediate goods v to firms; consumption is what is left,
c_k = q_k − Σ_i v_ik, so it absorbs every change in output and every plan the centre sends balances
exactly. Firms (vmapped, each seeing only its own production function and its own allocation) report
their output q_i and marginal productivities ∂f_i/∂r_ij, ∂f_i/∂v_ik (by `jax.grad`). The centre values
each use by its marginal social value: π_k = ∂U/∂c_k in consumption, π_i ∂f_i/∂r_ij for resource j in
firm i and π_i ∂f_i/∂v_ik for good k in firm i (extra output of i is consumed, so it is worth π_i).

`heal` — Heal's rule. Each allocation of a good (over the firms using it and consumption) and of a
resource (over the firms) moves by an amount proportional to the difference between its marginal social
value in that use and the average over the good's uses,

    x_u ← x_u + s_k (value_u − average_k),        s_k = κ X_k / (N_k · v̄_k),

where X_k is the good's total (its output, or the endowment), N_k the number of uses it is allocated to
and v̄_k = Σ_u x_u value_u / X_k: one speed per good that makes κ unit-free (a step moves allocations by κ
times the relative value difference, spread over the uses). Heal's device for non-negativity — a use at
zero whose value is below the average stays at zero and drops out of the average — is, in discrete time,
the Euclidean projection of the moved allocations onto {x ≥ 0, Σ x = X_k}: the projection is
max(y − τ_k, 0) with one shift τ_k per good, i.e. the rule above with the average taken over the uses
that stay positive. Uses of positive value are never moved to zero (their marginal productivity is
unbounded there, so the optimum keeps them positive): per good, the move towards the projected point is
cut to the fraction t_k ≤ 1 at which no such use loses more than half its allocation (t_k is part of the
good's speed; the moved allocation stays on the simplex). Step-size control: the centre sends the moved allocation, firms report their outputs
there, and the centre accepts it only if every consumption stays above subsistence and welfare does not
fall (κ then grows ×`grow` up to `max_step`); otherwise the allocation stays and κ shrinks ×`shrink`.
Every iterate is therefore feasible and welfare is non-decreasing.

`heal-proportional` — a variant (not Heal's rule), documented as exploiting log-linear structure: it moves
each good's *fractions* of output towards above-average uses multiplicatively (proportional response),
values inputs at λ_i (the worth of firm i's output shared over its uses, a linear system in the reports)
and predicts new outputs from the reported output elasticities, which is exact for Cobb–Douglas: with
Cobb–Douglas technology and log welfare its log-fractions move as (1 − η)·old + η·optimal, so it lands on
the optimum in about three steps whatever n is. It uses the same start and step-size control.

Start (both): the centre cannot read technologies, so it forms the first plan from reports alone. It
divides every resource equally over all firms (it does not know which firms use which), and for
`OPENING_ROUNDS` rounds sends every firm a `START_FRACTION`/n share of each good's last reported output
(starting from a token 1e-6 of each), the firms reporting their outputs back; each round's messages
count. Firms that do not use a good are given some at first; the procedure moves it away. With
Stone–Geary welfare that start may leave some consumption at or below subsistence (welfare −∞); the
centre then runs up to `SUBSISTENCE_ROUNDS` more rounds of its own step on a relaxed welfare until every
c_k > γ_k (`_HealBase._subsistence_phase`; counted as opening messages). If the plan is still short after
them (or, with strong complementarity, σ ≪ 1, the opening rounds let output collapse), the run ends at once
with status "failed": it never reports an infeasible plan as a result.

Domain: every welfare weight > 0 (a good nobody values has no consumption value to compare against).
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array

from .._batching import cond_all
from .._linalg import z_factor, z_lu_solve
from ..economies.production import FirmTechnology, Plan, ProductionEconomy, firm_output, for_firms, welfare
from .work import firms_flops, projection_flops, solve_flops
from .base import Messages, Observation, Procedure

__all__ = ["Heal", "HealProportional", "firm_report", "centre_opening", "reported_start", "project_simplex", "project_simplex_sort",
           "project_simplex_pairwise", "project_simplex_michelot", "SORT_MAX_ENTRIES", "PAIRWISE_MAX_ENTRIES",
           "OPENING_ROUNDS", "START_FRACTION",
           "SUBSISTENCE_ROUNDS", "SUBSISTENCE_MARGIN"]

OPENING_ROUNDS = 8
START_FRACTION = 0.2
SUBSISTENCE_ROUNDS = 200
SUBSISTENCE_MARGIN = 0.9


def firm_report(tech: FirmTechnology, resources: Array, inputs: Array, cobb_douglas: bool = False
                ) -> tuple[Array, Array, Array]:
    """The firm-side agent: output and marginal productivities at the allocation it was sent
    (`cobb_douglas`, static: the caller knows the firm is plain Cobb–Douglas; see `firm_output`)."""
    f = lambda t, r, v: firm_output(t, r, v, cobb_douglas=cobb_douglas)
    q, (mp_r, mp_v) = jax.value_and_grad(f, argnums=(1, 2))(tech, resources, inputs)
    return q, mp_r, mp_v


def centre_opening(economy: ProductionEconomy) -> tuple[Array, Array]:
    """The centre's first message, from public data only: equal division of every resource over all
    firms, and a token 1e-6 of every good to every firm."""
    n, m = economy.n, economy.m
    r = jnp.broadcast_to(economy.endowments[None, :] / n, (n, m))
    return r, jnp.full((n, n), 1e-6, economy.endowments.dtype)


def reported_start(economy: ProductionEconomy) -> tuple[Array, Array, Messages]:
    """The centre's first allocation (r [n, m], v [n, n]) from public data and firms' reports only.

    Resources: equal division over all firms (public: the endowments). Goods: `OPENING_ROUNDS` rounds in
    which every firm receives `START_FRACTION`/n of each good's last reported output (a token 1e-6 at
    first) and reports its output back. Only `economy.endowments`, the dimensions and the firms' reports
    are read here; the messages of all opening rounds are returned.
    """
    n = economy.n
    r, v0 = centre_opening(economy)

    def round_(v, _):
        q = for_firms(economy, firm_output, r, v)  # firms report outputs
        return jnp.broadcast_to(START_FRACTION * q[None, :] / n, (n, n)), None

    v, _ = jax.lax.scan(round_, v0, None, length=OPENING_ROUNDS)
    return r, v, OPENING_ROUNDS * Messages.of((r, v), jnp.zeros((n,), v.dtype), firm_work=n, centre_flops=2 * n * n,
                                              firm_flops=firms_flops(economy, firm_output, r, v))


#: `project_simplex` sorts up to this many entries (the algorithm every published table of n ≤ 15 goods ran
#: with: Heal's goods have n + 1 uses), compares all pairs up to `PAIRWISE_MAX_ENTRIES`, and runs Michelot's
#: rounds above. The three give the same point to rounding; XLA's CPU sort is slow from 17 entries on (Heal's
#: step at n = 16: 0.60× its NumPy twin sorting, 2.6× by pairs; at n = 64, pairs 0.64× and Michelot 1.35×;
#: `python benchmarks/throughput.py`, 2026-12-06).
SORT_MAX_ENTRIES = 16
PAIRWISE_MAX_ENTRIES = 40


def project_simplex(y: Array, total: Array) -> Array:
    """Euclidean projection of y [k] onto {x ≥ 0, Σ x = total ≥ 0}: max(y − τ, 0) with one shift τ. A zero
    total gives 0 (the set's only point). The algorithm is chosen by k (static): sorting for k ≤
    `SORT_MAX_ENTRIES` (`project_simplex_sort`), all pairs up to `PAIRWISE_MAX_ENTRIES`
    (`project_simplex_pairwise`), Michelot's rounds above (`project_simplex_michelot`); the same point and
    the same Jacobian (tests compare them), different last bits."""
    k = y.shape[0]
    if k <= SORT_MAX_ENTRIES:
        return project_simplex_sort(y, total)
    if k <= PAIRWISE_MAX_ENTRIES:
        return project_simplex_pairwise(y, total)
    return project_simplex_michelot(y, total)


def project_simplex_sort(y: Array, total: Array) -> Array:
    """`project_simplex` by sorting (Held, Wolfe and Crowder 1974): the largest ρ with u_ρ > (Σ_{j≤ρ} u_j −
    total)/ρ over the entries u sorted in decreasing order gives τ = (Σ_{j≤ρ} u_j − total)/ρ."""
    k = y.shape[0]
    u = jnp.sort(y)[::-1]
    css = jnp.cumsum(u) - total
    idx = jnp.arange(1, k + 1, dtype=y.dtype)
    cond = u - css / idx > 0
    last = k - 1 - jnp.argmax(cond[::-1])
    tau = css[last] / (last + 1)
    return jnp.where(total > 0, jnp.maximum(y - tau, 0.0), 0.0)


def project_simplex_pairwise(y: Array, total: Array) -> Array:
    """`project_simplex` without sorting, by comparing all pairs (k² work, no loop): entry i's rank is
    k_i = #{j : y_j ≥ y_i} and its prefix sum S_i = Σ_{j : y_j ≥ y_i} y_j, the sorted algorithm's ρ and
    cumulative sum at i; the entries with y_i > (S_i − total)/k_i are the support, and the one of largest
    k_i among them gives τ = (S_i − total)/k_i."""
    above = y[None, :] >= y[:, None]  # [i, j]: y_j ≥ y_i
    rank = jnp.sum(above, axis=1).astype(y.dtype)
    css = jnp.sum(jnp.where(above, y[None, :], 0.0), axis=1) - total
    cond = y - css / rank > 0  # true at least for a largest entry when total > 0
    last = jnp.argmax(jnp.where(cond, rank, 0.0))
    tau = css[last] / rank[last]
    return jnp.where(total > 0, jnp.maximum(y - tau, 0.0), 0.0)


def project_simplex_michelot(y: Array, total: Array) -> Array:
    """`project_simplex` by Michelot's algorithm (1986), without sorting: τ = (Σ_active y − total)/|active|
    over the entries still active; entries with y ≤ τ leave, repeated until none leaves (τ never decreases;
    at most k rounds, typically a handful). `project_simplex`'s algorithm above `PAIRWISE_MAX_ENTRIES`
    entries. Differentiable: the active set is found without gradients, and the projection is affine in y
    and the total on it."""
    k = y.shape[0]
    y0, total0 = jax.lax.stop_gradient(y), jax.lax.stop_gradient(total)

    def shift(values, active, total):
        return (jnp.sum(jnp.where(active, values, 0.0)) - total) / jnp.maximum(jnp.sum(active), 1)

    def body(carry):
        i, active, _ = carry
        new = active & (y0 > shift(y0, active, total0))
        keep = jnp.any(new)  # total = 0: every entry would leave; the shift is then the largest entry
        new = jnp.where(keep, new, active)
        return i + 1, new, jnp.any(new != active)

    active = jax.lax.while_loop(lambda c: c[2] & (c[0] < k), body, (0, jnp.ones(k, bool), jnp.asarray(True)))[1]
    return jnp.maximum(y - shift(y, active, total), 0.0)


class HealState(eqx.Module):
    plan: Plan
    welfare: Array
    marginal_resources: Array  # firms' last reported ∂f_i/∂r_ij
    marginal_inputs: Array  # firms' last reported ∂f_i/∂v_ik
    step_size: Array


class _HealBase(Procedure):
    """What Heal and its variant share: the firm round, the reported start, the step-size control."""

    has_prices: ClassVar[bool] = False
    step_size: Array = eqx.field(default_factory=lambda: jnp.asarray(0.5), converter=jnp.asarray)
    tolerance: Array = eqx.field(default_factory=lambda: jnp.asarray(1e-7), converter=jnp.asarray)
    grow: Array = eqx.field(default_factory=lambda: jnp.asarray(1.5), converter=jnp.asarray)
    shrink: Array = eqx.field(default_factory=lambda: jnp.asarray(0.5), converter=jnp.asarray)
    max_step: Array = eqx.field(default_factory=lambda: jnp.asarray(1.0), converter=jnp.asarray)

    def domain_violation(self, economy: ProductionEconomy) -> Array:
        from ..economies.technology import is_differentiable

        if not is_differentiable(economy.firms):  # a kinked technology (Leontief) has no marginal productivities
            return jnp.asarray(True)
        return jnp.any(economy.welfare_weights <= 0)

    def domain_message(self) -> str:
        return (f"{self.name}: needs every welfare weight > 0 and a differentiable technology (its firms report "
                "marginal productivities; fixed coefficients have none)")

    def _round(self, economy: ProductionEconomy, r: Array, v: Array):
        """Centre → firms: each firm its allocation; firms → centre: output and marginal productivities."""
        q, mp_r, mp_v = for_firms(economy, firm_report, r, v)
        c = q - jnp.sum(v, axis=0)
        plan = Plan(consumption=c, output=q, resource_use=r, intermediate_use=v)
        return plan, mp_r, mp_v, Messages.of((r, v), (q, mp_r, mp_v), firm_work=economy.n,
                                             firm_flops=firms_flops(economy, firm_report, r, v))

    def init(self, economy: ProductionEconomy) -> tuple[HealState, Messages]:
        r, v, opening = reported_start(economy)
        plan, mp_r, mp_v, msgs = self._round(economy, r, v)
        eta = jnp.asarray(self.step_size, economy.tfp.dtype)
        state = HealState(plan, self._welfare(economy, plan), mp_r, mp_v, eta)
        state, phase = self._subsistence_phase(economy, state)
        return state, opening + msgs + phase

    def _subsistence_phase(self, economy: ProductionEconomy, state: HealState) -> tuple[HealState, Messages]:
        """Opening rounds that lift consumption above subsistence (Stone–Geary), from reports alone.

        While some c_k ≤ γ_k, the centre runs its own step on the relaxed welfare Σ w̄ log(c − s γ), with
        s = `SUBSISTENCE_MARGIN` · min_k c_k/γ_k (capped at 1) recomputed from the current plan each
        round, so the current plan always has finite relaxed welfare, and equal weights w̄ = mean(w) (every
        good's subsistence counts alike, however little the planners value it above subsistence: with
        the planners' own weights, goods weighted 1e-3 were lifted too slowly); raising the goods closest
        to their subsistence raises s, and the phase ends once c > γ. At most `SUBSISTENCE_ROUNDS` rounds, counted
        (messages and solves) only while needed; a plan still short after them leaves the run `failed`.
        A no-op for log and CES welfare and whenever the reported start already clears subsistence.
        """
        gamma = economy.subsistence
        has_gamma = gamma > 0
        equal = jnp.full_like(economy.welfare_weights, jnp.mean(economy.welfare_weights))

        def round_(state, _):
            short = ~jnp.isfinite(state.welfare)
            ratio = jnp.min(jnp.where(has_gamma, state.plan.consumption / jnp.where(has_gamma, gamma, 1.0), jnp.inf))
            share = jnp.clip(SUBSISTENCE_MARGIN * ratio, 0.0, 1.0)
            relaxed = eqx.tree_at(lambda e: (e.subsistence, e.welfare_weights), economy, (share * gamma, equal))
            trial = eqx.tree_at(lambda s: s.welfare, state, self._welfare(relaxed, state.plan))
            new, msgs = self.step(relaxed, trial)
            new = eqx.tree_at(lambda s: s.welfare, new, self._welfare(economy, new.plan))
            state = jax.tree_util.tree_map(lambda a, b: jnp.where(short, a, b), new, state)
            return state, msgs.where(short)

        def phase(state):
            state, msgs = jax.lax.scan(round_, state, None, length=SUBSISTENCE_ROUNDS)
            return state, msgs.total()

        # skipped outright where the start already clears subsistence in every economy of the batch (where
        # some economy needs it, the phase's rounds change only the economies still short)
        return cond_all(jnp.isfinite(state.welfare), lambda s: (s, Messages.of((), ())), phase, state)

    @staticmethod
    def _welfare(economy: ProductionEconomy, plan: Plan) -> Array:
        """Welfare of a plan, −∞ unless every consumption is above subsistence."""
        ok = jnp.all(plan.consumption > economy.subsistence)
        return jnp.where(ok, welfare(economy, jnp.where(ok, plan.consumption, economy.subsistence + 1.0)), -jnp.inf)

    def _control(self, economy: ProductionEconomy, state: HealState, r: Array, v: Array, solves: int = 0,
                 centre_flops=0.0):
        """Send the proposal, hear the reports, accept only a feasible plan that does not lower welfare.
        `centre_flops`: the centre's work forming the proposal; the acceptance test (consumption n², welfare
        5n) is added here."""
        new_plan, mp_r, mp_v, msgs = self._round(economy, r, v)
        n = economy.n
        msgs = msgs + Messages.of((), (), solves=solves, centre_flops=centre_flops + n * n + 5 * n)
        new_welfare = self._welfare(economy, new_plan)
        eta = state.step_size
        accept = jnp.isfinite(new_welfare) & (new_welfare >= state.welfare)
        new_eta = jnp.where(accept, jnp.minimum(eta * self.grow, self.max_step), eta * self.shrink)
        proposed = HealState(new_plan, new_welfare, mp_r, mp_v, new_eta)
        kept = HealState(state.plan, state.welfare, state.marginal_resources, state.marginal_inputs, new_eta)
        return jax.tree_util.tree_map(lambda a, b: jnp.where(accept, a, b), proposed, kept), msgs

    @staticmethod
    def _consumption_values(economy: ProductionEconomy, plan: Plan) -> Array:
        return jax.grad(welfare, argnums=1)(economy, plan.consumption)


class Heal(_HealBase):
    """Heal's rule (Heal 1969): allocations move by κ_k (value − average); see the module docstring.

    Attributes:
        step_size: initial κ (unit-free). grow, shrink, max_step: the step-size control.
        tolerance: stop when every used allocation's marginal social value is within this relative
            distance of its good's average (and no unused one is above it). Default 1e-6: near the
            optimum a step's welfare gain is of the order of the residual squared, and below a residual of
            about √(machine epsilon) it drowns in rounding, so the acceptance test refuses every step.
    """

    name: ClassVar[str] = "heal"
    tolerance: Array = eqx.field(default_factory=lambda: jnp.asarray(1e-6), converter=jnp.asarray)

    def _values(self, economy: ProductionEconomy, state: HealState):
        """(resource values σ [n, m], goods values [n + 1, n]: rows firms then consumption)."""
        pi = self._consumption_values(economy, state.plan)
        sigma = pi[:, None] * state.marginal_resources
        mu = pi[:, None] * state.marginal_inputs
        return sigma, jnp.concatenate([mu, pi[None, :]])

    @staticmethod
    def _move(x: Array, value: Array, total: Array, kappa: Array) -> Array:
        """One good's (or resource's) allocation x [uses] moved by Heal's rule and projected."""
        held = x > 0
        count = jnp.maximum(jnp.sum(held), 1)
        mean_value = jnp.sum(x * value) / jnp.where(total > 0, total, 1.0)
        safe_mean = jnp.where(mean_value > 0, mean_value, 1.0)
        average = jnp.sum(jnp.where(held, value, 0.0)) / count
        speed = kappa * total / (count * safe_mean)
        target = project_simplex(x + speed * (value - average), total)
        # a use of positive value never loses more than half its allocation in one step: its marginal
        # productivity is unbounded at zero (CES and Cobb–Douglas inputs), so the optimum keeps it positive
        d = target - x
        shrinking = (value > 0) & (d < 0)
        limit = jnp.min(jnp.where(shrinking, 0.5 * x / jnp.where(shrinking, -d, 1.0), 1.0))
        return x + jnp.minimum(limit, 1.0) * d

    def step(self, economy: ProductionEconomy, state: HealState) -> tuple[HealState, Messages]:
        plan = state.plan
        sigma, goods_values = self._values(economy, state)
        kappa = state.step_size
        r = jax.vmap(self._move, in_axes=(1, 1, 0, None), out_axes=1)(
            plan.resource_use, sigma, economy.endowments, kappa
        )
        uses = jnp.concatenate([plan.intermediate_use, plan.consumption[None, :]])
        moved = jax.vmap(self._move, in_axes=(1, 1, 0, None), out_axes=1)(uses, goods_values, plan.output, kappa)
        # centre: marginal social values (5n + n(n + m)), per use of every good and resource the move and the
        # half-loss cut (10 each), and one sort-based projection per good (n + 1 uses) and per resource (n).
        # This is Lustosa's "solve a set of simultaneous linear equations to determine the new allocations"
        # in discrete time: each good's balance Σ_u max(y_u − τ_k, 0) = X_k, one equation per good in its
        # shift τ_k, solved exactly by the projection; there is no dense system (so `solves` is 0).
        n, m = economy.n, economy.m
        centre = (5 * n + n * (n + m) + 10 * (n * (n + 1) + n * m)
                  + n * projection_flops(n + 1) + m * projection_flops(n))
        return self._control(economy, state, r, moved[:-1], centre_flops=centre)

    def observe(self, economy: ProductionEconomy, state: HealState) -> Observation:
        sigma, goods_values = self._values(economy, state)
        plan = state.plan
        uses = jnp.concatenate([plan.intermediate_use, plan.consumption[None, :]])

        def deviation(x, value):
            held = x > 0
            average = jnp.sum(jnp.where(held, value, 0.0)) / jnp.maximum(jnp.sum(held), 1)
            rel = value / jnp.where(average > 0, average, 1.0) - 1.0
            return jnp.max(jnp.where(held, jnp.abs(rel), jnp.maximum(rel, 0.0)))

        dev_r = jax.vmap(deviation, in_axes=(1, 1))(plan.resource_use, sigma)
        dev_v = jax.vmap(deviation, in_axes=(1, 1))(uses, goods_values)
        nan = lambda k: jnp.full((k,), jnp.nan, sigma.dtype)
        return Observation(
            plan=plan,
            goods_prices=nan(economy.n),
            resource_prices=nan(economy.m),
            residual=jnp.maximum(jnp.max(dev_r), jnp.max(dev_v)),
            failed=~jnp.isfinite(state.welfare),  # only an infeasible start: later plans are accepted only if feasible
        )


def _z_solve(a: Array, b: Array) -> Array:
    """x with a x = b for the Z-matrices I − B of the variant (B ≥ 0: output shares times elasticities),
    by elimination without pivoting (`jplan._linalg.z_factor`)."""
    factors, _ = z_factor(a)
    return z_lu_solve(factors, b)


def _reshare(x: Array, value: Array, eta: Array) -> Array:
    """New fractions of each column's total over its uses (rows), moved towards above-average value.

    x [uses, items]: current quantities; value [uses, items]: their marginal social values. Returns
    fractions [uses, items] summing to 1 over the uses of each item, exactly 0 where x == 0.
    """
    total = jnp.sum(x, axis=0)
    safe_total = jnp.where(total > 0, total, 1.0)
    average = jnp.sum(x * value, axis=0) / safe_total
    used = (x > 0) & (value > 0)
    ratio = jnp.where(used, value / jnp.where(average > 0, average, 1.0)[None, :], 1.0)
    moved = jnp.where(used, x / safe_total[None, :] * jnp.exp(eta * jnp.log(ratio)), 0.0)
    norm = jnp.sum(moved, axis=0)
    return moved / jnp.where(norm > 0, norm, 1.0)[None, :]


def _log_ratio(new: Array, old: Array) -> Array:
    ok = (new > 0) & (old > 0)
    return jnp.where(ok, jnp.log(jnp.where(ok, new, 1.0)) - jnp.log(jnp.where(ok, old, 1.0)), 0.0)


class HealProportional(_HealBase):
    """The proportional-response variant of Heal's procedure (not Heal's rule; see the module docstring).

    Attributes:
        step_size: initial η. grow, shrink, max_step: step-size control.
        tolerance: stop when every marginal social value is within this relative distance of the
            reference it is compared with (the optimality conditions hold to this accuracy).
    """

    name: ClassVar[str] = "heal-proportional"

    def _values(self, economy: ProductionEconomy, state: HealState):
        """Marginal social values of every use: (σ, σ̄, μ, π).

        π = ∂U/∂c is a good's value in consumption. An extra unit of good i's *output* is shared over
        all of i's uses in their current fractions, so it is worth λ_i = f_ci π_i + Σ_j f_ji λ_j ∂f_j/∂v_ji
        (a linear system in λ, solved from the firms' reports); inputs of firm i are valued at λ_i
        times their marginal productivity. At the optimum every use of a good has the same value and
        λ = π.
        """
        plan = state.plan
        pi = self._consumption_values(economy, plan)
        q = plan.output
        # B[j, i] = f_ji ∂f_j/∂v_ji: output of j gained per unit of i's output sent along i's uses
        B = plan.intermediate_use * state.marginal_inputs / q[None, :]
        lam = _z_solve(jnp.eye(economy.n, dtype=q.dtype) - B.T, plan.consumption / q * pi)
        sigma = lam[:, None] * state.marginal_resources
        total = jnp.sum(plan.resource_use, axis=0)
        sigma_bar = jnp.sum(plan.resource_use * sigma, axis=0) / jnp.where(total > 0, total, 1.0)
        mu = lam[:, None] * state.marginal_inputs
        return sigma, sigma_bar, mu, pi

    def step(self, economy: ProductionEconomy, state: HealState) -> tuple[HealState, Messages]:
        sigma, _, mu, pi = self._values(economy, state)
        eta = state.step_size
        plan = state.plan
        n = economy.n
        # resources: fractions of each endowment over the firms using it
        g_old = plan.resource_use / economy.endowments[None, :]
        g_new = _reshare(plan.resource_use, sigma, eta)
        # goods: fractions of each output over its uses; rows 0..n-1 are firms, row n is consumption
        uses = jnp.concatenate([plan.intermediate_use, plan.consumption[None, :]])
        f_old = uses / plan.output[None, :]
        f_new = _reshare(uses, jnp.concatenate([mu, pi[None, :]]), eta)
        # predicted outputs from the firms' reported elasticities (exact for Cobb–Douglas)
        q = plan.output
        eps_r = state.marginal_resources * plan.resource_use / q[:, None]
        eps_v = state.marginal_inputs * plan.intermediate_use / q[:, None]
        dlog_f = _log_ratio(f_new[:n], f_old[:n])
        rhs = jnp.sum(eps_r * _log_ratio(g_new, g_old), axis=1) + jnp.sum(eps_v * dlog_f, axis=1)
        dlog_q = _z_solve(jnp.eye(n, dtype=q.dtype) - eps_v, rhs)
        r = g_new * economy.endowments[None, :]
        v = f_new[:n] * (q * jnp.exp(dlog_q))[None, :]
        # centre: two Z-matrix solves of order n (λ and the predicted outputs), the marginal values and
        # reshares (≈ 20 per use of every good and resource) and the elasticities and log ratios (≈ 10 each)
        uses_count = n * (n + 1) + n * economy.m
        centre = 2 * solve_flops(n) + 30 * uses_count + 5 * n
        return self._control(economy, state, r, v, solves=2, centre_flops=centre)

    def observe(self, economy: ProductionEconomy, state: HealState) -> Observation:
        sigma, sigma_bar, mu, pi = self._values(economy, state)
        plan = state.plan
        # uses the firms actually hold (the reported start also gives firms goods they do not use)
        uses_r = plan.resource_use > 0
        uses_v = plan.intermediate_use > 0
        dev_r = jnp.where(uses_r, jnp.abs(sigma / jnp.where(sigma_bar > 0, sigma_bar, 1.0)[None, :] - 1.0), 0.0)
        dev_v = jnp.where(uses_v & (state.marginal_inputs > 0), jnp.abs(mu / pi[None, :] - 1.0), 0.0)
        nan = lambda k: jnp.full((k,), jnp.nan, pi.dtype)
        return Observation(
            plan=state.plan,
            goods_prices=nan(economy.n),
            resource_prices=nan(economy.m),
            residual=jnp.maximum(jnp.max(dev_r, initial=0.0), jnp.max(dev_v, initial=0.0)),
            failed=~jnp.isfinite(state.welfare),
        )
