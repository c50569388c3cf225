"""National-size Leontief economies in sparse storage (issue: planning is computable at the scale of a
national input–output table, Cockshott and Cottrell's argument).

n goods. Producing one unit of good j uses a_ij units of good i (the technique matrix A, column j lists
good j's inputs) and a₀_j hours of direct labour; final demand is d. The two linear systems of the
Leontief–Samuelson–Malinvaud price and quantity calculations are

    quantities  x = A x + d        (gross outputs that deliver d net),
    prices      p = a₀ + Aᵀ p      (labour values: the labour embodied, directly and indirectly).

Two storage layouts, one interface (`technique_times`, `technique_transpose_times`, the solvers in
`jplan.solvers.sparse`):

- `SparseEconomy` stores A by columns in a padded ("ELL") layout, a fixed number K of input slots per good,
  so the sampler can draw a batch of economies as one pytree of static shape under jit/vmap: `inputs[j, k]`
  is the k-th input of good j and `coefficients[j, k]` its a_ij (0 in unused slots). Memory is n·K·12 bytes
  in float64: every good pays for the largest input count, 4.3× the non-zeros for the sampler's draws at
  n = 10⁶ and 10× on a real-like skewed table where one good has 5,000 inputs and the median a few hundred.
- `CompactSparseEconomy` stores only the non-zeros, as coordinates (i, j, a_ij) in chunks of a fixed,
  cache-sized length (the last chunk padded with zeros): 16 bytes per non-zero (two int32 indices and a
  float64), 1.33× a CSR matrix's 12, whatever the skew. A product is a scan over the chunks, each a gather
  from the vector and a scatter-add into the result that stay in cache; within a chunk the entries are
  interleaved (a stride of `chunk / INTERLEAVE` in column order) so that consecutive scatter-adds rarely hit
  one address. Measured on 2 cores (`python benchmarks/scale.py --skewed`, docs/benchmarks_scale.md): this
  is what makes XLA's CPU gather and scatter run at about SciPy's CSR speed; one flat gather over all
  non-zeros, or a column-sorted scatter, is 3–4× slower. Build it on the host with `compact` (from a
  `SparseEconomy`) or `from_coordinates` (from any coordinate list, such as a real table's).

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
import numpy as np
from jaxtyping import Array, Float, Int

__all__ = ["SparseEconomy", "CompactSparseEconomy", "SparseProductionEconomy", "sample_sparse", "sample_sparse_production",
           "sample_skewed", "compact", "compact_pattern", "CompactPattern", "coordinates", "from_coordinates", "input_slots", "technique_times", "technique_transpose_times",
           "to_scipy", "CHUNK", "INTERLEAVE"]

CHUNK = 131_072
"""Non-zeros per chunk of a `CompactSparseEconomy` on a CPU (at most; a smaller matrix has one smaller
chunk): 2 MB of indices and values, which with the slice of the vector they touch stays in a core's cache.
Measured: 32,768 to 262,144 are within 20% of each other; 8,192 pays the scan's per-step overhead. On an
accelerator the default is one chunk (a scan would serialise work the device does in parallel)."""

INTERLEAVE = 64
"""Entries of a chunk are stored as the transpose of a [INTERLEAVE, chunk / INTERLEAVE] table in column
order, so that neighbours in storage are chunk / INTERLEAVE apart in column order (and rarely share a column)."""


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


class CompactSparseEconomy(eqx.Module):
    """A Leontief economy storing only the non-zeros of its technique matrix (a pytree; economies with the
    same number of goods and chunks batch with a leading axis). Build it with `compact` or `from_coordinates`.

    Attributes:
        rows: [chunks, C] int32, i (the good used) of each stored coefficient.
        cols: [chunks, C] int32, j (the good that uses it).
        values: [chunks, C], a_ij (0 in the padding of the last chunk, whose indices are 0).
        labour: a₀ [n] > 0.
        final_demand: d [n] ≥ 0.
    """

    rows: Int[Array, "chunks C"]
    cols: Int[Array, "chunks C"]
    values: Float[Array, "chunks C"]
    labour: Float[Array, " n"]
    final_demand: Float[Array, " n"]

    @property
    def n(self) -> int:
        return self.labour.shape[-1]

    @property
    def nonzeros(self) -> Array:
        """The number of non-zero coefficients."""
        return jnp.sum(self.values != 0, axis=(-2, -1))

    @property
    def nbytes(self) -> int:
        """Bytes the technique matrix occupies (indices and values, padding included)."""
        return self.rows.nbytes + self.cols.nbytes + self.values.nbytes


def _chunked_product(source: Array, target: Array, values: Array, x: Array, n: int) -> Array:
    """Σ over stored entries e of values[e]·x[source[e]] added into target[e], one chunk per scan step."""

    def chunk(out, entries):
        s, t, v = entries
        return out.at[t].add(v * x.at[s].get(mode="fill", fill_value=0.0), mode="drop"), None

    zero = jnp.zeros((n,), jnp.result_type(values.dtype, x.dtype))
    return jax.lax.scan(chunk, zero, (source, target, values))[0]


def technique_times(economy: SparseEconomy | CompactSparseEconomy, x: Array) -> Array:
    """A x: (A x)_i = Σ_j a_ij x_j (a scatter-add over every good's input slots)."""
    if isinstance(economy, CompactSparseEconomy):
        return _chunked_product(economy.cols, economy.rows, economy.values, x, economy.n)
    contributions = economy.coefficients * x[:, None]
    return jax.ops.segment_sum(contributions.reshape(-1), economy.inputs.reshape(-1), num_segments=economy.n)


def technique_transpose_times(economy: SparseEconomy | CompactSparseEconomy, p: Array) -> Array:
    """Aᵀ p: (Aᵀ p)_j = Σ_i a_ij p_i (a gather over good j's input slots)."""
    if isinstance(economy, CompactSparseEconomy):
        return _chunked_product(economy.rows, economy.cols, economy.values, p, economy.n)
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


def coordinates(economy: SparseEconomy | CompactSparseEconomy) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows i, cols j, values a_ij) of one economy's stored non-zeros, as NumPy arrays (host-side)."""
    if isinstance(economy, CompactSparseEconomy):
        rows, cols, values = (np.asarray(a).reshape(-1) for a in (economy.rows, economy.cols, economy.values))
    else:
        n, K = economy.inputs.shape
        rows, values = np.asarray(economy.inputs).reshape(-1), np.asarray(economy.coefficients).reshape(-1)
        cols = np.repeat(np.arange(n), K)
    keep = values != 0
    return rows[keep], cols[keep], values[keep]


def to_scipy(economy: SparseEconomy | CompactSparseEconomy):
    """The technique matrix A as a SciPy CSR matrix (for references and benchmarks; needs SciPy)."""
    from scipy import sparse

    rows, cols, values = coordinates(economy)
    return sparse.csr_matrix((values, (rows, cols)), shape=(economy.n, economy.n))


def from_coordinates(rows, cols, values, labour, final_demand, *, chunk: int | None = None, chunks: int | None = None
                     ) -> CompactSparseEconomy:
    """A `CompactSparseEconomy` from a coordinate list a_{rows[e], cols[e]} = values[e] (host-side NumPy;
    repeated coordinates add up, zeros are dropped).

    Args:
        rows: the good i used, for each coefficient: integers in [0, n).
        cols: the good j that uses it: integers in [0, n).
        values: a_ij ≥ 0, finite.
        labour: a₀ [n] (n is its length).
        final_demand: d [n].
        chunk: non-zeros per chunk, at most, a multiple of `INTERLEAVE` (default `CHUNK` on a CPU, the whole
            matrix on an accelerator); a matrix with fewer non-zeros is one chunk of its own size rounded up to
            a multiple of `INTERLEAVE`.
        chunks: pad to this many chunks (to stack economies of different non-zero counts into one batch).

    Raises:
        ValueError: one line naming the problem (lengths differ, an index out of range, a negative or
            non-finite coefficient, too few chunks).
    """
    rows, cols, values = (np.asarray(a).reshape(-1) for a in (rows, cols, values))
    labour, final_demand = np.asarray(labour, dtype=float), np.asarray(final_demand, dtype=float)
    n = labour.shape[-1]
    if labour.shape != (n,) or final_demand.shape != (n,):
        raise ValueError(f"labour and final demand: one vector of n entries each, got shapes {labour.shape} and {final_demand.shape}")
    if not rows.shape == cols.shape == values.shape:
        raise ValueError(f"rows, cols and values: one entry per coefficient, got {rows.size}, {cols.size} and {values.size}")
    for name, index in (("rows", rows), ("cols", cols)):
        if index.size and (not np.issubdtype(index.dtype, np.integer) or index.min() < 0 or index.max() >= n):
            raise ValueError(f"{name}: integers in [0, {n}) (the goods), got values in [{index.min()}, {index.max()}]")
    values = values.astype(float)
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError("values: finite technical coefficients a_ij ≥ 0")
    keep = values != 0
    rows, cols, values = rows[keep], cols[keep], values[keep]
    if cols.size and np.any(cols[1:] < cols[:-1]):  # column by column: each good's inputs together
        order = np.argsort(cols, kind="stable")
        rows, cols, values = rows[order], cols[order], values[order]
    rows, cols, values = _chunked((rows, np.int32, 0), (cols, np.int32, 0), (values, jnp.zeros(()).dtype, 0),
                                  chunk=chunk, chunks=chunks)
    dtype = values.dtype
    return CompactSparseEconomy(rows=jnp.asarray(rows), cols=jnp.asarray(cols), values=jnp.asarray(values),
                                labour=jnp.asarray(labour, dtype), final_demand=jnp.asarray(final_demand, dtype))


def _chunked(*arrays, chunk: int | None, chunks: int | None):
    """Column-sorted entry arrays laid out in chunks of `chunk` (default `CHUNK` on a CPU, the whole matrix on
    an accelerator; a matrix with fewer entries is one chunk of its own size), each chunk interleaved (see
    `INTERLEAVE`). `arrays`: (values, dtype, padding) triples of one length."""
    entries = arrays[0][0].size
    if chunk is None:
        chunk = CHUNK if jax.default_backend() == "cpu" else max(entries, 1)
    size = int(chunk) if entries > chunk else max(INTERLEAVE, -(-entries // INTERLEAVE) * INTERLEAVE)
    if size % INTERLEAVE:
        raise ValueError(f"chunk: a multiple of {INTERLEAVE}, got {chunk}")
    needed = max(1, -(-entries // size))
    count = needed if chunks is None else int(chunks)
    if count < needed:
        raise ValueError(f"chunks: {entries} non-zeros need at least {needed} chunks of {size}, got {count}")

    def layout(a, dtype, pad):
        full = np.full(count * size, pad, dtype)
        full[: a.size] = a
        # neighbours in storage are size / INTERLEAVE apart in column order
        return full.reshape(count, INTERLEAVE, size // INTERLEAVE).transpose(0, 2, 1).reshape(count, size)

    return tuple(layout(*triple) for triple in arrays)


class CompactPattern(eqx.Module):
    """Where the used input slots of a padded (ELL) economy go in the compact layout, so that a procedure
    whose coefficients change every round (Malinvaud's: the firms' reported techniques) can solve in the
    compact layout without leaving jit: `pattern.economy(coefficients, labour, final_demand)`. Build it on the
    host with `compact_pattern`.

    Attributes:
        rows, cols: [chunks, C] int32, the goods (i, j) of each stored entry (0 in the padding).
        slots: [chunks, C] int32, the entry's position in the flattened [n, K] slot array (n·K, out of range,
            in the padding: it reads 0).
    """

    rows: Int[Array, "chunks C"]
    cols: Int[Array, "chunks C"]
    slots: Int[Array, "chunks C"]

    def economy(self, coefficients: Array, labour: Array, final_demand: Array) -> CompactSparseEconomy:
        """The compact economy of these [n, K] slot coefficients (jit/vmap-safe)."""
        values = coefficients.reshape(-1).at[self.slots].get(mode="fill", fill_value=0.0)
        return CompactSparseEconomy(rows=self.rows, cols=self.cols, values=values, labour=labour, final_demand=final_demand)


def compact_pattern(economy, *, chunk: int | None = None, chunks: int | None = None) -> CompactPattern:
    """The `CompactPattern` of one padded economy's used slots (host-side): a `SparseEconomy`'s non-zero
    coefficients or a `SparseProductionEconomy`'s non-zero input shares."""
    inputs = np.asarray(economy.inputs)
    if inputs.ndim != 2:
        raise ValueError(f"compact_pattern: one economy (inputs [n, K]), got inputs of shape {inputs.shape}")
    n, K = inputs.shape
    used = np.asarray(economy.coefficients if isinstance(economy, SparseEconomy) else economy.input_shares) != 0
    slots = np.flatnonzero(used)
    if slots.size and (inputs.reshape(-1)[slots].min() < 0 or inputs.reshape(-1)[slots].max() >= n):
        raise ValueError(f"inputs: goods in [0, {n}) in every used slot")
    rows, cols, slots = _chunked((inputs.reshape(-1)[slots], np.int32, 0), (slots // K, np.int32, 0),
                                 (slots, np.int32, n * K), chunk=chunk, chunks=chunks)
    return CompactPattern(rows=jnp.asarray(rows), cols=jnp.asarray(cols), slots=jnp.asarray(slots))


def compact(economy: SparseEconomy, *, chunk: int | None = None, chunks: int | None = None) -> CompactSparseEconomy:
    """The same economy in the compact layout (host-side: the number of non-zeros sets the storage size).
    One economy, not a batch; see `from_coordinates` for `chunk` and `chunks`."""
    if economy.inputs.ndim != 2:
        raise ValueError(f"compact: one economy (inputs [n, K]), got inputs of shape {economy.inputs.shape}; compact each economy of a batch")
    return from_coordinates(*coordinates(economy), np.asarray(economy.labour), np.asarray(economy.final_demand),
                            chunk=chunk, chunks=chunks)


def sample_skewed(seed: int, n: int, *, mean_inputs: float = 551.0, max_inputs: int = 5000, tail: float = 2.2,
                  column_sum=(0.2, 0.8), chunk: int | None = None) -> CompactSparseEconomy:
    """A productive sparse economy whose input counts are heavy-tailed, like a real national table's
    (host-side NumPy; the default is the shape of a 55,200-good table with 28.4M non-zeros, where one good
    has 5,000 inputs and the median a few hundred).

    Good 0 uses `max_inputs` goods; every other good uses 1 + ⌈1.2 · mean_inputs · Pareto(tail)⌉ goods (at
    most `max_inputs` − 1), chosen uniformly among the others (with repetition, which adds up); weights
    U[0.05, 1] scaled so that good j's column sum is drawn in `column_sum` (below 1: productive). Labour
    a₀ ~ U[0.1, 1], final demand d ~ U[0, 1].
    """
    if n < 2 or max_inputs < 1:
        raise ValueError(f"n: at least 2 goods and max_inputs ≥ 1, got n = {n}, max_inputs = {max_inputs}")
    rng = np.random.default_rng(seed)
    cap = min(int(max_inputs), n - 1)
    counts = np.minimum(cap - 1 if cap > 1 else 1, np.ceil(rng.pareto(tail, n) * mean_inputs * 1.2) + 1).astype(np.int64)
    counts[0] = cap
    cols = np.repeat(np.arange(n), counts)
    rows = (cols + rng.integers(1, n, cols.size)) % n  # another good
    weights = rng.uniform(0.05, 1.0, cols.size)
    lo, hi = column_sum
    weights *= (rng.uniform(lo, hi, n) / np.bincount(cols, weights, n))[cols]
    return from_coordinates(rows, cols, weights, rng.uniform(0.1, 1.0, n), rng.uniform(0.0, 1.0, n), chunk=chunk)


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
