"""Random production economies: pure, keyed, valid by construction, `vmap`-able over keys."""

from __future__ import annotations

import functools
import math
from typing import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array

from .production import ProductionEconomy, ces_log_unit_cost, proportional_plan

__all__ = ["sample", "sample_batch", "batch_sampler", "draw", "sampler_options", "SamplerOptions", "check_options", "MAX_INTERMEDIATE_RETURNS", "TECHNOLOGIES", "WELFARES"]

TECHNOLOGIES = ("cobb-douglas", "ces")
WELFARES = ("log", "ces", "stone-geary")

#: Every sampled firm satisfies ρ_i Σ_k β_ik ≤ this, so the spectral radius of ρβ is < 1 (productive).
MAX_INTERMEDIATE_RETURNS = 0.9

#: The largest set-up cost fraction the sampler draws (see `sample`'s `setup`).
MAX_SETUP = 0.5


def _range(value) -> tuple[float, float]:
    if isinstance(value, (tuple, list)):
        lo, hi = value
        return float(lo), float(hi)
    return float(value), float(value)


def _cap_complements(b, sigma, A, rho, alpha_hat, beta_hat):
    """The largest intermediate share b' ≤ b at which a firm needs at most `MAX_INTERMEDIATE_RETURNS`
    units of intermediate goods for one unit of output at unit prices and unit output (bisection).

    With complements (σ < 1) the share cap ρΣβ ≤ 0.9 that keeps a Cobb–Douglas economy productive does
    not: every input is essential, and at σ = 0.3 a good with a share of 0.02 is still needed at
    0.3 units per unit of the aggregate. Row sums of the input requirements ≤ 0.9 at unit prices make
    the technology matrix productive for constant returns, and for increasing returns at every output
    ≥ 1 (unit requirements fall with scale); decreasing returns only get more productive.
    """
    m = alpha_hat.shape[0]
    ones = jnp.ones(m + beta_hat.shape[0], b.dtype)

    def need(bb):
        shares = jnp.concatenate([(1.0 - bb) * alpha_hat, bb * beta_hat])
        log_k, grad = jax.value_and_grad(ces_log_unit_cost, argnums=1)(shares, ones, sigma)
        per_unit = jnp.exp(log_k) * grad  # Shephard: cost-minimising inputs per unit of the aggregate
        return A ** (-1.0 / rho) * jnp.sum(per_unit[m:])

    def body(_, bounds):
        lo, hi = bounds
        mid = 0.5 * (lo + hi)
        ok = need(mid) <= MAX_INTERMEDIATE_RETURNS
        return jnp.where(ok, mid, lo), jnp.where(ok, hi, mid)

    lo, _ = jax.lax.fori_loop(0, 60, body, (jnp.zeros_like(b), b))
    return jnp.where(need(b) <= MAX_INTERMEDIATE_RETURNS, b, lo)


def check_options(technology="cobb-douglas", elasticity=1.0, returns_to_scale=0.9, welfare="log", subsistence=0.5,
                  setup=0.0) -> None:
    """Raise ValueError (one line) for sampler options that cannot give valid economies."""
    if technology not in TECHNOLOGIES:
        raise ValueError(f"technology: unknown family {technology!r} (known: {', '.join(TECHNOLOGIES)})")
    if welfare not in WELFARES:
        raise ValueError(f"welfare: unknown family {welfare!r} (known: {', '.join(WELFARES)})")
    if technology == "ces" and max(_range(elasticity)) > 1 and max(_range(returns_to_scale)) > 1:
        raise ValueError("elasticity > 1 (substitutes) cannot be combined with returns_to_scale > 1: output "
                         "could grow without bound from intermediate goods alone")
    if not 0 <= min(_range(setup)) <= max(_range(setup)) <= MAX_SETUP:
        raise ValueError(f"setup: a fraction in [0, {MAX_SETUP}] of the input aggregate a feasible plan gives each firm")
    if welfare == "stone-geary" and not 0 <= min(_range(subsistence)) <= max(_range(subsistence)) < 1:
        raise ValueError("subsistence: a fraction in [0, 1) of a feasible plan's consumption")


def sample(
    key: jax.Array,
    n: int,
    m: int,
    *,
    returns_to_scale: float | tuple[float, float] = 0.9,
    intermediate_share: float | tuple[float, float] = (0.1, 0.5),
    density: float = 1.0,
    tfp: float | tuple[float, float] = (0.8, 1.2),
    endowments: float | tuple[float, float] = (50.0, 150.0),
    weight_concentration: float = 1.0,
    technology: str = "cobb-douglas",
    elasticity: float | tuple[float, float] = 1.0,
    welfare: str = "log",
    welfare_elasticity: float | tuple[float, float] = 1.0,
    subsistence: float | tuple[float, float] = 0.5,
    setup: float | tuple[float, float] = 0.0,
) -> ProductionEconomy:
    """Draw one random economy of the given technology and welfare families.

    Args:
        key: a JAX PRNG key; `jax.vmap(lambda k: sample(k, n, m))(keys)` gives a batch.
        n: number of goods (static).
        m: number of resources (static).
        returns_to_scale: ρ for every firm, or a (low, high) range drawn uniformly per firm.
        intermediate_share: each firm's total intermediate-input share Σ_k β_ik, fixed or a range; it is
            capped so that ρ_i Σ_k β_ik ≤ 0.9, which keeps the economy productive.
        density: probability that firm i uses good k at all (each link independently); 1 = dense.
        tfp: A, fixed or a range.
        endowments: R, fixed or a range.
        weight_concentration: Dirichlet concentration of the welfare weights (they sum to 1, all > 0).
        technology: "cobb-douglas" (σ = 1) or "ces" (σ_i drawn from `elasticity`, fixed or a (low, high)
            range drawn log-uniformly per firm). Firms with σ > 1 (substitutes) cannot have ρ > 1 (they
            could grow without bound from intermediate goods; such ranges raise ValueError), and their
            intermediate share is capped so that A_i B_i^(1/θ_i) ≤ 0.9 (bounded output). Firms with
            σ < 1 (complements) get their intermediate share capped so that one unit of output needs at
            most 0.9 units of intermediate goods at unit prices (productive for every ρ; see
            `_cap_complements`).
        welfare: "log", "ces" (η from `welfare_elasticity`, fixed or a range drawn log-uniformly) or
            "stone-geary" (γ_k = `subsistence` × the consumption of a feasible plan, fixed or a range;
            the fraction must be < 1, so the economy can always feed its subsistence).
        setup: a set-up cost κ_i per firm (a minimum efficient scale; non-convex), as a fraction, fixed or
            a (low, high) range in [0, 0.5], of the input aggregate g_i firm i gets in a feasible plan
            (`proportional_plan` without set-up costs). That plan's inputs then still give every good a
            positive net output (at least (1 − 0.5)^ρ − 0.2 > 0 of its former output for ρ ≤ 1.3), so
            the economy stays feasible, and Stone–Geary subsistence is a fraction of that plan's consumption.

    Returns:
        A `ProductionEconomy` satisfying every rule of the file format.
    """
    check_options(technology, elasticity, returns_to_scale, welfare, subsistence, setup)
    options = sampler_options(returns_to_scale=returns_to_scale, intermediate_share=intermediate_share, density=density,
                              tfp=tfp, endowments=endowments, weight_concentration=weight_concentration,
                              technology=technology, elasticity=elasticity, welfare=welfare,
                              welfare_elasticity=welfare_elasticity, subsistence=subsistence, setup=setup)
    return draw(key, n, m, options)


class SamplerOptions(eqx.Module):
    """`sample`'s options as arrays (`sampler_options`): families as flags and every range as (low, high)
    (a fixed value v is (v, v); the log-uniform ranges as the logs of their ends, taken on the host). One
    compiled `draw` serves every option set of one (n, m): a study's scenarios share one sampler program,
    and every economy is drawn bit for bit as the family's own program drew it (`tests/test_sampling.py`)."""

    returns_to_scale: Array
    intermediate_share: Array
    density: Array
    tfp: Array
    endowments: Array
    weight_concentration: Array
    ces: Array
    log_elasticity: Array
    ces_welfare: Array
    stone_geary: Array
    log_welfare_elasticity: Array
    subsistence: Array
    has_setup: Array
    setup: Array


def sampler_options(*, returns_to_scale=0.9, intermediate_share=(0.1, 0.5), density=1.0, tfp=(0.8, 1.2),
                    endowments=(50.0, 150.0), weight_concentration=1.0, technology="cobb-douglas", elasticity=1.0,
                    welfare="log", welfare_elasticity=1.0, subsistence=0.5, setup=0.0) -> SamplerOptions:
    """`sample`'s keyword options as a `SamplerOptions` pytree of float64 arrays (host-side; checked)."""
    check_options(technology, elasticity, returns_to_scale, welfare, subsistence, setup)
    dtype = jnp.zeros(()).dtype

    def rng(v):
        return jnp.asarray(_range(v), dtype)

    def log_rng(v):
        lo, hi = _range(v)
        return jnp.asarray((math.log(lo), math.log(hi)), dtype)

    flag = lambda b: jnp.asarray(bool(b))  # noqa: E731
    return SamplerOptions(
        returns_to_scale=rng(returns_to_scale), intermediate_share=rng(intermediate_share),
        density=jnp.asarray(float(density), dtype), tfp=rng(tfp), endowments=rng(endowments),
        weight_concentration=jnp.asarray(float(weight_concentration), dtype), ces=flag(technology == "ces"),
        log_elasticity=log_rng(elasticity) if technology == "ces" else jnp.zeros(2, dtype),
        ces_welfare=flag(welfare == "ces"),
        stone_geary=flag(welfare == "stone-geary"),
        log_welfare_elasticity=log_rng(welfare_elasticity) if welfare == "ces" else jnp.zeros(2, dtype),
        subsistence=rng(subsistence) if welfare == "stone-geary" else jnp.zeros(2, dtype),
        has_setup=flag(max(_range(setup)) > 0), setup=rng(setup),
    )


def draw(key: jax.Array, n: int, m: int, options: SamplerOptions) -> ProductionEconomy:
    """One economy of `sample` from options given as arrays (`sampler_options`): jit/vmap-safe, n and m
    static; every family is a branch selected on the data, so one compiled program draws them all."""
    o = options
    k_rho, k_b, k_mask, k_beta, k_alpha, k_tfp, k_R, k_w = jax.random.split(key, 8)
    k_sigma, k_eta, k_gamma = jax.random.split(jax.random.fold_in(key, 1), 3)
    k_setup = jax.random.fold_in(key, 2)
    dtype = o.tfp.dtype

    def uniform(k, rng, shape):
        return jax.random.uniform(k, shape, dtype=dtype, minval=rng[0], maxval=rng[1])

    rho = uniform(k_rho, o.returns_to_scale, (n,))
    A = uniform(k_tfp, o.tfp, (n,))
    sigma = jnp.where(o.ces, jnp.exp(uniform(k_sigma, o.log_elasticity, (n,))), 1.0)
    b = jnp.minimum(uniform(k_b, o.intermediate_share, (n,)), MAX_INTERMEDIATE_RETURNS / rho)
    theta = jnp.where(sigma > 1, (sigma - 1) / sigma, 1.0)
    b = jnp.where(sigma > 1, jnp.minimum(b, (MAX_INTERMEDIATE_RETURNS / A) ** theta), b)
    links = jax.random.bernoulli(k_mask, o.density, (n, n))
    raw = jax.random.uniform(k_beta, (n, n), dtype=dtype, minval=0.05, maxval=1.0) * links
    row = jnp.sum(raw, axis=1, keepdims=True)
    has_inputs = row[:, 0] > 0
    b = jnp.where(has_inputs, b, 0.0)
    beta_hat = jnp.where(row > 0, raw / jnp.where(row > 0, row, 1.0), 0.0)
    alpha_hat = jax.random.dirichlet(k_alpha, jnp.ones(m, dtype), (n,))
    capped = jax.vmap(_cap_complements)(b, sigma, A, rho, alpha_hat, beta_hat)
    b = jnp.where(o.ces & (sigma < 1), capped, b)
    beta = beta_hat * b[:, None]
    alpha = alpha_hat * (1.0 - b)[:, None]
    # put the rounding remainder on the largest resource share, so rows sum to 1 to the last bit
    residual = 1.0 - (jnp.sum(alpha, axis=1) + jnp.sum(beta, axis=1))
    alpha = alpha.at[jnp.arange(n), jnp.argmax(alpha, axis=1)].add(residual)
    weights = jax.random.dirichlet(k_w, jnp.full((n,), o.weight_concentration, dtype))
    eta = jnp.where(o.ces_welfare, jnp.exp(uniform(k_eta, o.log_welfare_elasticity, ())), 1.0)
    economy = ProductionEconomy(
        endowments=uniform(k_R, o.endowments, (m,)),
        welfare_weights=weights,
        tfp=A,
        returns_to_scale=rho,
        resource_shares=alpha,
        input_shares=beta,
        elasticity=sigma,
        welfare_elasticity=eta,
    )
    plan = proportional_plan(economy)
    g = (plan.output / A) ** (1.0 / rho)  # each firm's input aggregate in that plan
    kappa = jnp.where(o.has_setup, uniform(k_setup, o.setup, (n,)) * g, 0.0)
    # the same inputs, now paying the set-up cost: still a feasible plan with positive consumption
    q = A * jnp.maximum(g - kappa, 0.0) ** rho
    consumption = jnp.where(o.has_setup, q - jnp.sum(plan.intermediate_use, axis=0), plan.consumption)
    gamma = jnp.where(o.stone_geary, uniform(k_gamma, o.subsistence, (n,)) * consumption, 0.0)
    return eqx.tree_at(lambda e: (e.setup_cost, e.subsistence), economy, (kappa, gamma))


def sample_batch(key: jax.Array, batch: int, n: int, m: int, **options) -> ProductionEconomy:
    """`batch` independent economies stacked on a leading axis: `sample(k, n, m, **options)` for each of
    `jax.random.split(key, batch)`, by `batch_sampler`'s program."""
    return batch_sampler(n, m, **options)(jax.random.split(key, batch))


def batch_sampler(n: int, m: int, **options) -> Callable[[jax.Array], ProductionEconomy]:
    """A function from keys [k, 2] to the k economies `sample(key, n, m, **options)` draws, bit for bit.

    One compiled program per (n, m), number of keys and Dirichlet concentration, whatever the families and
    ranges: they enter as arrays (`sampler_options`), so a study's scenarios of one shape share it. Some
    options must stay constants of a program, because traced they draw other last bits than `sample`: the
    Dirichlet concentration (part of the program's key), and the draws multiplied into a computed plan, a
    set-up-cost range and Stone–Geary subsistence (such options get a program of their own, `sample` itself
    vmapped)."""
    shared = shared_program(n, m, **options)
    if shared is None:
        frozen = _frozen(options)
        if frozen is None:  # an option that cannot key a cache (an array): a program for this call alone
            return jax.jit(jax.vmap(lambda k: sample(k, n, m, **options)))
        return _own_program(n, m, frozen)
    program, arrays, _ = shared
    return lambda keys: program(keys, arrays)


def shared_program(n: int, m: int, **options):
    """(program, arrays, constants) where `batch_sampler` draws these options by the program shared by every
    option set of (n, m) and `constants` (the Dirichlet concentration): `program(keys, arrays)`; None where
    they need a program of their own (see `batch_sampler`)."""
    if max(_range(options.get("setup", 0.0))) > 0 or options.get("welfare") == "stone-geary":
        return None
    concentration = float(options.get("weight_concentration", 1.0))
    return _shared_program(n, m, concentration), sampler_options(**options), (concentration,)


@functools.lru_cache(maxsize=16)
def _shared_program(n: int, m: int, weight_concentration: float):
    def one(key, options):
        return draw(key, n, m, eqx.tree_at(lambda o: o.weight_concentration, options,
                                           jnp.asarray(weight_concentration, options.tfp.dtype)))

    return jax.jit(jax.vmap(one, in_axes=(0, None)))


@functools.lru_cache(maxsize=16)
def _own_program(n: int, m: int, frozen: tuple):
    return jax.jit(jax.vmap(lambda k: sample(k, n, m, **dict(frozen))))


def _frozen(options: dict):
    """The options as a hashable tuple (lists become tuples), or None when one of them is not hashable."""
    def freeze(v):
        return tuple(freeze(x) for x in v) if isinstance(v, (list, tuple)) else v

    items = tuple(sorted((k, freeze(v)) for k, v in options.items()))
    try:
        hash(items)
    except TypeError:
        return None
    return items
