"""The data of Rudra's *full* central calculation (Rudra's frame paper, §§3–6): objectives 1–5, the
feasibility conditions (4.6)–(4.10) and the eight computational steps of §6.2, as one pytree of arrays.

n commodities (the essential consumer goods of Objective 1 are marked by `essential`), N production
sectors with new units (coefficients a, b, k, l) and old units (base-year outputs x⁰ and inputs X⁰, fixed),
an import sector (the seed's N-th sector, §4.9: it buys abroad at import prices and sells at market
prices, with no capital or current cost, and saves all its income), and u skill categories of labour.
Matrices follow the seed: rows are commodities (or skills), columns sectors. Symbols are the seed's; the
file format (`kind = "rudra-full"`, `jplan.economies.load_rudra_full`) names every field with its symbol.

`sample_rudra_full` draws random economies whose data are valid for the full calculation (a productive
technology, prices that cover costs at a positive rate of return, a foreign-exchange budget that is not
negative), so that the central calculation can be tested on many economies at once (vmap).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float

__all__ = ["CLOSURES", "BALANCED_BY_IMPORT_TAX", "MAX_INDIRECT_TAX_RATE", "RudraFullEconomy", "RudraFullFile", "sample_rudra_full", "from_appendix2", "rudra_full_from_dict", "load_rudra_full",
           "dumps_rudra_full"]


CLOSURES = ("import-balance", "direct-taxes", "market-prices")
"""The readings of Rudra's step 8 (`RudraFullEconomy.closure`; see `jplan.rudra.full`, reading 6)."""
BALANCED_BY_IMPORT_TAX = ("import-balance", "market-prices")
"""The closures whose balancing item is the import sector's direct tax d_N (the other, "direct-taxes", has S_g)."""
MAX_INDIRECT_TAX_RATE = 0.15
"""The default cap on step 8's indirect taxes under "market-prices", per unit of cost price."""


class RudraFullEconomy(eqx.Module):
    """Everything the central planners take as given in §6.2 (base-year figures and policy targets).

    Attributes (seed symbols in brackets):
        population: [P] population in the end year.
        alpha: [α] the share of the population, the poorest, whose consumption Objective 1 protects (0, 1).
        lorenz_target: [θ] Lorenz ratio of consumption expenditure aimed at (Objective 3), < `lorenz_base`.
        lorenz_base: [θ⁰] the base year's Lorenz ratio.
        capital_formation_ratio: [φ] minimum ratio of capital formation to national income (Objective 4).
        net_foreign_payments: [m₀] foreign-exchange payments beyond imports (Objective 5), made by the
            public authorities (our reading: see `jplan.rudra.full`).
        import_growth: [r_N] growth coefficient of the import sector's savings in λ (5.4).
        base_prices: [p⁰] base-year market prices (n).
        base_cost_prices: [p⁰(d)] base-year ex-factory (cost) prices (n), ≤ market prices.
        subsistence: [γ] the linear expenditure system's subsistence quantities per head (n).
        budget_shares: [b] its marginal budget shares (n, ≥ 0, sum 1).
        essential: which commodities are the essential goods i = 1..n₀ of Objective 1 (n, bool).
        minima: [q] normative minimum consumption per head of the essential goods (n; > γ where essential).
        public_floors: [g⁰] public consumption floors (Objective 2, (4.2)) (n).
        exports: [e⁰] export projections ((4.22)) (n).
        inventory_shares: [β] share of supply kept as addition to stocks ((4.23)) (n, in [0, 1)).
        capital_shares: [μ⁰] commodity shares in the value of capital formation ((6.3)) (n, sum 1).
        import_prices: [p(m)] import prices exclusive of duties (n).
        base_import_duties: [τ⁰(m)] base-year import duty per unit (n).
        importable: which commodities may be imported (n, bool).
        inputs: [a] current input of commodity i per unit of activity of sector j, new units (n, N).
        outputs: [b] output of commodity i per unit of activity, new units (n, N).
        capital: [k] fixed capital of commodity i per unit of activity, new units (n, N).
        labour: [l] labour of skill s per unit of activity, new units (u, N).
        growth: [r] growth coefficients of the new units' output and savings (2.1), (5.3) (N).
        old_growth: [r⁰] the same for the old units (N).
        savings_rate: [v] savings out of disposable income generated in new units (N).
        old_savings_rate: [v⁰] the same for old units (N).
        base_direct_tax: [δ⁰] base-year rate of direct tax on income generated in sector j (N).
        old_outputs: [x⁰] end-year output of commodity i by the old units of sector j (n, N).
        old_inputs: [X⁰] their current inputs (n, N).
        wages: [w⁰] base-year wage rate of each skill (u).
        balance_equality: commodity balances (6.4) hold with equality (no surplus beyond the stock share).
        imports_equality: the foreign-exchange balance (4.5) holds with equality (Objective 5) rather than
            spending at most the foreign exchange earned.
        max_direct_tax_rate: the highest direct-tax rate step 8 may set (closure "direct-taxes"), in (0, 1).
        max_indirect_tax_rate: the highest indirect tax step 8 may set on a non-essential good, per unit of its
            cost price (closure "market-prices"): t_i ≤ max_indirect_tax_rate · p_i(d), > 0.
        closure: the reading of step 8 (static): one of `CLOSURES` (see `jplan.rudra.full`, reading 6).
    """

    population: Float[Array, ""]
    alpha: Float[Array, ""]
    lorenz_target: Float[Array, ""]
    lorenz_base: Float[Array, ""]
    capital_formation_ratio: Float[Array, ""]
    net_foreign_payments: Float[Array, ""]
    import_growth: Float[Array, ""]
    base_prices: Float[Array, " n"]
    base_cost_prices: Float[Array, " n"]
    subsistence: Float[Array, " n"]
    budget_shares: Float[Array, " n"]
    essential: Bool[Array, " n"]
    minima: Float[Array, " n"]
    public_floors: Float[Array, " n"]
    exports: Float[Array, " n"]
    inventory_shares: Float[Array, " n"]
    capital_shares: Float[Array, " n"]
    import_prices: Float[Array, " n"]
    base_import_duties: Float[Array, " n"]
    importable: Bool[Array, " n"]
    inputs: Float[Array, "n N"]
    outputs: Float[Array, "n N"]
    capital: Float[Array, "n N"]
    labour: Float[Array, "u N"]
    growth: Float[Array, " N"]
    old_growth: Float[Array, " N"]
    savings_rate: Float[Array, " N"]
    old_savings_rate: Float[Array, " N"]
    base_direct_tax: Float[Array, " N"]
    old_outputs: Float[Array, "n N"]
    old_inputs: Float[Array, "n N"]
    wages: Float[Array, " u"]
    balance_equality: Bool[Array, ""]
    imports_equality: Bool[Array, ""]
    max_direct_tax_rate: Float[Array, ""]
    max_indirect_tax_rate: Float[Array, ""]
    closure: str = eqx.field(static=True, default="import-balance")

    def with_closure(self, closure: str) -> "RudraFullEconomy":
        """The same economy under another step-8 closure (a static field: `eqx.tree_at` cannot replace it)."""
        if closure not in CLOSURES:
            raise ValueError(f"closure: one of {', '.join(CLOSURES)}, got {closure!r}")
        fields = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "closure"}
        return type(self)(**fields, closure=closure)

    @property
    def n(self) -> int:
        """Number of commodities."""
        return self.inputs.shape[-2]

    @property
    def N(self) -> int:
        """Number of production sectors (the import sector comes on top)."""
        return self.inputs.shape[-1]

    @property
    def u(self) -> int:
        """Number of skill categories."""
        return self.labour.shape[-2]


def sample_rudra_full(key: jax.Array, n: int = 4, N: int | None = None, u: int = 2, essential: int = 2,
                      closure: str = "import-balance") -> RudraFullEconomy:
    """A random economy valid for the full central calculation (jit/vmap over keys).

    One sector per commodity unless N is given (N ≥ n: sectors beyond n make a second technique for a
    commodity). The technology is productive (input columns sum to 0.25–0.45 in value); base-year market
    prices are near 1, cost prices 5–15% below them (indirect taxes), wages make labour cost 0.15–0.3 of a
    unit of output, so prices cover current cost with room for a rate of return; capital is 1.5–3 units of
    value per unit of output; old units supply about half of base-year output. Household demand is the
    linear expenditure system with the first `essential` commodities essential, their minima 1.2–1.6 times
    the subsistence quantities. Exports are large enough for the foreign-exchange budget to be positive.
    """
    N = n if N is None else N
    if N < n:
        raise ValueError(f"sample_rudra_full: need N >= n sectors (got N = {N}, n = {n})")
    ks = iter(jax.random.split(key, 48))
    U = lambda lo, hi, shape=(): jax.random.uniform(next(ks), shape, minval=lo, maxval=hi)  # noqa: E731
    owner = jnp.concatenate([jnp.arange(n), jax.random.randint(next(ks), (N - n,), 0, n)])
    outputs = jax.nn.one_hot(owner, n).T  # [n, N]
    raw = U(0.0, 1.0, (n, N)) * (1.0 - outputs)
    inputs = raw / jnp.sum(raw, axis=0) * U(0.25, 0.45, (N,))
    cap_raw = U(0.0, 1.0, (n, N)) ** 2
    capital = cap_raw / jnp.sum(cap_raw, axis=0) * U(1.5, 3.0, (N,))
    p0 = U(0.9, 1.1, (n,))
    inputs = inputs / p0[:, None]  # value shares become quantities at base prices
    capital = capital / p0[:, None]
    cost = p0 / U(1.05, 1.15, (n,))
    wages = U(0.8, 1.2, (u,))
    lab_raw = U(0.1, 1.0, (u, N))
    labour = lab_raw / jnp.sum(lab_raw * wages[:, None], axis=0) * U(0.15, 0.3, (N,))
    gamma = U(0.5, 1.5, (n,))
    shares = U(0.2, 1.0, (n,))
    shares = shares / jnp.sum(shares)
    is_essential = jnp.arange(n) < essential
    minima = jnp.where(is_essential, gamma * U(1.2, 1.6, (n,)), 0.0)
    population = U(50.0, 150.0)
    base_output = population * U(3.0, 6.0, (n,))  # rough base-year output of each commodity
    old_share = U(0.3, 0.6, (N,))
    old_outputs = outputs * (old_share * base_output[owner])[None, :]
    old_inputs = inputs * (old_share * base_output[owner])[None, :] * U(1.0, 1.2, (N,))[None, :]
    exports = base_output * U(0.05, 0.15, (n,))
    import_prices = p0 * U(0.7, 0.95, (n,))
    fx = jnp.sum(exports * p0)
    return RudraFullEconomy(
        population=population,
        alpha=U(0.2, 0.4),
        lorenz_target=U(0.25, 0.35),
        lorenz_base=jnp.asarray(0.4),
        capital_formation_ratio=U(0.15, 0.25),
        net_foreign_payments=fx * U(0.0, 0.2),
        import_growth=U(3.0, 6.0),
        base_prices=p0,
        base_cost_prices=cost,
        subsistence=gamma,
        budget_shares=shares,
        essential=is_essential,
        minima=minima,
        public_floors=base_output * U(0.05, 0.1, (n,)),
        exports=exports,
        inventory_shares=U(0.0, 0.05, (n,)),
        capital_shares=jnp.sum(capital, axis=1) / jnp.sum(capital),
        import_prices=import_prices,
        base_import_duties=import_prices * U(0.0, 0.1, (n,)),
        importable=jnp.ones(n, bool),
        inputs=inputs,
        outputs=outputs,
        capital=capital,
        labour=labour,
        growth=U(4.0, 8.0, (N,)),
        old_growth=U(6.0, 10.0, (N,)),
        savings_rate=U(0.25, 0.4, (N,)),
        old_savings_rate=U(0.15, 0.3, (N,)),
        base_direct_tax=U(0.0, 0.1, (N,)),
        old_outputs=old_outputs,
        old_inputs=old_inputs,
        wages=wages,
        balance_equality=jnp.asarray(True),
        imports_equality=jnp.asarray(True),
        max_direct_tax_rate=jnp.asarray(0.5),
        max_indirect_tax_rate=jnp.asarray(MAX_INDIRECT_TAX_RATE),
        closure=closure,
    )


def from_appendix2(economy) -> RudraFullEconomy:
    """The full-calculation data that reduce it to the Appendix 2 form of a `RudraEconomy`.

    Switched off: households (population 0), capital formation (φ = 0), stocks (β = 0), exports (0),
    old units (none), taxes (0), trade margins (import prices = market prices = cost prices = the
    Appendix-2 prices). Public consumption carries the final demand d, and the foreign-exchange budget
    Σ e⁰p − m₀ is the Appendix-2 F (m₀ = −F). Each sector's fixed capital is put in one commodity row,
    valued at that row's price so that kᵀp is the Appendix-2 k_j. With outputs of unit value (pᵀb_j = 1,
    the seed's normalisation) the step-6 LP is then exactly the Appendix-2 LP.
    """
    n, N = economy.n, economy.N
    p = economy.prices
    dtype = p.dtype
    zn, zN = jnp.zeros(n, dtype), jnp.zeros(N, dtype)
    capital = jnp.zeros((n, N), dtype).at[0].set(economy.capital / p[0])
    return RudraFullEconomy(
        population=jnp.asarray(0.0, dtype),
        alpha=jnp.asarray(0.3, dtype),
        lorenz_target=jnp.asarray(0.3, dtype),
        lorenz_base=jnp.asarray(0.4, dtype),
        capital_formation_ratio=jnp.asarray(0.0, dtype),
        net_foreign_payments=-economy.foreign_exchange,
        import_growth=jnp.asarray(1.0, dtype),
        base_prices=p,
        base_cost_prices=p,
        subsistence=jnp.ones(n, dtype),
        budget_shares=jnp.full(n, 1.0 / n, dtype),
        essential=jnp.arange(n) == 0,
        minima=jnp.where(jnp.arange(n) == 0, 2.0, 0.0).astype(dtype),
        public_floors=economy.final_demand,
        exports=zn,
        inventory_shares=zn,
        capital_shares=jnp.full(n, 1.0 / n, dtype),
        import_prices=p,
        base_import_duties=zn,
        importable=economy.importable,
        inputs=economy.inputs,
        outputs=economy.outputs,
        capital=capital,
        labour=jnp.zeros((1, N), dtype),
        growth=economy.growth,
        old_growth=zN,
        savings_rate=economy.savings_rate,
        old_savings_rate=zN,
        base_direct_tax=zN,
        old_outputs=jnp.zeros((n, N), dtype),
        old_inputs=jnp.zeros((n, N), dtype),
        wages=jnp.ones(1, dtype),
        balance_equality=economy.balance_equality,
        imports_equality=economy.imports_equality,
        max_direct_tax_rate=jnp.asarray(0.5, dtype),
        max_indirect_tax_rate=jnp.asarray(MAX_INDIRECT_TAX_RATE, dtype),
    )


# ----------------------------------------------------------------------------------------------- the file


_FULL_SECTIONS = {
    "economy": ({"population", "poorest_share", "lorenz_target", "lorenz_base", "capital_formation_ratio",
                 "net_foreign_payments", "import_growth"}, set()),
    "commodities": ({"base_prices", "base_cost_prices", "subsistence", "budget_shares", "essential", "minima",
                     "public_floors", "exports", "inventory_shares", "capital_shares", "import_prices",
                     "import_duties"}, {"names", "importable"}),
    "sectors": ({"inputs", "capital", "labour", "growth", "old_growth", "savings_rate", "old_savings_rate",
                 "direct_tax", "old_outputs", "old_inputs"}, {"names", "outputs"}),
    "labour": ({"wages"}, {"names"}),
    "constraints": (set(), {"balances", "imports", "closure", "max_direct_tax_rate", "max_indirect_tax_rate"}),
}


class RudraFullFile(eqx.Module):
    """A loaded `kind = "rudra-full"` file: the data, the sectors' technology sets (`[[technology]]` tables,
    as in `kind = "rudra"` files; None without any) and the names for printing."""

    economy: RudraFullEconomy
    technologies: object
    commodities: tuple[str, ...] = eqx.field(static=True)
    sectors: tuple[str, ...] = eqx.field(static=True)
    skills: tuple[str, ...] = eqx.field(static=True)
    projects: tuple[tuple[str, ...], ...] = eqx.field(static=True)


def rudra_full_from_dict(doc: dict) -> RudraFullFile:
    """Validate a parsed `kind = "rudra-full"` document (the format, every field with its seed symbol and
    meaning, is the commented `examples/rudra_full.toml`; the fields are `RudraFullEconomy`'s).

    Raises:
        EconomyFileError: one line naming the offending field.
    """
    import numpy as np

    from ..errors import EconomyFileError
    from ._format import _array, _shape
    from .rudra_io import _check, _choice, _keys, _names

    if doc.get("kind") != "rudra-full":
        raise EconomyFileError(f'kind: expected "rudra-full", got {doc.get("kind")!r}')
    extra = set(doc) - set(_FULL_SECTIONS) - {"kind", "technology"}
    if extra:
        raise EconomyFileError(f"{sorted(extra)[0]}: unknown key")
    sections = {}
    for name, (need, optional) in _FULL_SECTIONS.items():
        section = doc.get(name, {} if name == "constraints" else None)
        if section is None:
            raise EconomyFileError(f"[{name}]: missing section")
        if not isinstance(section, dict):
            raise EconomyFileError(f"{name}: must be a table")
        _keys(section, name, need, optional)
        sections[name] = section
    eco, com, sec, lab = (sections[k] for k in ("economy", "commodities", "sectors", "labour"))

    def scalar(key, ok, rule):
        v = _array(eco[key], f"economy.{key}", 0)
        _check(v, f"economy.{key}", ok(v), rule)
        return v

    P = scalar("population", lambda v: v >= 0, ">= 0")
    alpha = scalar("poorest_share", lambda v: (v > 0) & (v < 1), "in (0, 1)")
    theta0 = scalar("lorenz_base", lambda v: (v > 0) & (v < 1), "in (0, 1)")
    theta = scalar("lorenz_target", lambda v: (v > 0) & (v <= theta0), f"in (0, lorenz_base = {float(theta0)!r}] (Objective 3)")
    phi = scalar("capital_formation_ratio", lambda v: (v >= 0) & (v < 1), "in [0, 1)")
    m0 = scalar("net_foreign_payments", lambda v: np.isfinite(v), "finite")
    rN = scalar("import_growth", lambda v: v >= 0, ">= 0")

    p0 = _array(com["base_prices"], "commodities.base_prices", 1)
    n = p0.shape[0]

    def vec(key, ok, rule, section=com, prefix="commodities", length=None):
        v = _array(section[key], f"{prefix}.{key}", 1)
        _shape(v, f"{prefix}.{key}", (length or n,), "one per " + {"commodities": "commodity", "sectors": "sector"}[prefix])
        _check(v, f"{prefix}.{key}", ok(v), rule)
        return v

    def flags(key, default):
        v = com.get(key, default)
        if not isinstance(v, list) or len(v) != n or not all(isinstance(x, bool) for x in v):
            raise EconomyFileError(f"commodities.{key}: must be a list of {n} booleans")
        return np.array(v, bool)

    _check(p0, "commodities.base_prices", p0 > 0, "> 0")
    pd0 = vec("base_cost_prices", lambda v: v > 0, "> 0")
    gamma = vec("subsistence", lambda v: v >= 0, ">= 0")
    shares = vec("budget_shares", lambda v: v >= 0, ">= 0")
    if abs(shares.sum() - 1.0) > 1e-9:
        raise EconomyFileError(f"commodities.budget_shares: must sum to 1 (the linear expenditure system), got {float(shares.sum()):g}")
    essential = flags("essential", None)
    if not essential.any():
        raise EconomyFileError("commodities.essential: at least one commodity must be essential (Objective 1)")
    q = vec("minima", lambda v: v >= 0, ">= 0")
    _check(q, "commodities.minima", np.where(essential, q > gamma, True), "above the subsistence quantity for every essential good")
    _check(shares, "commodities.budget_shares", np.where(essential, shares > 0, True), "> 0 for every essential good")
    g0 = vec("public_floors", lambda v: v >= 0, ">= 0")
    e0 = vec("exports", lambda v: v >= 0, ">= 0")
    beta = vec("inventory_shares", lambda v: (v >= 0) & (v < 1), "in [0, 1)")
    mu = vec("capital_shares", lambda v: v >= 0, ">= 0")
    if abs(mu.sum() - 1.0) > 1e-9:
        raise EconomyFileError(f"commodities.capital_shares: must sum to 1, got {mu.sum()!r}")
    pm = vec("import_prices", lambda v: v > 0, "> 0")
    tm = vec("import_duties", lambda v: v >= 0, ">= 0")
    importable = flags("importable", [True] * n)

    a = _array(sec["inputs"], "sectors.inputs", 2)
    if a.shape[0] != n:
        raise EconomyFileError(f"sectors.inputs: expected {n} rows (one per commodity, columns are sectors), got {a.shape[0]}")
    N = a.shape[1]

    def mat(key, rows, what):
        v = _array(sec[key], f"sectors.{key}", 2)
        _shape(v, f"sectors.{key}", (rows, N), what)
        _check(v, f"sectors.{key}", v >= 0, ">= 0")
        return v

    _check(a, "sectors.inputs", a >= 0, ">= 0")
    if "outputs" in sec:
        b = mat("outputs", n, "commodities x sectors")
    elif n == N:
        b = np.eye(n)
    else:
        raise EconomyFileError(f"sectors.outputs: required when the number of commodities ({n}) differs from the number of sectors ({N})")
    if np.any(b.sum(axis=0) <= 0):
        raise EconomyFileError(f"sectors.outputs: column {int(np.argmax(b.sum(axis=0) <= 0)) + 1} is all 0 (every sector must produce something)")
    k = mat("capital", n, "commodities x sectors")
    wages = _array(lab["wages"], "labour.wages", 1)
    _check(wages, "labour.wages", wages > 0, "> 0")
    u = wages.shape[0]
    l = mat("labour", u, "skills x sectors")
    x0 = mat("old_outputs", n, "commodities x sectors")
    X0 = mat("old_inputs", n, "commodities x sectors")

    def per_sector(key, ok, rule):
        return vec(key, ok, rule, section=sec, prefix="sectors", length=N)

    r = per_sector("growth", lambda v: v > 0, "> 0")
    r0 = per_sector("old_growth", lambda v: v >= 0, ">= 0")
    v = per_sector("savings_rate", lambda v: (v >= 0) & (v <= 1), "in [0, 1]")
    v0 = per_sector("old_savings_rate", lambda v: (v >= 0) & (v <= 1), "in [0, 1]")
    delta = per_sector("direct_tax", lambda v: (v >= 0) & (v < 1), "in [0, 1)")
    cons = sections["constraints"]
    closure = cons.get("closure", CLOSURES[0])
    if closure not in CLOSURES:
        raise EconomyFileError(f"constraints.closure: must be one of {', '.join(repr(c) for c in CLOSURES)} (got {closure!r})")
    cap = cons.get("max_direct_tax_rate", 0.5)
    if isinstance(cap, bool) or not isinstance(cap, (int, float)) or not 0.0 < cap < 1.0:
        raise EconomyFileError(f"constraints.max_direct_tax_rate: must be a number in (0, 1) (got {cap!r})")
    cap_t = cons.get("max_indirect_tax_rate", MAX_INDIRECT_TAX_RATE)
    if isinstance(cap_t, bool) or not isinstance(cap_t, (int, float)) or not 0.0 < cap_t < float("inf"):
        raise EconomyFileError(f"constraints.max_indirect_tax_rate: must be a positive number (got {cap_t!r})")
    economy = RudraFullEconomy(
        population=jnp.asarray(P), alpha=jnp.asarray(alpha), lorenz_target=jnp.asarray(theta),
        lorenz_base=jnp.asarray(theta0), capital_formation_ratio=jnp.asarray(phi), net_foreign_payments=jnp.asarray(m0),
        import_growth=jnp.asarray(rN), base_prices=jnp.asarray(p0), base_cost_prices=jnp.asarray(pd0),
        subsistence=jnp.asarray(gamma), budget_shares=jnp.asarray(shares), essential=jnp.asarray(essential),
        minima=jnp.asarray(np.where(essential, q, 0.0)), public_floors=jnp.asarray(g0), exports=jnp.asarray(e0),
        inventory_shares=jnp.asarray(beta), capital_shares=jnp.asarray(mu), import_prices=jnp.asarray(pm),
        base_import_duties=jnp.asarray(tm), importable=jnp.asarray(importable), inputs=jnp.asarray(a),
        outputs=jnp.asarray(b), capital=jnp.asarray(k), labour=jnp.asarray(l), growth=jnp.asarray(r),
        old_growth=jnp.asarray(r0), savings_rate=jnp.asarray(v), old_savings_rate=jnp.asarray(v0),
        base_direct_tax=jnp.asarray(delta), old_outputs=jnp.asarray(x0), old_inputs=jnp.asarray(X0),
        wages=jnp.asarray(wages),
        balance_equality=jnp.asarray(_choice(cons, "balances", "constraints.balances", ("equality", "at-least"))),
        imports_equality=jnp.asarray(_choice(cons, "imports", "constraints.imports", ("equality", "at-most"))),
        max_direct_tax_rate=jnp.asarray(cap),
        max_indirect_tax_rate=jnp.asarray(float(cap_t)),
        closure=closure,
    )
    sectors = _names(sec, "sectors", N, "sector")
    technologies, project_names = _technologies(doc.get("technology"), economy, sectors, b)
    return RudraFullFile(economy, technologies, _names(com, "commodities", n, "commodity"), sectors,
                         _names(lab, "labour", u, "skill"), project_names)


def _technologies(tables, economy: RudraFullEconomy, sectors, outputs):
    """The `[[technology]]` tables (the format of `kind = "rudra"` files, `jplan.economies.rudra_io`) as a
    stacked `ProjectFrontier`; a project's `capital` is its capital value per unit at base-year prices."""
    from types import SimpleNamespace

    from ..errors import EconomyFileError
    from .rudra import frontiers
    from .rudra_io import _technology

    N = economy.N
    if tables is None:
        return None, ((),) * N
    if not isinstance(tables, list):
        raise EconomyFileError("technology: must be an array of tables ([[technology]])")
    specs, names = {}, [()] * N
    for idx, entry in enumerate(tables):
        j, spec, project_names = _technology(entry, idx, economy.n, sectors, outputs)
        if j in specs:
            raise EconomyFileError(f"technology[{idx + 1}].sector: sector {sectors[j]!r} has two technology tables")
        specs[j], names[j] = spec, project_names
    base = SimpleNamespace(n=economy.n, N=N, inputs=economy.inputs, outputs=economy.outputs,
                           capital=economy.capital.T @ economy.base_prices, savings_rate=economy.savings_rate,
                           growth=economy.growth)
    return frontiers(base, specs), tuple(names)


def load_rudra_full(path) -> RudraFullFile:
    """Read and validate a `kind = "rudra-full"` file (one-line `EconomyFileError` naming the file and field)."""
    from ..errors import EconomyFileError
    from ._format import read_toml

    doc = read_toml(path, "economy file")
    try:
        return rudra_full_from_dict(doc)
    except EconomyFileError as exc:
        raise EconomyFileError(f"{path}: {exc}") from None


def dumps_rudra_full(economy: RudraFullEconomy, commodities=None, sectors=None, skills=None) -> str:
    """The `kind = "rudra-full"` TOML text of one economy (no `[[technology]]` tables), in the format of
    `examples/rudra_full.toml`; it round-trips exactly through `load_rudra_full` (floats by `repr`)."""
    import numpy as np

    from ._format import _mat, _strs, _vec

    e = economy
    n, N, u = e.n, e.N, e.u
    commodities = commodities or tuple(f"commodity{i + 1}" for i in range(n))
    sectors = sectors or tuple(f"sector{j + 1}" for j in range(N))
    skills = skills or tuple(f"skill{s + 1}" for s in range(u))
    flags = lambda xs: "[" + ", ".join("true" if bool(x) else "false" for x in np.asarray(xs)) + "]"  # noqa: E731
    num = lambda x: repr(float(x))  # noqa: E731
    return "\n".join([
        "# Rudra's full central calculation (seed 002, §§3-6); fields as in examples/rudra_full.toml",
        'kind = "rudra-full"',
        "",
        "[economy]",
        f"population = {num(e.population)}",
        f"poorest_share = {num(e.alpha)}",
        f"lorenz_base = {num(e.lorenz_base)}",
        f"lorenz_target = {num(e.lorenz_target)}",
        f"capital_formation_ratio = {num(e.capital_formation_ratio)}",
        f"net_foreign_payments = {num(e.net_foreign_payments)}",
        f"import_growth = {num(e.import_growth)}",
        "",
        "[commodities]",
        f"names = {_strs(commodities)}",
        f"base_prices = {_vec(e.base_prices)}",
        f"base_cost_prices = {_vec(e.base_cost_prices)}",
        f"subsistence = {_vec(e.subsistence)}",
        f"budget_shares = {_vec(e.budget_shares)}",
        f"essential = {flags(e.essential)}",
        f"minima = {_vec(e.minima)}",
        f"public_floors = {_vec(e.public_floors)}",
        f"exports = {_vec(e.exports)}",
        f"inventory_shares = {_vec(e.inventory_shares)}",
        f"capital_shares = {_vec(e.capital_shares)}",
        f"import_prices = {_vec(e.import_prices)}",
        f"import_duties = {_vec(e.base_import_duties)}",
        f"importable = {flags(e.importable)}",
        "",
        "[sectors]",
        f"names = {_strs(sectors)}",
        f"inputs = {_mat(e.inputs)}",
        f"outputs = {_mat(e.outputs)}",
        f"capital = {_mat(e.capital)}",
        f"labour = {_mat(e.labour)}",
        f"growth = {_vec(e.growth)}",
        f"old_growth = {_vec(e.old_growth)}",
        f"savings_rate = {_vec(e.savings_rate)}",
        f"old_savings_rate = {_vec(e.old_savings_rate)}",
        f"direct_tax = {_vec(e.base_direct_tax)}",
        f"old_outputs = {_mat(e.old_outputs)}",
        f"old_inputs = {_mat(e.old_inputs)}",
        "",
        "[labour]",
        f"names = {_strs(skills)}",
        f"wages = {_vec(e.wages)}",
        "",
        "[constraints]",
        f'balances = "{"equality" if bool(e.balance_equality) else "at-least"}"',
        f'imports = "{"equality" if bool(e.imports_equality) else "at-most"}"',
        f'closure = "{e.closure}"',
        f"max_direct_tax_rate = {num(e.max_direct_tax_rate)}",
        f"max_indirect_tax_rate = {num(e.max_indirect_tax_rate)}",
        "",
    ])
