"""User-defined technologies: the protocol, and the generic firm solver procedures fall back on.

A technology is an equinox Module holding one firm's own parameters (arrays; stacked on a leading axis of
length n for all firms, so `jax.vmap` runs every firm at once) with one required method,

    output(resources [m], inputs [n]) -> q       (pure, differentiable in its arguments)

Put one in an economy with `with_technology(economy, MyTechnology(...stacked params...))`. Every procedure
that needs only autodiff of `output` (Heal's rule and its variant: marginal productivities are `jax.grad`
of it) then works unchanged. Arrow–Hurwicz needs the firm's profit-maximising plan: the built-in CES
firms answer in closed form; any other technology through `generic_supply`, a batched Newton solve of the
firm's first-order conditions p ∇f(x) = π in log inputs (decreasing returns: the profit is concave).
Malinvaud needs each firm's cost-minimising coefficients: closed forms for the built-in families, and
`generic_coefficients` (Newton on the cost-minimisation conditions) for any constant-returns technology.
The reference optimum serves the built-in families; for a user technology pass your own U* to
`jplan.run(..., optimal_welfare=...)` if you have one.

Example (a CES technology written by hand; a test checks that the generic path agrees with the closed
form):

```python
class MyCES(jplan.economies.ProductionTechnology):
    tfp: jax.Array; rho: jax.Array; shares: jax.Array; sigma: jax.Array   # per firm (leading axis n)

    def output(self, resources, inputs):
        x = jnp.concatenate([resources, inputs]); theta = (self.sigma - 1) / self.sigma
        used = self.shares > 0
        inner = jnp.sum(jnp.where(used, self.shares * jnp.where(used, x, 1.0) ** theta, 0.0))
        return self.tfp * inner ** (self.rho / theta)
```
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array

__all__ = ["ProductionTechnology", "LeontiefTechnology", "with_technology", "generic_supply", "generic_coefficients",
           "SUPPLY_ITERATIONS", "is_differentiable"]

SUPPLY_ITERATIONS = 40


class ProductionTechnology(eqx.Module):
    """One firm's technology: its own parameters and a pure, differentiable `output(resources, inputs)`."""

    @abc.abstractmethod
    def output(self, resources: Array, inputs: Array) -> Array:
        """Output from resources [m] and intermediate inputs [n]."""


class LeontiefTechnology(ProductionTechnology):
    """Fixed coefficients (Leontief): q = tfp · min over the inputs a firm uses of x_l / a_l, constant
    returns. Per firm (leading axis n): `resource_coefficients` [m], `input_coefficients` [n] (0: not used),
    `tfp`.

    Not differentiable (the min has a kink where the firm produces), so it declares `differentiable =
    False`: procedures that read marginal productivities (Heal's) refuse it, and Arrow–Hurwicz's price rules
    refuse it for its constant returns (their domain is strictly decreasing returns). Malinvaud's (LSM)
    procedure runs on it: its firms report their cost-minimising coefficients, which `coefficients` gives
    in closed form (a/tfp, whatever the prices: no substitution)."""

    resource_coefficients: Array
    input_coefficients: Array
    tfp: Array
    differentiable = False

    def output(self, resources, inputs):
        a = jnp.concatenate([self.resource_coefficients, self.input_coefficients])
        x = jnp.concatenate([resources, inputs])
        used = a > 0
        return self.tfp * jnp.min(jnp.where(used, x / jnp.where(used, a, 1.0), jnp.inf))

    def coefficients(self, input_prices):
        """Cost-minimising inputs per unit of output at input prices [m + n] (resources, goods), and the unit
        cost: a/tfp and its cost."""
        x = jnp.concatenate([self.resource_coefficients, self.input_coefficients]) / self.tfp
        return x, jnp.sum(x * input_prices)


def is_differentiable(technology) -> bool:
    """False for a technology that declares `differentiable = False` (a kinked output function)."""
    return bool(getattr(type(technology), "differentiable", True))


def with_technology(economy, technology: ProductionTechnology):
    """The economy with its firms' technology replaced by a user `ProductionTechnology` (params stacked over n firms)."""
    return eqx.tree_at(lambda e: e.technology, economy, technology, is_leaf=lambda x: x is None)


def generic_supply(tech: ProductionTechnology, index: Array, prices: Array, m: int):
    """A firm's profit-maximising plan at prices [n + m] (goods then resources): Newton on its FOCs.

    The firm (it knows its own technology) uses the inputs with a positive marginal productivity at x = 1
    and solves the first-order conditions of max p_i f(x) − π·x in log form,
    F_l(y) = log(p_i ∂f/∂x_l(e^y)) − log π_l = 0, by damped Newton (Jacobian by `jax.jacfwd`, the longest of
    16 halvings that lowers ‖F‖², `SUPPLY_ITERATIONS` fixed steps, so it vmaps). For Cobb–Douglas F is
    linear in y and one step is exact; with decreasing returns and concave f the solution is the maximum.
    Returns (q, resources [m], inputs [n], profit), like the closed forms.
    """
    n = prices.shape[0] - m
    own = prices[index]
    input_prices = jnp.concatenate([prices[n:], prices[:n]])
    used, log_prices, inputs, log_marginal = _in_logs(tech, input_prices, m)

    def foc(y):
        return jnp.where(used, log_marginal(inputs(y), own) - log_prices, y)

    y = _damped_newton(foc, jnp.zeros_like(input_prices))
    x = inputs(y)
    q = tech.output(x[:m], x[m:])
    return q, x[:m], x[m:], own * q - jnp.sum(jnp.where(used, input_prices, 0.0) * x)


def used_inputs(output, ones: Array, m: int) -> Array:
    """The inputs a firm uses: a positive marginal productivity of its `output(resources, inputs)` at one unit
    of each (`ones` [m + n], resources then goods). Read by the firm itself (its own technology)."""
    mp_r, mp_v = jax.grad(output, argnums=(0, 1))(ones[:m], ones[m:])
    return jnp.concatenate([mp_r, mp_v]) > 0


def _in_logs(tech: ProductionTechnology, input_prices: Array, m: int):
    """What both firm solvers share: the inputs used (`used_inputs`), their log prices, inputs from log inputs
    y (0 where unused), and log(scale · ∂f/∂x) at x (log 1e-300 where the marginal productivity is not
    positive)."""
    used = used_inputs(tech.output, jnp.ones_like(input_prices), m)
    log_prices = jnp.log(jnp.where(used, input_prices, 1.0))

    def inputs(y):
        return jnp.where(used, jnp.exp(y), 0.0)

    def log_marginal(x, scale=1.0):
        g = jnp.concatenate(jax.grad(tech.output, argnums=(0, 1))(x[:m], x[m:]))
        return jnp.log(jnp.where(used & (g > 0), scale * g, 1e-300))

    return used, log_prices, inputs, log_marginal


def _damped_newton(F, y0):
    """`SUPPLY_ITERATIONS` damped Newton steps on F(y) = 0 (Jacobian by `jax.jacfwd`; per step the longest
    of 16 halvings that lowers ‖F‖²; fixed trip counts, so it vmaps)."""
    from .._linalg import solve

    def merit(y):
        r = F(y)
        return jnp.where(jnp.all(jnp.isfinite(r)), jnp.sum(r * r), jnp.inf)

    trials = 0.5 ** jnp.arange(16.0, dtype=y0.dtype)

    def step(y, _):
        d = solve(jax.jacfwd(F)(y), -F(y))
        d = jnp.where(jnp.all(jnp.isfinite(d)), jnp.clip(d, -5.0, 5.0), 0.0)
        values = jax.vmap(lambda a: merit(y + a * d))(trials)
        current = merit(y)
        better = jnp.any(values < current)
        return jnp.where(better, y + trials[jnp.argmax(values < current)] * d, y), None

    y, _ = jax.lax.scan(step, y0, None, length=SUPPLY_ITERATIONS)
    return y


def generic_coefficients(tech: ProductionTechnology, input_prices: Array, m: int):
    """A constant-returns firm's cost-minimising inputs per unit of output at input prices [m + n]
    (resources then goods), and its unit cost: Newton on the cost-minimisation conditions.

    Unknowns y = log inputs (of the inputs with a positive marginal productivity at x = 1) and log μ:
    log π_l − log μ − log ∂f/∂x_l(e^y) = 0 for every used input and log f(e^y) = 0. With constant returns
    μ is the unit cost c(π) (Euler), and the inputs are ∇c(π) (Shephard's lemma). Returns (x [m + n], c).
    A technology with a `coefficients(input_prices)` method (`LeontiefTechnology`) answers itself.
    """
    if hasattr(type(tech), "coefficients"):  # the technology answers in closed form (e.g. Leontief)
        return tech.coefficients(input_prices)
    used, log_prices, inputs, log_marginal = _in_logs(tech, input_prices, m)
    ones = jnp.ones_like(input_prices)

    def conditions(z):
        y, log_mu = z[:-1], z[-1]
        x = inputs(y)
        foc = jnp.where(used, log_prices - log_mu - log_marginal(x), y)
        q = tech.output(x[:m], x[m:])
        return jnp.concatenate([foc, jnp.log(jnp.where(q > 0, q, 1e-300))[None]])

    # start: the unit isoquant along x ∝ 1 (constant returns), μ from the cost there
    scale = 1.0 / tech.output(ones[:m], ones[m:])
    y0 = jnp.where(used, jnp.log(scale), 0.0)
    mu0 = jnp.sum(jnp.where(used, input_prices, 0.0)) * scale
    z = _damped_newton(conditions, jnp.concatenate([y0, jnp.log(mu0)[None]]))
    return inputs(z[:-1]), jnp.exp(z[-1])
