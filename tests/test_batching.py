"""`jplan.vmap_chunked`: vmap in pieces (the whole batch's results, shapes, jit and grad)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jplan
from jplan._batching import MIN_LANES, chunk_lanes, vmap_chunked
from jplan.economies import sample_batch, specialise
from jplan.procedures import ArrowHurwicz, Malinvaud, run


def test_pieces_give_the_whole_batch_results_for_a_batch_that_is_not_a_multiple():
    x = jnp.arange(300.0).reshape(150, 2)
    f = lambda row, c: jnp.stack([jnp.sum(row ** 2) + c, jnp.prod(row)])  # noqa: E731
    whole = jax.vmap(f)(x, x[:, 0])
    for lanes in (64, 100, 149, 150, 500):
        out = jax.jit(vmap_chunked(f, lanes))(x, x[:, 0])
        assert out.shape == (150, 2)
        np.testing.assert_array_equal(out, whole)


def test_pieces_keep_pytree_outputs_and_differentiate():
    x = jnp.linspace(0.5, 2.0, 130)

    def f(v):
        return {"a": jnp.log(v), "b": (v ** 2, jnp.sin(v))}

    out = vmap_chunked(f, 64)(x)
    np.testing.assert_allclose(out["a"], jnp.log(x))
    np.testing.assert_allclose(out["b"][1], jnp.sin(x))
    grad = jax.grad(lambda y: jnp.sum(vmap_chunked(lambda v: v ** 3, 64)(y)))(x)
    np.testing.assert_allclose(grad, 3 * x ** 2, rtol=1e-14)


def test_the_piece_is_chosen_by_the_bytes_of_an_economy():
    small = sample_batch(jax.random.PRNGKey(0), 32, 10, 2)
    assert chunk_lanes((small,)) is None  # fits in one piece: the whole batch
    big = jax.ShapeDtypeStruct((256, 100, 100), jnp.float64)  # 80 KB per economy: 64 a piece (the floor)
    assert chunk_lanes((big,)) == MIN_LANES
    mid = jax.ShapeDtypeStruct((4096, 30, 32), jnp.float64)  # 7.7 KB: 512 in 4 MB
    assert chunk_lanes((mid,)) == 512
    assert chunk_lanes((mid,), lanes=100) == 100
    assert chunk_lanes((mid,), lanes=5000) is None


@pytest.mark.parametrize("procedure, m, rho", [(ArrowHurwicz(), 2, 0.85), (Malinvaud(), 1, 1.0)])
def test_a_procedure_run_in_pieces_agrees_with_the_whole_batch(procedure, m, rho):
    economies = specialise(sample_batch(jax.random.PRNGKey(3), 150, 12, m, returns_to_scale=rho, density=0.8))
    one = lambda e: run(procedure, e, 40)  # noqa: E731
    whole = jax.jit(jax.vmap(one))(economies)
    parts = jax.jit(vmap_chunked(one, 64))(economies)
    assert jplan.vmap_chunked is vmap_chunked
    np.testing.assert_array_equal(parts.status, whole.status)
    np.testing.assert_array_equal(parts.steps, whole.steps)
    np.testing.assert_allclose(parts.plan.consumption, whole.plan.consumption, rtol=1e-12)
    np.testing.assert_allclose(parts.welfare, whole.welfare, rtol=1e-12)


def test_the_throughput_benchmark_times_both_sides_in_the_same_pieces(monkeypatch):
    """`benchmarks/throughput.py`'s `bench` on a batch run in pieces: NumPy's twin is timed whole and in the
    pieces, and both sides reach the same plans."""
    import importlib.util
    import sys
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "benchmarks"
    monkeypatch.syspath_prepend(str(folder))
    spec = importlib.util.spec_from_file_location("jplan_throughput_benchmark", folder / "throughput.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "chunk_lanes", lambda args: 64)  # 130 economies: pieces of 64, 64 and 2
    row = module.bench("malinvaud", 6, 130, repeats=1)
    assert row["lanes"] == 64 and row["numpy_way"] in ("whole", "pieces")
    assert row["compared"] == 130 and row["max_rel_diff"] <= 1e-10
    assert row["jplan_rate"] > 0 and row["numpy_rate"] > 0 and row["recording_rate"] > 0
