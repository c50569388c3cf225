"""Sensitivities of the optimum: gradients vs central finite differences, the envelope theorem,
vmap = loop, agreement with unrolled gradients through converged procedures, and the CLI."""

import json

import equinox as eqx
import jax
import numpy as np
import pytest

from jplan.cli import main
from jplan.economies import save_economy
from jplan.solvers import closed_form
from jplan.procedures import HealProportional, Malinvaud, run
from jplan.sensitivity import plan_jacobian, welfare_gradient

from .helpers import batch, index

FIELDS = ("endowments", "tfp", "welfare_weights", "returns_to_scale", "resource_shares", "input_shares")


def perturb(e, field, idx, h):
    return eqx.tree_at(lambda x: getattr(x, field), e, getattr(e, field).at[idx].add(h))


def central_fd(f, e, field, idx):
    x = float(getattr(e, field)[idx])
    h = 1e-6 * max(abs(x), 1e-2)
    return (f(perturb(e, field, idx, h)) - f(perturb(e, field, idx, -h))) / (2 * h)


@pytest.mark.parametrize("rho", [(0.5, 0.95), 1.0, (1.05, 1.4)], ids=["decreasing", "constant", "increasing"])
def test_welfare_gradients_match_finite_differences(rho):
    economies, _ = batch(71, 8, 4, 2, returns_to_scale=rho, density=0.7)
    u = jax.jit(lambda e: closed_form(e).welfare)
    grad = jax.jit(welfare_gradient)
    for i in range(8):
        e = index(economies, i)
        g = grad(e)
        for field in FIELDS:
            arr = np.asarray(getattr(e, field))
            for idx in np.ndindex(arr.shape):
                if field in ("resource_shares", "input_shares") and arr[idx] == 0:
                    continue  # an unused input: the derivative is not defined from both sides
                fd = float(central_fd(u, e, field, idx))
                an = float(getattr(g, field)[idx])
                assert abs(an - fd) <= 1e-5 * max(abs(fd), 1e-3), (field, idx, an, fd)


def test_plan_jacobian_matches_finite_differences():
    economies, _ = batch(72, 6, 4, 2, returns_to_scale=(0.7, 1.3))
    consumption = jax.jit(lambda x: closed_form(x).plan.consumption)
    output = jax.jit(lambda x: closed_form(x).plan.output)
    for i in range(6):
        e = index(economies, i)
        jc, jq = plan_jacobian(e)
        for field in ("endowments", "tfp", "welfare_weights"):
            for idx in np.ndindex(getattr(e, field).shape):
                fd = central_fd(consumption, e, field, idx)
                np.testing.assert_allclose(getattr(jc, field)[(slice(None),) + idx], fd, rtol=1e-5, atol=1e-7)
                fd = central_fd(output, e, field, idx)
                np.testing.assert_allclose(getattr(jq, field)[(slice(None),) + idx], fd, rtol=1e-5, atol=1e-7)


def test_envelope_theorem_and_vmap_equals_loop():
    economies, opt = batch(73, 64, 6, 3, returns_to_scale=(0.5, 1.5), density=0.5)
    grads = jax.jit(jax.vmap(welfare_gradient))(economies)
    np.testing.assert_allclose(grads.endowments, opt.resource_prices, rtol=1e-10)
    for i in (0, 17, 63):
        single = welfare_gradient(index(economies, i))
        for a, b in zip(jax.tree_util.tree_leaves(single), jax.tree_util.tree_leaves(index(grads, i))):
            np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize("proc,m,rho,steps", [(Malinvaud(), 1, 1.0, 15), (HealProportional(), 2, 0.9, 60)], ids=["malinvaud", "heal-proportional"])
def test_unrolled_gradient_through_converged_run_equals_implicit(proc, m, rho, steps):
    economies, _ = batch(74, 3, 4, m, returns_to_scale=rho)
    unrolled_grad = jax.jit(jax.grad(lambda x: run(proc, x, steps, checkpoint=True).welfare[-1]))
    for i in range(3):
        e = index(economies, i)
        unrolled = unrolled_grad(e)
        implicit = welfare_gradient(e)
        for field in ("endowments", "tfp", "welfare_weights"):
            np.testing.assert_allclose(getattr(unrolled, field), getattr(implicit, field), rtol=1e-6)


def test_cli_sensitivity_json_and_plot(tmp_path, capsys):
    economies, opt = batch(75, 1, 3, 2, returns_to_scale=1.2)
    path = tmp_path / "e.toml"
    save_economy(path, index(economies, 0))
    assert main(["sensitivity", str(path), "--json", "--plot", str(tmp_path / "j.png")]) == 0
    data = json.loads(capsys.readouterr().out)
    for key in ("welfare", "d_welfare_d_endowments", "d_welfare_d_tfp", "d_consumption_d_endowments"):
        assert key in data
    assert np.shape(data["d_consumption_d_endowments"]) == (3, 2)
    np.testing.assert_allclose(data["d_welfare_d_endowments"], opt.resource_prices[0], rtol=1e-10)
    assert (tmp_path / "j.png").stat().st_size > 10_000
    assert main(["sensitivity", str(path)]) == 0
    assert "elasticity of consumption" in capsys.readouterr().out


def test_plotted_elasticities_match_log_finite_differences(tmp_path):
    """The heatmap shows ∂log y/∂log x: checked against central differences in log space, and the figure
    is written."""
    import jplan
    from jplan.economies import Labels
    from jplan.sensitivity import elasticities, optimum_sensitivities, plot_jacobians

    e = jplan.sample(jax.random.PRNGKey(5), 4, 2, returns_to_scale=(0.7, 0.9), density=0.7)
    sens = optimum_sensitivities(e)
    plan = jax.jit(lambda e: (jplan.optimum(e).plan.consumption, jplan.optimum(e).plan.output))
    for field, x in (("endowments", sens.endowments), ("tfp", sens.tfp)):
        e_c = elasticities(sens.d_consumption[field], x, sens.consumption)
        e_q = elasticities(sens.d_output[field], x, sens.output)
        for j in range(x.size):
            h = 1e-5
            up = eqx.tree_at(lambda t: getattr(t, field), e, getattr(e, field).at[j].multiply(np.exp(h)))
            down = eqx.tree_at(lambda t: getattr(t, field), e, getattr(e, field).at[j].multiply(np.exp(-h)))
            (c1, q1), (c0, q0) = plan(up), plan(down)
            np.testing.assert_allclose(e_c[:, j], (np.log(c1) - np.log(c0)) / (2 * h), rtol=1e-5, atol=1e-7)
            np.testing.assert_allclose(e_q[:, j], (np.log(q1) - np.log(q0)) / (2 * h), rtol=1e-5, atol=1e-7)
    plot_jacobians(sens, Labels.default(4, 2), str(tmp_path / "s.png"))
    assert (tmp_path / "s.png").stat().st_size > 10_000
