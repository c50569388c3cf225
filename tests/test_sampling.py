"""Random economies: valid by construction over many keys and options; keyed, pure and vmap-able."""

import jax
import numpy as np
import pytest

from jplan.economies import from_arrays, sample, sample_batch

from .helpers import as_dict, index

OPTIONS = [
    dict(n=3, m=1, returns_to_scale=1.0),
    dict(n=5, m=2, returns_to_scale=0.9, density=0.3),
    dict(n=8, m=3, returns_to_scale=(0.5, 1.5), intermediate_share=(0.0, 0.9)),
    dict(n=10, m=2, returns_to_scale=1.4, intermediate_share=0.8, density=1.0),
    dict(n=4, m=2, returns_to_scale=(0.9, 0.95), density=0.0),
]


@pytest.mark.parametrize("opts", OPTIONS)
def test_every_sample_passes_file_validation(opts):
    opts = dict(opts)
    n, m = opts.pop("n"), opts.pop("m")
    economies = sample_batch(jax.random.PRNGKey(7), 200, n, m, **opts)
    for i in range(200):
        from_arrays(**as_dict(index(economies, i)))  # raises on any invalid economy
    rho = np.asarray(economies.returns_to_scale)
    lo, hi = (opts["returns_to_scale"],) * 2 if np.isscalar(opts["returns_to_scale"]) else opts["returns_to_scale"]
    assert rho.min() >= lo - 1e-12 and rho.max() <= hi + 1e-12


def test_density_controls_links():
    sparse = sample_batch(jax.random.PRNGKey(1), 100, 10, 2, density=0.2)
    dense = sample_batch(jax.random.PRNGKey(1), 100, 10, 2, density=1.0)
    frac_sparse = float(np.mean(np.asarray(sparse.input_shares) > 0))
    assert 0.1 < frac_sparse < 0.3
    assert float(np.mean(np.asarray(dense.input_shares) > 0)) == 1.0


def test_keyed_pure_and_vmap_equals_loop():
    keys = jax.random.split(jax.random.PRNGKey(3), 6)
    batch = jax.vmap(lambda k: sample(k, 4, 2, returns_to_scale=(0.8, 1.2)))(keys)
    for i, k in enumerate(keys):
        single = sample(k, 4, 2, returns_to_scale=(0.8, 1.2))
        for a, b in zip(jax.tree_util.tree_leaves(single), jax.tree_util.tree_leaves(index(batch, i))):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    again = sample(keys[0], 4, 2, returns_to_scale=(0.8, 1.2))
    assert np.array_equal(np.asarray(again.tfp), np.asarray(index(batch, 0).tfp))


def test_one_sampler_program_draws_every_family_as_before():
    """A study's scenarios of one (n, m) share one compiled sampler (`batch_sampler`: `draw`, the options as
    arrays), and it and `sample_batch` draw every family bit for bit as the family's own program (`sample`
    under jit, its options constants) does (checked on 5 of the 15): 15 option sets of the bundled configs
    (n ≤ 8: Cobb–Douglas, CES complements and substitutes, CES welfare, increasing returns; Stone–Geary and
    set-up costs keep a program of their own), 4 economies each. Both equal the economies jplan's per-family sampler drew before the change
    (`tests/data/sampler_golden.npz`): bit for bit at XLA's default optimisation level (checked when the file
    was written), to 1e-13 here, where the suite compiles at level 0 (conftest.py) and rounding differs."""
    import json
    from pathlib import Path

    from jplan.economies import sampling
    from jplan.study import jobs

    golden = np.load(Path(__file__).parent / "data" / "sampler_golden.npz")
    meta = json.loads(str(golden["meta"]))
    shared_sets = [(e["n"], e["m"]) for e in meta if "setup" not in e["options"] and e["options"].get("welfare") != "stone-geary"]
    shapes = set(shared_sets)
    before = sum(sampling._shared_program(n, m, 1.0)._cache_size() for n, m in shapes)
    for i, entry in enumerate(meta):
        options = {k: tuple(v) if isinstance(v, list) else v for k, v in entry["options"].items()}
        n, m = entry["n"], entry["m"]
        keys = jax.random.split(jax.random.PRNGKey(i), 4)
        shared = jobs._sampler(n, m, json.dumps(entry["options"], sort_keys=True))(keys)
        own = jax.jit(jax.vmap(lambda k: sample(k, n, m, **options)))(keys) if i % 3 == 0 else None  # 5 of them
        batch = sample_batch(jax.random.PRNGKey(i), 4, n, m, **options)
        for field, value in vars(shared).items():
            if f"{i}/{field}" in golden.files:
                assert np.array_equal(np.asarray(value), np.asarray(getattr(batch, field))), (entry["source"], field)
                if own is not None:
                    assert np.array_equal(np.asarray(value), np.asarray(getattr(own, field))), (entry["source"], field)
                np.testing.assert_allclose(np.asarray(value), golden[f"{i}/{field}"], rtol=1e-13, atol=1e-300,
                                           err_msg=f"{entry['source']}: {field}")
    # one program per (n, m) and batch size, whatever the families: at most one new program per shape for the
    # option sets that share (a program per family would add one per option set)
    after = sum(sampling._shared_program(n, m, 1.0)._cache_size() for n, m in shapes)
    assert len(shared_sets) > len(shapes) >= 3 and after - before <= len(shapes)
    assert all(sampling._shared_program(n, m, 1.0)._cache_size() >= 1 for n, m in shapes)
