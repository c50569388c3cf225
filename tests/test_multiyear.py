"""Cockshott's multi-year plan (issue 24, item 5): his files read as they are, his published optimum, the LP
against HiGHS on an independent formulation with his full set of variables, row orders, random economies,
jit/vmap/grad, the TOML form, bad files."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import linprog as highs_linprog

from jplan.economies.multiyear import (
    dumps_multiyear,
    load_multiyear,
    multiyear_from_dict,
    read_cockshott,
    sample_multiyear,
)
from jplan.errors import EconomyFileError
from jplan.solvers.lp import linprog
from jplan.solvers.multiyear import multiyear_lp, solve_multiyear

TOY = Path(__file__).resolve().parents[1] / "examples" / "cockshott_toy"
solve = jax.jit(solve_multiyear)

# Cockshott, "Documentation for the N-year plan solvers" (wc22m/5yearplan, plancode/documentation.odt): the
# lp_solve results for the toy economy, as printed (6 significant digits)
PUBLISHED_OBJECTIVE = 7.33645
PUBLISHED_FULFILMENT = [0.159221, 1.75043, 1.75259, 1.71516, 1.95906]
PUBLISHED_OUTPUT_YEAR2 = {"bread": 3.51837, "coal": 9.18011, "corn": 3.9093}


def independent_optimum(e, return_lp=False):
    """The plan as Cockshott's documentation states it, with every variable of his LP named (outputs,
    flows, labour per industry and in total, stocks, depreciation, accumulation per industry and per good,
    productive consumption, final consumption, fulfilment), built here one inequality at a time and solved
    by HiGHS. Shares no code with jplan's LP."""
    n, T = e.n, e.T
    a, k, dep, lab = (np.asarray(x) for x in (e.inputs, e.capital, e.depreciation, e.labour))
    K0, L, tau = np.asarray(e.initial_capital), np.asarray(e.labour_supply), np.asarray(e.targets)
    names = {}

    def var(*key):
        return names.setdefault(key, len(names))

    rows = []  # (coefficients {var: c}, rhs, kind) with kind "<=" or "=="
    for t in range(T):
        for j in range(n):
            for i in range(n):
                if a[i, j] > 0:  # flow of i into j covers its use: a_ij x_j <= f_ji
                    rows.append(({var("x", t, j): a[i, j], var("f", t, j, i): -1.0}, 0.0, "<="))
                if k[i, j] > 0:  # output within the stock of i industry j holds
                    rows.append(({var("x", t, j): k[i, j], var("K", t, j, i): -1.0}, 0.0, "<="))
                rows.append(({var("D", t, j, i): 1.0, var("K", t, j, i): -dep[i, j]}, 0.0, "=="))
                if t == 0:
                    rows.append(({var("K", t, j, i): 1.0}, K0[i, j], "<="))
                else:
                    rows.append(({var("K", t, j, i): 1.0, var("K", t - 1, j, i): -1.0, var("A", t - 1, j, i): -1.0,
                                  var("D", t - 1, j, i): 1.0}, 0.0, "<="))
            rows.append(({var("x", t, j): lab[j], var("L", t, j): -1.0}, 0.0, "<="))
        rows.append(({**{var("L", t, j): 1.0 for j in range(n)}, var("Ltot", t): -1.0}, 0.0, "<="))
        rows.append(({var("Ltot", t): 1.0}, L[t], "<="))
        for p in range(n):
            rows.append(({**{var("A", t, j, p): 1.0 for j in range(n)}, var("Acc", t, p): -1.0}, 0.0, "<="))
            rows.append(({**{var("f", t, j, p): 1.0 for j in range(n)}, var("P", t, p): -1.0}, 0.0, "<="))
            rows.append(({var("C", t, p): 1.0, var("x", t, p): -1.0, var("Acc", t, p): 1.0, var("P", t, p): 1.0}, 0.0, "<="))
            if tau[t, p] > 0:
                rows.append(({var("u", t): 1.0, var("C", t, p): -1.0 / tau[t, p]}, 0.0, "<="))
    N = len(names)
    dense = lambda coef: np.bincount(list(coef), weights=list(coef.values()), minlength=N)  # noqa: E731
    ub = [(dense(c), r) for c, r, kind in rows if kind == "<="]
    eq = [(dense(c), r) for c, r, kind in rows if kind == "=="]
    cost = np.zeros(N)
    u = [names[("u", t)] for t in range(T)]
    cost[u] = -1.0
    A_ub, b_ub = np.array([c for c, _ in ub]), np.array([r for _, r in ub])
    A_eq, b_eq = np.array([c for c, _ in eq]), np.array([r for _, r in eq])
    if return_lp:
        return cost, A_ub, b_ub, A_eq, b_eq
    res = highs_linprog(cost, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    assert res.status == 0, res.message
    return -res.fun, np.array([res.x[i] for i in u])


@pytest.fixture(scope="module")
def toy():
    return read_cockshott(str(TOY))


def test_the_toy_economy_gives_the_published_optimum(toy):
    assert toy.goods == ("iron", "coal", "corn", "bread") and toy.T == 5
    r = solve(toy)
    assert int(r.status) == 0
    assert float(r.objective) == pytest.approx(PUBLISHED_OBJECTIVE, abs=5e-6)  # his 6 printed digits
    np.testing.assert_allclose(np.asarray(r.fulfilment), PUBLISHED_FULFILMENT, atol=5e-6)
    for g, v in PUBLISHED_OUTPUT_YEAR2.items():
        assert float(r.output[1, toy.goods.index(g)]) == pytest.approx(v, abs=5e-5)
    value, fulfilment = independent_optimum(toy)
    assert float(r.objective) == pytest.approx(value, rel=1e-10)
    np.testing.assert_allclose(np.asarray(r.fulfilment), fulfilment, atol=1e-8)
    # the plan is feasible as published: consumption covers each year's fulfilment of every target
    cons, tau = np.asarray(r.consumption), np.asarray(toy.targets)
    assert np.all(cons >= np.asarray(r.fulfilment)[:, None] * tau - 1e-9) and np.all(cons >= -1e-9)
    assert np.all(np.asarray(r.labour) <= np.asarray(toy.labour_supply) + 1e-9)
    assert np.all(np.asarray(r.output) <= np.asarray(r.capacity) + 1e-9)


def test_the_repository_version_of_the_files(tmp_path):
    """The repository's flows.csv differs from the documented one (coal output 6, not 5): the same reader
    and LP, checked against the independent formulation."""
    folder = tmp_path / "repo"
    shutil.copytree(TOY, folder)
    (folder / "flows.csv").write_text((TOY / "flows.csv").read_text().replace("output,10,5,10,1", "output,10,6,10,1"))
    e = read_cockshott(str(folder))
    r = solve(e)
    value, _ = independent_optimum(e)
    assert float(r.objective) == pytest.approx(value, rel=1e-10) and value == pytest.approx(8.797299, abs=1e-6)


def test_any_row_order_solves_to_highs(toy):
    c, A, b, nv = multiyear_lp(toy)
    reference, _ = independent_optimum(toy)
    rng = np.random.default_rng(0)
    f = jax.jit(linprog)
    for _ in range(10):
        order = rng.permutation(A.shape[0])
        sol = f(c, A[order], b[order])
        assert int(sol.status) == 0
        assert -float(c @ sol.x) == pytest.approx(reference, rel=1e-8)


def test_the_natural_form_with_equality_rows_solves_to_highs(toy):
    """His LP as he writes it (named variables, depreciation as equality rows D = δK, 505 variables) in
    jplan's standard form: the equality rows enter as they are, the inequalities with a slack each."""
    cost, A_ub, b_ub, A_eq, b_eq = independent_optimum(toy, return_lp=True)
    m_ub, N = A_ub.shape
    A = np.block([[A_ub, np.eye(m_ub)], [A_eq, np.zeros((A_eq.shape[0], m_ub))]])
    c = np.concatenate([cost, np.zeros(m_ub)])
    b = np.concatenate([b_ub, b_eq])
    reference, _ = independent_optimum(toy)
    f = jax.jit(linprog)
    for order in [np.arange(A.shape[0])] + [np.random.default_rng(k).permutation(A.shape[0]) for k in range(4)]:
        sol = f(jnp.asarray(c), jnp.asarray(A[order]), jnp.asarray(b[order]))
        assert int(sol.status) == 0
        assert -float(sol.objective) == pytest.approx(reference, rel=1e-8)


def test_dantzig_wolfe_plans_it_year_by_year(toy):
    """One division per year, the capital links shared (`multiyear_divisions`): Dantzig–Wolfe reaches the LP
    optimum (its master used to end in a numerical failure here, on a near-singular basis that the ratio
    test's tiny pivots had produced); the quota procedures refuse it (a year supplies next year's capital)."""
    from jplan.economies.multiyear import multiyear_divisions
    from jplan.procedures import DantzigWolfe, KornaiLiptak, run, status_name
    from jplan.solvers import divisions_optimum

    d = multiyear_divisions(toy)
    value = float(solve(toy).objective)
    assert float(divisions_optimum(d).objective) == pytest.approx(value, rel=1e-10)
    tr = jax.jit(lambda d: run(DantzigWolfe(), d, 60, optimal_welfare=jnp.asarray(value)))(d)
    assert status_name(tr.status) == "converged"
    assert float(tr.welfare[-1]) == pytest.approx(value, rel=1e-8)
    assert status_name(run(KornaiLiptak(), d, 3).status) == "out_of_domain"


def test_random_economies_under_vmap_match_highs():
    economies = jax.vmap(lambda k: sample_multiyear(k, 4, 5))(jax.random.split(jax.random.PRNGKey(3), 12))
    out = jax.jit(jax.vmap(solve_multiyear))(economies)
    assert np.all(np.asarray(out.status) == 0)
    for i in range(12):
        e = jax.tree_util.tree_map(lambda x: x[i], economies)
        value, fulfilment = independent_optimum(e)
        assert float(out.objective[i]) == pytest.approx(value, rel=1e-9, abs=1e-10)
    assert float(np.min(out.objective)) > 0  # every random plan fulfils something


def test_gradient_of_the_objective_is_the_shadow_price_of_labour(toy):
    """d objective / d L(t) through the basis re-derivation, against central differences of the LP's value."""
    f = lambda L: solve_multiyear(type(toy)(**{**{k: getattr(toy, k) for k in toy.__dataclass_fields__}, "labour_supply": L})).objective  # noqa: E731
    L = toy.labour_supply
    g = jax.grad(f)(L)
    h = 1e-6
    for t in range(toy.T):
        fd = (f(L.at[t].add(h)) - f(L.at[t].add(-h))) / (2 * h)
        assert float(g[t]) == pytest.approx(float(fd), rel=1e-5, abs=1e-8)
    assert float(g[0]) == 0.0 and float(jnp.min(g[1:])) > 0  # year 1 has idle labour; later years are labour-bound


def test_the_toml_form_round_trips(toy, tmp_path):
    import tomllib

    text = dumps_multiyear(toy)
    back = multiyear_from_dict(tomllib.loads(text))
    for k in ("inputs", "capital", "depreciation", "labour", "initial_capital", "labour_supply", "targets"):
        np.testing.assert_array_equal(np.asarray(getattr(back, k)), np.asarray(getattr(toy, k)))
    path = tmp_path / "toy.toml"
    path.write_text(text)
    assert float(solve(load_multiyear(str(path))).objective) == pytest.approx(float(solve(toy).objective), rel=1e-12)


BAD = [
    ("flows.csv", "output,10,5,10,1", "output,10,0,10,1", "flows.csv: row 'output', column 'coal': must be > 0"),
    ("flows.csv", "coal,2,1,0.04,0.2", "coal,2,x,0.04,0.2", "flows.csv: row 'coal', column 'coal': 'x' is not a number"),
    ("flows.csv", "labour,0.3,1,2,0.1\n", "", "flows.csv: no 'labour' row"),
    ("flows.csv", "iron,0.1,0,0,0\ncoal,2,1,0.04,0.2", "coal,2,1,0.04,0.2\niron,0.1,0,0,0", "flows.csv: the first 4 rows must be the goods"),
    ("cap.csv", "headings,iron,coal,corn,bread", "headings,iron,coal,bread,corn", "cap.csv: column headings"),
    ("dep.csv", "coal,0.5,0.5,0.5,0.5", "coal,0.5,1.5,0.5,0.5", "dep.csv: row 'coal', column 'coal': depreciation rates must be in [0, 1]"),
    ("labtarg.csv", "year1,0.1,3,0.00,2.0,3.0", "year1,0.1,3,0.00,2.0", "labtarg.csv: row 2 ('year1') has 4 numbers, the headings 5"),
    ("labtarg.csv", "headings,iron,coal,corn,bread,labour", "headings,iron,coal,corn,bread,workers", "labtarg.csv: columns must be"),
]


@pytest.mark.parametrize("file, old, new, message", BAD, ids=[b[3][:40] for b in BAD])
def test_bad_files_are_one_line_naming_file_row_and_column(tmp_path, file, old, new, message):
    folder = tmp_path / "plan"
    shutil.copytree(TOY, folder)
    text = (folder / file).read_text()
    assert old in text
    (folder / file).write_text(text.replace(old, new, 1))
    with pytest.raises(EconomyFileError) as err:
        read_cockshott(str(folder))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_command_line(tmp_path):
    run = lambda *a: subprocess.run([sys.executable, "-m", "jplan", "multiyear", *a], capture_output=True, text=True, cwd=tmp_path)  # noqa: E731
    res = run(str(TOY), "--json")
    assert res.returncode == 0, res.stderr
    rep = json.loads(res.stdout)
    assert rep["status"] == "optimal" and rep["objective"] == pytest.approx(PUBLISHED_OBJECTIVE, abs=5e-6)
    assert set(rep) >= {"objective", "fulfilment", "outputs", "capacities", "labour", "consumption", "capital"}
    assert len(rep["fulfilment"]) == 5 and len(rep["outputs"][0]) == 4
    (tmp_path / "empty").mkdir()
    res = run(str(tmp_path / "empty"))
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "missing flows.csv" in res.stderr
    assert "Traceback" not in res.stderr
