"""Shared test helpers: batches of random economies and their reference optima."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from jplan.economies import sample_batch
from jplan.solvers.production import reference_function


def batch(seed, size, n, m, **options):
    """`size` random economies and their reference optima (one vmapped call each)."""
    economies = sample_batch(jax.random.PRNGKey(seed), size, n, m, **options)
    return economies, jax.jit(jax.vmap(reference_function(economies)))(economies)


def index(tree, i):
    return jax.tree_util.tree_map(lambda x: x[i], tree)


def replace(module, **fields):
    """A copy of an equinox module (an economy) with the given fields replaced by arrays."""
    return eqx.tree_at(lambda x: tuple(getattr(x, k) for k in fields), module, tuple(jnp.asarray(v) for v in fields.values()))


def as_dict(economy):
    return {k: np.asarray(getattr(economy, k)) for k in (
        "endowments", "welfare_weights", "tfp", "returns_to_scale", "resource_shares", "input_shares")}
