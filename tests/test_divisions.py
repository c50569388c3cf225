"""Block-angular economies and Dantzig–Wolfe decomposition: the exact LP optimum against HiGHS, the
procedure against both, the properties the literature proves (the master's value is feasible and never
falls, the Lagrangian bound brackets the optimum from above at every iteration, the final prices are the
LP's duals), jit/vmap/grad, the centre's information, the file format and the command line."""

import json

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jplan
from jplan.cli import main
from jplan.economies import DivisionsEconomy, dumps_divisions, load_divisions, loads_divisions, sample_divisions
from jplan.errors import EconomyFileError
from jplan.procedures import DantzigWolfe, KornaiLiptak, KornaiLiptakCuttingPlane, KornaiLiptakSubgradient, run, status_name
from jplan.procedures.dantzig_wolfe import master_problem
from jplan.solvers import divisions_optimum
from jplan.solvers.divisions import standard_form

#: The issue's example file (one division), and a second division so the shared resource is contested
EXAMPLE = """kind = "divisions"
[centre]
resources = [40.0]
[[division]]
name = "one"
objective = [1.0, 1.0]
shared_use = [[1.0, 2.0]]
constraints = [[1.0, 3.0], [2.0, 1.0]]
limits = [30.0, 20.0]
"""

# Worked by hand: two divisions share 8 units of one resource; division j has one activity returning c_j per
# unit of resource, capped at u_j by its own constraint. The optimum fills the better ratio first:
# x = (4, 4), objective 3·4 + 2·4 = 20, and the resource is worth the marginal division's return, π = 2.
GREEDY = """kind = "divisions"
[centre]
resources = [8.0]
[[division]]
objective = [3.0]
shared_use = [[1.0]]
constraints = [[1.0]]
limits = [4.0]
[[division]]
objective = [2.0]
shared_use = [[1.0]]
constraints = [[1.0]]
limits = [10.0]
"""


def highs(economy: DivisionsEconomy):
    """The whole LP by SciPy's HiGHS: (objective, shared resources' duals)."""
    from scipy.optimize import linprog

    c, A, b, allowed = (np.asarray(x) for x in standard_form(economy))
    res = linprog(c[allowed], A_eq=A[:, allowed], b_eq=b, bounds=(0, None), method="highs")
    assert res.status == 0, res.message
    return -res.fun, -res.eqlin.marginals[: economy.shared]


def test_hand_worked_example_optimum_and_dantzig_wolfe():
    e, labels = loads_divisions(GREEDY)
    opt = divisions_optimum(e)
    assert float(opt.objective) == pytest.approx(20.0, abs=1e-12)
    np.testing.assert_allclose(opt.plan.activities[:, 0], [4.0, 4.0], atol=1e-12)
    np.testing.assert_allclose(opt.resource_prices, [2.0], atol=1e-12)
    tr = run(DantzigWolfe(), e, 20, optimal_welfare=opt.objective)
    assert status_name(tr.status) == "converged"
    assert float(tr.welfare[-1]) == pytest.approx(20.0, abs=1e-10)
    np.testing.assert_allclose(tr.resource_prices, [2.0], atol=1e-10)


def test_issue_example_matches_highs_and_the_procedure_reaches_it():
    e, _ = loads_divisions(EXAMPLE)
    value, duals = highs(e)
    opt = divisions_optimum(e)
    assert float(opt.objective) == pytest.approx(value, rel=1e-12)
    np.testing.assert_allclose(opt.resource_prices, duals, atol=1e-12)
    tr = run(DantzigWolfe(), e, 20, optimal_welfare=opt.objective)
    assert status_name(tr.status) == "converged" and float(tr.welfare[-1]) == pytest.approx(value, rel=1e-10)


#: Textbook decomposition examples (files in examples/, each citing its source): known optimum and plan.
LITERATURE = {
    "lasdon-3.5": ("examples/divisions_lasdon.toml", 110 / 3, [[25 / 3, 10 / 3], [10.0, 5.0]]),
    "trick": ("examples/divisions_trick.toml", 40.0, [[3.0, 0.0], [2.0, 3.0]]),
    "bertsimas-tsitsiklis-6.2": ("examples/divisions_bertsimas_tsitsiklis.toml", 10.5, [[1.0, 0.5, 1.0]]),
    "mitchell-ray": ("examples/divisions_mitchell.toml", 5.0, [[0.0, 1.0, 2.0]]),
    # equalities as pairs of rows (negative right-hand sides: phase I) and an unbounded third block; the
    # book's optimum has several plans (dwsolver's solution file: cost 1208/19)
    "dantzig-thapa-10.5": ("examples/divisions_dantzig_thapa.toml", -1208 / 19, None),
}


def lagrangian(economy: DivisionsEconomy, prices) -> float:
    """L(π) = πᵀb₀ + Σ_j max over division j's polytope of (c_j − D_jᵀπ)ᵀx, by HiGHS (an upper bound on the
    optimum at any π ≥ 0, equal to it exactly at optimal duals)."""
    from scipy.optimize import linprog

    total = float(np.dot(prices, economy.resources))
    for j in range(economy.divisions):
        mask = np.asarray(economy.activity_mask[j])
        profit = (np.asarray(economy.objective[j]) - np.asarray(economy.shared_use[j]).T @ np.asarray(prices))[mask]
        res = linprog(-profit, A_ub=np.asarray(economy.constraints[j])[:, mask], b_ub=np.asarray(economy.limits[j]),
                      bounds=(0, None), method="highs")
        assert res.status == 0, res.message
        total += -res.fun
    return total


@pytest.mark.parametrize("name", list(LITERATURE))
def test_textbook_examples_reach_the_known_optimum(name):
    """Each textbook example: the exact LP (and HiGHS) give the book's optimum; Dantzig–Wolfe converges to it
    with its bound bracketing the optimum at every iteration and its final prices equal to the LP duals;
    Kornai–Lipták (and its subgradient variant) keep feasible quotas, bracket the optimum, and come within
    their slow rate of it. Mitchell's example has an unbounded division: DW's first answer is an extreme ray."""
    path, known, plan = LITERATURE[name]
    e, _ = load_divisions(path)
    value, duals = highs(e)
    opt = divisions_optimum(e)
    assert value == pytest.approx(known, rel=1e-12) and float(opt.objective) == pytest.approx(known, rel=1e-12)
    if plan is not None:
        np.testing.assert_allclose(np.where(e.activity_mask, opt.plan.activities, 0.0), plan, atol=1e-10)
        np.testing.assert_allclose(opt.resource_prices, duals, atol=1e-10)
    for procedure, steps in ((DantzigWolfe(), 30), (KornaiLiptak(), 2000), (KornaiLiptakSubgradient(), 2000),
                             (KornaiLiptakCuttingPlane(), 200)):
        tr = jax.jit(lambda e: run(procedure, e, steps, optimal_welfare=opt.objective))(e)
        k = int(tr.steps)
        if procedure.name != "dantzig-wolfe" and bool(jnp.any(e.resources < 0)):
            assert status_name(tr.status) == "out_of_domain"  # quotas cannot split a requirement
            continue
        feasible = np.asarray(tr.infeasibility[: k + 1]) <= 1e-9  # every iterate after a phase I
        assert np.all(feasible[np.argmax(feasible):]) and feasible[-1], procedure.name
        lower = np.asarray(tr.welfare[: k + 1])[feasible]
        upper = lower + np.asarray(tr.residual[: k + 1])[feasible] * np.maximum(1.0, np.abs(lower))
        assert np.all(lower <= known + 1e-9) and np.all(upper >= known - 1e-9), procedure.name
        assert feasible.all() or name == "dantzig-thapa-10.5", procedure.name
        gap = np.asarray(tr.gap)
        if procedure.name == "dantzig-wolfe":
            assert status_name(tr.status) == "converged" and k <= (5 if plan is None else 2)
            assert float(tr.welfare[-1]) == pytest.approx(known, rel=1e-10)
            if plan is not None:
                np.testing.assert_allclose(np.where(e.activity_mask, tr.plan.activities, 0.0), plan, atol=1e-9)
                np.testing.assert_allclose(tr.resource_prices, duals, atol=1e-9)
                assert np.all(np.diff(lower) >= -1e-12)  # monotone from a feasible start
            # the final prices are optimal duals (several exist where the LP is degenerate): L(π) = V*
            assert lagrangian(e, tr.resource_prices) == pytest.approx(known, rel=1e-9)
            # a ray (Mitchell) or phase I (Dantzig–Thapa): no bound at the start
            assert (float(tr.residual[0]) == np.inf) == (name in ("mitchell-ray", "dantzig-thapa-10.5"))
        elif procedure.name == "kornai-liptak-cutting-plane":
            # the cutting-plane model is exact after finitely many cuts: converged, at the optimum
            assert status_name(tr.status) == "converged" and gap[-1] <= 1e-4 and k <= 20, (gap[-1], k)
            assert float(tr.welfare[-1]) == pytest.approx(known, rel=1e-6)
        else:
            # fictitious play passes through the optimum (its average quotas hit an optimal allocation) but
            # does not stay there; the subgradient variant's iterates oscillate at its O(t^-1/2) rate
            assert status_name(tr.status) in {"converged", "not_converged"}
            best = 1e-6 if procedure.name == "kornai-liptak" else 1e-4
            assert gap[-1] <= 1e-2 and gap.min() <= best, (procedure.name, gap[-1], gap.min())


@pytest.mark.parametrize("size", [(3, 3, 2, 2), (6, 4, 3, 3)], ids=["N3-a3-m2", "N6-a4-m3"])
def test_dantzig_wolfe_on_100_random_economies_matches_highs(size):
    N, a, m0, p = size
    batch, steps = 100, 60
    keys = jax.random.split(jax.random.PRNGKey(sum(size)), batch)
    economies = jax.vmap(lambda k: sample_divisions(k, N, a, m0, p))(keys)
    opt = jax.jit(jax.vmap(divisions_optimum))(economies)
    procedure = DantzigWolfe(columns=16)  # < steps: old non-basic columns are replaced
    traces = jax.jit(jax.vmap(lambda e, u: run(procedure, e, steps, optimal_welfare=u)))(economies, opt.objective)
    binding = 0
    for i in range(batch):
        e = jax.tree_util.tree_map(lambda x: x[i], economies)
        value, duals = highs(e)
        scale = max(1.0, abs(value))
        assert int(opt.status[i]) == 0 and abs(float(opt.objective[i]) - value) <= 1e-9 * scale, i
        np.testing.assert_allclose(opt.resource_prices[i], duals, atol=1e-7, err_msg=str(i))
        k = int(traces.steps[i])
        assert status_name(traces.status[i]) == "converged", (i, status_name(traces.status[i]))
        lower = np.asarray(traces.welfare[i, : k + 1])  # the master's value: a feasible plan's
        upper = lower + np.asarray(traces.residual[i, : k + 1]) * np.maximum(1.0, np.abs(lower))  # best Lagrangian bound
        assert np.all(lower <= value + 1e-9 * scale) and np.all(upper >= value - 1e-9 * scale), i  # brackets V*
        assert np.all(np.diff(lower) >= -1e-9 * scale), i  # never falls
        assert float(np.max(traces.infeasibility[i, : k + 1])) <= 1e-9, i  # every central plan feasible
        assert abs(float(traces.welfare[i, k]) - value) <= 1e-6 * scale, i
        np.testing.assert_allclose(traces.resource_prices[i], duals, atol=1e-6, err_msg=str(i))  # prices = LP duals
        binding += int(np.any(duals > 1e-9))
    assert binding == batch  # the sampler makes a shared resource bind in every economy


def with_requirements(e: DivisionsEconomy, plan, share: float) -> DivisionsEconomy:
    """The economy with requirements added (negative right-hand sides): every division must return at least
    `share` of what it returns in `plan` (−c_jᵀx ≤ −share·c_jᵀx*_j) and the divisions together must use at
    least `share` of the shared resources `plan` uses (−Σ D_j x_j ≤ −share·Σ D_j x*_j). With `plan` an optimum
    and share ≤ 1, the optimum stays feasible, so it is still the optimum."""
    use = jnp.einsum("jra,ja->r", e.shared_use, plan)
    ret = jnp.sum(e.objective * plan, axis=1)
    return DivisionsEconomy(
        resources=jnp.concatenate([e.resources, -share * use]),
        objective=e.objective,
        shared_use=jnp.concatenate([e.shared_use, -e.shared_use], axis=1),
        constraints=jnp.concatenate([e.constraints, -e.objective[:, None, :]], axis=1),
        limits=jnp.concatenate([e.limits, -share * ret[:, None]], axis=1),
        activity_mask=e.activity_mask)


def test_phase_one_on_100_random_economies_with_requirements():
    """Requirements make the zero plan infeasible, so Dantzig–Wolfe starts in phase I: it still reaches the
    optimum (HiGHS on the whole LP), with a finite bound only once phase I is over; requirements no plan can
    meet (using 1.5 times a binding resource) are reported `failed`, and Kornai–Lipták reports them out of
    its domain."""
    batch = 100
    economies = jax.vmap(lambda k: sample_divisions(k, 3, 3, 2, 2))(jax.random.split(jax.random.PRNGKey(11), batch))
    opt = jax.jit(jax.vmap(divisions_optimum))(economies)
    feasible = jax.vmap(lambda e, x: with_requirements(e, x, 0.5))(economies, opt.plan.activities)
    infeasible = jax.vmap(lambda e, x: with_requirements(e, x, 1.5))(economies, opt.plan.activities)
    go = jax.jit(jax.vmap(lambda e, u: run(DantzigWolfe(columns=16), e, 60, optimal_welfare=u)))
    tr = go(feasible, opt.objective)
    bad = go(infeasible, opt.objective)
    for i in range(batch):
        e = jax.tree_util.tree_map(lambda x: x[i], feasible)
        value, _ = highs(e)
        assert abs(value - float(opt.objective[i])) <= 1e-9 * max(1.0, abs(value)), i  # the same optimum
        assert status_name(tr.status[i]) == "converged", (i, status_name(tr.status[i]))
        assert abs(float(tr.welfare[i, -1]) - value) <= 1e-6 * max(1.0, abs(value)), i
        assert float(tr.infeasibility[i, -1]) <= 1e-9 and float(tr.residual[i, 0]) == np.inf  # phase I first
        assert status_name(bad.status[i]) == "failed", (i, status_name(bad.status[i]))
    kl = run(KornaiLiptak(), jax.tree_util.tree_map(lambda x: x[0], feasible), 5)
    assert status_name(kl.status) == "out_of_domain"


@pytest.mark.parametrize("procedure", [KornaiLiptak(), KornaiLiptakSubgradient()], ids=lambda p: p.name)
def test_kornai_liptak_quotas_are_feasible_and_bracketed_on_100_economies(procedure):
    """Every iterate is a feasible plan (the divisions' plans within feasible quotas), its value is below the
    optimum and the best bound above it at every iteration, and the gap closes (slowly: fictitious play)."""
    batch, steps = 100, 300
    economies = jax.vmap(lambda k: sample_divisions(k, 3, 3, 2, 2))(jax.random.split(jax.random.PRNGKey(8), batch))
    opt = jax.jit(jax.vmap(divisions_optimum))(economies)
    traces = jax.jit(jax.vmap(lambda e, u: run(procedure, e, steps, optimal_welfare=u)))(economies, opt.objective)
    value = np.asarray(opt.objective)[:, None]
    scale = np.maximum(1.0, np.abs(value))
    lower = np.asarray(traces.welfare)
    upper = lower + np.asarray(traces.residual) * np.maximum(1.0, np.abs(lower))
    assert np.all(lower <= value + 1e-9 * scale) and np.all(upper >= value - 1e-9 * scale)
    assert float(np.max(traces.infeasibility)) <= 1e-9
    assert {status_name(s) for s in np.asarray(traces.status)} <= {"converged", "not_converged"}
    gap = np.asarray(traces.gap)
    assert np.median(gap[:, -1]) < 0.2 * np.median(gap[:, 10]) and np.median(gap[:, -1]) < 1e-2
    for i in range(5):  # the independent check of the references used above
        e = jax.tree_util.tree_map(lambda x: x[i], economies)
        assert float(value[i, 0]) == pytest.approx(highs(e)[0], rel=1e-9)


def test_jit_vmap_and_grad():
    keys = jax.random.split(jax.random.PRNGKey(3), 4)
    economies = jax.vmap(lambda k: sample_divisions(k, 3, 3, 2, 2))(keys)
    for procedure in (DantzigWolfe(columns=8), KornaiLiptak(), KornaiLiptakSubgradient(), KornaiLiptakCuttingPlane(memory=8)):
        f = lambda e: run(procedure, e, 12)
        batched = jax.jit(jax.vmap(f))(economies)
        for i in range(4):
            e = jax.tree_util.tree_map(lambda x: x[i], economies)
            one = jax.jit(f)(e)
            for x, y in zip(jax.tree_util.tree_leaves(one), jax.tree_util.tree_leaves(jax.tree_util.tree_map(lambda z: z[i], batched))):
                np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-10, atol=1e-12)
        e = jax.tree_util.tree_map(lambda x: x[0], economies)
        value = lambda b: run(procedure, eqx.tree_at(lambda t: t.resources, e, b), 12).welfare[-1]
        value_and_grad = jax.jit(jax.value_and_grad(value))  # one program for the gradient and the differences
        g = value_and_grad(e.resources)[1]
        assert bool(jnp.all(jnp.isfinite(g))), procedure.name
        if procedure.name == "dantzig-wolfe":  # converged: ∂(value)/∂b₀ is the resources' price (envelope)
            np.testing.assert_allclose(g, jax.jit(f)(e).resource_prices, rtol=1e-8, atol=1e-10)
        else:  # a fixed number of steps: the derivative of that iterate's value, checked by central differences
            h = 1e-6
            fd = [(value_and_grad(e.resources.at[r].add(h))[0] - value_and_grad(e.resources.at[r].add(-h))[0]) / (2 * h)
                  for r in range(2)]
            np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-7, err_msg=procedure.name)


def test_the_centre_sees_only_reported_values_and_uses():
    """Structural: the master problem's inputs are b₀ and the divisions' reports; hiding every division's
    technology (NaN) from it changes nothing."""
    e, _ = loads_divisions(GREEDY)
    values, uses = jnp.array([[12.0, 0.0], [8.0, 0.0]]), jnp.array([[[4.0], [0.0]], [[4.0], [0.0]]])
    valid = jnp.ones((2, 2), bool)
    lam, prices, _, value, _, ok, _, _ = master_problem(e.resources, values, uses, valid)
    assert bool(ok) and float(value) == pytest.approx(20.0) and float(prices[0]) == pytest.approx(2.0)
    hidden = eqx.tree_at(lambda t: (t.objective, t.shared_use, t.constraints, t.limits), e,
                         (jnp.full_like(e.objective, jnp.nan), jnp.full_like(e.shared_use, jnp.nan),
                          jnp.full_like(e.constraints, jnp.nan), jnp.full_like(e.limits, jnp.nan)))
    again = master_problem(hidden.resources, values, uses, valid)
    np.testing.assert_array_equal(np.asarray(again[1]), np.asarray(prices))


def test_file_round_trip_and_sampler_validity():
    economies = jax.vmap(lambda k: sample_divisions(k, 3, 2, 2, 2))(jax.random.split(jax.random.PRNGKey(1), 5))
    for i in range(5):
        e = jax.tree_util.tree_map(lambda x: x[i], economies)
        back, _ = loads_divisions(dumps_divisions(e))
        for x, y in zip(jax.tree_util.tree_leaves(e), jax.tree_util.tree_leaves(back)):
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


BAD = [
    (EXAMPLE.replace("[centre]\nresources = [40.0]\n", ""), "[centre]: missing"),
    (EXAMPLE.replace("objective = [1.0, 1.0]\n", ""), "division[0].objective: missing"),
    (EXAMPLE.replace("shared_use = [[1.0, 2.0]]", "shared_use = [[1.0]]"), "division[0].shared_use: expected shape"),
    (EXAMPLE.replace("limits = [30.0, 20.0]", "limits = [30.0]"), "division[0].limits: expected 2 entries"),
    (EXAMPLE.replace("limits = [30.0, 20.0]", "limits = [30.0, 1e13]"), "division[0].limits: entries above 1e12"),
    (EXAMPLE.replace("constraints = [[1.0, 3.0], [2.0, 1.0]]", "constraints = [[1.0], [2.0]]"), "division[0].constraints"),
    (EXAMPLE.replace("objective = [1.0, 1.0]", 'objective = ["1", 1.0]'), "division[0].objective"),
    (EXAMPLE.replace("objective = [1.0, 1.0]", "objective = [nan, 1.0]"), "NaN"),
    (EXAMPLE + "colour = 1\n", "division[0].colour: unknown key"),
    (EXAMPLE.replace('name = "one"', "name = 1"), "division[0].name: must be a string"),
    ('kind = "divisions"\n[centre]\nresources = [1.0]\n', "division: expected one or more [[division]] tables"),
]


@pytest.mark.parametrize("text,message", BAD, ids=[m for _, m in BAD])
def test_bad_division_files_are_one_line_naming_the_field(text, message):
    with pytest.raises(EconomyFileError, match=None) as info:
        loads_divisions(text)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_command_line_solve_and_optimum(tmp_path, capsys):
    path = tmp_path / "d.toml"
    path.write_text(GREEDY)
    assert main(["optimum", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "optimal" and out["objective"] == pytest.approx(20.0)
    assert out["activities"] == [[pytest.approx(4.0)], [pytest.approx(4.0)]] and out["resource_prices"] == [pytest.approx(2.0)]
    assert main(["solve", str(path), "--procedure", "dantzig-wolfe", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"objective", "activities", "resource_prices", "status", "steps"} <= set(out)
    assert out["status"] == "converged" and out["objective"] == pytest.approx(20.0)
    assert main(["solve", str(path), "--procedure", "heal"]) == 2
    assert "runs on kind = \"production\"" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text(GREEDY.replace("limits = [4.0]", "limits = [4.0, 5.0]"))
    assert main(["optimum", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "division[0].limits: expected 1 entries" in err[0]


def multi_year_plan(T: int = 3):
    """A multi-year plan as a block-angular LP, one division per year: year t produces (using this year's
    capital), invests (supplying next year's capital) or carries capital over. The capital links are shared
    rows in which year t's division has *negative* entries (it supplies next year's capital)."""
    divisions = []
    for t in range(T):
        D = np.zeros((T, 3))
        D[t] = [1.0, 0.0, 1.0]  # production and carry-over use this year's capital
        if t + 1 < T:
            D[t + 1] = [0.0, -1.0, -1.0]  # investment and carry-over supply next year's
        divisions.append(dict(objective=[1.0, -0.3, 0.0], shared_use=D.tolist(), constraints=[[1.0, 1.0, 0.0]],
                              limits=[10.0 + 2 * t]))
    return jplan.economies.divisions_from_arrays([4.0] + [0.0] * (T - 1), divisions)


@pytest.mark.parametrize("procedure", [KornaiLiptak(), KornaiLiptakSubgradient(), KornaiLiptakCuttingPlane()],
                         ids=lambda p: p.name)
def test_quota_procedures_refuse_a_division_that_supplies_a_shared_resource(procedure):
    """A division with a negative shared-use entry is outside the quota procedures' domain (their bound assumes
    D_j x_j ≥ 0): before this check the subgradient variant reported `converged` at 4.0 on this plan, whose
    optimum (HiGHS, and Dantzig–Wolfe) is 15.2."""
    e = multi_year_plan()
    value, _ = highs(e)
    assert value == pytest.approx(15.2, rel=1e-12)
    tr = run(procedure, e, 50, optimal_welfare=jnp.asarray(value))
    assert status_name(tr.status) == "out_of_domain" and int(tr.steps) == 0
    assert "negative shared-resource use" in procedure.domain_message()
    # one entry just below zero is enough
    tiny = eqx.tree_at(lambda x: x.shared_use, e, jnp.maximum(e.shared_use, 0.0).at[1, 0, 0].set(-1e-12))
    assert bool(procedure.domain_violation(tiny)) and not bool(procedure.domain_violation(
        eqx.tree_at(lambda x: x.shared_use, e, jnp.maximum(e.shared_use, 0.0))))
    dw = run(DantzigWolfe(), e, 50, optimal_welfare=jnp.asarray(value))
    assert status_name(dw.status) == "converged" and float(dw.welfare[-1]) == pytest.approx(value, rel=1e-10)


@pytest.mark.parametrize("size", [(4, 3, 2, 2), pytest.param((8, 6, 4, 4), marks=pytest.mark.slow)], ids=["N4-a3-m2", "N8-a6-m4"])
def test_cutting_plane_variant_reaches_the_optimum_on_100_random_economies(size):
    """`kornai-liptak-cutting-plane` converges within 1e-4 of HiGHS on 100 random economies per size in its
    default budget, and its bound and plan bracket the optimum at every step."""
    N, a, m0, p = size
    keys = jax.random.split(jax.random.PRNGKey(7 + N), 100)
    economies = jax.vmap(lambda k: sample_divisions(k, N, a, m0, p))(keys)
    opt = jax.jit(jax.vmap(divisions_optimum))(economies)
    procedure = KornaiLiptakCuttingPlane()
    steps = jplan.procedures.DEFAULT_STEPS[procedure.name]
    traces = jax.jit(jax.vmap(lambda e, u: run(procedure, e, steps, optimal_welfare=u)))(economies, opt.objective)
    for i in range(100):
        value, _ = highs(jax.tree_util.tree_map(lambda x: x[i], economies))
        k = int(traces.steps[i])
        assert status_name(traces.status[i]) == "converged", (i, status_name(traces.status[i]))
        assert float(traces.gap[i, -1]) <= 1e-4, i
        lower = np.asarray(traces.welfare[i, : k + 1])
        upper = lower + np.asarray(traces.residual[i, : k + 1]) * np.maximum(1.0, np.abs(lower))
        scale = max(1.0, abs(value))
        assert np.all(lower <= value + 1e-9 * scale) and np.all(upper >= value - 1e-9 * scale), i
        assert np.all(np.diff(lower) >= 0), i  # the best plan heard never gets worse


def test_a_failed_run_names_the_lp_that_failed():
    """Issue 31: a failure says which LP failed, how and when. A Dantzig–Wolfe centre whose master LP is made
    to report `numerical_failure` from its third master on (the opening round solves the first two) ends `failed`
    with "the master LP ended numerical_failure at step 1" (the run keeps its last good plan); the
    codes of the other failures read as words; a run that converges has no reason."""
    import jax.numpy as jnp

    from jplan.procedures import DantzigWolfe, solve
    from jplan.procedures import dantzig_wolfe as dw

    class Breaking(DantzigWolfe):
        def _master(self, economy, proposals, values, uses, valid, rays, age, t, bound, phase1, failure):
            state, flops = super()._master(economy, proposals, values, uses, valid, rays, age, t, bound, phase1, failure)
            broken = jnp.where((t >= 3) & (state[-1] == 0), dw.MASTER * 10 + 4, state[-1])  # LP_STATUS[4]
            return (*state[:-1], broken), flops

    import jax

    from jplan.economies import sample_divisions

    e = sample_divisions(jax.random.PRNGKey(3), 4, 3, 2, 2)
    good = solve(DantzigWolfe(), e, steps=50)
    assert good.status == "converged" and good.reason == "" and int(good.trace.failure) == 0
    bad = solve(Breaking(), e, steps=50)
    assert bad.status == "failed"
    assert bad.reason == "the master LP ended numerical_failure at step 1", bad.reason
    assert dw.dw_failure_message(24) == "the phase-I master LP ended numerical_failure"
    assert dw.dw_failure_message(2 * 100 + dw.DIVISION * 10) == "division 1's subproblem LP did not solve"
    assert "infeasible" in dw.dw_failure_message(dw.INFEASIBLE_ECONOMY * 10)
