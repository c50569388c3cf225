"""The speed paths of issue 13: the no-pivot Z-matrix solver and the batch-uniform Cobb–Douglas branch.

Each must give the answer of the general computation: the solver against LAPACK (NumPy) and finite
differences, its productivity certificate against the spectral radius; the fast branch bit for bit
against the general one, so that an economy's result never depends on the batch it is run in.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jplan._batching import all_in_batch, cond_all
from jplan._linalg import z_factor, z_lu_solve, z_solve
from jplan.economies import sample_batch
from jplan.procedures import ArrowHurwicz, Heal, HealProportional, Malinvaud, run


def _leontief(rng, n, radius):
    A = rng.uniform(size=(n, n)) * (rng.uniform(size=(n, n)) < 0.6)
    A = A / max(np.max(np.abs(np.linalg.eigvals(A))), 1e-12) * radius
    return np.eye(n) - A


def _pair(a, b, c):
    factors, ok = z_factor(a)
    return z_lu_solve(factors, b), z_lu_solve(factors, c, transpose=True), ok


@pytest.mark.parametrize("n", [1, 2, 7, 16, 17, 30, 64])
def test_z_solves_match_lapack_on_productive_matrices(n):
    rng = np.random.default_rng(n)
    for _ in range(5):
        a = _leontief(rng, n, rng.uniform(0.1, 0.99))
        b, c = rng.uniform(size=n), rng.normal(size=n)
        x, y, ok = jax.jit(_pair)(a, b, c)
        assert bool(ok)
        np.testing.assert_allclose(x, np.linalg.solve(a, b), rtol=1e-11, atol=1e-13)
        np.testing.assert_allclose(y, np.linalg.solve(a.T, c), rtol=1e-11, atol=1e-12)


def test_blocked_elimination_equals_the_unrolled_one(monkeypatch):
    """Orders above UNROLLED are eliminated in blocks of fori_loops (compile time independent of n): the
    same factors and solutions as the unrolled elimination, on both sides of the productivity boundary."""
    import jplan._linalg as linalg

    rng = np.random.default_rng(5)
    for n, radius in ((20, 0.9), (37, 0.5), (40, 1.2)):
        a, b, c = _leontief(rng, n, radius), rng.uniform(size=n), rng.normal(size=n)
        blocked = jax.jit(_pair)(a, b, c)
        monkeypatch.setattr(linalg, "UNROLLED", 100)
        unrolled = jax.jit(_pair)(a, b, c)
        monkeypatch.setattr(linalg, "UNROLLED", 16)
        assert bool(blocked[2]) == bool(unrolled[2]) == (radius < 1)
        if radius < 1:
            np.testing.assert_allclose(blocked[0], unrolled[0], rtol=1e-13)
            np.testing.assert_allclose(blocked[1], unrolled[1], rtol=1e-13)


def test_z_factor_certifies_productivity_exactly():
    """ok ⟺ spectral radius < 1, for Z-matrices I − A on both sides of the boundary."""
    rng = np.random.default_rng(0)
    seen = {True: 0, False: 0}
    for _ in range(200):
        n = int(rng.integers(2, 9)) if _ % 4 else int(rng.integers(17, 40))  # unrolled and blocked
        radius = float(rng.uniform(0.5, 1.5))
        if abs(radius - 1) < 1e-3:
            continue
        a = _leontief(rng, n, radius)
        actual = np.max(np.abs(np.linalg.eigvals(np.eye(n) - a)))  # the mask may leave A = 0
        ok = bool(z_solve(a, np.ones(n))[1])
        assert ok == (actual < 1)
        seen[ok] += 1
    assert min(seen.values()) > 50


def test_z_solves_vmap_equals_loop_and_nested_vmap():
    rng = np.random.default_rng(1)
    a = np.stack([_leontief(rng, 6, 0.9) for _ in range(12)]).reshape(3, 4, 6, 6)
    b = rng.uniform(size=(3, 4, 6))
    x = jax.jit(jax.vmap(jax.vmap(lambda a, b: z_solve(a, b)[0])))(a, b)
    for i in range(3):
        for j in range(4):
            np.testing.assert_allclose(x[i, j], np.linalg.solve(a[i, j], b[i, j]), rtol=1e-12)
    # an unbatched matrix with batched right-hand sides
    xs = jax.vmap(lambda b: z_solve(a[0, 0], b)[0])(b[0])
    np.testing.assert_allclose(xs, np.linalg.solve(a[0, 0], b[0].T).T, rtol=1e-12)


def test_z_solve_gradients_match_finite_differences():
    rng = np.random.default_rng(2)
    n = 5
    a, b, c = _leontief(rng, n, 0.8), rng.uniform(size=n), rng.uniform(size=n)

    def f(a, b, c):
        x, y, _ = _pair(a, b, c)
        return jnp.sum(jnp.sin(x)) + jnp.sum(y**2) + x @ y

    def f_np(a, b, c):
        x, y = np.linalg.solve(a, b), np.linalg.solve(a.T, c)
        return np.sum(np.sin(x)) + np.sum(y**2) + x @ y

    grads = jax.jit(jax.grad(f, argnums=(0, 1, 2)))(a, b, c)
    batched = jax.vmap(jax.grad(f, argnums=(0, 1, 2)), in_axes=(0, None, None))(np.stack([a, a]), b, c)
    eps = 1e-6
    for which, g in enumerate(grads):
        arg = (a, b, c)[which]
        for idx in list(np.ndindex(arg.shape))[::3]:
            up, down = [np.array(x, copy=True) for x in (a, b, c)], [np.array(x, copy=True) for x in (a, b, c)]
            up[which][idx] += eps
            down[which][idx] -= eps
            fd = (f_np(*up) - f_np(*down)) / (2 * eps)
            assert abs(float(g[idx]) - fd) <= 1e-6 * max(1.0, abs(fd))
        np.testing.assert_allclose(batched[which][1], g, rtol=1e-12)


def test_all_in_batch_is_the_batch_conjunction():
    assert bool(all_in_batch(jnp.asarray(True))) and not bool(all_in_batch(jnp.asarray(False)))
    np.testing.assert_array_equal(jax.vmap(all_in_batch)(jnp.array([True, False, True])), [False] * 3)
    np.testing.assert_array_equal(jax.vmap(all_in_batch)(jnp.array([True, True])), [True, True])
    # cond_all picks per batch, and either branch must give the same answer: here they do, so the result
    # is right whatever the batch holds, and gradients pass through
    f = lambda x: cond_all(x > 0, lambda: jnp.abs(x) ** 2, lambda: x**2)
    np.testing.assert_allclose(jax.vmap(f)(jnp.array([1.0, -2.0])), [1.0, 4.0])
    np.testing.assert_allclose(jax.vmap(jax.grad(f))(jnp.array([1.0, 3.0])), [2.0, 6.0])
    np.testing.assert_allclose(jax.vmap(jax.grad(f))(jnp.array([1.0, -3.0])), [2.0, -6.0])


@pytest.mark.parametrize(
    "proc, m, rho, steps",
    [
        (ArrowHurwicz(rule="multiplicative", step_size=0.05), 2, 0.85, 40),
        (ArrowHurwicz(), 2, 0.85, 40),
        (Malinvaud(), 1, 1.0, 8),
        (Heal(), 2, 0.85, 15),
        (HealProportional(), 2, 0.85, 8),
    ],
    ids=lambda p: getattr(p, "name", None),
)
def test_an_economy_gets_the_same_result_in_any_batch(proc, m, rho, steps):
    """Cobb–Douglas economies take the fast branch in an all-Cobb–Douglas batch and the general one in a
    batch with a CES economy (or one with a set-up cost): their traces must agree bit for bit."""
    econ = sample_batch(jax.random.PRNGKey(7), 6, 5, m, returns_to_scale=rho, density=0.8)
    ces = eqx.tree_at(lambda e: e.elasticity, econ, econ.elasticity.at[0].set(0.7))
    setup = eqx.tree_at(lambda e: e.setup_cost, econ, econ.setup_cost.at[0, 1].set(1e-3))
    f = jax.jit(jax.vmap(lambda e: run(proc, e, steps)))
    plain = f(econ)
    for mixed in (f(ces), f(setup)):
        for x, y in zip(jax.tree_util.tree_leaves(plain), jax.tree_util.tree_leaves(mixed)):
            np.testing.assert_array_equal(np.asarray(x)[1:], np.asarray(y)[1:])
