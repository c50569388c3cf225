"""Small dense linear solvers in pure JAX.

`jnp.linalg.solve` on CPU calls LAPACK through a custom call, and inside the scanned graphs of the
procedures it deadlocks (jax/jaxlib 0.10.2, 2 cores: a scan that solves with M and then with Mᵀ, n = 32,
batch 128). The cause, from a native backtrace: jaxlib's LAPACK kernel splits its batch over XLA's
intra-op thread pool and blocks a pool thread until the pieces finish; two independent factorisations
started at once block both threads of a two-thread pool. `benchmarks/repro_lapack_hang.py` reproduces
it. Elimination written in JAX has no custom call, batches under vmap as ordinary array operations, runs
unchanged on GPU and is differentiable in reverse mode with its implicit adjoint.

- `solve`: Gaussian elimination with partial pivoting, for general matrices (the simplex's bases).
- `z_factor` / `z_lu_solve` / `z_solve`: elimination without pivoting for Z-matrices I − A, A ≥ 0 (the
  Leontief systems of Malinvaud's and Heal's centres): one factorisation serves a system and its
  transpose, and it certifies productivity (see below).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp


@jax.custom_vjp
def solve(a: jax.Array, b: jax.Array) -> jax.Array:
    """x with a @ x = b, for one square matrix a [n, n] and one vector b [n] (vmap for batches).

    Reverse mode uses the implicit adjoint (b̄ = a⁻ᵀ x̄, ā = −b̄ xᵀ) rather than differentiating
    through the elimination, so gradients cost one more solve. (Use `jax.jacrev`, not `jacfwd`.)
    """
    return _eliminate(a, b)


def _solve_fwd(a, b):
    x = _eliminate(a, b)
    return x, (a, x)


def _solve_bwd(residuals, x_bar):
    a, x = residuals
    b_bar = _eliminate(a.T, x_bar)
    return -jnp.outer(b_bar, x), b_bar


solve.defvjp(_solve_fwd, _solve_bwd)


def _eliminate(a: jax.Array, b: jax.Array) -> jax.Array:
    n = a.shape[-1]
    rows = jnp.arange(n)
    m = jnp.concatenate([a, b[:, None]], axis=1)

    def eliminate(k, m):
        pivot = jnp.argmax(jnp.where(rows >= k, jnp.abs(m[:, k]), -1.0))
        row_k, row_p = m[k], m[pivot]
        m = m.at[k].set(row_p).at[pivot].set(row_k)
        factors = jnp.where(rows > k, m[:, k] / m[k, k], 0.0)
        return m - factors[:, None] * m[k][None, :]

    m = jax.lax.fori_loop(0, n, eliminate, m)
    upper, y = m[:, :n], m[:, n]

    def substitute(i, x):
        k = n - 1 - i
        return x.at[k].set((y[k] - upper[k] @ x) / upper[k, k])

    return jax.lax.fori_loop(0, n, substitute, jnp.zeros_like(y))


# -- Z-matrices: I − A with A ≥ 0 (Leontief systems) ------------------------------------------------
#
# The centres of Malinvaud's and Heal's procedures solve systems (I − A) x = b with A ≥ 0, a Z-matrix
# (off-diagonal entries ≤ 0). Such a matrix is a nonsingular M-matrix (A productive, spectral radius < 1)
# exactly when Gaussian elimination *without pivoting* meets only positive pivots (its leading principal
# minors are positive), and elimination without pivoting is then stable (Funderlic, Neumann & Plemmons,
# "LU decompositions of generalized diagonally dominant matrices", Numer. Math. 1982). So: no pivot
# search, no row exchanges (which become gathers and scatters under vmap) and, for free, a certificate that
# A is productive.
#
# Layout: under `vmap` the batch axis would be the major one, and every step of the elimination would be
# a loop over the batch of short rows. `custom_vmap` moves the batch to the minor (contiguous) axis
# instead, so each step is one vectorised operation over [rows, cols, batch]. Up to order UNROLLED the
# elimination is unrolled over a shrinking trailing block (static shapes, n³/3 multiply-adds). Beyond it
# the unrolled program grows with n (9 s to compile one factor-and-solve at n = 64 on 2 cores), so the
# elimination runs in blocks of BLOCK pivots: a Python loop over ⌈n/BLOCK⌉ blocks, each a `fori_loop` over
# its pivots on the block's trailing matrix (the same updates in the same order, n³/3 + O(n² BLOCK)
# multiply-adds; a factor-and-solve at n = 64 compiles in 0.5 s and runs 1.5x faster: 7.9 against 11.9 ms
# for a batch of 128), and the substitutions are `fori_loop`s over masked full-length columns.

#: Orders up to this are eliminated fully unrolled; larger ones in blocks (see above).
UNROLLED = 16
BLOCK = 16


def _factor_minor(a):
    """No-pivot LU of a [n, n, B] (batch minor): (L unit lower, U upper), each [n, n, B]."""
    n, B = a.shape[0], a.shape[2]
    if n > UNROLLED:
        return _factor_blocked(a)
    ls, us = [], []
    t = a
    for _ in range(n):
        u = t[0]
        l = t[1:, 0] / u[0][None, :]
        ls.append(l)
        us.append(u)
        t = t[1:, 1:] - l[:, None, :] * u[None, 1:, :]
    zeros = lambda k: jnp.zeros((k, B), a.dtype)
    upper = jnp.stack([jnp.concatenate([zeros(k), u]) for k, u in enumerate(us)])
    lower = jnp.stack([jnp.concatenate([zeros(k), jnp.ones((1, B), a.dtype), l]) for k, l in enumerate(ls)], axis=1)
    # materialise the factors: otherwise XLA fuses the stacking into every later slice of them and the
    # solves cost several times the factorisation
    return jax.lax.optimization_barrier((lower, upper))


def _eliminate_block(sub, count):
    """`count` elimination steps on a trailing matrix sub [m, m, B], in place: multipliers stored below the
    diagonal of the eliminated columns, the updated trailing block beside them."""
    idx = jnp.arange(sub.shape[0])

    def pivot(k, t):
        row = jax.lax.dynamic_index_in_dim(t, k, 0, keepdims=False)  # [m, B]
        col = jax.lax.dynamic_index_in_dim(t, k, 1, keepdims=False)
        below = (idx > k)[:, None]
        l = jnp.where(below, col / jax.lax.dynamic_index_in_dim(row, k, 0, keepdims=False)[None], 0.0)
        u = jnp.where(below, row, 0.0)
        store = ((idx[:, None] > k) & (idx[None, :] == k))[..., None]
        return jnp.where(store, l[:, None, :], t - l[:, None, :] * u[None, :, :])

    return jax.lax.fori_loop(0, count, pivot, sub)


def _factor_blocked(a):
    """`_factor_minor` for orders above UNROLLED: BLOCK pivots at a time (see the layout note)."""
    n = a.shape[0]
    t = a
    for s in range(0, n, BLOCK):
        t = t.at[s:, s:].set(_eliminate_block(t[s:, s:], min(BLOCK, n - s)))
    idx = jnp.arange(n)
    strictly_lower = (idx[:, None] > idx[None, :])[..., None]
    lower = jnp.where(strictly_lower, t, 0.0) + jnp.eye(n, dtype=a.dtype)[..., None]
    upper = jnp.where(strictly_lower, 0.0, t)
    return jax.lax.optimization_barrier((lower, upper))


def _substitute_loop(matrix, b, unit: bool, forward: bool):
    """Forward (lower) or backward (upper) substitution by columns as a `fori_loop` (orders > UNROLLED)."""
    n = b.shape[0]
    idx = jnp.arange(n)

    def column(j, r):
        k = j if forward else n - 1 - j
        x = jax.lax.dynamic_index_in_dim(r, k, 0, keepdims=False)
        if not unit:
            diagonal = jax.lax.dynamic_index_in_dim(jax.lax.dynamic_index_in_dim(matrix, k, 0, keepdims=False), k, 0,
                                                    keepdims=False)
            x = x / diagonal
        col = jax.lax.dynamic_index_in_dim(matrix, k, 1, keepdims=False)
        rest = (idx > k) if forward else (idx < k)
        r = r - jnp.where(rest[:, None], col * x[None], 0.0)
        return jax.lax.dynamic_update_index_in_dim(r, x, k, 0)

    return jax.lax.fori_loop(0, n, column, b)


def _forward_minor(lower, b, unit: bool):
    """y with lower @ y = b (by columns); lower [n, n, B], b [n, B]."""
    n = b.shape[0]
    if n > UNROLLED:
        return _substitute_loop(lower, b, unit, forward=True)
    ys, r = [], b
    for k in range(n):
        y = r[0] if unit else r[0] / lower[k, k]
        ys.append(y)
        r = r[1:] - lower[k + 1:, k] * y[None, :]
    return jnp.stack(ys)


def _backward_minor(upper, y, unit: bool):
    """x with upper @ x = y (by columns); upper [n, n, B], y [n, B]."""
    n = y.shape[0]
    if n > UNROLLED:
        return _substitute_loop(upper, y, unit, forward=False)
    xs, r = [], y
    for k in range(n - 1, -1, -1):
        x = r[k] if unit else r[k] / upper[k, k]
        xs.append(x)
        r = r[:k] - upper[:k, k] * x[None, :]
    return jnp.stack(xs[::-1])


def _transposed(m):
    return jnp.transpose(m, (1, 0, 2))


def _solve_minor(lower, upper, b):
    """x with (LU) x = b."""
    return _backward_minor(upper, _forward_minor(lower, b, unit=True), unit=False)


def _solve_t_minor(lower, upper, c):
    """y with (LU)ᵀ y = c: Uᵀ z = c, then Lᵀ y = z."""
    return _backward_minor(_transposed(lower), _forward_minor(_transposed(upper), c, unit=False), unit=True)


def _factor_ok_minor(a):
    lower, upper = _factor_minor(a)
    d = jnp.diagonal(upper, axis1=0, axis2=1)  # [B, n]
    return lower, upper, jnp.all((d > 0) & jnp.isfinite(d), axis=1)


def _batch_minor(kernel):
    """A function of unbatched arrays whose vmap runs `kernel` on batch-minor layouts (see above)."""

    def single(*args):
        outs = kernel(*jax.tree_util.tree_map(lambda x: jnp.asarray(x)[..., None], args))
        return jax.tree_util.tree_map(lambda o: o[..., 0], outs)

    f = jax.custom_batching.custom_vmap(single)

    @f.def_vmap
    def rule(axis_size, in_batched, *args):
        def move(x, batched):
            x = jnp.asarray(x)
            return jnp.moveaxis(x, 0, -1) if batched else jnp.broadcast_to(x[..., None], (*x.shape, axis_size))

        outs = kernel(*jax.tree_util.tree_map(move, list(args), list(in_batched)))
        return jax.tree_util.tree_map(lambda o: jnp.moveaxis(o, -1, 0), outs), jax.tree_util.tree_map(lambda _: True, outs)

    return f


_factor = _batch_minor(_factor_ok_minor)
_solve = _batch_minor(lambda lower, upper, b: _solve_minor(lower, upper, b))
_solve_t = _batch_minor(lambda lower, upper, b: _solve_t_minor(lower, upper, b))


class ZFactors(NamedTuple):
    """The no-pivot LU factors of a Z-matrix (see `z_factor`)."""

    matrix: jax.Array
    lower: jax.Array
    upper: jax.Array


def z_factor(a: jax.Array) -> tuple[ZFactors, jax.Array]:
    """Factor a Z-matrix a [n, n] (off-diagonal ≤ 0) without pivoting: (factors, ok).

    `ok` is True exactly when a is a nonsingular M-matrix (every pivot positive; for a = I − A with A ≥ 0:
    A is productive), and then the factorisation is stable. Where `ok` is False the solves are not to be
    trusted (callers report failure). Solve with `z_lu_solve`; gradients flow to a through the solves.
    """
    lower, upper, ok = _factor(jax.lax.stop_gradient(a))
    return ZFactors(a, lower, upper), ok


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _lu_solve(factors: ZFactors, b: jax.Array, transpose: bool) -> jax.Array:
    return (_solve_t if transpose else _solve)(factors.lower, factors.upper, b)


def _lu_solve_fwd(factors, b, transpose):
    x = _lu_solve(factors, b, transpose)
    return x, (factors, x)


def _lu_solve_bwd(transpose, res, x_bar):
    factors, x = res
    if transpose:  # aᵀ x = b: b̄ = a⁻¹ x̄, ā = −x b̄ᵀ
        b_bar = _solve(factors.lower, factors.upper, x_bar)
        a_bar = -jnp.outer(x, b_bar)
    else:  # a x = b: b̄ = a⁻ᵀ x̄, ā = −b̄ xᵀ
        b_bar = _solve_t(factors.lower, factors.upper, x_bar)
        a_bar = -jnp.outer(b_bar, x)
    zero = jnp.zeros_like
    return ZFactors(a_bar, zero(factors.lower), zero(factors.upper)), b_bar


_lu_solve.defvjp(_lu_solve_fwd, _lu_solve_bwd)


def z_lu_solve(factors: ZFactors, b: jax.Array, transpose: bool = False) -> jax.Array:
    """x with a x = b (or aᵀ x = b with `transpose`) from `z_factor(a)`'s factors; reverse mode by the
    implicit adjoint, with the same factors."""
    return _lu_solve(factors, b, transpose)


def z_solve(a: jax.Array, b: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(x, ok) with a x = b for a Z-matrix a; see `z_factor`."""
    factors, ok = z_factor(a)
    return z_lu_solve(factors, b), ok
