"""Cockshott's harmony algorithm (`jplan.solvers.harmony`, `harmony_multiyear`): against his own Java program's
output, against the LP optimum, and under jit, vmap and grad."""

from __future__ import annotations

import contextlib
import glob
import io
import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jplan.economies.multiyear import read_cockshott, sample_multiyear
from jplan.solvers.harmony import HARMONY_DEFAULTS, HARMONY_JAVA, balance_plan, harmony_dH, harmony_H
from jplan.solvers.multiyear import harmony_multiyear, multiyear_complex, solve_multiyear

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data", "harmony_java")
TOY = os.path.join(ROOT, "examples", "cockshott_toy")
GENERATED = sorted(glob.glob(os.path.join(DATA, "gen_*")))


def _java(folder_or_file):
    path = folder_or_file if folder_or_file.endswith(".json") else os.path.join(folder_or_file, "java_net_output.json")
    with open(path) as f:
        return np.asarray(json.load(f)["net_output"])


def test_reference_data_is_there():
    assert len(GENERATED) == 5


@pytest.mark.parametrize("folder", GENERATED, ids=os.path.basename)
def test_matches_cockshotts_java_program_on_economies_his_generator_wrote(folder):
    """Net output of every good in every year equals what his `nyearHarmony` printed for the same files
    (his forward-difference derivative, step 1e-6, against the exact one: ~1e-8 apart)."""
    e = read_cockshott(folder)
    h = harmony_multiyear(e, **HARMONY_JAVA)
    java = _java(folder)
    assert java.shape == (e.T, e.n)
    np.testing.assert_allclose(np.asarray(h.consumption), java, rtol=1e-6, atol=1e-6)
    assert not bool(h.failed)


def test_collapses_on_the_documented_toy_economy_as_his_program_does():
    """His Java program and jplan agree to 1e-9 on the toy of his documentation: corn and bread are never
    produced, so every year's fulfilment is 0, against the LP optimum 7.33645."""
    e = read_cockshott(TOY)
    h = harmony_multiyear(e, **HARMONY_JAVA)
    java = _java(os.path.join(DATA, "cockshott_toy_net_output.json"))
    np.testing.assert_allclose(np.asarray(h.consumption), java, rtol=1e-9, atol=1e-9)
    assert np.all(java[:, 2:] == 0.0)
    assert float(h.objective) == 0.0
    assert float(solve_multiyear(e).objective) == pytest.approx(7.33645, abs=1e-5)


def test_harmony_function_and_its_derivative():
    target = jnp.array([2.0, 2.0, 2.0, 0.5])
    net = jnp.array([1.0, 2.0, 5.0, 0.1])
    u = (net - target) / target
    expected = np.where(u < 0, u - u * u / 2, np.log1p(np.maximum(u, 0)))
    np.testing.assert_allclose(harmony_H(target, net), expected)
    grad = jax.vmap(jax.grad(harmony_H, argnums=1))(target, net)
    np.testing.assert_allclose(harmony_dH(target, net), grad, rtol=1e-12)
    assert np.all(np.asarray(harmony_dH(target, net)) > 0)


def _batch(key, count, years):
    return jax.vmap(lambda k: sample_multiyear(k, 4, years))(jax.random.split(key, count))


def test_one_year_plans_come_close_to_the_lp_and_never_beat_it():
    """Without investment (one year) harmony is a good heuristic: on 32 random economies a median 97% of the
    LP optimum (the 98% capacity target costs 2%), and a plan that uses no more of any product than there
    is never exceeds the optimum (it is a feasible plan of the same LP)."""
    es = _batch(jax.random.PRNGKey(3), 32, 1)
    lp = np.asarray(jax.vmap(solve_multiyear)(es).objective)
    h = jax.jit(jax.vmap(harmony_multiyear))(es)
    share = np.asarray(h.objective) / lp
    feasible = np.asarray(h.infeasibility) <= 1e-9
    assert feasible.mean() >= 0.9
    assert np.all(share[feasible] <= 1.0 + 1e-9)
    assert np.median(share) >= 0.95


def test_multi_year_plans_respect_the_lp_bound_where_feasible():
    es = _batch(jax.random.PRNGKey(4), 16, 3)
    lp = np.asarray(jax.vmap(solve_multiyear)(es).objective)
    h = jax.jit(jax.vmap(harmony_multiyear))(es)
    ok = ~np.asarray(h.failed) & (np.asarray(h.infeasibility) <= 1e-9)
    assert ok.any()
    assert np.all(np.asarray(h.objective)[ok] <= lp[ok] + 1e-9)


def test_jit_vmap_and_grad():
    es = _batch(jax.random.PRNGKey(5), 4, 2)
    batched = jax.jit(jax.vmap(harmony_multiyear))(es)
    for i in range(4):
        one = harmony_multiyear(jax.tree_util.tree_map(lambda a: a[i], es))
        np.testing.assert_allclose(np.asarray(batched.intensity[i]), np.asarray(one.intensity), rtol=1e-10, atol=1e-12)
    e = jax.tree_util.tree_map(lambda a: a[0], _batch(jax.random.PRNGKey(3), 1, 1))

    def objective(targets):  # the plan's value as a function of the targets (piecewise smooth)
        return harmony_multiyear(e.__class__(**{**e.__dict__, "targets": targets})).objective

    g = jax.grad(objective)(e.targets)
    assert np.all(np.isfinite(np.asarray(g)))
    direction = jnp.ones_like(e.targets)
    step = 1e-6
    central = (objective(e.targets + step * direction) - objective(e.targets - step * direction)) / (2 * step)
    assert float(jnp.sum(g * direction)) == pytest.approx(float(central), rel=1e-4, abs=1e-8)


def test_complex_layout_and_the_sparse_pattern():
    """The complex has T(n + 1 + c) products and Tn + (T − 1)c techniques; a capital pattern that keeps only
    the non-zero stocks gives the same plan as the full pattern (absent stocks are absent either way)."""
    e = read_cockshott(TOY)
    cx, (ei, ej, x0) = multiyear_complex(e)
    n, T = e.n, e.T
    assert cx.n_products == T * (n + 1 + n * n) and cx.n_techniques == T * n + (T - 1) * n * n
    np.testing.assert_allclose(np.asarray(x0), [10.0, 5.0, 10.0, 1.0])  # his base output
    pattern = np.asarray(e.capital) > 0
    sparse = harmony_multiyear(e, capital_pattern=pattern)
    full = harmony_multiyear(e)
    np.testing.assert_allclose(np.asarray(sparse.consumption), np.asarray(full.consumption), rtol=1e-12, atol=1e-12)


def test_bad_options_are_refused():
    e = read_cockshott(TOY)
    cx, _ = multiyear_complex(e)
    with pytest.raises(ValueError, match="nonfinal_rule"):
        balance_plan(cx, nonfinal_rule="median")
    with pytest.raises(ValueError, match="iterations"):
        balance_plan(cx, iterations=0)
    with pytest.raises(TypeError, match="unknown harmony option"):
        harmony_multiyear(e, temprature=0.2)
    assert set(HARMONY_DEFAULTS) == set(HARMONY_JAVA)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "jplan", *args], capture_output=True, text=True, cwd=ROOT)


def test_cli_reports_the_distance_to_the_lp():
    proc = _cli("multiyear", GENERATED[0], "--harmony", "java", "--json")
    assert proc.returncode == 0, proc.stderr
    rep = json.loads(proc.stdout)
    h = rep["harmony"]
    assert h["version"] == "java" and h["iterations"] == 100 and not h["failed"]
    assert h["distance_to_lp"] == pytest.approx((rep["objective"] - h["objective"]) / rep["objective"])
    assert 0.0 < h["distance_to_lp"] < 0.5
    np.testing.assert_allclose(np.asarray(h["consumption"]), _java(GENERATED[0]), rtol=1e-6, atol=1e-6)

    from jplan.cli import main  # the other forms in this process (same parser and error handling)

    def run(*args):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
        return code, out.getvalue(), err.getvalue()

    code, out, _ = run("multiyear", TOY, "--harmony", "pascal")
    assert code == 0 and "100% below the LP optimum" in out
    code, out, _ = run("multiyear", GENERATED[0], "--harmony", "pascal", "--no-lp")
    assert code == 0 and "LP not solved" in out
    code, out, err = run("multiyear", TOY, "--no-lp")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
