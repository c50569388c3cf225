"""Rudra's long-term planning economy (Rudra's frame paper, §§4–8 and Appendix 2), as pytrees of arrays.

N sectors, n commodities. Sector j at activity level X_j produces b_ij·X_j of commodity i (joint
production allowed), uses a_ij·X_j of commodity i, needs k_j·X_j of fixed capital, saves the fraction v_j of
its value added, and has growth coefficient r_j (cumulated output over the plan period divided by end-year
output, seed (5.3)). Imports m_i ≥ 0 are limited by the foreign exchange available, F. Final-demand
targets d_i. Matrices follow the seed's notation: `inputs[i, j]` = a_ij is commodity i used per unit of
sector j's activity (rows commodities, columns sectors).

A sector's *technology set* is a differentiable map θ_j ↦ Ω_j = (a_·j, b_·j, k_j, v_j, r_j), optionally
depending on the activity level X_j (Rudra's "technological functions" of scale, §2.8). `Technology` is the
protocol; `ProjectFrontier` is the built-in family (a smooth frontier through a sector's alternative
projects). Technologies of all N sectors are one module whose arrays carry a leading sector axis, so the
sectoral planners run in parallel under `vmap`.
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float

__all__ = [
    "RudraEconomy",
    "SectorColumn",
    "Technology",
    "ProjectFrontier",
    "GrowthPath",
    "value_added_share",
    "capital_weights",
    "column",
    "with_column",
    "project_to_simplex",
    "sample_rudra",
    "frontiers",
    "sample_frontiers",
]


class SectorColumn(eqx.Module):
    """Sector j's coefficient array Ω_j (seed §7.3): one column of the technology matrix."""

    inputs: Float[Array, " n"]  # a_·j
    outputs: Float[Array, " n"]  # b_·j
    capital: Float[Array, ""]  # k_j
    savings_rate: Float[Array, ""]  # v_j
    growth: Float[Array, ""]  # r_j


class RudraEconomy(eqx.Module):
    """The data of the central calculation (seed Appendix 2, generalised to N sectors, n commodities).

    Attributes:
        inputs: a [n, N], commodity i used per unit of activity of sector j.
        outputs: b [n, N], commodity i produced per unit of activity of sector j (identity if one each).
        capital: k [N], fixed capital per unit of activity.
        savings_rate: v [N], share of value added saved.
        growth: r [N], growth coefficients (cumulated plan-period output / end-year output).
        final_demand: d [n], end-year targets of final demand.
        foreign_exchange: F [], foreign exchange available for imports.
        prices: p [n], prices that value outputs and inputs for the value-added shares (ones in the seed).
        importable: [n] bool, which commodities may be imported (m_i = 0 where False).
        balance_equality: [] bool, commodity balances hold with equality (seed A.2.1) instead of ≥.
        imports_equality: [] bool, imports use exactly F (seed A.2.1) instead of ≤ F.
    """

    inputs: Float[Array, "n N"]
    outputs: Float[Array, "n N"]
    capital: Float[Array, " N"]
    savings_rate: Float[Array, " N"]
    growth: Float[Array, " N"]
    final_demand: Float[Array, " n"]
    foreign_exchange: Float[Array, ""]
    prices: Float[Array, " n"]
    importable: Bool[Array, " n"]
    balance_equality: Bool[Array, ""]
    imports_equality: Bool[Array, ""]

    @property
    def n(self) -> int:
        """Number of commodities."""
        return self.inputs.shape[-2]

    @property
    def N(self) -> int:
        """Number of sectors."""
        return self.inputs.shape[-1]


def value_added_share(economy: RudraEconomy) -> Float[Array, " N"]:
    """Value added per unit value of output in each sector: 1 − pᵀa_j / pᵀb_j (seed: 1 − a_21 for sector 1)."""
    p = economy.prices
    return 1.0 - (p @ economy.inputs) / (p @ economy.outputs)


def capital_weights(economy: RudraEconomy) -> Float[Array, " N"]:
    """γ_j = k_j − (value-added share)_j · v_j · r_j: the capital-resources gap per unit of activity (seed A.2)."""
    return economy.capital - value_added_share(economy) * economy.savings_rate * economy.growth


def column(economy: RudraEconomy, j) -> SectorColumn:
    """Sector j's coefficient array Ω_j (j may be traced)."""
    return SectorColumn(
        inputs=economy.inputs[:, j],
        outputs=economy.outputs[:, j],
        capital=economy.capital[j],
        savings_rate=economy.savings_rate[j],
        growth=economy.growth[j],
    )


def with_column(economy: RudraEconomy, j, col: SectorColumn) -> RudraEconomy:
    """The economy with sector j's column replaced by `col`, every other column unchanged (j may be traced)."""
    return eqx.tree_at(
        lambda e: (e.inputs, e.outputs, e.capital, e.savings_rate, e.growth),
        economy,
        (
            economy.inputs.at[:, j].set(col.inputs),
            economy.outputs.at[:, j].set(col.outputs),
            economy.capital.at[j].set(col.capital),
            economy.savings_rate.at[j].set(col.savings_rate),
            economy.growth.at[j].set(col.growth),
        ),
    )


def project_to_simplex(theta: Float[Array, " P"], mask: Bool[Array, " P"] | None = None) -> Float[Array, " P"]:
    """Euclidean projection onto {θ ≥ 0, Σθ = 1} (restricted to the entries where `mask` is True)."""
    if mask is None:
        mask = jnp.ones(theta.shape, bool)
    v = jnp.where(mask, theta, -jnp.inf)
    u = jnp.sort(v)[::-1]
    finite = jnp.isfinite(u)
    cumsum = jnp.cumsum(jnp.where(finite, u, 0.0))
    k = jnp.arange(1, theta.shape[0] + 1)
    cond = finite & (u - (cumsum - 1.0) / k > 0)
    rho = jnp.max(jnp.where(cond, k, 1))
    tau = (cumsum[rho - 1] - 1.0) / rho
    return jnp.where(mask, jnp.maximum(theta - tau, 0.0), 0.0)


class Technology(eqx.Module):
    """A sector's technology set: a differentiable map from a choice θ (with bounds) to Ω_j.

    Subclass with `coefficients(theta, level)` written for ONE sector (arrays without a sector axis) and
    `project(theta)` onto the feasible set of θ; the planners `vmap` over a module whose arrays carry a
    leading sector axis. `level` is the activity level X_j at which the coefficients are read off (seed
    §8.2: the previous cycle's target), for technologies with non-constant returns to scale.
    """

    @abc.abstractmethod
    def coefficients(self, theta: Float[Array, " P"], level: Float[Array, ""]) -> SectorColumn:
        """Ω_j(θ, X_j)."""

    @abc.abstractmethod
    def project(self, theta: Float[Array, " P"]) -> Float[Array, " P"]:
        """The nearest admissible θ."""

    @abc.abstractmethod
    def initial(self) -> Float[Array, " P"]:
        """A starting θ (e.g. the project closest to the base-year technique)."""

    def tangent(self, theta: Float[Array, " P"], grad: Float[Array, " P"]) -> Float[Array, " P"]:
        """The gradient's component along the admissible set's affine hull (identity for a box)."""
        return grad

    def active(self) -> Bool[Array, ""]:
        """Whether the sector has any choice at all (a fixed sector keeps its column)."""
        return jnp.array(True)


class ProjectFrontier(Technology):
    """A smooth frontier through a sector's alternative projects (seed Appendix 2 and §7.4).

    θ ∈ simplex weights the P projects Ω^(1..P); the coefficients along the frontier are

        a(θ, X) = Σ_p θ_p a^(p) s_p(X) − (1 − Σ_p θ_p²) · S_a,     s_p(X) = (X / X_ref)^σ_p
        k(θ, X) = Σ_p θ_p k^(p) s_p(X) − (1 − Σ_p θ_p²) · S_k,     b, v, r: Σ_p θ_p (·)^(p)

    where S ("mixing savings", inputs and capital) is how much intermediate combinations of the projects'
    techniques save relative to the straight chord between them (zero at every project, largest in the
    middle; with two projects 1 − Σθ² = 2θ(1 − θ)), and s_p(X) is project p's technological function of
    scale (seed §2.8): its input and capital coefficients at activity level X relative to those at X_ref
    (σ_p < 0: economies of scale, σ_p = 0: constant returns). A sector without a technology set is one
    project equal to its base column with `fixed` True: it keeps the centre's base coefficients.

    Arrays are for one sector; stack the sectors' frontiers along a leading axis (padding to a common P
    with `mask`).
    """

    inputs: Float[Array, "P n"]
    outputs: Float[Array, "P n"]
    capital: Float[Array, " P"]
    savings_rate: Float[Array, " P"]
    growth: Float[Array, " P"]
    mask: Bool[Array, " P"]
    mixing_inputs: Float[Array, " n"]
    mixing_capital: Float[Array, ""]
    scale_elasticity: Float[Array, " P"]
    reference_level: Float[Array, ""]
    start: Float[Array, " P"]
    fixed: Bool[Array, ""]

    def coefficients(self, theta, level):
        theta = jnp.where(self.mask, theta, 0.0)
        bump = 1.0 - jnp.sum(theta**2)
        ratio = jnp.maximum(level, 1e-300) / self.reference_level
        scaled = theta * jnp.where(self.scale_elasticity == 0.0, 1.0, ratio**self.scale_elasticity)
        return SectorColumn(
            inputs=scaled @ self.inputs - bump * self.mixing_inputs,
            outputs=theta @ self.outputs,
            capital=scaled @ self.capital - bump * self.mixing_capital,
            savings_rate=theta @ self.savings_rate,
            growth=theta @ self.growth,
        )

    def project(self, theta):
        return project_to_simplex(theta, self.mask)

    def tangent(self, theta, grad):
        # Only differences between the weights' gradients matter on the simplex (Σθ = 1).
        mean = jnp.sum(jnp.where(self.mask, grad, 0.0)) / jnp.sum(self.mask)
        return jnp.where(self.mask, grad - mean, 0.0)

    def initial(self):
        return self.start

    def active(self):
        return ~self.fixed


class GrowthPath(eqx.Module):
    """How the plan length T enters the frame (seed Appendix 3): growth coefficients r_j(T), targets d(T).

    Assumptions (documented, adopted here): sector j's output grows geometrically from its base-year level
    X_j0 = q_j · X_jT to the end-year level X_jT, so the growth coefficient (5.3) is
        r_j(T) = Σ_{t=1..T} X_jt / X_jT = Σ_{s=0..T−1} q_j^{s/T} = (1 − q_j) / (1 − q_j^{1/T}),
    increasing in T (a longer plan accumulates more savings per unit of end-year capacity); and the final
    demand needed for the objective state grows with the population, d(T) = d_ref · (1 + g)^(T − T_ref)
    (g ≥ 0; g = 0 keeps the targets fixed).

    Attributes:
        base_ratio: q [N] in (0, 1), base-year output over end-year output.
        demand_growth: g [] or [n], annual growth of the final-demand targets.
        reference_length: T_ref [], the plan length at which d_ref = the economy's final demand.
    """

    base_ratio: Float[Array, " N"]
    demand_growth: Float[Array, "..."]
    reference_length: Float[Array, ""]

    def growth(self, T) -> Float[Array, " N"]:
        """r_j(T)."""
        q = self.base_ratio
        return (1.0 - q) / (1.0 - q ** (1.0 / T))

    def demand(self, economy: RudraEconomy, T) -> Float[Array, " n"]:
        """d(T)."""
        return economy.final_demand * (1.0 + self.demand_growth) ** (T - self.reference_length)

    def apply(self, economy: RudraEconomy, T) -> RudraEconomy:
        """The economy whose plan period has length T."""
        T = jnp.asarray(T, economy.capital.dtype)
        return eqx.tree_at(lambda e: (e.growth, e.final_demand), economy, (self.growth(T), self.demand(economy, T)))


def sample_rudra(
    key: jax.Array,
    N: int,
    n: int | None = None,
    *,
    joint_production: bool = False,
    negative_gamma: bool = False,
) -> RudraEconomy:
    """A random Rudra economy (pure and keyed; `vmap` over keys for a batch).

    Inputs are productive (every column of a sums to at most 0.7 of its output), savings rates 0.05–0.3,
    growth coefficients 3–8, targets 50–150, F 0–40, and capital coefficients chosen so that
    γ_j = k_j − (value-added share)·v_j·r_j lies in [0.3, 2] (so the minimal gap is bounded). With
    `joint_production` (and n may differ from N) each sector also makes small amounts of other commodities;
    otherwise n = N and b = I. `negative_gamma` draws k_j from 0.2–3 instead, so that some γ_j are
    negative (then the minimal gap can be unbounded below: a test of the status reporting).
    """
    n = N if n is None else n
    if not joint_production and n != N:
        raise ValueError("without joint production there is one commodity per sector (n = N)")
    ks = jax.random.split(key, 8)
    if joint_production:
        main = jnp.arange(N) % n
        outputs = jax.nn.one_hot(main, n).T + 0.3 * jax.random.uniform(ks[0], (n, N)) * (
            jax.random.uniform(ks[1], (n, N)) < 0.3
        )
    else:
        outputs = jnp.eye(N)
    raw = jax.random.uniform(ks[2], (n, N)) * (jax.random.uniform(ks[3], (n, N)) < 0.6)
    column_total = outputs.sum(axis=0) * jax.random.uniform(ks[4], (N,), minval=0.2, maxval=0.7)
    inputs = raw / jnp.maximum(raw.sum(axis=0), 1e-12) * column_total
    inputs = inputs * (1.0 - (jnp.eye(n, N) if not joint_production else 0.0))
    savings = jax.random.uniform(ks[6], (N,), minval=0.05, maxval=0.3)
    kr = jax.random.split(ks[7], 3)
    growth = jax.random.uniform(kr[0], (N,), minval=3.0, maxval=8.0)
    if negative_gamma:
        capital = jax.random.uniform(ks[5], (N,), minval=0.2, maxval=3.0)
    else:  # γ_j = k_j − share_j v_j r_j ≥ 0.3 by construction
        share = 1.0 - inputs.sum(axis=0) / outputs.sum(axis=0)
        capital = share * savings * growth + jax.random.uniform(ks[5], (N,), minval=0.3, maxval=2.0)
    demand = jax.random.uniform(kr[1], (n,), minval=50.0, maxval=150.0)
    fx = jax.random.uniform(kr[2], (), minval=0.0, maxval=40.0)
    dtype = capital.dtype
    return RudraEconomy(
        inputs=inputs.astype(dtype),
        outputs=outputs.astype(dtype),
        capital=capital,
        savings_rate=savings,
        growth=growth,
        final_demand=demand,
        foreign_exchange=fx,
        prices=jnp.ones(n, dtype),
        importable=jnp.ones(n, bool),
        balance_equality=jnp.array(False),
        imports_equality=jnp.array(False),
    )


def frontiers(economy: RudraEconomy, projects: dict[int, dict]) -> ProjectFrontier:
    """Stack per-sector `ProjectFrontier`s (leading sector axis, padded to a common number of projects).

    Args:
        economy: supplies the base columns; a sector absent from `projects` keeps its base column (a single
            project, inactive).
        projects: sector index → a dict with the per-project arrays `inputs` [P, n], `capital` [P],
            `savings_rate` [P], `growth` [P], optional `outputs` [P, n] (default: the base output column),
            `scale_elasticity` [P] (default 0), and the sector's `mixing_inputs` [n], `mixing_capital`,
            `reference_level` (default 1) and `start` [P] (default: all weight on the first project).
    """
    import numpy as np

    n, N = economy.n, economy.N
    width = max([1] + [len(np.atleast_1d(spec["capital"])) for spec in projects.values()])
    base_in, base_out = np.asarray(economy.inputs), np.asarray(economy.outputs)
    fields: dict[str, list] = {k: [] for k in ProjectFrontier.__dataclass_fields__}
    for j in range(N):
        spec = projects.get(j)
        fields["fixed"].append(spec is None)
        if spec is None:
            spec = dict(
                inputs=base_in[:, j][None],
                capital=[float(economy.capital[j])],
                savings_rate=[float(economy.savings_rate[j])],
                growth=[float(economy.growth[j])],
            )
        P = len(np.atleast_1d(spec["capital"]))
        pad = width - P

        def rows(x, default=None):
            x = np.asarray(default if x is None else x, dtype=np.float64).reshape(P, n)
            return np.concatenate([x, np.repeat(x[:1], pad, axis=0)])

        def vec(x, default=0.0):
            x = np.broadcast_to(np.asarray(default if x is None else x, dtype=np.float64), (P,))
            return np.concatenate([x, np.repeat(x[:1], pad)])

        start = np.eye(P)[0] if spec.get("start") is None else np.asarray(spec["start"], dtype=np.float64)
        fields["inputs"].append(rows(spec["inputs"]))
        fields["outputs"].append(rows(spec.get("outputs"), np.repeat(base_out[:, j][None], P, axis=0)))
        fields["capital"].append(vec(spec["capital"]))
        fields["savings_rate"].append(vec(spec["savings_rate"]))
        fields["growth"].append(vec(spec["growth"]))
        fields["mask"].append(np.arange(width) < P)
        fields["mixing_inputs"].append(np.broadcast_to(np.asarray(spec.get("mixing_inputs", 0.0), dtype=np.float64), (n,)))
        fields["mixing_capital"].append(float(spec.get("mixing_capital", 0.0)))
        fields["scale_elasticity"].append(vec(spec.get("scale_elasticity")))
        fields["reference_level"].append(float(spec.get("reference_level", 1.0)))
        fields["start"].append(np.concatenate([start, np.zeros(pad)]))
    return ProjectFrontier(**{k: jnp.asarray(np.stack(v)) for k, v in fields.items()})


def sample_frontiers(
    key: jax.Array,
    economy: RudraEconomy,
    reference_levels: Float[Array, " N"],
    *,
    projects: int = 2,
    spread: float = 0.3,
    mixing: float = 0.3,
    scale_elasticity: tuple[float, float] = (0.0, 0.0),
) -> ProjectFrontier:
    """Random technology sets for every sector of `economy` (pure and keyed; arrays with a sector axis).

    Each sector gets `projects` alternatives around its base column: input, capital and growth
    coefficients scaled by factors in [1 − spread, 1 + spread] (capital kept at least 0.3 above the
    savings term so γ stays positive at the reference level), the base savings rate, mixing savings of up to
    `mixing` × the mean project capital (and none on inputs), and per-project scale elasticities drawn
    from `scale_elasticity` = (low, high) around `reference_levels` (e.g. the preliminary targets).
    """
    n, N, P = economy.n, economy.N, projects
    k = jax.random.split(key, 6)
    lo, hi = 1.0 - spread, 1.0 + spread
    inputs = economy.inputs.T[:, None, :] * jax.random.uniform(k[0], (N, P, n), minval=lo, maxval=hi)
    growth = economy.growth[:, None] * jax.random.uniform(k[1], (N, P), minval=lo, maxval=hi)
    savings = jnp.broadcast_to(economy.savings_rate[:, None], (N, P))
    outputs = jnp.broadcast_to(economy.outputs.T[:, None, :], (N, P, n))
    share = 1.0 - jnp.sum(economy.prices * inputs, -1) / jnp.sum(economy.prices * outputs, -1)
    capital = economy.capital[:, None] * jax.random.uniform(k[2], (N, P), minval=lo, maxval=hi)
    capital = jnp.maximum(capital, share * savings * growth + 0.3)
    mixing_capital = jnp.mean(capital, -1) * jax.random.uniform(k[3], (N,), minval=0.0, maxval=mixing)
    scale = jax.random.uniform(k[4], (N, P), minval=scale_elasticity[0], maxval=scale_elasticity[1])
    dtype = economy.capital.dtype
    return ProjectFrontier(
        inputs=inputs,
        outputs=outputs,
        capital=capital,
        savings_rate=savings,
        growth=growth,
        mask=jnp.ones((N, P), bool),
        mixing_inputs=jnp.zeros((N, n), dtype),
        mixing_capital=mixing_capital,
        scale_elasticity=scale,
        reference_level=jnp.asarray(reference_levels, dtype),
        start=jnp.broadcast_to(jnp.eye(P, dtype=dtype)[0], (N, P)),
        fixed=jnp.zeros(N, bool),
    )
