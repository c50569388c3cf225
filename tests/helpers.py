"""Shared test helpers: batches of random economies and their reference optima."""

import jax
import numpy as np

from jplan.economies import sample_batch
from jplan.optimum import optimum


def batch(seed, size, n, m, **options):
    economies = sample_batch(jax.random.PRNGKey(seed), size, n, m, **options)
    return economies, jax.vmap(optimum)(economies)


def index(tree, i):
    return jax.tree_util.tree_map(lambda x: x[i], tree)


def as_dict(economy):
    return {k: np.asarray(getattr(economy, k)) for k in (
        "endowments", "welfare_weights", "tfp", "returns_to_scale", "resource_shares", "input_shares")}
