"""The Leontief–Samuelson–Malinvaud (LSM) procedure (Malinvaud 1967; Lustosa (1987) §5.1.2).

Domain: one primary factor (labour, the numeraire, endowment L) and constant returns in every firm.

Each step the centre announces goods prices p^s. Every firm reports the input coefficients that
minimise its unit cost at those prices, obtained as the gradient of its unit-cost function
(Shephard's lemma, by `jax.grad`): labour coefficient a0_j and intermediate coefficients a_·j. The
centre then reasons on the Leontief model they define:

    p^{s+1} = (I − A^s)ᵀ⁻¹ a0^s            (prices equal to unit costs of the reported techniques)
    c = argmax U(c) s.t. p^{s+1}·c = L      (c_k = (w_k/Σw) L / p_k)
    g = (I − A^s)⁻¹ c                        (gross outputs)

Every plan is feasible (labour used = p·c = L, each balance holds with equality) and, as Malinvaud
shows, prices fall and welfare rises from the first iterate on; the prices converge to the
non-substitution-theorem prices, the plan to the optimum.

A technique matrix that is not productive (spectral radius ≥ 1) shows up as a non-positive price
vector; the run then ends with status "failed".

Technology: any CES firm (Cobb–Douglas included) through the unit cost of its aggregate (`jax.grad` of
it gives the coefficients), and any constant-returns user technology (`jplan.economies.ProductionTechnology`)
through `generic_coefficients`, Newton on its cost-minimisation conditions (each firm's iterations count
as its work; the domain check tests constant returns, f(2x) = 2f(x), and a positive labour productivity
at x = 1). Welfare: every family (`jplan.economies.consumer_demand` with income L).

Start: LSM needs a productive first technique. The centre forms it from reports alone: it announces a
uniform price t = 1, 2, 4, … (one probe round each, messages counted, at most `START_PROBES`) until every
firm's reported coefficients cover its cost, a0_j + t Σ_h a_hj ≤ t. Then pᵀ(I − A) ≥ a0ᵀ > 0 at
p = t·1, so the reported matrix is productive. What the centre must know: only that labour is the
numeraire and the firms' reports. With strong complementarity (σ ≪ 1 and many inputs) no uniform price
covers costs; the start then fails and the run says so (status "failed").
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array

from .._linalg import z_factor, z_lu_solve
from ..economies.production import (
    FirmTechnology,
    Plan,
    ProductionEconomy,
    ces_cost_shares,
    cobb_douglas_cost_shares,
    consumer_demand,
    for_firms,
    is_cobb_douglas,
    output,
    xlogy_masked,
)
from .work import firms_flops, lu_flops, triangular_flops
from .base import Messages, Observation, Procedure

__all__ = ["Malinvaud", "unit_cost", "firm_coefficients", "reported_start_price", "START_PROBES"]

START_PROBES = 60


def unit_cost(tech: FirmTechnology, input_prices: Array) -> Array:
    """Minimum cost of one unit of output at input prices [1 + n] (labour first), constant returns.

    For Cobb–Douglas with shares a: c(π) = (1/A) Π_l (π_l / a_l)^(a_l); for CES κ(π)/A with κ the unit cost
    of the aggregate. Labour is the first resource (in the procedure's domain the only one).
    """
    shares = jnp.concatenate([tech.resource_shares[:1], tech.input_shares])
    cobb_douglas = jnp.exp(jnp.sum(xlogy_masked(shares, input_prices)) - jnp.sum(xlogy_masked(shares, shares)) - jnp.log(tech.tfp))
    cd = is_cobb_douglas(tech.elasticity)
    m = tech.resource_shares.shape[0]
    # CES: all m resources priced at the labour price (only labour exists in the domain)
    prices = jnp.concatenate([jnp.broadcast_to(input_prices[:1], (m,)), input_prices[1:]])
    ces_tech = eqx.tree_at(lambda t: t.elasticity, tech, jnp.where(cd, 2.0, tech.elasticity))
    ces = jnp.exp(ces_tech.log_unit_cost(prices) - jnp.log(tech.tfp))
    return jnp.where(cd, cobb_douglas, ces)


def firm_coefficients(tech: FirmTechnology, goods_prices: Array, log_goods_prices: Array | None = None,
                      cobb_douglas: bool = False) -> tuple[Array, Array]:
    """The firm-side agent: cost-minimising coefficients at the announced prices (Shephard's lemma).

    Args:
        tech: this firm's technology; goods_prices: the centre's message [n] (labour = 1).
        log_goods_prices: optionally their logarithms (taken once where many firms read one message).
        cobb_douglas: (static) the caller knows the firm is Cobb–Douglas; the CES formulas are skipped.

    Returns:
        (labour coefficient a0_j, intermediate coefficients a_·j [n]) = ∇ unit_cost at (1, p), in closed
        form: with κ and cost shares s of the firm's aggregate (`ces_cost_shares`), the coefficient of
        input l is (κ/A) s_l/π_l (for Cobb–Douglas s = the shares).
    """
    m = tech.resource_shares.shape[0]
    dtype = goods_prices.dtype
    if log_goods_prices is None:
        log_goods_prices = jnp.log(jnp.where(goods_prices > 0, goods_prices, 1.0))
    log_goods_prices = jnp.where(goods_prices > 0, log_goods_prices, -jnp.inf)
    shares = jnp.concatenate([tech.resource_shares, tech.input_shares])
    # every resource is priced at the labour price 1 (only labour exists in the domain)
    prices = jnp.concatenate([jnp.ones((m,), dtype), goods_prices])
    log_prices = jnp.concatenate([jnp.zeros((m,), dtype), log_goods_prices])
    if cobb_douglas:
        log_kappa, s = cobb_douglas_cost_shares(shares, log_prices)
    else:
        log_kappa, s = ces_cost_shares(shares, log_prices, tech.elasticity)
    cost = jnp.exp(log_kappa - jnp.log(tech.tfp))
    coefficients = jnp.where(s > 0, cost * s / jnp.where(s > 0, prices, 1.0), 0.0)
    return jnp.sum(coefficients[:m]), coefficients[m:]


def _firms_coefficients(economy: ProductionEconomy, goods_prices: Array) -> tuple[Array, Array, int]:
    """Every firm's coefficients at the goods prices [n, n] each firm was sent (labour = 1), and the firms'
    work: closed forms for the built-in families, `generic_coefficients` for a user technology."""
    firms = economy.firms
    if isinstance(firms, FirmTechnology):
        log_prices = jnp.log(jnp.where(goods_prices > 0, goods_prices, 1.0))
        a0, inputs = for_firms(economy, firm_coefficients, goods_prices, log_prices)
        return a0, inputs, _firm_work(economy)
    from ..economies.technology import generic_coefficients

    def one(tech, p):
        x, _ = generic_coefficients(tech, jnp.concatenate([jnp.ones((1,), p.dtype), p]), 1)
        return x[0], x[1:]

    a0, inputs = jax.vmap(one)(firms, goods_prices)
    return a0, inputs, _firm_work(economy)


def _firms_flops(economy: ProductionEconomy, goods_prices: Array) -> Array:
    """The firms' flops of one round of `_firms_coefficients` (`jplan.procedures.work`): XLA's count of one
    firm's response × n, plus the logarithms each firm takes of its n prices."""
    from ..economies.technology import generic_coefficients

    if isinstance(economy.firms, FirmTechnology):
        return firms_flops(economy, firm_coefficients, goods_prices, goods_prices) + economy.n**2

    def one(tech, p):
        x, _ = generic_coefficients(tech, jnp.concatenate([jnp.ones((1,), p.dtype), p]), 1)
        return x[0], x[1:]

    return firms_flops(economy, one, goods_prices)


def _firm_work(economy: ProductionEconomy) -> int:
    """Firms' responses per round: one closed form per firm, or the inner solver's iterations."""
    from ..economies.technology import SUPPLY_ITERATIONS

    return economy.n * (1 if isinstance(economy.firms, FirmTechnology) else SUPPLY_ITERATIONS)


def probe_prices(economy: ProductionEconomy) -> Array:
    """The uniform prices the centre probes, 1, 2, 4, …: public (labour is the numeraire), no technology."""
    return 2.0 ** jnp.arange(START_PROBES, dtype=economy.endowments.dtype)


def first_covering_price(covers, dtype) -> tuple[Array, Array]:
    """(t, probe rounds): the first t = 2^k, k = 0 … `START_PROBES` − 1, with `covers(t)` True (t = NaN if
    none). The centre stops at the first covering price; under vmap the loop runs until every economy of
    the batch has its price, the others' results being fixed already. No gradient flows through t."""

    def searching(carry):
        k, covered = carry
        return ~covered & (k < START_PROBES)

    def next_probe(carry):
        k, _ = carry
        covered = covers(2.0 ** k.astype(dtype))
        return jnp.where(covered, k, k + 1), covered

    k, covered = jax.lax.while_loop(searching, next_probe, (jnp.asarray(0), jnp.asarray(False)))
    t = jnp.where(covered, 2.0 ** jnp.minimum(k, START_PROBES - 1).astype(dtype), jnp.nan)
    return jax.lax.stop_gradient(t), jnp.where(covered, k + 1, START_PROBES)


def reported_start_price(economy: ProductionEconomy) -> tuple[Array, Messages]:
    """The first uniform price t = 2^k (k = 0, 1, …) at which every firm's reported coefficients cover
    its unit cost, and the messages of the probe rounds used. Reads only the firms' reports.

    Returns t = NaN (the run then fails) if no probe up to 2^(START_PROBES − 1) covers every cost.
    """
    n = economy.n
    dtype = economy.endowments.dtype
    def probe(t):
        a0, inputs, _ = _firms_coefficients(economy, jnp.full((n, n), t, dtype))
        return jnp.all(a0 + t * jnp.sum(inputs, axis=1) <= t)

    t, rounds = first_covering_price(probe, dtype)
    firms = _firms_flops(economy, jnp.zeros((n, n), dtype))
    return t, rounds * Messages.of(jnp.zeros((n,), dtype), jnp.zeros((n, 1 + n), dtype), firm_work=_firm_work(economy),
                                   centre_flops=2 * n * n, firm_flops=firms)  # the centre checks every cost


def _leontief(matrix: Array, a0: Array, consumption) -> tuple[Array, Array, Array]:
    """The centre's Leontief calculation from one factorisation of `matrix` = I − A (A[j, h]: good h per
    unit of good j, as reported): prices p = (I − A)⁻¹ a0 (unit costs of the reported techniques) and
    outputs g = (I − A)⁻ᵀ c(p). Returns (p, g, productive): I − A is a Z-matrix, and its no-pivot
    factorisation certifies that A is productive (`jplan._linalg.z_factor`)."""
    factors, productive = z_factor(matrix)
    prices = z_lu_solve(factors, a0)
    return prices, z_lu_solve(factors, consumption(prices), transpose=True), productive


class MalinvaudState(eqx.Module):
    prices: Array  # the prices the centre will announce next (p^{s+1})
    previous_prices: Array  # the prices announced this step (p^s)
    plan: Plan
    failed: Array


class Malinvaud(Procedure):
    """The LSM procedure; see the module docstring.

    Attributes:
        tolerance: stop when the largest relative price change |p^{s+1}/p^s − 1| is below this.
        initial_prices: optional starting prices [n] (labour = 1); default: `reported_start_price`.
    """

    name: ClassVar[str] = "malinvaud"
    tolerance: Array = eqx.field(default_factory=lambda: jnp.asarray(1e-12), converter=jnp.asarray)
    initial_prices: Array | None = None

    def domain_violation(self, economy: ProductionEconomy) -> Array:
        if economy.m != 1:
            return jnp.asarray(True)
        firms = economy.firms
        if not isinstance(firms, FirmTechnology):  # a user technology: constant returns and labour, checked at x = 1
            def violates(tech):
                ones_r, ones_v = jnp.ones((1,), economy.endowments.dtype), jnp.ones((economy.n,), economy.endowments.dtype)
                q1, q2 = tech.output(ones_r, ones_v), tech.output(2 * ones_r, 2 * ones_v)
                if hasattr(type(tech), "coefficients"):  # closed-form coefficients: labour must be among them
                    labour = tech.coefficients(jnp.ones((economy.n + 1,), ones_r.dtype))[0][0]
                else:
                    labour = jax.grad(tech.output)(ones_r, ones_v)[0]
                return ~(jnp.abs(q2 / q1 - 2.0) <= 1e-9) | ~(labour > 0)

            return jnp.any(jax.vmap(violates)(firms))
        return jnp.any(jnp.abs(economy.returns_to_scale - 1.0) > 1e-12) | jnp.any(economy.resource_shares[:, 0] <= 0)

    def domain_message(self) -> str:
        return (
            "malinvaud: needs exactly one resource (labour), constant returns (every returns_to_scale = 1) "
            "and a positive labour share in every firm"
        )

    def _round(self, economy: ProductionEconomy, prices: Array):
        """Centre → firms: prices (one broadcast); firms → centre: coefficients; the centre's Leontief
        calculation."""
        n = economy.n
        message = jnp.broadcast_to(prices, (n, n))
        a0, inputs, work = _firms_coefficients(economy, message)  # inputs[j, h]: good h per unit of j
        eye = jnp.eye(n, dtype=prices.dtype)
        labour = economy.endowments[0]
        # prices and outputs from one factorisation of I − A (a Z-matrix; `ok` says it is productive)
        def consumption(p):
            return consumer_demand(economy, p, labour - jnp.sum(p * economy.subsistence))

        new_prices, g, productive = _leontief(eye - inputs, a0, consumption)
        c = consumption(new_prices)
        failed = ~productive | ~jnp.all(jnp.isfinite(new_prices) & (new_prices > 0))
        # labour is resource 1; other columns exist only for economies outside the domain (status)
        resource_use = jnp.zeros((n, economy.m), g.dtype).at[:, 0].set(a0 * g)
        intermediate_use = inputs * g[:, None]
        plan = Plan(
            consumption=c,
            output=output(economy, resource_use, intermediate_use),
            resource_use=resource_use,
            intermediate_use=intermediate_use,
        )
        # centre: I − A (n²), one factorisation and two pairs of substitutions (prices, outputs), consumption
        # demand (10n) and the plan's input flows (n²); firms: their cost-minimising coefficients
        centre = lu_flops(n) + triangular_flops(n, 2) + 2 * n * n + 10 * n
        return new_prices, plan, failed, Messages.of(prices, (a0, inputs), solves=2, firm_work=work, centre_flops=centre,
                                                     firm_flops=_firms_flops(economy, message))

    def init(self, economy: ProductionEconomy) -> tuple[MalinvaudState, Messages]:
        if self.initial_prices is None:
            t, probes = reported_start_price(economy)
            p0 = jnp.full((economy.n,), t)
        else:
            p0 = jnp.broadcast_to(jnp.asarray(self.initial_prices, economy.tfp.dtype), (economy.n,))
            probes = Messages.of((), ())
        prices, plan, failed, msgs = self._round(economy, p0)
        return MalinvaudState(prices, p0, plan, failed | ~jnp.all(jnp.isfinite(p0))), probes + msgs

    def step(self, economy: ProductionEconomy, state: MalinvaudState) -> tuple[MalinvaudState, Messages]:
        prices, plan, failed, msgs = self._round(economy, state.prices)
        return MalinvaudState(prices, state.prices, plan, failed), msgs

    def observe(self, economy: ProductionEconomy, state: MalinvaudState) -> Observation:
        residual = jnp.max(jnp.abs(state.prices / state.previous_prices - 1.0))
        return Observation(
            plan=state.plan,
            goods_prices=state.prices,
            resource_prices=jnp.ones((economy.m,), state.prices.dtype),
            residual=residual,
            failed=state.failed,
            failure=state.failed.astype(jnp.int32),
        )

    def failure_message(self, code: int) -> str:
        return ("the centre's Leontief system of the reported coefficients has no positive solution (the "
                "technique matrix is not productive, or the prices it gives are not all positive)") if code else ""
