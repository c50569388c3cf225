"""Heal's rule on national-size sparse economies (`sparse_heal`): the dense `jplan.procedures.Heal` use by use. The centre allocates labour
over the firms and every good over the firm slots that hold it and consumption; firms report outputs and
marginal productivities (`sparse_firm_report`, by `jax.grad`); each allocation moves by κ_k (value −
average) and is projected onto its good's simplex, segment by segment and without sorting
(`segment_project_simplex`, Michelot's algorithm), with the dense rule's speeds, half-loss limit, start
and step-size control. From the same plan its steps equal the dense procedure's on `to_dense()` where
no firm holds one good in two slots (test). The centre learns the slot pattern from the firms' first
report (which slots each uses), never their shares. Every iterate is feasible and welfare never falls;
one κ for the whole economy means one good whose consumption would turn negative vetoes a step, which
at 10⁵ goods happens often (see `docs/benchmarks_scale.md`).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int

from ..economies.sparse import SparseProductionEconomy
from .heal import OPENING_ROUNDS, START_FRACTION

__all__ = ["sparse_heal", "SparseHealResult", "SparseHealState", "sparse_heal_start", "sparse_heal_step", "sparse_heal_proposal",
           "sparse_heal_residual", "sparse_firm_report", "segment_project_simplex"]


def _shift(y, active, segments, totals):
    """Each segment's shift τ = (Σ_active y − total)/|active| (one scatter for both sums)."""
    sums = jax.ops.segment_sum(jnp.stack([jnp.where(active, y, 0.0), active.astype(y.dtype)], axis=1), segments,
                               num_segments=totals.shape[0])
    return (sums[:, 0] - totals) / jnp.maximum(sums[:, 1], 1.0)


def _active_set(y, segments, totals, mask, rounds):
    """Michelot's active set (see `segment_project_simplex`), on values without gradients."""

    def shift(active):
        return _shift(y, active, segments, totals)

    def cond(carry):
        i, _, changed = carry
        return changed & (i < rounds)

    def body(carry):
        i, active, _ = carry
        new = active & (y > shift(active)[segments])
        return i + 1, new, jnp.any(new != active)

    return jax.lax.while_loop(cond, body, (0, mask, jnp.asarray(True)))[1]


def segment_project_simplex(y: Array, segments: Array, totals: Array, mask: Array, max_rounds: int | None = None
                            ) -> Array:
    """The Euclidean projection of each segment of y onto {x ≥ 0, Σ x = total of the segment}.

    Michelot's algorithm (1986), without sorting: per segment the shift τ = (Σ_active y − total)/|active|
    over the entries still active; entries with y ≤ τ leave the active set, repeated until none leaves
    (τ never decreases, so a removed entry stays at 0); the projection is max(y − τ, 0). The same point as
    the sort-based `jplan.procedures.heal.project_simplex`, segment by segment, in at most as many rounds
    as the largest segment has entries (typically a handful). Differentiable: the active set is found
    without gradients and the projection is affine in y and the totals on it.

    Args:
        y: [E] the entries of every segment.
        segments: [E] int, each entry's segment in 0 … S − 1.
        totals: [S] each segment's total (> 0).
        mask: [E] bool, entries that take part (the others come back 0).
        max_rounds: a bound on the rounds (default E + 1, which is never reached).
    """
    rounds = y.shape[0] + 1 if max_rounds is None else max_rounds
    active = _active_set(jax.lax.stop_gradient(y), segments, jax.lax.stop_gradient(totals), mask, rounds)
    tau = _shift(y, active, segments, totals)
    return jnp.where(active, jnp.maximum(y - tau[segments], 0.0), 0.0)


def _segment_move(x, value, segments, totals, mask, kappa):
    """Heal's rule for every good at once: each segment's allocation x moved by s_k (value − average) and
    projected, with the dense rule's speed and half-loss limit (`jplan.procedures.Heal._move`)."""
    num = totals.shape[0]
    held = mask & (x > 0)
    # the held uses' count, Σ x·value and the held values' sum, in one scatter
    sums = jax.ops.segment_sum(jnp.stack([held.astype(x.dtype), jnp.where(mask, x * value, 0.0),
                                          jnp.where(held, value, 0.0)], axis=1), segments, num_segments=num)
    count = jnp.maximum(sums[:, 0], 1.0)
    mean_value = sums[:, 1] / jnp.where(totals > 0, totals, 1.0)
    safe_mean = jnp.where(mean_value > 0, mean_value, 1.0)
    average = sums[:, 2] / count
    speed = kappa * totals / (count * safe_mean)
    target = segment_project_simplex(x + speed[segments] * (value - average[segments]), segments, totals, mask)
    d = jnp.where(mask, target - x, 0.0)
    shrinking = mask & (value > 0) & (d < 0)
    ratio = jnp.where(shrinking, 0.5 * x / jnp.where(shrinking, -d, 1.0), 1.0)
    limit = jnp.minimum(jax.ops.segment_min(ratio, segments, num_segments=num), 1.0)
    return x + limit[segments] * d


def _segment_deviation(x, value, segments, mask, num):
    """The largest relative distance of a held use's value from its segment's average over held uses (and
    how far an unheld use is above it): the residual of the dense `Heal.observe`."""
    held = mask & (x > 0)
    sums = jax.ops.segment_sum(jnp.stack([jnp.where(held, value, 0.0), held.astype(x.dtype)], axis=1), segments,
                               num_segments=num)
    avg = (sums[:, 0] / jnp.maximum(sums[:, 1], 1.0))[segments]
    rel = value / jnp.where(avg > 0, avg, 1.0) - 1.0
    return jnp.max(jnp.where(held, jnp.abs(rel), jnp.where(mask, jnp.maximum(rel, 0.0), 0.0)))


def sparse_firm_report(shares: Array, labour_share: Array, tfp: Array, labour: Array, inputs: Array
                       ) -> tuple[Array, Array, Array]:
    """The firm-side agent of Heal's rule: output and marginal productivities (∂q/∂ℓ, ∂q/∂v [K], by
    `jax.grad`) at the labour ℓ and the inputs v [K] of its own slots, for q = A ℓ^α Π_k v_k^β_k."""
    def output(l, v):
        used = shares > 0
        log_q = (jnp.log(tfp) + labour_share * jnp.log(l)
                 + jnp.sum(jnp.where(used, shares * jnp.log(jnp.where(used, v, 1.0)), 0.0)))
        return jnp.exp(log_q)

    q, (mp_l, mp_v) = jax.value_and_grad(output, argnums=(0, 1))(labour, inputs)
    return q, mp_l, mp_v


class SparseHealState(eqx.Module):
    """The centre's current plan on a sparse economy and what the firms have told it.

    Attributes:
        used: [n, K] bool, the slots each firm said it uses (its first report).
        labour: ℓ [n], each firm's labour (Σ ℓ = L).
        inputs: v [n, K], the amount of good `economy.inputs[j, k]` in firm j's slot k (0 in unused slots).
        output, consumption: q [n] as reported, c = q − the goods' uses in production [n].
        welfare: Σ w log c (−∞ unless every c > 0).
        marginal_labour, marginal_inputs: the reported ∂q_j/∂ℓ_j [n] and ∂q_j/∂v_jk [n, K].
        step_size: κ, the centre's current step.
    """

    used: Bool[Array, "n K"]
    labour: Float[Array, " n"]
    inputs: Float[Array, "n K"]
    output: Float[Array, " n"]
    consumption: Float[Array, " n"]
    welfare: Float[Array, ""]
    marginal_labour: Float[Array, " n"]
    marginal_inputs: Float[Array, "n K"]
    step_size: Float[Array, ""]


def _firms(economy: SparseProductionEconomy, labour: Array, inputs: Array):
    """The firms (vmapped, each over its own slots): output and marginal productivities at their allocation."""
    return jax.vmap(sparse_firm_report)(economy.input_shares, economy.labour_shares, economy.tfp, labour, inputs)


def _heal_round(economy: SparseProductionEconomy, used: Array, labour: Array, inputs: Array, step_size: Array
                ) -> SparseHealState:
    """Centre → firms: each firm its labour and its slots' inputs; firms → centre: output and marginal
    productivities. Consumption is what is left of each good's output (the centre's sum over the slot
    pattern), welfare the planners' Σ w log c."""
    n = economy.n
    q, mp_l, mp_v = _firms(economy, labour, inputs)
    c = q - jax.ops.segment_sum(jnp.where(used, inputs, 0.0).reshape(-1), economy.inputs.reshape(-1), num_segments=n)
    ok = jnp.all(c > 0)
    welfare = jnp.where(ok, jnp.sum(economy.welfare_weights * jnp.log(jnp.where(ok, c, 1.0))), -jnp.inf)
    return SparseHealState(used, labour, inputs, q, c, welfare, mp_l, jnp.where(used, mp_v, 0.0), step_size)


def _uses(economy: SparseProductionEconomy, state: SparseHealState):
    """Every good's uses flattened: (allocations, values, segment ids, mask), slots first, then consumption,
    and the consumption values π = ∂U/∂c (the marginal social value of each good)."""
    n = economy.n
    pi = economy.welfare_weights / state.consumption
    x = jnp.concatenate([state.inputs.reshape(-1), state.consumption])
    value = jnp.concatenate([(pi[:, None] * state.marginal_inputs).reshape(-1), pi])
    segments = jnp.concatenate([economy.inputs.reshape(-1), jnp.arange(n, dtype=economy.inputs.dtype)])
    mask = jnp.concatenate([state.used.reshape(-1), jnp.ones((n,), bool)])
    return x, value, segments, mask, pi


def sparse_heal_start(economy: SparseProductionEconomy, step_size=0.5) -> SparseHealState:
    """The centre's first plan from public data and reports only, as in the dense procedure
    (`jplan.procedures.heal.reported_start`). Each firm first says which of its slots it uses; labour is
    divided equally over the firms, every used slot gets a token 1e-6, then for `OPENING_ROUNDS` rounds
    every user of a good receives `START_FRACTION`/N_k of its last reported output (N_k: the good's users),
    the firms reporting their outputs back."""
    n = economy.n
    dtype = economy.input_shares.dtype
    used = economy.input_shares > 0  # the firms' first report: the slots they use
    labour = jnp.full((n,), economy.labour / n, dtype)
    users = jax.ops.segment_sum(used.reshape(-1).astype(dtype), economy.inputs.reshape(-1), num_segments=n)
    share = START_FRACTION / jnp.maximum(users, 1.0)

    def round_(v, _):
        q = _firms(economy, labour, v)[0]
        return jnp.where(used, (share * q)[economy.inputs], 0.0), None

    v, _ = jax.lax.scan(round_, jnp.where(used, 1e-6, 0.0).astype(dtype), None, length=OPENING_ROUNDS)
    return _heal_round(economy, used, labour, v, jnp.asarray(step_size, dtype))


def sparse_heal_residual(economy: SparseProductionEconomy, state: SparseHealState) -> Array:
    """The dense `Heal`'s stopping residual: the largest relative distance of a held use's marginal
    social value from its good's (or labour's) average over held uses."""
    x, value, segments, mask, pi = _uses(economy, state)
    dev_goods = _segment_deviation(x, value, segments, mask, economy.n)
    zeros = jnp.zeros((economy.n,), segments.dtype)
    dev_labour = _segment_deviation(state.labour, pi * state.marginal_labour, zeros, jnp.ones_like(state.labour, bool), 1)
    return jnp.maximum(dev_goods, dev_labour)


def sparse_heal_proposal(economy: SparseProductionEconomy, state: SparseHealState) -> tuple[Array, Array]:
    """The centre's move (ℓ [n], v [n, K]): every good's and labour's allocation moved by Heal's rule and
    projected. It reads the plan and reports in `state`, the welfare weights, the labour endowment and
    the slot pattern, and nothing of any firm's technology."""
    n, K = economy.inputs.shape
    x, value, segments, mask, pi = _uses(economy, state)
    kappa = state.step_size
    moved = _segment_move(x, value, segments, state.output, mask, kappa)
    zeros = jnp.zeros((n,), segments.dtype)
    labour = _segment_move(state.labour, pi * state.marginal_labour, zeros, jnp.reshape(economy.labour, (1,)),
                           jnp.ones((n,), bool), kappa)
    return labour, moved[: n * K].reshape(n, K)


def sparse_heal_step(economy: SparseProductionEconomy, state: SparseHealState, grow=1.5, shrink=0.5, max_step=1.0
                     ) -> SparseHealState:
    """One step of Heal's rule on the sparse type (the dense `Heal.step`, use by use): the centre's
    proposal (`sparse_heal_proposal`), the firms' reports there, and the step-size control: the proposal is
    kept only if every consumption stays positive and welfare does not fall (κ then grows ×`grow` up to
    `max_step`); otherwise the plan stays and κ shrinks ×`shrink`."""
    labour, inputs = sparse_heal_proposal(economy, state)
    kappa = state.step_size
    proposal = _heal_round(economy, state.used, labour, inputs, kappa)
    accept = jnp.isfinite(proposal.welfare) & (proposal.welfare >= state.welfare)
    new_kappa = jnp.where(accept, jnp.minimum(kappa * grow, max_step), kappa * shrink)
    kept = jax.tree_util.tree_map(lambda a, b: jnp.where(accept, a, b), proposal, state)
    return eqx.tree_at(lambda s: s.step_size, kept, new_kappa)


class SparseHealResult(eqx.Module):
    """What a run of `sparse_heal` returns (per-step series have length steps + 1; index 0 is the start).

    Attributes:
        state: the last accepted plan and reports (`SparseHealState`).
        welfare: Σ w log c per step (non-decreasing); residual: the stopping residual per step.
        messages_down, messages_up: floats (and slot flags) sent in all: allocations to each firm; the used
            slots once, outputs, and marginal productivities back; the opening rounds included.
        status: 0 not_converged, 1 converged, 2 failed (`STATUS_NAMES`: the start left a consumption ≤ 0);
        steps: steps taken.
    """

    state: SparseHealState
    welfare: Float[Array, " T"]
    residual: Float[Array, " T"]
    messages_down: Int[Array, ""]
    messages_up: Int[Array, ""]
    status: Int[Array, ""]
    steps: Int[Array, ""]
    converged: Bool[Array, ""]


def sparse_heal(economy: SparseProductionEconomy, steps: int = 1000, tolerance: float = 1e-6, *, step_size=0.5,
                grow=1.5, shrink=0.5, max_step=1.0) -> SparseHealResult:
    """Run Heal's rule ("planning without prices", Heal 1969) on a sparse economy for at most `steps` steps.

    The same rule, start and step-size control as the dense `jplan.procedures.Heal` (its module docstring
    states them), with every good's uses being the firm slots that hold it and its consumption: the
    per-good averages, speeds, projections (`segment_project_simplex`, no sort) and half-loss limits are
    segment reductions, and the firms are vmapped over their own slots. The centre learns the slot
    pattern (which firms use which goods: the network its messages travel on) from the firms' first
    report, never their shares. Every iterate is feasible (labour sums to L, every consumption is
    positive) and welfare never falls. jit-, vmap- and grad-safe (`steps` static); frozen once the
    residual is at most `tolerance`.

    Args:
        economy: one `SparseProductionEconomy`.
        steps: the step limit.
        tolerance: stop when every held use's marginal social value is within this relative distance of
            its good's average (default 1e-6, as the dense procedure).
        step_size: the initial κ.
        grow: κ's factor after an accepted step.
        shrink: κ's factor after a refused one.
        max_step: κ's upper bound.
    """
    n, K = economy.inputs.shape
    state0 = sparse_heal_start(economy, step_size)
    r0 = sparse_heal_residual(economy, state0)
    status0 = jnp.where(~jnp.isfinite(state0.welfare), 2, jnp.where(r0 <= tolerance, 1, 0))

    def body(carry, _):
        state, status, residual = carry
        running = status == 0
        def advance(state):
            new = sparse_heal_step(economy, state, grow, shrink, max_step)
            return new, sparse_heal_residual(economy, new)

        # a real branch for one economy (frozen steps cost nothing); under vmap both sides
        state, residual = jax.lax.cond(running, advance, lambda st: (st, residual), state)
        status = jnp.where(running & (residual <= tolerance), 1, status)
        return (state, status, residual), (state.welfare, residual, running)

    (state, status, _), (welfare, residual, active) = jax.lax.scan(body, (state0, status0, r0), None, length=steps)
    taken = jnp.sum(active)
    nonzeros = jnp.sum(state0.used)
    # allocations down every round; up: the used slots once, outputs in the opening rounds, then outputs
    # and marginal productivities
    down = (OPENING_ROUNDS + 1 + taken) * (n + nonzeros)
    up = n * K + OPENING_ROUNDS * n + (1 + taken) * (2 * n + nonzeros)
    return SparseHealResult(
        state=state, welfare=jnp.concatenate([state0.welfare[None], welfare]),
        residual=jnp.concatenate([r0[None], residual]), messages_down=down, messages_up=up,
        status=status, steps=taken, converged=status == 1,
    )
