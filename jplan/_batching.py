"""Batch-uniform fast paths.

Every field of an economy is an array, so one compiled program serves a batch that mixes families
(Cobb–Douglas and CES firms, set-up costs or none). Under `vmap`, `jnp.where` and `lax.cond` on a
per-economy predicate evaluate every branch for every economy, so a Cobb–Douglas batch would pay for the
CES formulas it never uses. `all_in_batch(pred)` is `pred` for one economy; under `vmap` it is the
predicate's conjunction over the whole batch, *unbatched*, so a `lax.cond` on it stays a real branch:
where every economy of the batch satisfies the predicate, only the fast branch runs. Results are those
of the general branch (the fast branch must compute the same thing, specialised); only the work changes.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["all_in_batch", "cond_all"]


@jax.custom_batching.custom_vmap
def all_in_batch(pred: jax.Array) -> jax.Array:
    """`pred` (a boolean scalar); under `vmap`, True only where it holds for every member of the batch."""
    return jnp.asarray(pred)


@all_in_batch.def_vmap
def _all_in_batch_rule(axis_size, in_batched, pred):
    (batched,) = in_batched
    return (jnp.all(pred) if batched else jnp.asarray(pred)), False


def cond_all(pred: jax.Array, fast, general, *operands):
    """`fast(*operands)` where `pred` holds across the batch (see the module docstring), else `general`."""
    pred = all_in_batch(jax.lax.stop_gradient(jnp.asarray(pred, bool)))
    return jax.lax.cond(pred, fast, general, *operands)
