"""The production economy shared by the short-run procedures (Lustosa 1987, §5).

n produced goods, one firm each, and m primary resources. Firm i turns resources r_i ∈ R^m_+ and
intermediate goods v_i ∈ R^n_+ into output with a CES technology of elasticity of substitution σ_i,

    q_i = A_i · ( Σ_j α_ij r_ij^θ_i + Σ_k β_ik v_ik^θ_i )^(ρ_i/θ_i),     θ_i = (σ_i − 1)/σ_i,
    Σ_j α_ij + Σ_k β_ik = 1,

homogeneous of degree ρ_i (the returns to scale). σ_i = 1 is exactly Cobb–Douglas,
q_i = A_i · Π_j r_ij^(ρ_i α_ij) · Π_k v_ik^(ρ_i β_ik) (evaluated by that formula, so Cobb–Douglas
economies give bit-for-bit the results they always did); σ < 1 makes inputs complements (each input with
a positive share is essential), σ > 1 substitutes.

Social welfare comes in three families, all functions of consumption above subsistence y = c − γ:

    log           U(c) = Σ_k w_k log c_k                                 (η = 1, γ = 0; the default)
    stone-geary   U(c) = Σ_k w_k log(c_k − γ_k)                          (η = 1, γ ≥ 0)
    ces           U(c) = (Σ_k w_k c_k^((η−1)/η))^(η/(η−1))               (η ≠ 1, γ = 0)

Each is an increasing transformation of a *log-homogeneous* utility index u(c) = log F(c − γ), F
homogeneous of degree 1: u = U/Σw for log and Stone–Geary, u = log U for CES. Scaling every
consumption above subsistence by e^δ raises u by exactly δ, which is what makes the welfare gap
(`welfare_index`, `jplan.procedures.relative_gap`) one unit-free distance for every family.

A plan is feasible when c_k + Σ_i v_ik ≤ q_k for every good and Σ_i r_ij ≤ R_j for every resource.

Everything here is a pure function of arrays; an economy is a pytree, so a batch of economies is the
same class with a leading batch axis on every leaf.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

__all__ = [
    "ProductionEconomy",
    "FirmTechnology",
    "Plan",
    "xlogy_masked",
    "firm_output",
    "output",
    "welfare",
    "welfare_index",
    "is_cobb_douglas",
    "ces_log_aggregate",
    "ces_log_unit_cost",
    "ces_cost_shares",
    "cobb_douglas_cost_shares",
    "plain_cobb_douglas",
    "specialise",
    "for_firms",
    "excess_demand",
    "infeasibility",
    "infeasibility_of_totals",
    "plan_from_inputs",
    "proportional_plan",
    "consumer_demand",
]


def xlogy_masked(share: Array, x: Array) -> Array:
    """`share * log(x)` where `share > 0`, and exactly 0 (with a zero gradient) where `share == 0`.

    The double `where` keeps gradients finite at x = 0 for inputs a technology does not use.
    """
    used = share > 0
    safe_x = jnp.where(used, x, 1.0)
    return jnp.where(used, share * jnp.log(safe_x), 0.0)


#: |θ| below this counts as Cobb–Douglas (θ = 0); the CES formulas are never evaluated there.
_CD_THETA = 1e-9


def _theta(sigma: Array) -> Array:
    return (sigma - 1.0) / sigma


def is_cobb_douglas(sigma: Array) -> Array:
    """Where an elasticity of substitution is (numerically) 1."""
    return jnp.abs(_theta(sigma)) < _CD_THETA


def ces_log_aggregate(shares: Array, x: Array, sigma: Array) -> Array:
    """log g(x) for the degree-1 CES aggregate g(x) = (Σ_l a_l x_l^θ)^(1/θ) (σ ≠ 1 only; see `firm_output`).

    Inputs with a zero share are ignored. For θ < 0 (complements) a used input at 0 gives g = 0 (log −∞),
    for θ > 0 it contributes nothing. Evaluated on safe arguments, so gradients are finite wherever the
    value is.
    """
    used = shares > 0
    theta = _theta(sigma)
    positive = used & (x > 0)
    log_x = jnp.log(jnp.where(positive, x, 1.0))
    terms = jnp.where(positive, shares * jnp.exp(theta * log_x), 0.0)
    essential_zero = jnp.any(used & ~(x > 0)) & (theta < 0)
    inner = jnp.sum(terms)
    ok = (inner > 0) & ~essential_zero
    return jnp.where(ok, jnp.log(jnp.where(ok, inner, 1.0)) / theta, -jnp.inf)


def ces_log_unit_cost(shares: Array, prices: Array, sigma: Array) -> Array:
    """log κ(π): the least cost of one unit of the degree-1 CES aggregate at input prices π > 0.

    κ(π) = (Σ_l a_l^σ π_l^(1−σ))^(1/(1−σ)), and Π_l (π_l/a_l)^a_l at σ = 1 (inputs with a zero share are
    not used). By Shephard's lemma ∇κ gives the cost-minimising input per unit of the aggregate.
    """
    used = shares > 0
    cd = is_cobb_douglas(sigma)
    safe_a = jnp.where(used, shares, 1.0)
    safe_p = jnp.where(used, prices, 1.0)
    cobb_douglas = jnp.sum(jnp.where(used, shares * (jnp.log(safe_p) - jnp.log(safe_a)), 0.0))
    one_minus = jnp.where(cd, 0.5, 1.0 - sigma)
    terms = jnp.where(used, jnp.exp(sigma * jnp.log(safe_a) + one_minus * jnp.log(safe_p)), 0.0)
    ces = jnp.log(jnp.sum(terms)) / one_minus
    return jnp.where(cd, cobb_douglas, ces)


def cobb_douglas_cost_shares(shares: Array, log_prices: Array) -> tuple[Array, Array]:
    """(log κ, s) of `ces_cost_shares` at σ = 1: log κ = Σ a_l (log π_l − log a_l), s = a."""
    used = shares > 0
    log_a = jnp.log(jnp.where(used, shares, 1.0))
    lp = jnp.where(used, log_prices, 0.0)
    return jnp.sum(jnp.where(used, shares * (lp - log_a), 0.0)), jnp.where(used, shares, 0.0)


def ces_cost_shares(shares: Array, log_prices: Array, sigma: Array) -> tuple[Array, Array]:
    """(log κ, s): the log unit cost of the degree-1 CES aggregate and its cost shares s_l = π_l ∂κ/∂π_l / κ.

    The same κ as `ces_log_unit_cost`, from log input prices (so a caller that prices many firms at one
    price vector takes the logarithms once): Cobb–Douglas (σ = 1) log κ = Σ a_l (log π_l − log a_l) and
    s = a; CES s_l = a_l^σ π_l^(1−σ) / Σ_m a_m^σ π_m^(1−σ). Inputs with a zero share have s_l = 0. With
    Shephard's lemma the cost-minimising input per unit of the aggregate is κ s_l / π_l.
    """
    used = shares > 0
    cd = is_cobb_douglas(sigma)
    log_a = jnp.log(jnp.where(used, shares, 1.0))
    lp = jnp.where(used, log_prices, 0.0)
    log_k_cd, s_cd = cobb_douglas_cost_shares(shares, log_prices)
    one_minus = jnp.where(cd, 0.5, 1.0 - sigma)
    z = jnp.where(used, jnp.where(cd, 2.0, sigma) * log_a + one_minus * lp, -jnp.inf)
    z_max = jnp.max(jnp.where(used, z, -jnp.inf))
    z_max = jnp.where(jnp.isfinite(z_max), z_max, 0.0)
    terms = jnp.where(used, jnp.exp(z - z_max), 0.0)
    total = jnp.sum(terms)
    log_k_ces = (z_max + jnp.log(total)) / one_minus
    s = jnp.where(cd, s_cd, terms / total)
    return jnp.where(cd, log_k_cd, log_k_ces), s


class FirmTechnology(eqx.Module):
    """What one firm knows: its own CES technology (informational privacy, Lustosa (1987) §4).

    With a leading axis of length n this is all firms at once, ready for `jax.vmap`. `elasticity` = 1 is
    Cobb–Douglas. The methods are the closed forms procedures may ask a firm for.
    """

    tfp: Float[Array, ""]
    returns_to_scale: Float[Array, ""]
    resource_shares: Float[Array, " m"]
    input_shares: Float[Array, " n"]
    elasticity: Float[Array, ""] = eqx.field(default_factory=lambda: jnp.asarray(1.0), converter=jnp.asarray)
    setup_cost: Float[Array, ""] = eqx.field(default_factory=lambda: jnp.asarray(0.0), converter=jnp.asarray)
    #: (static) known to be Cobb–Douglas without a set-up cost (`specialise`): `for_firms` then runs the
    #: Cobb–Douglas formulas alone, with no branch on the data
    known_cobb_douglas: bool = eqx.field(default=False, static=True)

    @property
    def shares(self) -> Array:
        """Resource shares then input shares, [m + n]."""
        return jnp.concatenate([self.resource_shares, self.input_shares])

    def output(self, resources: Array, inputs: Array) -> Array:
        """Output from resources [m] and inputs [n] (the `jplan.economies.ProductionTechnology` protocol)."""
        return firm_output(self, resources, inputs)

    def log_unit_cost(self, input_prices: Array) -> Array:
        """log κ at input prices [m + n] (resources then goods): the cost of one unit of the aggregate g.

        Producing q takes g = (q/A)^(1/ρ) units of the aggregate, so the cost of q is (q/A)^(1/ρ)·κ.
        """
        return ces_log_unit_cost(self.shares, input_prices, self.elasticity)


def firm_output(tech: FirmTechnology, resources: Array, inputs: Array, cobb_douglas: bool = False) -> Array:
    """Output of one firm from its resources `resources` [m] and intermediate inputs `inputs` [n].

    `cobb_douglas` (static): the caller knows the firm is Cobb–Douglas without a set-up cost, and only
    that formula is evaluated (the same expression as the general branch's, so the same value).
    """
    if not isinstance(tech, FirmTechnology):  # a user technology (jplan.economies.ProductionTechnology)
        return tech.output(resources, inputs)
    rho = tech.returns_to_scale
    if cobb_douglas:
        return jnp.exp(jnp.log(tech.tfp) + rho * jnp.sum(xlogy_masked(tech.resource_shares, resources))
                       + rho * jnp.sum(xlogy_masked(tech.input_shares, inputs)))
    cd = is_cobb_douglas(tech.elasticity)
    # the Cobb–Douglas branch is the formula it always was (bit-for-bit), the CES one its generalisation;
    # each branch sees a safe elasticity so the other's gradient is never NaN
    log_cd = (
        jnp.log(tech.tfp)
        + rho * jnp.sum(xlogy_masked(tech.resource_shares, resources))
        + rho * jnp.sum(xlogy_masked(tech.input_shares, inputs))
    )
    x = jnp.concatenate([resources, inputs])
    log_ces = jnp.log(tech.tfp) + rho * ces_log_aggregate(tech.shares, x, jnp.where(cd, 2.0, tech.elasticity))
    log_q = jnp.where(cd, log_cd, log_ces)
    # a set-up cost κ: the first κ units of the aggregate g produce nothing, q = A (g − κ)₊^ρ (κ = 0 is the
    # formula above, bit for bit)
    kappa = tech.setup_cost
    has_setup = kappa > 0
    log_g = (log_q - jnp.log(tech.tfp)) / rho
    net = jnp.exp(log_g) - jnp.where(has_setup, kappa, 0.0)
    producing = net > 0
    log_setup = jnp.where(producing, jnp.log(tech.tfp) + rho * jnp.log(jnp.where(producing, net, 1.0)), -jnp.inf)
    return jnp.exp(jnp.where(has_setup, log_setup, log_q))


class ProductionEconomy(eqx.Module):
    """A production economy: CES (incl. Cobb–Douglas) firms and a welfare family (see the module docstring).

    Attributes:
        endowments: R [m], resource endowments, > 0.
        welfare_weights: w [n], ≥ 0 and not all 0.
        tfp: A [n], total factor productivity, > 0.
        returns_to_scale: ρ [n], > 0 (ρ < 1 decreasing, = 1 constant, > 1 increasing).
        resource_shares: α [n, m], row i is firm i's resource weights.
        input_shares: β [n, n], row i is firm i's intermediate-input weights (own use allowed).
        elasticity: σ [n], each firm's elasticity of substitution (default 1: Cobb–Douglas).
        welfare_elasticity: η, a scalar (default 1: the log / Stone–Geary forms; η ≠ 1 is CES welfare).
        subsistence: γ [n] ≥ 0 (default 0; > 0 only for Stone–Geary).
        setup_cost: κ [n] ≥ 0 (default 0), a fixed set-up cost in units of the firm's input aggregate:
            q_i = A_i (g_i(x) − κ_i)₊^ρ_i, a minimum efficient scale (a non-convex technology).

    Rows of α and β together sum to 1. Every field is an array, so a batch may mix families (one
    compiled program for all). Build one with `jplan.economies.from_arrays` (validated) or
    `jplan.economies.sample` (valid by construction).
    """

    endowments: Float[Array, " m"]
    welfare_weights: Float[Array, " n"]
    tfp: Float[Array, " n"]
    returns_to_scale: Float[Array, " n"]
    resource_shares: Float[Array, "n m"]
    input_shares: Float[Array, "n n"]
    elasticity: Float[Array, " n"]
    welfare_elasticity: Float[Array, ""]
    subsistence: Float[Array, " n"]
    technology: object = None
    setup_cost: Float[Array, " n"] | None = None
    #: (static) families the data are known to belong to, set by `specialise` on the host: "cobb-douglas"
    #: (every firm Cobb–Douglas, no set-up cost), "log-welfare" (η = 1). Only the work changes, not the answer.
    known: tuple[str, ...] = eqx.field(default=(), static=True)

    def __init__(self, endowments, welfare_weights, tfp, returns_to_scale, resource_shares, input_shares,
                 elasticity=None, welfare_elasticity=None, subsistence=None, technology=None, setup_cost=None,
                 known=()):
        self.endowments = endowments
        self.welfare_weights = welfare_weights
        self.tfp = tfp
        self.returns_to_scale = returns_to_scale
        self.resource_shares = resource_shares
        self.input_shares = input_shares
        dtype = jnp.result_type(tfp)
        self.elasticity = jnp.ones(jnp.shape(tfp), dtype) if elasticity is None else elasticity
        self.welfare_elasticity = jnp.ones((), dtype) if welfare_elasticity is None else welfare_elasticity
        self.subsistence = jnp.zeros(jnp.shape(welfare_weights), dtype) if subsistence is None else subsistence
        self.technology = technology
        self.setup_cost = jnp.zeros(jnp.shape(tfp), dtype) if setup_cost is None else setup_cost
        self.known = tuple(known)

    @property
    def n(self) -> int:
        """Number of produced goods (= firms)."""
        return self.welfare_weights.shape[-1]

    @property
    def m(self) -> int:
        """Number of primary resources."""
        return self.endowments.shape[-1]

    @property
    def firms(self):
        """Every firm's private technology, stacked on a leading axis of length n: the user `ProductionTechnology`
        if one was set (`jplan.economies.with_technology`), else the built-in CES `FirmTechnology`."""
        if self.technology is not None:
            return self.technology
        return FirmTechnology(
            tfp=self.tfp,
            returns_to_scale=self.returns_to_scale,
            resource_shares=self.resource_shares,
            input_shares=self.input_shares,
            elasticity=self.elasticity,
            setup_cost=self.setup_cost,
            known_cobb_douglas="cobb-douglas" in self.known,
        )

    @property
    def scaled_input_shares(self) -> Array:
        """M = ρ_i β_ik: the log-linear input–output matrix; productive iff its spectral radius < 1."""
        return self.returns_to_scale[:, None] * self.input_shares


class Plan(eqx.Module):
    """A production and consumption plan.

    Attributes:
        consumption: c [n], final consumption.
        output: q [n], gross output of each firm.
        resource_use: r [n, m], resource j used by firm i.
        intermediate_use: v [n, n], good k used by firm i (row i = firm i).
    """

    consumption: Float[Array, " n"]
    output: Float[Array, " n"]
    resource_use: Float[Array, "n m"]
    intermediate_use: Float[Array, "n n"]


def specialise(economy):
    """The same economy (or batch), marked with the families its data belong to (`ProductionEconomy.known`),
    so that compiled procedures run only those families' formulas instead of branching on the data every
    step. Decided on the host from concrete arrays, so call it outside `jit` (traced or other economies are
    returned as they are). The answers are those of the unmarked economy; the marks are static, so a batch
    that mixes families simply gets none. Do not edit a marked economy's family parameters (elasticities,
    set-up costs, η) afterwards, and do not differentiate with respect to them through a marked economy:
    its Cobb–Douglas formulas do not depend on σ."""
    if not isinstance(economy, ProductionEconomy) or economy.technology is not None:
        return economy
    leaves = (economy.elasticity, economy.setup_cost, economy.welfare_elasticity)
    if any(isinstance(x, jax.core.Tracer) for x in leaves):
        return economy
    known = []  # the same tests the data paths apply (`plain_cobb_douglas`, `_log_welfare_form`), over the batch
    if bool(jnp.all(is_cobb_douglas(economy.elasticity))) and bool(jnp.all(economy.setup_cost == 0)):
        known.append("cobb-douglas")
    if bool(jnp.all(is_cobb_douglas(economy.welfare_elasticity))):
        known.append("log-welfare")
    fields = {f: getattr(economy, f) for f in ("endowments", "welfare_weights", "tfp", "returns_to_scale", "resource_shares",
                                              "input_shares", "elasticity", "welfare_elasticity", "subsistence",
                                              "technology", "setup_cost")}
    return ProductionEconomy(**fields, known=tuple(known))


def plain_cobb_douglas(firms: FirmTechnology) -> Array:
    """Whether every firm (stacked on the leading axis) is Cobb–Douglas without a set-up cost."""
    return jnp.all(is_cobb_douglas(firms.elasticity)) & jnp.all(firms.setup_cost == 0)


def for_firms(economy: ProductionEconomy, agent, *args):
    """`vmap(agent)(economy.firms, *args)` over the firms, with `agent(..., cobb_douglas=True)` (its
    Cobb–Douglas formulas alone) where every firm of every economy in the batch is plain Cobb–Douglas
    (`jplan._batching.cond_all`); the answer is the same, the work less."""
    from .._batching import cond_all

    firms = economy.firms
    if not isinstance(firms, FirmTechnology):
        return jax.vmap(agent)(firms, *args)
    if firms.known_cobb_douglas:  # `specialise` checked the data on the host: no branch at all
        return jax.vmap(lambda *a: agent(*a, cobb_douglas=True))(firms, *args)

    def respond(cobb_douglas):
        return lambda: jax.vmap(lambda *a: agent(*a, cobb_douglas=cobb_douglas))(firms, *args)

    return cond_all(plain_cobb_douglas(firms), respond(True), respond(False))


def output(economy: ProductionEconomy, resource_use: Array, intermediate_use: Array) -> Array:
    """Gross outputs q [n] of every firm from the input allocation (r [n, m], v [n, n])."""
    return for_firms(economy, firm_output, resource_use, intermediate_use)


def _log_welfare_form(economy: ProductionEconomy) -> Array:
    """Where the welfare is of the log / Stone–Geary form (η = 1)."""
    return is_cobb_douglas(economy.welfare_elasticity)


def welfare(economy: ProductionEconomy, consumption: Array) -> Array:
    """Social welfare U(c) of the economy's family (log, Stone–Geary or CES; see the module docstring).

    Goods with w_k = 0 contribute nothing. Consumption at or below subsistence gives −∞ (log forms) or
    0 (CES with complements).
    """
    w = economy.welfare_weights
    y = consumption - economy.subsistence
    log_form = jnp.sum(xlogy_masked(w, y))
    if "log-welfare" in getattr(economy, "known", ()):
        return log_form
    eta = jnp.where(_log_welfare_form(economy), 2.0, economy.welfare_elasticity)
    ces = jnp.exp(ces_log_aggregate(w, y, eta))
    return jnp.where(_log_welfare_form(economy), log_form, ces)


def welfare_index(economy: ProductionEconomy, welfare_value: Array) -> Array:
    """u = log F(c − γ), the log-homogeneous index of a welfare value: U/Σw (log, Stone–Geary), log U (CES).

    Scaling consumption above subsistence by e^δ raises u by δ, so differences of u are welfare gaps in
    log points of uniform consumption (above subsistence), with one meaning for every family.
    """
    if "log-welfare" in getattr(economy, "known", ()):
        return welfare_value / jnp.sum(economy.welfare_weights)
    log_form = _log_welfare_form(economy)
    safe = jnp.where(log_form, 1.0, welfare_value)
    return jnp.where(log_form, welfare_value / jnp.sum(economy.welfare_weights), jnp.log(safe))


def consumer_demand(economy: ProductionEconomy, prices: Array, income: Array | None = None) -> Array:
    """The consumption a price-guided centre plans: argmax U(c) subject to p·(c − γ) = income.

    Log and Stone–Geary welfare: c_k = γ_k + (w_k/Σw)·income/p_k; CES welfare:
    c_k = γ_k + income · w_k^η p_k^(−η) / Σ_l w_l^η p_l^(1−η). With `income` None the centre maximises
    U(c) − p·c for the log forms (c_k = γ_k + w_k/p_k, prices in units of U, as in Arrow–Hurwicz) and
    u(c) − p·c for CES welfare (u = log U; income 1).
    """
    w = economy.welfare_weights
    eta = economy.welfare_elasticity
    log_form = is_cobb_douglas(eta)
    used = w > 0
    safe_p = jnp.where(used, prices, 1.0)
    share = w / jnp.sum(w)
    log_y = jnp.where(used, w / safe_p, 0.0) if income is None else jnp.where(used, share * income / safe_p, 0.0)
    if "log-welfare" in getattr(economy, "known", ()):
        return economy.subsistence + log_y
    safe_w = jnp.where(used, w, 1.0)
    eta_safe = jnp.where(log_form, 2.0, eta)
    terms = jnp.where(used, jnp.exp(eta_safe * jnp.log(safe_w) + (1.0 - eta_safe) * jnp.log(safe_p)), 0.0)
    ces = jnp.where(used, jnp.exp(eta_safe * jnp.log(safe_w) - eta_safe * jnp.log(safe_p)), 0.0) / jnp.sum(terms)
    ces = ces * (1.0 if income is None else income)
    return economy.subsistence + jnp.where(log_form, log_y, ces)


def plan_from_inputs(
    economy: ProductionEconomy, resource_use: Array, intermediate_use: Array
) -> Plan:
    """The plan in which consumption is what is left of output after intermediate use."""
    q = output(economy, resource_use, intermediate_use)
    c = q - jnp.sum(intermediate_use, axis=0)
    return Plan(consumption=c, output=q, resource_use=resource_use, intermediate_use=intermediate_use)


def proportional_plan(economy: ProductionEconomy, fraction: float = 0.2, iterations: int = 200) -> Plan:
    """A feasible plan with positive consumption, for samplers and tests (it reads every technology).

    Resources are divided equally over the firms using them; a `fraction` of each good's output goes to
    the firms using it, in proportion to their input shares; the rest is consumed. Outputs are the fixed
    point q = f(r, v(q)), found by iterating in logs (a contraction for every sampled economy). Not a
    procedure's start: a centre cannot compute it without reading the firms' technologies.
    """
    alpha, beta = economy.resource_shares, economy.input_shares
    users = alpha > 0
    count = jnp.sum(users, axis=0)
    r = jnp.where(users, economy.endowments[None, :] / jnp.maximum(count, 1)[None, :], 0.0)
    colsum = jnp.sum(beta, axis=0)
    split = jnp.where(beta > 0, beta / jnp.where(colsum > 0, colsum, 1.0)[None, :], 0.0) * fraction

    def body(_, log_q):
        v = split * jnp.exp(log_q)[None, :]
        return jnp.log(output(economy, r, v))

    log_q = jax.lax.fori_loop(0, iterations, body, jnp.zeros((economy.n,), economy.tfp.dtype))
    q = jnp.exp(log_q)
    v = split * q[None, :]
    return Plan(consumption=q - jnp.sum(v, axis=0), output=output(economy, r, v), resource_use=r, intermediate_use=v)


def excess_demand(economy: ProductionEconomy, plan: Plan) -> tuple[Array, Array]:
    """Excess demands of a plan: goods c + Σ_i v_i· − q [n] and resources Σ_i r_i· − R [m]."""
    goods = plan.consumption + jnp.sum(plan.intermediate_use, axis=0) - plan.output
    resources = jnp.sum(plan.resource_use, axis=0) - economy.endowments
    return goods, resources


def infeasibility(economy: ProductionEconomy, plan: Plan) -> Array:
    """Largest relative excess demand of a plan (0 when the plan is feasible).

    Goods are measured relative to their output, resources relative to their endowment; a good with no
    output but positive demand counts as infinitely infeasible.
    """
    return infeasibility_of_totals(economy, plan.consumption, plan.output, jnp.sum(plan.intermediate_use, axis=0),
                                   jnp.sum(plan.resource_use, axis=0))


def infeasibility_of_totals(economy: ProductionEconomy, consumption: Array, output: Array, goods_used: Array,
                            resources_used: Array) -> Array:
    """`infeasibility` from a plan's totals: consumption c [n], outputs q [n], the firms' total use of each
    good Σ_i v_i [n] and of each resource Σ_i r_i [m] (what the excess demands depend on)."""
    goods = consumption + goods_used - output
    resources = resources_used - economy.endowments
    tiny = jnp.finfo(output.dtype).tiny
    goods_rel = jnp.where(goods > 0, goods / jnp.maximum(output, tiny), 0.0)
    resources_rel = jnp.maximum(resources, 0.0) / economy.endowments
    negative = jnp.minimum(jnp.min(consumption), 0.0)
    worst = jnp.maximum(jnp.max(goods_rel), jnp.max(resources_rel))
    # negative consumption is infeasible too: count it relative to the largest output
    return jnp.maximum(worst, -negative / jnp.maximum(jnp.max(output), tiny))
