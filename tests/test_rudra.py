"""Rudra's frame: Appendix 2, the central LP against HiGHS, λ_j gradients, the sectoral gradient search,
planning cycles and the shortest-time search."""

import zlib
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.optimize import linprog as highs

from jplan.economies import (
    GrowthPath,
    RudraEconomy,
    SectorColumn,
    Technology,
    capital_weights,
    frontiers,
    load_rudra,
    sample_rudra,
)
from jplan.solvers.lp import LP_STATUS
from jplan.rudra import (
    capital_gap,
    choose_all,
    choose_technology,
    criterion_along,
    cycle_status_name,
    plan_cycles,
    sectoral_criterion,
    sensitivities,
    shortest_time,
    solve_central,
)
from jplan.rudra.appendix2 import APPENDIX2_TOML, appendix2, reproduce_appendix2

from .helpers import index, replace

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def highs_central(e: RudraEconomy):
    """The central LP in inequality form, solved by HiGHS (an independent formulation)."""
    n, N = e.n, e.N
    gamma = np.asarray(capital_weights(e))
    net = np.asarray(e.outputs - e.inputs)
    c = np.concatenate([gamma, np.zeros(n)])
    balance = np.concatenate([net, np.eye(n)], axis=1)  # (B - A) X + m  (>= or =) d
    fx = np.concatenate([np.zeros(N), np.ones(n)])[None]
    d, F = np.asarray(e.final_demand), float(e.foreign_exchange)
    kw = {}
    if bool(e.balance_equality):
        kw.update(A_eq=balance, b_eq=d)
        ub = [fx], [F]
    else:
        ub = [-balance, fx], [-d, [F]]
    if bool(e.imports_equality):
        kw["A_eq"] = np.concatenate([kw["A_eq"], fx]) if "A_eq" in kw else fx
        kw["b_eq"] = np.concatenate([kw["b_eq"], [F]]) if "b_eq" in kw else np.array([F])
        ub = ([u for u in ub[0] if u is not fx], [v for u, v in zip(*ub) if u is not fx])
    if ub[0]:
        kw.update(A_ub=np.concatenate(ub[0]), b_ub=np.concatenate([np.atleast_1d(v) for v in ub[1]]))
    bounds = [(0, None)] * N + [(0, None) if imp else (0, 0) for imp in np.asarray(e.importable)]
    return highs(c, bounds=bounds, method="highs", **kw)


# -- Appendix 2 ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def report():
    return reproduce_appendix2(grid_points=20_001)


def test_appendix2_central_solution(report):
    assert [round(x, 1) for x in report["targets"]] == [307.7, 284.6]
    assert report["imports"] == pytest.approx([20.0, 0.0], abs=1e-9)
    assert report["gamma"] == pytest.approx([2.08, 1.46], abs=1e-12)
    assert round(report["lambda"]) == 1056 or round(report["lambda"]) == 1055
    # The seed's closed form (A.2.2), valid when m2 = 0.
    a12, a21, g1, g2 = 0.8, 0.6, 2.08, 1.46
    closed = ((80 + 100 * a12) * g1 + (100 + 80 * a21) * g2) / (1 - a12 * a21)
    assert report["lambda"] == pytest.approx(closed, rel=1e-12)


def test_appendix2_projects(report):
    low_cost, low_capital = report["projects"]
    assert low_cost["gamma_1"] == pytest.approx(2.632, abs=1e-12)
    assert low_capital["gamma_1"] == pytest.approx(1.97, abs=1e-12)
    assert round(low_capital["lambda_1"]) == 1372
    # A.2.3 in closed form for both projects.
    for p in (low_cost, low_capital):
        a21 = p["coefficients"]["inputs"][1]
        closed = (160 * p["gamma_1"] + (100 + 80 * a21) * 1.46) / (1 - 0.8 * a21)
        assert p["lambda_1"] == pytest.approx(closed, rel=1e-12)
    # The seed prints 1126.9 for the first project: that is the LP with its gamma_1 rounded to 2.63.
    f = appendix2()
    col = SectorColumn(
        inputs=jnp.array([0.0, 0.55]), outputs=jnp.array([1.0, 0.0]),
        capital=jnp.array(2.63 + 0.45 * 0.2 * 3.2), savings_rate=jnp.array(0.2), growth=jnp.array(3.2),
    )
    assert round(float(sectoral_criterion(f.economy, 0, col)), 1) == 1126.9


def test_appendix2_unrestricted_imports_correction(report):
    """With both commodities importable the LP imports commodity 2 (the seed's m2 = 0 rule is not optimal)."""
    free = report["unrestricted_imports"]
    A = np.array([[0.0, 0.8], [0.6, 0.0]])
    X = np.linalg.solve(np.eye(2) - A, np.array([100.0, 80.0]))
    assert free["targets"] == pytest.approx(X, rel=1e-12)
    assert free["imports"] == pytest.approx([0.0, 20.0], abs=1e-9)
    assert free["lambda"] == pytest.approx(2.08 * X[0] + 1.46 * X[1], rel=1e-12)
    assert free["lambda"] < report["lambda"]
    e = appendix2().economy
    ref = highs_central(replace(e, importable=np.array([True, True])))
    assert free["lambda"] == pytest.approx(ref.fun, rel=1e-10)


def test_appendix2_gradient_search_finds_the_intermediate_optimum(report):
    opt = report["optimal_technology"]
    lo, hi = (p["lambda_1"] for p in report["projects"])
    assert 0.05 < opt["theta"][1] < 0.95  # intermediate between the extremes
    assert opt["lambda_1"] < min(lo, hi)
    assert abs(opt["theta"][1] - opt["grid_theta"]) <= 2.0 / (opt["grid_points"] - 1)
    assert opt["lambda_1"] <= opt["grid_lambda_1"] + 1e-9 * opt["grid_lambda_1"]
    assert opt["lambda_1"] == pytest.approx(opt["grid_lambda_1"], rel=1e-8)
    # Along the frontier: coefficients stay between the projects' (the documented frontier property).
    f = appendix2()
    t = jax.tree.map(lambda x: x[0], f.technologies)
    for th in np.linspace(0, 1, 21):
        col = t.coefficients(jnp.array([1 - th, th]), jnp.array(307.7))
        assert 0.55 - 1e-12 <= float(col.inputs[1]) <= 0.75 + 1e-12
        assert 2.19 - 1e-12 <= float(col.capital) <= 2.92 + 1e-12


def test_appendix2_cycles_converge(report):
    cyc = report["cycles"]
    assert cyc["status"] == "converged"
    assert cyc["lambda"][-1] == pytest.approx(report["optimal_technology"]["lambda_1"], rel=1e-12)


def test_appendix2_example_file_is_the_shipped_text():
    assert (EXAMPLES / "rudra_appendix2.toml").read_text(encoding="utf-8") == APPENDIX2_TOML


# -- the central LP against HiGHS -------------------------------------------------------------------------
def _random_economies(count, N, n=None, seed=0, **kw):
    keys = jax.random.split(jax.random.PRNGKey(seed), count)
    return jax.vmap(lambda k: sample_rudra(k, N, n, **kw))(keys)


@pytest.mark.parametrize(
    "label,N,n,kw,variant",
    [
        ("square", 6, None, {}, None),
        ("joint production", 6, 4, {"joint_production": True}, None),
        ("equalities", 5, None, {}, "equality"),
        ("negative gamma", 5, None, {"negative_gamma": True}, None),
    ],
)
def test_central_lp_matches_highs(label, N, n, kw, variant):
    batch = _random_economies(40, N, n, seed=zlib.crc32(label.encode()) % 1000, **kw)
    if variant == "equality":
        # Exact import use and exact balances; with F large relative to demand (up to 800) some are infeasible.
        batch = replace(
            batch,
            balance_equality=np.ones(40, bool),
            imports_equality=np.ones(40, bool),
            foreign_exchange=np.asarray(batch.foreign_exchange) * 20,
        )
    plans = jax.jit(jax.vmap(solve_central))(batch)
    statuses = set()
    for i in range(40):
        e = index(batch, i)
        ref = highs_central(e)
        status = LP_STATUS[int(plans.status[i])]
        statuses.add(status)
        assert status == {0: "optimal", 2: "infeasible", 3: "unbounded"}[ref.status], (i, ref.message)
        if status == "optimal":
            lam = float(plans.capital_gap[i])
            assert lam == pytest.approx(ref.fun, rel=1e-9, abs=1e-9)
            # The plan is feasible for the original constraints.
            X, m = np.asarray(plans.targets[i]), np.asarray(plans.imports[i])
            net = np.asarray(e.outputs - e.inputs) @ X + m - np.asarray(e.final_demand)
            assert np.all(X >= 0) and np.all(m >= 0) and np.all(net >= -1e-8)
            assert m.sum() <= float(e.foreign_exchange) + 1e-8
    if label == "negative gamma":
        assert "unbounded" in statuses
    if label == "equalities":
        assert "infeasible" in statuses and "optimal" in statuses


def test_commodity_values_are_highs_marginals():
    batch = _random_economies(30, 5, seed=11)
    plans = jax.vmap(solve_central)(batch)
    compared = 0
    for i in range(30):
        e = index(batch, i)
        ref = highs_central(e)
        if ref.status != 0:
            continue
        # HiGHS reports d(objective)/d(b_ub) for -balance <= -d: the negative of d lambda / d d.
        np.testing.assert_allclose(-ref.ineqlin.marginals[: e.n], plans.commodity_values[i], rtol=1e-7, atol=1e-9)
        assert float(plans.foreign_exchange_value[i]) == pytest.approx(ref.ineqlin.marginals[e.n], rel=1e-7, abs=1e-9)
        compared += 1
    assert compared >= 20


# -- sensitivities: λ* and λ_j gradients against finite differences ------------------------------------------
def _nondegenerate(e, h=1e-4):
    """True when λ* is smooth around e: small perturbations of d keep the same basis (tested by linearity)."""
    d = np.asarray(e.final_demand)
    direction = np.random.default_rng(0).normal(size=d.shape)
    vals = [float(capital_gap(replace(e, final_demand=d + s * h * direction))) for s in (-1, 0, 1)]
    return abs(vals[0] - 2 * vals[1] + vals[2]) <= 1e-9 * max(1.0, abs(vals[1]))


@pytest.mark.parametrize("joint", [False, True])
def test_capital_gap_gradient_matches_central_differences(joint):
    batch = _random_economies(16, 5, 4 if joint else None, seed=21 + joint, joint_production=joint)
    fields = ["inputs", "outputs", "capital", "savings_rate", "growth", "final_demand", "foreign_exchange", "prices"]
    grads = jax.vmap(sensitivities)(batch)
    rng = np.random.default_rng(3)
    checked = 0
    for i in range(16):
        e = index(batch, i)
        if int(solve_central(e).status) != 0 or not _nondegenerate(e):
            continue
        g = index(grads, i)
        for field in fields:
            base = np.asarray(getattr(e, field), dtype=float)
            direction = rng.normal(size=base.shape) * (np.abs(base) + 0.1)
            if field == "outputs":
                direction = direction * (base > 0)  # keep the sparsity of b
            h = 1e-6
            plus = float(capital_gap(replace(e, **{field: base + h * direction})))
            minus = float(capital_gap(replace(e, **{field: base - h * direction})))
            fd = (plus - minus) / (2 * h)
            analytic = float(np.sum(np.asarray(getattr(g, field)) * direction))
            assert analytic == pytest.approx(fd, rel=1e-5, abs=1e-6 * (1 + abs(fd))), field
        checked += 1
    assert checked >= 8


def test_sensitivities_are_the_duals():
    e = appendix2().economy
    plan = solve_central(e)
    g = sensitivities(e)
    np.testing.assert_allclose(g.final_demand, plan.commodity_values, rtol=1e-12)
    assert float(g.foreign_exchange) == pytest.approx(float(plan.foreign_exchange_value), rel=1e-12)
    np.testing.assert_allclose(g.capital, plan.targets, rtol=1e-12)  # ∂λ/∂k_j = X_j


def test_vmap_of_gradients_equals_loop():
    batch = _random_economies(6, 4, seed=5)
    vm = jax.vmap(sensitivities)(batch)
    one_fn = jax.jit(sensitivities)
    for i in range(6):
        one = one_fn(index(batch, i))
        np.testing.assert_allclose(vm.inputs[i], one.inputs, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(vm.final_demand[i], one.final_demand, rtol=1e-12, atol=1e-12)


# -- sectoral choice -------------------------------------------------------------------------------------
def test_gradient_search_matches_grid_on_random_frontiers():
    """Two-project frontiers with random mixing savings on random economies: the projected-gradient choice
    is never worse than a 2001-point grid (to 1e-7) and lands next to the grid's best point."""
    batch = _random_economies(12, 4, seed=8)
    rng = np.random.default_rng(9)
    search = jax.jit(lambda e, t, j, level: choose_technology(e, t, j, level).criterion)
    grid = jnp.linspace(0, 1, 2001)
    on_grid = jax.jit(lambda e, t, j, level: jax.vmap(lambda s: criterion_along(e, t, j, jnp.stack([1 - s, s]), level))(grid))
    worse = 0
    for i in range(12):
        e = index(batch, i)
        if int(solve_central(e).status) != 0:
            continue
        j = int(rng.integers(4))
        a = np.asarray(e.inputs[:, j])
        projects = {
            j: dict(
                inputs=[a * 0.8, a * 1.3],
                capital=[float(e.capital[j]) * 1.3, float(e.capital[j]) * 0.8],
                savings_rate=[float(e.savings_rate[j])] * 2,
                growth=[float(e.growth[j]) * 0.9, float(e.growth[j]) * 1.1],
                mixing_inputs=a * rng.uniform(0, 0.1),
                mixing_capital=float(e.capital[j]) * rng.uniform(0, 0.3),
            )
        }
        tech = jax.tree.map(lambda x: x[j], frontiers(e, projects))
        level = solve_central(e).targets[j]
        found = float(search(e, tech, j, level))
        best = float(jnp.min(on_grid(e, tech, j, level)))
        assert found <= best + 1e-7 * abs(best)
        worse += found > best + 1e-7 * abs(best)
    assert worse == 0


class _ScaledCapital(Technology):
    """A user-supplied technology: θ ∈ [0, 1]² in a box; θ₀ trades capital for inputs, θ₁ raises savings."""

    base: SectorColumn

    def coefficients(self, theta, level):
        t0, t1 = theta
        return SectorColumn(
            inputs=self.base.inputs * (0.7 + 0.6 * t0),
            outputs=self.base.outputs,
            capital=self.base.capital * (1.3 - 0.5 * t0 + 0.4 * t0**2) + 0.3 * t1**2,
            savings_rate=self.base.savings_rate * (1.0 + 0.5 * t1),
            growth=self.base.growth,
        )

    def project(self, theta):
        return jnp.clip(theta, 0.0, 1.0)

    def initial(self):
        return jnp.array([0.0, 0.0])


def test_user_supplied_box_technology_matches_grid():
    e = appendix2().economy
    from jplan.economies.rudra import column

    tech = _ScaledCapital(base=column(e, 0))
    level = solve_central(e).targets[0]
    choice = choose_technology(e, tech, 0, level, steps=400)
    g = jnp.linspace(0, 1, 201)
    T0, T1 = jnp.meshgrid(g, g, indexing="ij")
    vals = jax.vmap(lambda a, b: criterion_along(e, tech, 0, jnp.stack([a, b]), level))(T0.ravel(), T1.ravel())
    best = float(jnp.min(vals))
    assert float(choice.criterion) <= best + 1e-7 * abs(best)


def test_choose_all_runs_sectors_in_parallel_like_a_loop():
    f = load_rudra(EXAMPLES / "rudra_five_sectors.toml")
    plan = solve_central(f.economy)
    together = jax.jit(lambda e, t, x: choose_all(e, t, x, steps=100))(f.economy, f.technologies, plan.targets)
    alone_fn = jax.jit(lambda e, t, j, x: choose_technology(e, t, j, x, steps=100))
    for j in (0, 2):
        alone = alone_fn(f.economy, jax.tree.map(lambda x: x[j], f.technologies), j, plan.targets[j])
        np.testing.assert_allclose(together.theta[j], alone.theta, atol=1e-10)
        assert float(together.criterion[j]) == pytest.approx(float(alone.criterion), rel=1e-12)


# -- planning cycles ---------------------------------------------------------------------------------------
def _one_sector(demand=100.0):
    return RudraEconomy(
        inputs=jnp.array([[0.35]]), outputs=jnp.eye(1), capital=jnp.array([1.2]), savings_rate=jnp.array([0.2]),
        growth=jnp.array([5.0]), final_demand=jnp.array([demand]), foreign_exchange=jnp.array(0.0),
        prices=jnp.ones(1), importable=jnp.array([True]), balance_equality=jnp.array(False),
        imports_equality=jnp.array(False),
    )


def test_cycles_with_scale_economies_converge_to_the_fixed_point():
    """One sector whose input coefficient is 0.5·(X/200)^-0.5: X = 100 / (1 - a(X_prev)) converges
    (|slope| 0.5 at the fixed point) to the root of X(1 - a(X)) = 100."""
    e = _one_sector()
    tech = frontiers(e, {0: dict(inputs=[[0.5]], capital=[1.0], savings_rate=[0.2], growth=[5.0], scale_elasticity=[-0.5], reference_level=200.0)})
    hist = plan_cycles(e, tech, cycles=60)
    assert cycle_status_name(hist.status) == "converged"
    fixed = brentq(lambda X: X * (1 - 0.5 * (X / 200) ** -0.5) - 100, 101, 1000)
    assert float(hist.targets[int(hist.cycles), 0]) == pytest.approx(fixed, rel=1e-7)
    # Each cycle is the scalar map the seed's §8.4 diagram describes.
    X = float(hist.targets[0, 0])
    for v in range(1, 6):
        X = 100 / (1 - 0.5 * (X / 200) ** -0.5)
        assert float(hist.targets[v, 0]) == pytest.approx(X, rel=1e-10)


def test_cycles_report_cycling_on_the_shipped_example():
    f = load_rudra(EXAMPLES / "rudra_scale_cycling.toml")
    hist = plan_cycles(f.economy, f.technologies, cycles=20)
    assert cycle_status_name(hist.status) == "cycling"
    assert int(hist.period) == 2
    v = int(hist.cycles)
    # Independent check of the alternation: at each previous target, the sector's choice is the better
    # project in closed form (lambda = gamma * 100 / (1 - a), one commodity, no imports).
    for cyc in range(1, v + 1):
        Xp = float(hist.targets[cyc - 1, 0])
        lam_modern = (2.0 * (Xp / 150) ** -1 - (1 - 0.2 * (Xp / 150) ** -1) * 0.2 * 5) * 100 / (1 - 0.2 * (Xp / 150) ** -1)
        lam_conv = (1.0 - 0.5 * 0.2 * 5) * 100 / 0.5
        chose_modern = float(hist.theta[cyc, 0, 0]) > 0.5
        assert chose_modern == (lam_modern < lam_conv)
    assert hist.targets[v, 0] == pytest.approx(float(hist.targets[v - 2, 0]), rel=1e-12)
    assert hist.targets[v, 0] != pytest.approx(float(hist.targets[v - 1, 0]), rel=1e-3)


def test_cycles_report_divergence():
    e = _one_sector()
    tech = frontiers(e, {0: dict(inputs=[[0.5]], capital=[1.0], savings_rate=[0.2], growth=[5.0], scale_elasticity=[-1.6], reference_level=200.0)})
    hist = plan_cycles(e, tech, cycles=30)
    assert cycle_status_name(hist.status) == "diverged"
    assert LP_STATUS[int(hist.lp_status[int(hist.cycles)])] != "optimal"


def test_cycle_limit_is_reported():
    e = _one_sector()
    tech = frontiers(e, {0: dict(inputs=[[0.5]], capital=[1.0], savings_rate=[0.2], growth=[5.0], scale_elasticity=[-0.5], reference_level=200.0)})
    hist = plan_cycles(e, tech, cycles=5)
    assert cycle_status_name(hist.status) == "cycle_limit"
    assert int(hist.cycles) == 5


def test_cycles_vmap_over_economies_equals_loop():
    e = _one_sector()
    demands = jnp.array([90.0, 100.0, 110.0])
    batch = jax.vmap(lambda d: replace(e, final_demand=d[None]))(demands)
    tech = frontiers(e, {0: dict(inputs=[[0.5]], capital=[1.0], savings_rate=[0.2], growth=[5.0], scale_elasticity=[-0.5], reference_level=200.0)})
    run = jax.jit(lambda ee: plan_cycles(ee, tech, cycles=40, steps=20))
    vm = jax.vmap(run)(batch)
    for i in range(3):
        one = run(index(batch, i))
        assert int(vm.status[i]) == int(one.status)
        np.testing.assert_allclose(vm.targets[i], one.targets, rtol=1e-12)


# -- shortest time -----------------------------------------------------------------------------------------
def test_growth_coefficient_formula():
    path = GrowthPath(base_ratio=jnp.array([0.3, 0.6]), demand_growth=jnp.array(0.0), reference_length=jnp.array(10.0))
    for T in (1, 4, 10, 25):
        q = np.array([0.3, 0.6])
        direct = sum(q ** (s / T) for s in range(T))
        np.testing.assert_allclose(path.growth(jnp.array(float(T))), direct, rtol=1e-12)


def test_shortest_time_one_sector_closed_form():
    """One sector, one commodity: lambda(T) = gamma(T) * (d(T) - F) / (1 - a) in closed form."""
    e = replace(_one_sector(), foreign_exchange=10.0, balance_equality=True, imports_equality=True)  # m = F; bounded even when gamma < 0
    path = GrowthPath(base_ratio=jnp.array([0.4]), demand_growth=jnp.array(0.01), reference_length=jnp.array(10.0))

    def lam(T):
        r = sum(0.4 ** (s / T) for s in range(T))
        d = 100.0 * 1.01 ** (T - 10)
        return (1.2 - 0.65 * 0.2 * r) * (d - 10.0) / 0.65

    values = [lam(T) for T in range(1, 61)]
    for assistance in (100.0, 50.0, 0.0, -20.0):
        expected = next(T for T, v in zip(range(1, 61), values) if v <= assistance)
        res = shortest_time(e, path, assistance, max_length=60)
        assert res.length == expected and res.status == "found"
        assert res.gap == pytest.approx(values[expected - 1], rel=1e-10)
        # The trials really bracket the answer.
        tried = dict(res.trials)
        assert tried[expected] <= assistance
        assert expected == 1 or (expected - 1 in tried and tried[expected - 1] > assistance)
    assert shortest_time(e, path, -1e6, max_length=60).status == "not_reached"


def test_shortest_time_reports_an_unbounded_central_lp():
    """With free disposal, γ(T) = 1.2 − 0.65·0.2·r(T) < 0 for long plans (r(60) ≈ 25): the LP is unbounded
    there, and the search says so instead of calling λ* = −inf a shortest length."""
    e, path = _one_sector(), GrowthPath(base_ratio=jnp.array([0.4]), demand_growth=jnp.array(0.01), reference_length=jnp.array(10.0))
    res = shortest_time(e, path, -1e9, max_length=60)
    assert res.status == "unbounded" and res.length is None and res.gap is None
    assert res.trials[-1] == (60, -np.inf)
    r60 = sum(0.4 ** (s / 60) for s in range(60))
    assert 1.2 - 0.65 * 0.2 * r60 < 0  # the closed form agrees that γ(60) < 0
    assert shortest_time(e, path, 50.0, max_length=60).status == "found"  # bisection stays on bounded lengths


def test_shortest_time_five_sectors_against_highs_scan():
    f = load_rudra(EXAMPLES / "rudra_five_sectors.toml")
    res = shortest_time(f.economy, f.growth_path, 1000.0, max_length=60)
    lams = [highs_central(f.growth_path.apply(f.economy, float(T))).fun for T in range(1, 61)]
    expected = next(T for T, v in zip(range(1, 61), lams) if v <= 1000.0)
    assert res.length == expected
    assert res.gap == pytest.approx(lams[expected - 1], rel=1e-9)


def test_gap_at_length_is_differentiable_in_T():
    """λ*(T) under jit/vmap and grad: dλ*/dT against central differences on the five-sector example."""
    from jplan.rudra import gap_at_length

    f = load_rudra(EXAMPLES / "rudra_five_sectors.toml")
    lam = jax.jit(lambda T: gap_at_length(f.economy, f.growth_path, T))
    Ts = jnp.array([12.0, 15.5, 21.0])
    grads = jax.vmap(jax.grad(lambda T: gap_at_length(f.economy, f.growth_path, T)))(Ts)
    for T, g in zip(Ts, grads):
        h = 1e-5
        fd = (lam(T + h) - lam(T - h)) / (2 * h)
        assert float(g) == pytest.approx(float(fd), rel=1e-6)
        assert float(g) < 0  # a longer plan accumulates more savings


def test_cycles_vmap_over_random_multisector_economies_equals_loop():
    """Regression: under vmap over ≥ 8 economies, NaN-filled history slots once counted as repeats on XLA CPU
    (every run reported `cycling` at cycle 1); vmapped runs must equal one-by-one runs."""
    from jplan.economies import sample_frontiers

    def make(key):
        k1, k2 = jax.random.split(key)
        e = replace(sample_rudra(k1, 4), balance_equality=True)
        return e, sample_frontiers(k2, e, solve_central(e).targets)

    keys = jax.random.split(jax.random.PRNGKey(7), 8)
    run = jax.jit(lambda key: plan_cycles(*make(key), cycles=12, steps=60))
    batched = jax.vmap(run)(keys)
    for i in range(8):
        one = run(keys[i])
        assert int(batched.status[i]) == int(one.status)
        assert int(batched.cycles[i]) == int(one.cycles)
        np.testing.assert_allclose(batched.capital_gap[i], one.capital_gap, rtol=1e-10)
    assert cycle_status_name(int(batched.status[0])) == "converged"
