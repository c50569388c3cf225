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

__all__ = ["SparseEconomy", "SparseProductionEconomy", "sample_sparse", "sample_sparse_production", "input_slots", "technique_times", "technique_transpose_times", "to_scipy"]


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
    # out-of-range indices read 0 (as segment_sum drops them in `technique_times`): both products are of one
    # matrix; the solvers report such an economy as not converged
    return jnp.sum(economy.coefficients * p.at[economy.inputs].get(mode="fill", fill_value=0.0), axis=1)


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


class SparseProductionEconomy(eqx.Module):
    """A constant-returns Cobb–Douglas economy with sparse technologies, for Malinvaud's procedure at
    national size (a pytree; batch it with a leading axis).

    Firm j makes good j from labour and the goods in its own input slots,
    q_j = A_j ℓ_j^α_j Π_k v_jk^β_jk with α_j + Σ_k β_jk = 1; unlike `SparseEconomy`'s fixed coefficients its
    technique depends on prices (substitution). Welfare Σ_j w_j log c_j; labour endowment L.

    Attributes:
        inputs: [n, K] int32, the goods firm j uses (any index in an unused slot, whose share is 0).
        input_shares: β [n, K] ≥ 0, Σ_k β_jk < 1.
        labour_shares: α [n] > 0 (= 1 − Σ_k β_jk).
        tfp: A [n] > 0.
        welfare_weights: w [n] > 0.
        labour: L > 0, a scalar.
    """

    inputs: Int[Array, "n K"]
    input_shares: Float[Array, "n K"]
    labour_shares: Float[Array, " n"]
    tfp: Float[Array, " n"]
    welfare_weights: Float[Array, " n"]
    labour: Float[Array, ""]

    @property
    def n(self) -> int:
        return self.labour_shares.shape[-1]

    def technique(self, coefficients: Array, labour_coefficients: Array, final_demand: Array) -> SparseEconomy:
        """The fixed-coefficient `SparseEconomy` of reported coefficients (the centre's Leontief model)."""
        return SparseEconomy(inputs=self.inputs, coefficients=coefficients, labour=labour_coefficients,
                             final_demand=final_demand)

    def to_dense(self):
        """The same economy as a dense `ProductionEconomy` (m = 1, constant returns), for references.

        Two slots of one firm may hold the same good (the sampler draws inputs independently); the firm then
        splits that good between them optimally, which is Cobb–Douglas in the merged share b = Σ b_k with
        productivity multiplied by Π_k b_k^b_k / b^b. The dense economy has the merged shares and that
        productivity, so both have the same unit costs and plans.
        """
        from .production import ProductionEconomy

        n, K = self.inputs.shape
        beta = jnp.zeros((n, n), self.input_shares.dtype).at[jnp.arange(n)[:, None], self.inputs].add(self.input_shares)
        xlogx = lambda a: jnp.where(a > 0, a * jnp.log(jnp.where(a > 0, a, 1.0)), 0.0)
        tfp = self.tfp * jnp.exp(jnp.sum(xlogx(self.input_shares), axis=1) - jnp.sum(xlogx(beta), axis=1))
        return ProductionEconomy(
            endowments=jnp.reshape(self.labour, (1,)), welfare_weights=self.welfare_weights, tfp=tfp,
            returns_to_scale=jnp.ones((n,), beta.dtype), resource_shares=self.labour_shares[:, None], input_shares=beta,
        )


def sample_sparse_production(key: jax.Array, n: int, slots: int | None = None, *, input_share=(0.2, 0.8)
                             ) -> SparseProductionEconomy:
    """One random `SparseProductionEconomy` of n goods (jit/vmap-safe): the input pattern of `sample_sparse`
    (a skewed, bounded number of other goods per firm, about n ln n non-zeros), each firm's total input
    share Σ_k β_jk drawn in `input_share` (labour takes the rest), A ~ U[0.8, 1.2], w ~ U[0.5, 1.5], L = n.
    Any such economy has non-substitution prices (log p = κ + B log p with B's rows summing below 1)."""
    base = sample_sparse(key, n, slots, column_sum=input_share)
    k1, k2 = jax.random.split(jax.random.fold_in(key, 1))
    dtype = base.coefficients.dtype
    beta = base.coefficients
    return SparseProductionEconomy(
        inputs=base.inputs, input_shares=beta, labour_shares=1.0 - jnp.sum(beta, axis=1),
        tfp=jax.random.uniform(k1, (n,), dtype, 0.8, 1.2), welfare_weights=jax.random.uniform(k2, (n,), dtype, 0.5, 1.5),
        labour=jnp.asarray(float(n), dtype),
    )
