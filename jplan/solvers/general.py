"""The reference optimum of every economy family: KKT conditions solved by Newton's method in JAX.

The planning problem is max U(c) s.t. c_k + Σ_i v_ik ≤ q_k(r_i, v_i), Σ_i r_ij ≤ R_j. Maximise instead
the log-homogeneous welfare index u = log F(c − γ) (an increasing transformation of U with the same
optimum; `jplan.economies.welfare_index`). With goods prices p and resource prices s in units of u, the
optimum is a competitive equilibrium in which every firm produces where price equals marginal cost and
the planner's consumption maximises u(c) − p·c. For a firm with f_i = A_i g_i(x)^ρ_i (g_i the degree-1
CES aggregate, κ_i its unit cost at input prices π = (s, p)), producing q_i takes G_i = (q_i/A_i)^(1/ρ_i)
units of the aggregate and inputs x_i = G_i ∇κ_i(π) (Shephard's lemma), so the KKT conditions in
z = (log p, log s, log q) are the 2n + m equations

    log(ρ_i p_i q_i) = log(κ_i G_i)                 price = marginal cost         (n)
                                                     (a set-up cost k_i adds k_i ∇κ_i to the inputs)
    log(c_k(p) + Σ_i v_ik) = log q_k                 goods balances                (n)
    log(Σ_i r_ij) = log R_j                          resource balances             (m)

with c(p) = γ + y(p), y_k = ŵ_k^η p_k^(−η) / Σ_l ŵ_l^η p_l^(1−η) (Euler: p·(c − γ) = 1).

They are solved by damped Newton (backtracking on ‖F‖²; from `ANALYTIC_JACOBIAN_MIN_N` goods on, the
Jacobian in closed form, `kkt_jacobian`, otherwise `jax.jacfwd` of F) along a homotopy from the Cobb–Douglas/log
economy with the same shares, whose optimum is exact in closed form (`closed_form`): σ, η and γ move
from (1, 1, 0) to their values in `HOMOTOPY_STAGES` stages, then Newton polishes to ‖F‖∞ ≤ `TOLERANCE`.

Status (`OPTIMUM_STATUS`):
- ``optimal``: the KKT point of a problem certified convex (every ρ ≤ 1, or every σ ≤ 1 with η ≤ 1:
  a geometric program in log coordinates), hence the global optimum;
- ``best_known``: a KKT point of a problem not certified convex (increasing returns with substitutes
  in technology or in welfare); the best of several starts (`MULTISTARTS`), never claimed global;
- ``numerical_failure``: Newton did not reach the tolerance (a non-finite or non-converged result);
- ``infeasible``: Stone–Geary subsistence no feasible plan can feed, proved by `subsistence_reach`
  (θ* ≤ 1 on a certified-convex economy); checked only where the KKT solve failed.
Cobb–Douglas technology with log welfare keeps its exact closed form (status ``optimal`` for every ρ).

Derivatives: the Newton iterations are not differentiated; one last Newton step from the converged
point, with its Jacobian held fixed, carries the implicit-function derivative dz = −J⁻¹ ∂F/∂θ dθ, so
`jax.grad` of the optimum is exact at a solution (checked against finite differences in the tests).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array

from .._linalg import solve
from ..economies.production import ProductionEconomy, ces_cost_shares, is_cobb_douglas
from .exact import closed_form
from .status import BEST_KNOWN, INFEASIBLE, NUMERICAL_FAILURE, OPTIMAL, OPTIMUM_STATUS

__all__ = [
    "OPTIMUM_STATUS",
    "OPTIMAL",
    "BEST_KNOWN",
    "NUMERICAL_FAILURE",
    "INFEASIBLE",
    "subsistence_reach",
    "certified_convex",
    "kkt_residual",
    "kkt_jacobian",
    "solve_kkt",
    "HOMOTOPY_STAGES",
    "TOLERANCE",
    "MULTISTARTS",
]


HOMOTOPY_STAGES = 8
STAGE_ITERATIONS = 8
POLISH_ITERATIONS = 40
TOLERANCE = 1e-11
MULTISTARTS = 4
#: From this many goods on, Newton's Jacobian is `kkt_jacobian`'s closed form rather than `jax.jacfwd`: the same
#: matrix (to 1e-14), and a CES reference optimum 1.2x faster at n = 16, 1.8x at 32, 2.4x at 64 (2 CPU cores,
#: 2026-12-06); at n = 8 no faster, so the small studies' references are computed as before, to the last bit.
ANALYTIC_JACOBIAN_MIN_N = 16


def certified_convex(economy: ProductionEconomy) -> Array:
    """True where the planning problem is convex: in natural coordinates (every ρ ≤ 1, any σ, η, γ), or
    in log coordinates (every σ ≤ 1 and η ≤ 1: CES complements and log/Stone–Geary/CES-complement welfare
    are geometric programs for every ρ); never with a set-up cost (κ > 0: the production set is not
    convex in any coordinates)."""
    natural = jnp.all(economy.returns_to_scale <= 1.0)
    logs = jnp.all(economy.elasticity <= 1.0) & (economy.welfare_elasticity <= 1.0)
    return (natural | logs) & jnp.all(economy.setup_cost == 0)  # a set-up cost is never convex


def _demand(economy: ProductionEconomy, log_p: Array) -> Array:
    """Consumption above subsistence maximising u(c) − p·c: y_k = ŵ_k^η p_k^−η / Σ ŵ_l^η p_l^(1−η)."""
    w = economy.welfare_weights / jnp.sum(economy.welfare_weights)
    eta = economy.welfare_elasticity
    used = w > 0
    log_w = jnp.log(jnp.where(used, w, 1.0))
    log_num = jnp.where(used, eta * log_w - eta * log_p, -jnp.inf)
    log_den = jax.scipy.special.logsumexp(jnp.where(used, eta * log_w + (1.0 - eta) * log_p, -jnp.inf))
    return jnp.exp(log_num - log_den)


def _inputs(economy: ProductionEconomy, log_p: Array, log_s: Array, log_q: Array):
    """Cost-minimising inputs (r [n, m], v [n, n]) and log unit costs at prices (s, p), outputs q."""
    prices = jnp.concatenate([jnp.exp(log_s), jnp.exp(log_p)])
    firms = economy.firms

    def one(tech):
        log_kappa, grad = jax.value_and_grad(tech.log_unit_cost)(prices)
        return log_kappa, jnp.exp(log_kappa) * grad  # ∇κ = κ ∇log κ

    log_kappa, per_unit = jax.vmap(one)(firms)
    log_G = (log_q - jnp.log(economy.tfp)) / economy.returns_to_scale
    # the aggregate used: the variable part (q/A)^(1/ρ) plus the set-up cost κ (marginal cost sees only
    # the variable part, so the price equation below is unchanged)
    x = (jnp.exp(log_G) + economy.setup_cost)[:, None] * per_unit
    return x[:, : economy.m], x[:, economy.m :], log_kappa, log_G


def kkt_residual(economy: ProductionEconomy, z: Array, demand=None) -> Array:
    """F(z), the 2n + m KKT equations above at z = (log p, log s, log q).

    `demand(economy, log_p)` replaces the planner's consumption c(p) = γ + y(p) (used by
    `subsistence_reach`)."""
    n, m = economy.n, economy.m
    log_p, log_s, log_q = z[:n], z[n : n + m], z[n + m :]
    r, v, log_kappa, log_G = _inputs(economy, log_p, log_s, log_q)
    price = jnp.log(economy.returns_to_scale) + log_p + log_q - log_kappa - log_G
    c = economy.subsistence + _demand(economy, log_p) if demand is None else demand(economy, log_p)
    goods = jnp.log(c + jnp.sum(v, axis=0)) - log_q
    resources = jnp.log(jnp.sum(r, axis=0)) - jnp.log(economy.endowments)
    return jnp.concatenate([price, goods, resources])


def kkt_jacobian(economy: ProductionEconomy, z: Array) -> Array:
    """∂F/∂z of `kkt_residual` (the planner's own demand) in closed form, for the built-in CES firms.

    With u = log π (π = (s, p)), firm i's cost shares S_il = ∂log κ_i/∂u_l and its cost-minimising use
    X_il = H_i κ_i S_il/π_l (H_i = G_i + κ_i's set-up cost), ∂log X_il/∂u_k = σ_i (S_ik − δ_lk), and
    ∂X_il/∂log q_i = (G_i/ρ_i) κ_i S_il/π_l; the planner's y_k has ∂y_k/∂log p_l = y_k(−η δ_kl − (1 − η) p_l y_l).
    Replaces `jax.jacfwd` of the residual (a forward pass per coordinate through every firm's cost gradient,
    ~95% of a Newton step) in the solve; `tests/test_optimum.py` compares the two. A user technology (no
    closed form) uses `jax.jacfwd`."""
    if economy.technology is not None:
        return jax.jacfwd(lambda y: kkt_residual(economy, y))(z)
    n, m = economy.n, economy.m
    log_p, log_s, log_q = z[:n], z[n : n + m], z[n + m :]
    u = jnp.concatenate([log_s, log_p])
    shares = jnp.concatenate([economy.resource_shares, economy.input_shares], axis=1)
    log_kappa, S = jax.vmap(ces_cost_shares, in_axes=(0, None, 0))(shares, u, economy.elasticity)
    per_unit = jnp.exp(log_kappa[:, None] - u[None, :]) * S  # κ S / π
    rho = economy.returns_to_scale
    G = jnp.exp((log_q - jnp.log(economy.tfp)) / rho)
    X = (G + economy.setup_cost)[:, None] * per_unit  # [n, m + n]
    W = economy.elasticity[:, None] * X
    M = W.T @ S - jnp.diag(jnp.sum(W, axis=0))  # ∂(total use of input l)/∂u_k, [m + n, m + n]
    Q = (G / rho)[:, None] * per_unit  # ∂X_il/∂log q_i
    y = _demand(economy, log_p)
    eta = economy.welfare_elasticity
    dy = y[:, None] * (-eta * jnp.eye(n, dtype=z.dtype) - (1.0 - eta) * (jnp.exp(log_p) * y)[None, :])
    total = economy.subsistence + y + jnp.sum(X[:, m:], axis=0)
    used = jnp.sum(X[:, :m], axis=0)
    eye = jnp.eye(n, dtype=z.dtype)
    price = jnp.concatenate([eye - S[:, m:], -S[:, :m], jnp.diag(1.0 - 1.0 / rho)], axis=1)
    goods = jnp.concatenate([(dy + M[m:, m:]) / total[:, None], M[m:, :m] / total[:, None],
                             Q[:, m:].T / total[:, None] - eye], axis=1)
    resources = jnp.concatenate([M[:m, m:], M[:m, :m], Q[:, :m].T], axis=1) / used[:, None]
    return jnp.concatenate([price, goods, resources], axis=0)


def _at(economy: ProductionEconomy, t: Array) -> ProductionEconomy:
    """The homotopy economy: σ^t, η^t, tγ, tκ (t = 0 is Cobb–Douglas with log welfare, no set-up cost)."""
    return eqx.tree_at(
        lambda e: (e.elasticity, e.welfare_elasticity, e.subsistence, e.setup_cost),
        economy,
        (jnp.exp(t * jnp.log(economy.elasticity)), jnp.exp(t * jnp.log(economy.welfare_elasticity)),
         t * economy.subsistence, t * economy.setup_cost),
    )


def _merit(F: Array) -> Array:
    return jnp.where(jnp.all(jnp.isfinite(F)), 0.5 * jnp.sum(F * F), jnp.inf)


#: Trial step lengths of the line search, largest first (1, 1/2, ..., 2^-15).
_STEP_LENGTHS = 0.5 ** jnp.arange(16.0)


def _newton_step(economy: ProductionEconomy, z: Array, demand=None) -> Array:
    """One damped Newton step on F: the longest trial step (1, 1/2, ...) that passes Armijo on ‖F‖².

    The trial steps are evaluated together rather than in a data-dependent loop: under vmap a
    `while_loop` runs to its slowest member anyway, and batched while loops wedged XLA's CPU runtime
    here (jaxlib 0.10.2).
    """
    F = kkt_residual(economy, z, demand)
    closed = demand is None and economy.n >= ANALYTIC_JACOBIAN_MIN_N  # kkt_jacobian: jacfwd for a user technology
    J = kkt_jacobian(economy, z) if closed else jax.jacfwd(lambda y: kkt_residual(economy, y, demand))(z)
    dz = solve(J, -F)
    dz = jnp.where(jnp.all(jnp.isfinite(dz)), dz, 0.0)
    # never move a log-price or log-quantity by more than 2 (a factor e²) in one step
    dz = dz * jnp.minimum(1.0, 2.0 / jnp.maximum(jnp.max(jnp.abs(dz)), 1e-300))
    f0 = _merit(F)
    alphas = _STEP_LENGTHS.astype(z.dtype)
    trials = jax.vmap(lambda a: _merit(kkt_residual(economy, z + a * dz, demand)))(alphas)
    ok = trials <= (1.0 - 1e-4 * alphas) * f0
    first = jnp.argmax(ok)
    accept = jnp.any(ok) & (trials[first] < f0)
    return jnp.where(accept, z + alphas[first] * dz, z)


def _newton(economy: ProductionEconomy, z: Array, iterations: int, demand=None) -> Array:
    def body(_, z):
        done = jnp.max(jnp.abs(kkt_residual(economy, z, demand))) <= TOLERANCE
        return jnp.where(done, z, _newton_step(economy, z, demand))

    return jax.lax.fori_loop(0, iterations, body, z)


def solve_kkt(economy: ProductionEconomy, z0: Array) -> Array:
    """z* from z0 (the Cobb–Douglas/log optimum of the same shares) along the homotopy, then polished."""

    def stage(z, t):
        return _newton(_at(economy, t), z, STAGE_ITERATIONS), None

    ts = jnp.arange(1, HOMOTOPY_STAGES + 1, dtype=z0.dtype) / HOMOTOPY_STAGES
    z, _ = jax.lax.scan(stage, z0, ts)
    return _newton(economy, z, POLISH_ITERATIONS)


def subsistence_reach(economy: ProductionEconomy) -> tuple[Array, Array]:
    """θ* = the largest θ such that some feasible plan consumes θγ̃ (γ̃ = γ + 1e-9·max γ), and whether
    the solve converged: subsistence can be fed iff θ* > 1 (with a margin of 1e-9 of the largest γ).

    The planner's problem max log θ s.t. c = θγ̃ is feasible has the KKT conditions above with the
    Leontief demand c(p) = γ̃/(p·γ̃) (budget p·c = 1), so θ* = 1/(p*·γ̃). It is solved by the same
    homotopy: from the Cobb–Douglas/log optimum with weights γ̃/Σγ̃ (closed form), σ moves to its value
    while the demand moves from the log demand to the Leontief one. Where the problem is certified
    convex the result is global, so θ* ≤ 1 proves that no feasible plan feeds the subsistence
    (`jplan.optimum` then reports status ``infeasible``).
    """
    gamma = economy.subsistence + 1e-9 * jnp.max(economy.subsistence)
    plain = eqx.tree_at(
        lambda e: (e.welfare_weights, e.welfare_elasticity, e.subsistence),
        economy,
        (gamma / jnp.sum(gamma), jnp.ones_like(economy.welfare_elasticity), jnp.zeros_like(gamma)),
    )
    start = closed_form(plain)
    z0 = jnp.concatenate([jnp.log(start.goods_prices), jnp.log(start.resource_prices), jnp.log(start.plan.output)])

    def leontief(e, log_p):
        return gamma / jnp.sum(jnp.exp(log_p) * gamma)

    def blend(t):
        return lambda e, log_p: (1.0 - t) * _demand(e, log_p) + t * leontief(e, log_p)

    def stage(z, t):
        return _newton(_at(plain, t), z, STAGE_ITERATIONS, blend(t)), None

    ts = jnp.arange(1, HOMOTOPY_STAGES + 1, dtype=z0.dtype) / HOMOTOPY_STAGES
    z, _ = jax.lax.scan(stage, z0, ts)
    z = _newton(plain, z, POLISH_ITERATIONS, leontief)
    residual = jnp.max(jnp.abs(kkt_residual(plain, z, leontief)))
    converged = jnp.isfinite(residual) & (residual <= 1e3 * TOLERANCE)
    theta = 1.0 / jnp.sum(jnp.exp(z[: economy.n]) * gamma)
    return theta, converged


def implicit_step(economy: ProductionEconomy, z_star: Array) -> Array:
    """z* itself, carrying the implicit-function derivative −J⁻¹ ∂F/∂θ (one Newton step, J held fixed)."""
    z_star = jax.lax.stop_gradient(z_star)
    J = jax.lax.stop_gradient(jax.jacfwd(lambda y: kkt_residual(economy, y))(z_star))
    return z_star - solve(J, kkt_residual(economy, z_star))


def uses_closed_form(economy: ProductionEconomy) -> Array:
    """Cobb–Douglas technology with log welfare: the closed form is exact (and global, for every ρ)."""
    return (
        jnp.all(is_cobb_douglas(economy.elasticity))
        & is_cobb_douglas(economy.welfare_elasticity)
        & jnp.all(economy.subsistence == 0)
        & jnp.all(economy.setup_cost == 0)
    )
