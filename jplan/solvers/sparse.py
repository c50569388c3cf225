"""The Leontief quantity and labour-value (LSM price) systems of a sparse economy, solved iteratively in
JAX with a convergence check and exact implicit gradients.

    quantities    (I − A) x = d,        labour values    (I − Aᵀ) p = a₀.

Methods (`method=`):

- `"bicgstab"` (default): van der Vorst's BiCGSTAB, matrix-free (one product with A or Aᵀ per half step),
  restarted from its current iterate when the recursively updated residual has drifted from the true one.
- `"neumann"`: the fixed-point iteration x ← A x + d (p ← Aᵀp + a₀), the Neumann series that
  Cockshott and Cottrell iterate for labour values; it converges because ‖A‖₁ < 1 for a productive
  sampled economy, at the rate of A's spectral radius.

Both stop when the relative residual ‖b − (I − M) x‖₂ / ‖b‖₂ (M = A or Aᵀ, recomputed from the data, not
the solver's recursion) is at most `tolerance` (default 1e-10), or when the iteration has used `max_iter`
products (the true residual's product comes on top). The result says
which (`converged`, `residual`, `iterations`); nothing is returned silently unconverged.

Gradients: the solves are wrapped in `jax.lax.custom_linear_solve`, so derivatives with respect to the
coefficients, a₀ and d come from the implicit function theorem at the solution (one more solve with the
transposed system in reverse mode), never from differentiating the iterations.
"""

from __future__ import annotations

from typing import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int

from ..economies.sparse import CompactSparseEconomy, SparseEconomy, technique_times, technique_transpose_times

__all__ = ["SparseSolution", "leontief_quantities", "labour_values", "METHODS"]

METHODS = ("bicgstab", "neumann")


class SparseSolution(eqx.Module):
    """An iterative solve's answer.

    Attributes:
        x: the solution [n].
        residual: ‖b − (I − M) x‖₂ / ‖b‖₂, recomputed from the data (one product at the end of every
            BiCGSTAB cycle; Neumann's iteration has it at every step).
        iterations: products with M used, that residual's included (BiCGSTAB: two per iteration and one per
            cycle; Neumann: one per step).
        converged: residual ≤ tolerance, every input index in range, and (for a non-negative right-hand
            side) no entry of x below −√tolerance·max|x|: an unproductive economy's negative "solution" is
            never reported as converged.
    """

    x: Float[Array, " n"]
    residual: Float[Array, ""]
    iterations: Int[Array, ""]
    converged: Bool[Array, ""]


def _neumann(matvec: Callable, b: Array, tolerance: float, max_iter: int):
    """x ← x + (b − (I − M) x) = M x + b until the relative residual is at most `tolerance`.
    Returns (x, its true residual vector, products used)."""
    scale = jnp.maximum(jnp.linalg.norm(b), jnp.finfo(b.dtype).tiny)

    def cond(state):
        x, r, k = state
        return (jnp.linalg.norm(r) > tolerance * scale) & (k < max_iter)

    def body(state):
        x, r, k = state
        x = x + r
        return x, b - matvec(x), k + 1

    return jax.lax.while_loop(cond, body, (jnp.zeros_like(b), b, jnp.asarray(0)))


def _bicgstab(matvec: Callable, b: Array, tolerance: float, max_iter: int):
    """Restarted BiCGSTAB from x = 0 (see the module docstring). Returns (x, its true residual vector,
    products used): every cycle ends with one product for the true residual b − (I − M) x, which decides
    whether to restart and is the residual reported, so no product is spent twice."""
    tiny = jnp.finfo(b.dtype).tiny
    scale = jnp.maximum(jnp.linalg.norm(b), tiny)
    safe = lambda d: jnp.where(jnp.abs(d) > tiny, d, tiny)

    def inner(x, r, k):
        rhat = r

        def cond(s):
            x, r, p, v, rho, alpha, omega, k, stop = s
            return ~stop & (jnp.linalg.norm(r) > tolerance * scale) & (k < max_iter)

        def body(s):
            x, r, p, v, rho, alpha, omega, k, stop = s
            rho_new = jnp.dot(rhat, r)
            beta = (rho_new / safe(rho)) * (alpha / safe(omega))
            p = r + beta * (p - omega * v)
            v = matvec(p)
            alpha = rho_new / safe(jnp.dot(rhat, v))
            s_ = r - alpha * v
            t = matvec(s_)
            tt = jnp.dot(t, t)
            omega = jnp.where(tt > tiny, jnp.dot(t, s_) / safe(tt), 0.0)
            x = x + alpha * p + omega * s_
            r_new = s_ - omega * t
            # breakdown (rhat ⟂ r, or ω = 0): stop this cycle; the outer loop restarts from x
            stop = (jnp.abs(rho_new) <= tiny) | (omega == 0.0)
            return x, r_new, p, v, rho_new, alpha, omega, k + 2, stop

        one = jnp.asarray(1.0, b.dtype)
        zero = jnp.zeros_like(b)
        x, _, *_, k, _ = jax.lax.while_loop(cond, body, (x, r, zero, zero, one, one, one, k, jnp.asarray(False)))
        return x, b - matvec(x), k + 1  # the true residual, not the recursion's

    def outer_cond(s):
        x, r, k, restarts = s
        return (jnp.linalg.norm(r) > tolerance * scale) & (k < max_iter) & (restarts < 8)

    def outer_body(s):
        x, r, k, restarts = s
        x, r, k = inner(x, r, k)
        return x, r, k, restarts + 1

    x, r, k, _ = jax.lax.while_loop(outer_cond, outer_body, (jnp.zeros_like(b), b, jnp.asarray(0), jnp.asarray(0)))
    return x, r, k


def _solve(matvec: Callable, b: Array, method: str, tolerance: float, max_iter: int,
           valid: Array | None = None) -> SparseSolution:
    if method not in METHODS:
        raise ValueError(f"method: one of {', '.join(METHODS)}, got {method!r}")
    iterate = _bicgstab if method == "bicgstab" else _neumann

    def solve(op, rhs):
        x, r, k = iterate(op, rhs, tolerance, max_iter)
        return x, (r, k)

    x, (r, k) = jax.lax.custom_linear_solve(matvec, b, solve, transpose_solve=solve, has_aux=True)
    xs, r = jax.lax.stop_gradient((x, r))
    residual = jnp.linalg.norm(r) / jnp.maximum(jnp.linalg.norm(b), jnp.finfo(b.dtype).tiny)
    # with b ≥ 0 a productive economy's solution is ≥ 0 (x = Σ Mᵏ b); a negative entry beyond rounding means
    # the economy is not productive (spectral radius ≥ 1) and the "solution" is no plan: never converged
    scale = jnp.max(jnp.abs(xs))
    meaningful = ~jnp.all(b >= 0) | jnp.all(xs >= -jnp.sqrt(tolerance) * scale)
    ok = (residual <= tolerance) & meaningful & (True if valid is None else valid)
    return SparseSolution(x=x, residual=residual, iterations=k, converged=ok)


def _indices_valid(economy: SparseEconomy | CompactSparseEconomy) -> Array:
    """Every input index names a good (0 ≤ index < n); out-of-range slots would be dropped by one product
    and clamped by the other, so the quantity and value solves would not be of the same matrix."""
    if isinstance(economy, CompactSparseEconomy):
        return jnp.all((economy.rows >= 0) & (economy.rows < economy.n) & (economy.cols >= 0) & (economy.cols < economy.n))
    return jnp.all((economy.inputs >= 0) & (economy.inputs < economy.n))


def leontief_quantities(economy: SparseEconomy | CompactSparseEconomy, *, method: str = "bicgstab", tolerance: float = 1e-10,
                        max_iter: int = 10_000) -> SparseSolution:
    """Gross outputs x with (I − A) x = d (jit/vmap-safe; differentiable by implicit adjoint)."""
    return _solve(lambda x: x - technique_times(economy, x), economy.final_demand, method, tolerance, max_iter,
                  _indices_valid(economy))


def labour_values(economy: SparseEconomy | CompactSparseEconomy, *, method: str = "bicgstab", tolerance: float = 1e-10,
                  max_iter: int = 10_000) -> SparseSolution:
    """Labour values (LSM prices in hours) p with (I − Aᵀ) p = a₀ (jit/vmap-safe; implicit adjoint)."""
    return _solve(lambda p: p - technique_transpose_times(economy, p), economy.labour, method, tolerance, max_iter,
                  _indices_valid(economy))
