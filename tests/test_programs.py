"""Programs kept across runs (`jplan._programs`): stored once, loaded instead of traced, identical results,
and never stored where the source hash would not cover the code."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jplan._programs as programs
from jplan.economies import sample_batch, specialise
from jplan.procedures import Heal, run


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A store folder of this test's own, and an empty in-process table (a fresh process)."""
    monkeypatch.setattr(programs, "store_folder", lambda: tmp_path)
    monkeypatch.setattr(programs, "_PROGRAMS", {})
    return tmp_path


def _fresh_process(monkeypatch):
    monkeypatch.setattr(programs, "_PROGRAMS", {})
    jax.clear_caches()


def test_a_stored_program_is_loaded_not_traced_and_gives_the_same_results(store, monkeypatch):
    economies = specialise(sample_batch(jax.random.PRNGKey(3), 6, 5, 2))
    procedure = Heal()
    fn = jax.vmap(lambda e: run(procedure, e, 20))
    expected = jax.jit(fn)(economies)
    first = programs.compiled(("test-heal", 20), fn, (economies,), objects=(procedure,))(economies)
    assert sorted(p.suffix for p in store.iterdir()) == [".bin", ".json"]
    _fresh_process(monkeypatch)
    traced = []
    monkeypatch.setattr(jax.export, "export", lambda *a, **k: traced.append(1))  # a second run must not export
    second = programs.compiled(("test-heal", 20), fn, (economies,), objects=(procedure,))(economies)
    assert not traced
    for got in (first, second):
        assert jax.tree_util.tree_structure(got) == jax.tree_util.tree_structure(expected)  # a Trace, rebuilt
        for a, b in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(expected)):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_output_structures_with_static_fields_are_rebuilt(store, monkeypatch):
    """A sampler's output: an economy whose static marks (`specialise`) are part of its structure."""
    import dataclasses

    from jplan.economies import ProductionEconomy

    def fn(keys):
        e = jax.vmap(lambda k: sample_batch(k, 1, 3, 1))(keys)
        fields = {f.name: getattr(e, f.name) for f in dataclasses.fields(e) if f.name != "known"}
        return ProductionEconomy(**fields, known=("cobb-douglas", "log-welfare"))  # as `specialise` marks a batch

    keys = jax.random.split(jax.random.PRNGKey(0), 4)
    expected = jax.jit(fn)(keys)
    programs.compiled(("test-sampler",), fn, (keys,))
    _fresh_process(monkeypatch)
    got = programs.compiled(("test-sampler",), fn, (keys,))(keys)
    assert jax.tree_util.tree_structure(got) == jax.tree_util.tree_structure(expected)
    assert got.known == expected.known and got.known


def test_keys_shapes_and_structures_each_name_their_own_program(store):
    fn = lambda x: {"y": 2.0 * x}  # noqa: E731
    programs.compiled(("double",), fn, (jnp.ones(3),))
    programs.compiled(("double", "other options"), fn, (jnp.ones(3),))
    programs.compiled(("double",), fn, (jnp.ones(4),))
    programs.compiled(("double",), lambda xs: fn(xs[0]), ([jnp.ones(3)],))  # another argument structure
    assert len(list(store.glob("*.bin"))) == 4


def test_damaged_files_are_exported_again(store, monkeypatch):
    fn = lambda x: {"y": x + 1.0}  # noqa: E731
    programs.compiled(("plus",), fn, (jnp.ones(3),))
    (path,) = store.glob("*.bin")
    path.write_bytes(path.read_bytes()[:20])  # truncated, as by a crash mid-write
    _fresh_process(monkeypatch)
    np.testing.assert_array_equal(programs.compiled(("plus",), fn, (jnp.ones(3),))(jnp.ones(3))["y"], 2.0)
    _fresh_process(monkeypatch)
    np.testing.assert_array_equal(programs.compiled(("plus",), fn, (jnp.ones(3),))(jnp.ones(3))["y"], 2.0)


def test_code_from_outside_the_package_is_never_stored(store):
    """The stored program's key hashes jplan's sources only: a user's class in the arguments (or the
    objects the function is built from) could change without changing the key, so it is compiled as usual."""
    import equinox as eqx

    class UserParameters(eqx.Module):
        a: jax.Array

    fn = lambda p: {"y": p.a * 2.0}  # noqa: E731
    got = programs.compiled(("user",), fn, (UserParameters(jnp.ones(2)),))(UserParameters(jnp.ones(2)))
    np.testing.assert_array_equal(got["y"], 2.0)
    programs.compiled(("user-object",), lambda x: {"y": x}, (jnp.ones(2),), objects=(UserParameters(jnp.ones(1)),))
    assert not list(store.iterdir())


def test_no_store_without_a_compilation_cache(monkeypatch):
    monkeypatch.setattr(programs, "store_folder", lambda: None)
    got = programs.compiled(("plain",), lambda x: {"y": x * 3.0}, (jnp.ones(2),))(jnp.ones(2))
    np.testing.assert_array_equal(got["y"], 3.0)


@pytest.mark.parametrize("stored", [True, False])
def test_programs_are_named_after_their_keys(tmp_path, monkeypatch, stored):
    """Compile logs, `jax.monitoring` events and XLA dumps name a program by its key's short words (a study's
    compile-time breakdown per program depends on it), stored or not; long words (option sets) are left out."""
    monkeypatch.setattr(programs, "store_folder", lambda: tmp_path if stored else None)
    monkeypatch.setattr(programs, "_PROGRAMS", {})
    names = []
    real_jit = jax.jit

    def spy(fn, *args, **kwargs):
        names.append(fn.__name__)
        return real_jit(fn, *args, **kwargs)

    monkeypatch.setattr(jax, "jit", spy)
    options = '{"step_size": 0.03, "rule": "multiplicative"}'
    programs.compiled(("study-chunk", "heal", options, 300, 1), lambda x: {"y": x + 1.0}, (jnp.ones(2),))
    assert names[-1] == "study_chunk_heal_300_1"
