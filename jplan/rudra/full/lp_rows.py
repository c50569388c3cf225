"""LP plumbing shared by steps 6 and 8: affine constraint rows and the differentiable LP on a basis."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float


# ---------------------------------------------------------------------------------------------- LP plumbing


def _affine(fn, size: int, dtype):
    """(J, f(0)) of an affine map f: R^size -> R^k, by forward differentiation (exact for affine maps)."""
    zero = jnp.zeros(size, dtype)
    return jax.jacfwd(fn)(zero), fn(zero)


def _step_lp(rows, objective, size: int, dtype, allowed) -> "StepLP":
    """A step's LP in standard form from its equations written as affine maps of the variable vector:
    `rows(z) = 0` (A z = −rows(0)) and `objective(z)` (c, with objective(0) as the constant offset)."""
    A, r0 = _affine(rows, size, dtype)
    c, c0 = _affine(objective, size, dtype)
    return StepLP(c=c, offset=c0, A=A, b=-r0, allowed=allowed)


class StepLP(eqx.Module):
    """A step's LP in standard form: minimise cᵀz + offset subject to A z = b, z ≥ 0, z_k = 0 where not
    `allowed` (the form `jplan.solvers.lp.linprog` solves; tests hand the same data to HiGHS)."""

    c: Float[Array, " nv"]
    offset: Float[Array, ""]
    A: Float[Array, "m nv"]
    b: Float[Array, " m"]
    allowed: Array
