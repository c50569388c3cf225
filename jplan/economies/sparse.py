"""National-size Leontief economies in sparse storage (issue: planning is computable at the scale of a
national input–output table, Cockshott and Cottrell's argument).

n goods. Producing one unit of good j uses a_ij units of good i (the technique matrix A, column j lists
good j's inputs) and a₀_j hours of direct labour; final demand is d. The two linear systems of the
Leontief–Samuelson–Malinvaud price and quantity calculations are

    quantities  x = A x + d        (gross outputs that deliver d net),
    prices      p = a₀ + Aᵀ p      (labour values: the labour embodied, directly and indirectly).

A is stored by columns in a padded ("ELL") layout, a fixed number K of input slots per good, so a batch of
economies is one pytree of static shape and a product with A is a gather plus a segment sum: `inputs[j, k]`
is the k-th input of good j and `coefficients[j, k]` its a_ij (0 in unused slots). Memory is n·K·12 bytes
in float64 (K ≈ 4 ln n slots: 0.7 GB at n = 10⁶).

`sample_sparse` draws economies in the style of the random economies of the anchors (Cockshott and
Cottrell's labour-value iterations; Samothrakis's open-loop planning code): each good uses a bounded,
skewed number of inputs (1 + an exponential draw of mean ln n − 1, at most K), about n ln n non-zeros in
all, chosen uniformly among the other goods; its column sum Σ_i a_ij is drawn in [0.2, 0.8], so every
column sums below 1, ‖A‖₁ < 1, and the economy is productive by construction (I − A is an M-matrix with a
non-negative inverse, and both systems have unique non-negative solutions).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

__all__ = ["SparseEconomy", "sample_sparse", "input_slots", "technique_times", "technique_transpose_times", "to_scipy"]


class SparseEconomy(eqx.Module):
    """A Leontief economy with a sparse technique matrix (a pytree; batch it with a leading axis).

    Attributes:
        inputs: [n, K] int32, the goods each good uses (row indices i of column j of A; any index in an
            unused slot, whose coefficient is 0).
        coefficients: [n, K], a_ij ≥ 0 for those inputs (0 in unused slots).
        labour: a₀ [n] > 0, direct labour per unit of each good.
        final_demand: d [n] ≥ 0.
    """

    inputs: Int[Array, "n K"]
    coefficients: Float[Array, "n K"]
    labour: Float[Array, " n"]
    final_demand: Float[Array, " n"]

    @property
    def n(self) -> int:
        return self.labour.shape[-1]

    @property
    def nonzeros(self) -> Array:
        """The number of non-zero coefficients."""
        return jnp.sum(self.coefficients != 0, axis=(-2, -1))


def input_slots(n: int) -> int:
    """K, the input slots per good the sampler allocates for n goods: ⌈4 ln n⌉ (at least 2)."""
    return max(2, math.ceil(4 * math.log(max(n, 2))))


def technique_times(economy: SparseEconomy, x: Array) -> Array:
    """A x: (A x)_i = Σ_j a_ij x_j (a scatter-add over every good's input slots)."""
    contributions = economy.coefficients * x[:, None]
    return jax.ops.segment_sum(contributions.reshape(-1), economy.inputs.reshape(-1), num_segments=economy.n)


def technique_transpose_times(economy: SparseEconomy, p: Array) -> Array:
    """Aᵀ p: (Aᵀ p)_j = Σ_i a_ij p_i (a gather over good j's input slots)."""
    return jnp.sum(economy.coefficients * p[economy.inputs], axis=1)


def sample_sparse(key: jax.Array, n: int, slots: int | None = None, *, column_sum=(0.2, 0.8)) -> SparseEconomy:
    """One random sparse productive economy of n goods (jit/vmap-safe; see the module docstring).

    Args:
        key: a PRNG key.
        n: goods (static), from 2 up.
        slots: K, input slots per good (default `input_slots(n)`, ⌈4 ln n⌉).
        column_sum: the range of each good's total input coefficient Σ_i a_ij (below 1: productive).
    """
    if n < 2:
        raise ValueError(f"n: at least 2 goods, got {n}")
    K = input_slots(n) if slots is None else int(slots)
    dtype = jnp.zeros(()).dtype
    kk, ki, kv, ks, kl, kd = jax.random.split(key, 6)
    mean = max(math.log(n) - 1.0, 0.5)
    count = jnp.minimum(1 + jnp.floor(mean * jax.random.exponential(kk, (n,), dtype)), K).astype(jnp.int32)
    offset = jax.random.randint(ki, (n, K), 1, n)  # another good: (j + offset) mod n, offset in [1, n)
    inputs = ((jnp.arange(n)[:, None] + offset) % n).astype(jnp.int32)
    used = jnp.arange(K)[None, :] < count[:, None]
    weights = jnp.where(used, jax.random.uniform(kv, (n, K), dtype, 0.05, 1.0), 0.0)
    lo, hi = column_sum
    total = jax.random.uniform(ks, (n,), dtype, lo, hi)
    coefficients = weights * (total / jnp.sum(weights, axis=1))[:, None]
    labour = jax.random.uniform(kl, (n,), dtype, 0.1, 1.0)
    final_demand = jax.random.uniform(kd, (n,), dtype, 0.0, 1.0)
    return SparseEconomy(inputs=inputs, coefficients=coefficients, labour=labour, final_demand=final_demand)


def to_scipy(economy: SparseEconomy):
    """The technique matrix A as a SciPy CSR matrix (for references and benchmarks; needs SciPy)."""
    import numpy as np
    from scipy import sparse

    n, K = economy.inputs.shape
    rows = np.asarray(economy.inputs).reshape(-1)
    cols = np.repeat(np.arange(n), K)
    values = np.asarray(economy.coefficients).reshape(-1)
    keep = values != 0
    return sparse.csr_matrix((values[keep], (rows[keep], cols[keep])), shape=(n, n))
