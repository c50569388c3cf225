"""Cockshott's harmony algorithm: an iterative alternative to the LP for balancing a plan.

Cockshott and Cottrell (*Towards a New Socialism*, 1993, ch. 3) plan by maximising the *harmony* of the
plan, a concave function of how far each product's net output exceeds or falls short of its target,
with a cheap iteration instead of an LP. This module writes the rule as Cockshott's own implementation
in `wc22m/5yearplan` documents it (`plancode/pasharm/harmony.tex`, the Pascal `harmonyplan`, and the Java
`Harmonizer`/`nyearHarmony`; GPL code, read for the rule, none copied): every step below is named after
his procedure and its constants are his.

**The technology complex.** Products p and techniques q; technique j at intensity z_j consumes I[:, j] z_j
and produces O[:, j] z_j; the initial resources r⁰ (labour, initial stocks) are given. Gross availability
r⁰ + O z, net output r⁰ + O z − I z. Products are flagged *nonproduced* (resources: labour, the first year's
stocks) and *nonfinal* (intermediate: labour and capital stocks); the others are final, with targets.

**Harmony** of a product with target τ and net output y: u = (y − τ)/τ, H = u − u²/2 for u < 0 and
log(1 + u) otherwise (`H`). Its derivative with respect to y is dH = H'(u)/τ (Cockshott's code uses a
forward difference with step 4e-4 "so as to be independent of the H function"; here the exact
derivative). For a nonfinal product the derivative is replaced, twice, by (dH + w·m)/(w + 1), w = 5
(`useweight`), m the mean over the techniques that use it of Σ_k dH_k·O_kj/I_ij, the harmony its users
gain per unit of it (`computeHarmonyDerivatives`; the two passes are Jacobi sweeps here, Gauss–Seidel in
his loop: identical on the multi-year complex, where no user of a nonfinal product makes a nonfinal one).

**One iteration** (`balancePlan`, `adjustIntensities`), temperature T = 0.23 held constant:

1. *equalise* (`equaliseHarmony`): for every final product k, f_k = σ(T (h_k − h̄)/(y_k dH_k)) with h̄ the
   mean harmony of the produced products and σ(d) = d/(1 + |d|); every producer of k is scaled by
   (1 − f_k) (products above the mean shrink their producers, those below grow them);
2. *reallocate*: with the derivatives at the new net output, every technique is scaled by
   1 + σ(g_j)·T·a, g_j = (Σ dH·O_j − Σ dH·I_j)/Σ dH·I_j its rate of harmony gain, a = 0.3
   (`phase2adjust`; the Java version uses 0.4 and 100 iterations);
3. *rescale* (`rescaleIntensity`): every intensity is scaled so that the most used resource is used at
   98% (`capacitytarget`); then, if a product's net output is negative, every technique that uses it and
   does not make it is shrunk by 0.98·gross/used of the worst such product it uses.

Intensities start at 0.1 and are rescaled once before the first iteration (`initialiseIntensities`).
The loop runs a fixed number of iterations (80, `iters`): harmony has no stopping rule or optimality
certificate, which is why jplan reports its distance to the LP optimum beside it.

Everything is `jax` (segment sums over the complex's entries, so a sparse complex costs its non-zeros),
runs under jit and vmap, and is differentiable almost everywhere (σ, min and max are piecewise smooth).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

__all__ = ["HARMONY_DEFAULTS", "HARMONY_JAVA", "NONFINAL_RULES", "TechnologyComplex", "HarmonyResult", "balance_plan", "harmony_H", "harmony_dH", "complex_net_output"]

HARMONY_DEFAULTS = {"iterations": 80, "temperature": 0.23, "phase2_adjust": 0.3, "use_weight": 5.0, "capacity_target": 0.98,
                    "initial_intensity": 0.1, "nonfinal_rule": "mean", "derivative_step": None}
"""Cockshott's Pascal `harmonyplan` (the defaults of `balance_plan`)."""

HARMONY_JAVA = {"iterations": 100, "temperature": 0.23, "phase2_adjust": 0.4, "use_weight": 5.0, "capacity_target": 0.98,
                "initial_intensity": 0.1, "nonfinal_rule": "max", "derivative_step": 1e-6}
"""Cockshott's Java `nyearHarmony`: 100 iterations, phase2adjust 0.4, the *largest* user gain for a nonfinal
product (his comment's "maximum"; the Pascal code takes the mean), a forward difference of step 1e-6."""

NONFINAL_RULES = ("mean", "max")


class TechnologyComplex(eqx.Module):
    """Products and techniques as lists of entries (technique, product, quantity per unit of intensity).

    Attributes:
        in_product, in_technique, in_quantity: consumption entries [e_in]; a zero quantity is no entry.
        in_self: the entry's technique also makes that product (`rescaleIntensity` does not shrink it) [e_in].
        out_product, out_technique, out_quantity: production entries [e_out].
        resources: r⁰, the initial resources [p].
        targets: τ [p] (positive; Cockshott puts 0.03 on products without a target).
        nonproduced, nonfinal: the products' flags [p].
        present: products that exist (a pattern entry with zero data is absent) [p].
        active: techniques that exist [q].
    """

    in_product: Int[Array, " e_in"]
    in_technique: Int[Array, " e_in"]
    in_quantity: Float[Array, " e_in"]
    in_self: Bool[Array, " e_in"]
    out_product: Int[Array, " e_out"]
    out_technique: Int[Array, " e_out"]
    out_quantity: Float[Array, " e_out"]
    resources: Float[Array, " p"]
    targets: Float[Array, " p"]
    nonproduced: Bool[Array, " p"]
    nonfinal: Bool[Array, " p"]
    present: Bool[Array, " p"]
    active: Bool[Array, " q"]

    @property
    def n_products(self) -> int:
        return self.resources.shape[-1]

    @property
    def n_techniques(self) -> int:
        return self.active.shape[-1]


class HarmonyResult(eqx.Module):
    """The balanced plan: intensities z [q], net output [p], each product's harmony [p], and
    `history` [iterations], a score of the plan after each iteration (the caller's; `balance_plan` fills it with
    the mean harmony of the final products)."""

    intensity: Float[Array, " q"]
    net_output: Float[Array, " p"]
    harmony: Float[Array, " p"]
    history: Float[Array, " iterations"]


def harmony_H(target, net):
    """H(τ, y): u − u²/2 for u = (y − τ)/τ < 0, log(1 + u) otherwise."""
    u = (net - target) / target
    return jnp.where(u < 0, u - 0.5 * u * u, jnp.log1p(jnp.where(u < 0, 0.0, u)))


def harmony_dH(target, net):
    """∂H/∂y, exact: (1 − u)/τ below target, 1/((1 + u)τ) above."""
    u = (net - target) / target
    return jnp.where(u < 0, 1.0 - u, 1.0 / (1.0 + jnp.where(u < 0, 0.0, u))) / target


def _sigmoid(d):
    """Cockshott's σ(d) = d/(1 + |d|), in (−1, 1)."""
    return d / (1.0 + jnp.abs(d))


def _per_product(c: TechnologyComplex, values, products):
    return jax.ops.segment_sum(values, products, num_segments=c.n_products)


def _per_technique(c: TechnologyComplex, values, techniques):
    return jax.ops.segment_sum(values, techniques, num_segments=c.n_techniques)


def _gross(c: TechnologyComplex, z):
    return c.resources + _per_product(c, c.out_quantity * z[c.out_technique], c.out_product)


def complex_net_output(c: TechnologyComplex, z):
    """r⁰ + O z − I z."""
    return _gross(c, z) - _per_product(c, c.in_quantity * z[c.in_technique], c.in_product)


def _dH(c: TechnologyComplex, net, derivative_step):
    if derivative_step is None:
        return harmony_dH(c.targets, net)
    return (harmony_H(c.targets, net + derivative_step) - harmony_H(c.targets, net)) / derivative_step


def _derivatives(c: TechnologyComplex, net, use_weight, nonfinal_rule="mean", derivative_step=None):
    """`computeHarmonyDerivatives`: dH, and for nonfinal products (dH + w·m)/(w + 1) twice, m the mean (Pascal)
    or the largest (Java) gain of its users per unit of it."""
    dh = _dH(c, net, derivative_step)
    using = c.in_quantity > 0
    users = _per_product(c, using.astype(net.dtype), c.in_product)
    update = c.nonfinal & c.present & (users > 0)
    for _ in range(2):
        gain = _per_technique(c, dh[c.out_product] * c.out_quantity, c.out_technique)  # Σ_k dH_k O_kj
        per_use = jnp.where(using, gain[c.in_technique] / jnp.where(using, c.in_quantity, 1.0), 0.0)
        if nonfinal_rule == "max":
            use = jax.ops.segment_max(jnp.where(using, per_use, -jnp.inf), c.in_product, num_segments=c.n_products)
        else:
            use = _per_product(c, per_use, c.in_product) / jnp.maximum(users, 1.0)
        dh = jnp.where(update, (dh + use_weight * jnp.where(update, use, 0.0)) / (use_weight + 1.0), dh)
    return dh


def _mean_produced(c: TechnologyComplex, h):
    """Cockshott's `mean`: over the products that are not resources."""
    keep = c.present & ~c.nonproduced
    return jnp.sum(jnp.where(keep, h, 0.0)) / jnp.maximum(jnp.sum(keep), 1)


def _rescale(c: TechnologyComplex, z, capacity_target):
    """`rescaleIntensity`: scale to use the most used resource at `capacity_target`, then shrink the users of
    any product whose net output is negative."""
    net = complex_net_output(c, z)
    resource = c.present & c.nonproduced & (c.resources > 0)
    share = jnp.where(resource, (c.resources - net) / jnp.where(resource, c.resources, 1.0), 0.0)
    most = jnp.max(share)
    z = z * jnp.where(most > 0, capacity_target / jnp.where(most > 0, most, 1.0), 1.0)
    net = complex_net_output(c, z)
    gross = _gross(c, z)
    short = c.present & (net < 0)
    ratio = jnp.where(short, capacity_target * gross / jnp.where(short, gross - net, 1.0), jnp.inf)
    shrinks = (c.in_quantity > 0) & ~c.in_self & short[c.in_product]
    per_entry = jnp.where(shrinks, ratio[c.in_product], jnp.inf)
    shrink = jax.ops.segment_min(per_entry, c.in_technique, num_segments=c.n_techniques)
    return z * jnp.minimum(shrink, 1.0)


def _step(c: TechnologyComplex, z, temperature, phase2_adjust, use_weight, capacity_target, nonfinal_rule="mean",
          derivative_step=None):
    """One iteration of `balancePlan`: equalise, reallocate, rescale."""
    net = complex_net_output(c, z)
    h = harmony_H(c.targets, net)
    dh = _derivatives(c, net, use_weight, nonfinal_rule, derivative_step)
    # 1. equaliseHarmony
    divisor = jnp.where(net == 0.0, 1.0, net)
    final = c.present & ~c.nonproduced & ~c.nonfinal
    frac = jnp.where(final, _sigmoid(temperature * (h - _mean_produced(c, h)) / (divisor * dh)), 0.0)
    makes = c.out_quantity > 0
    z = z * jnp.exp(_per_technique(c, jnp.where(makes, jnp.log1p(-frac[c.out_product]), 0.0), c.out_technique))
    # 2. reallocation by each technique's rate of harmony gain
    dh = _derivatives(c, complex_net_output(c, z), use_weight, nonfinal_rule, derivative_step)
    gain = _per_technique(c, dh[c.out_product] * c.out_quantity, c.out_technique)
    cost = _per_technique(c, dh[c.in_product] * c.in_quantity, c.in_technique)
    rate = jnp.where(cost > 0, (gain - cost) / jnp.where(cost > 0, cost, 1.0), 0.0)
    z = z * (1.0 + _sigmoid(rate) * temperature * phase2_adjust)
    # 3. rescaleIntensity
    return jnp.where(c.active, _rescale(c, z, capacity_target), 0.0)


def balance_plan(c: TechnologyComplex, *, iterations: int = 80, temperature=0.23, phase2_adjust=0.3, use_weight=5.0,
            capacity_target=0.98, initial_intensity=0.1, nonfinal_rule="mean", derivative_step=None,
            score=None) -> HarmonyResult:
    """Cockshott's `balancePlan` on a technology complex (module docstring). `score(z)`, if given, is
    recorded after every iteration (default: the mean harmony of the final products). Constants default to
    his Pascal version's (`HARMONY_DEFAULTS`); `**HARMONY_JAVA` gives his Java version's."""
    if nonfinal_rule not in NONFINAL_RULES:
        raise ValueError(f"nonfinal_rule must be one of {', '.join(NONFINAL_RULES)}, got {nonfinal_rule!r}")
    if not (isinstance(iterations, int) and 1 <= iterations <= 1_000_000):
        raise ValueError(f"iterations must be an integer in [1, 1000000], got {iterations!r}")
    final = c.present & ~c.nonproduced & ~c.nonfinal

    def default_score(z):
        h = harmony_H(c.targets, complex_net_output(c, z))
        return jnp.sum(jnp.where(final, h, 0.0)) / jnp.maximum(jnp.sum(final), 1)

    score = score or default_score
    dtype = c.resources.dtype
    z0 = jnp.where(c.active, jnp.asarray(initial_intensity, dtype), 0.0)
    z0 = jnp.where(c.active, _rescale(c, z0, capacity_target), 0.0)

    def body(z, _):
        z = _step(c, z, temperature, phase2_adjust, use_weight, capacity_target, nonfinal_rule, derivative_step)
        return z, score(z)

    z, history = jax.lax.scan(body, z0, None, length=iterations)
    net = complex_net_output(c, z)
    return HarmonyResult(intensity=z, net_output=net, harmony=harmony_H(c.targets, net), history=history)


def self_entries(in_product, in_technique, out_product, out_technique) -> np.ndarray:
    """For each consumption entry: does its technique also make that product? (host-side, from the pattern)"""
    made = set(zip(np.asarray(out_technique).tolist(), np.asarray(out_product).tolist()))
    return np.array([(t, p) in made for t, p in zip(np.asarray(in_technique).tolist(), np.asarray(in_product).tolist())], bool)
