"""Work per step in one unit (issue 25 item 3, issue 30 item 5): every procedure reports the centre's and the
firms' floating-point operations per step (`jplan.procedures.work`)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jplan
from jplan.economies import sample_divisions
from jplan.procedures import PROCEDURES, make_procedure, run
from jplan.procedures.work import agent_flops, lu_flops, simplex_flops, solve_flops


def _economies(name, n=4, batch=2):
    proc = make_procedure(name)
    if proc.economy_kind == "divisions":
        return jax.vmap(lambda k: sample_divisions(k, 3, 4, 2, 3))(jax.random.split(jax.random.PRNGKey(0), batch))
    rho = 1.0 if name == "malinvaud" else 0.8
    m = 1 if name == "malinvaud" else 2
    return jplan.sample_batch(jax.random.PRNGKey(1), batch, n, m, returns_to_scale=rho)


BUILT_IN = [name for name, cls in PROCEDURES.items() if cls.__module__.startswith("jplan.")]


@pytest.mark.parametrize("name", BUILT_IN)
def test_every_procedure_reports_centre_and_firm_flops(name):
    proc = make_procedure(name)
    tr = jax.jit(jax.vmap(lambda e: run(proc, e, 6)))(_economies(name))
    centre, firms = np.asarray(tr.centre_flops), np.asarray(tr.firm_flops)
    assert centre.dtype == np.float64 and np.all(np.isfinite(centre)) and np.all(np.isfinite(firms))
    assert np.all(centre >= 0) and np.all(firms >= 0)
    active = np.asarray(tr.active)
    # every step taken costs the firms something (they answer every round), and nothing after the stop
    assert np.all(firms[active] > 0), name
    assert np.all(centre[:, 1:][~active[:, 1:]] == 0) and np.all(firms[:, 1:][~active[:, 1:]] == 0)
    # the opening round(s) are counted too
    assert np.all(firms[:, 0] > 0)


def test_counts_grow_as_the_algorithms_say():
    """Malinvaud's centre factorises an n × n matrix each step (≈ 2n³/3), Heal's centre projects (≈ n² log n),
    Arrow–Hurwicz's centre updates n + m prices (linear): measured at n = 16 and 32."""
    def per_step(name, n):
        proc = make_procedure(name)
        tr = jax.jit(jax.vmap(lambda e: run(proc, e, 3)))(_economies(name, n=n, batch=1))
        return float(tr.centre_flops[0, 1]), float(tr.firm_flops[0, 1])

    m8, m16 = per_step("malinvaud", 16), per_step("malinvaud", 32)
    assert 6.0 < m16[0] / m8[0] < 8.5  # cubic, with the quadratic terms
    h8, h16 = per_step("heal", 16), per_step("heal", 32)
    assert 3.5 < h16[0] / h8[0] < 6.0  # n² log n
    a8, a16 = per_step("arrow-hurwicz", 16), per_step("arrow-hurwicz", 32)
    assert 1.5 < a16[0] / a8[0] < 2.5  # linear in n + m
    # the firms' side: each of n firms reads O(n) inputs, so n² overall, in every procedure
    for f8, f16 in ((m8[1], m16[1]), (h8[1], h16[1]), (a8[1], a16[1])):
        assert 3.0 < f16 / f8 < 5.0


def test_helpers_and_xla_count():
    assert lu_flops(3) == pytest.approx(18.0) and solve_flops(3) == pytest.approx(36.0)
    assert float(simplex_flops(2, 3, 4)) == pytest.approx(4 * (2 * 2 * 4 + 2 * 5))
    # XLA's count of a dot product of length k over a batch axis of firms: 2k − 1 (k multiplies, k − 1 adds)
    x = jnp.ones((5, 7))
    flops = agent_flops(lambda a, b: jnp.dot(a, b), x, x)
    assert flops in (13.0, 14.0)


def test_study_reports_flops(tmp_path):
    from jplan.study import load, parse_config, run_study

    config = parse_config({"name": "f", "batch": 4, "scenarios": [{"name": "a", "n": 3, "m": 2, "returns_to_scale": 0.8}],
                           "procedures": {"heal": {"steps": 5}, "arrow-hurwicz": {"steps": 5}},
                           "outputs": {"plots": False}})
    result = run_study(config, tmp_path / "o", progress=False)
    assert "flops/step c/f" in result.table
    s = result.summary["scenarios"]["a"]["heal"]
    assert s["centre_flops_per_step"] > 0 and s["firm_flops_per_step"] > 0
    pytest.importorskip("pandas")
    runs = load(tmp_path / "o")
    assert {"centre_flops_per_step", "firm_flops_per_step"} <= set(runs.columns)
    assert (runs.firm_flops_per_step > 0).all()
