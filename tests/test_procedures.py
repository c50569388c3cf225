"""The three short-run procedures: the properties the literature proves, over ≥ 100 random economies
per case in one vmapped call, plus convergence to the exact optimum, worked examples and gradients."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jplan.economies import load_economy
from jplan.procedures import (
    ArrowHurwiczAdaptive,
    HealProportional,
    CONVERGED, DEFAULT_STEPS, DIVERGED, ArrowHurwicz, Malinvaud, run, solve,
)

from .helpers import batch, index, replace

B = 128


def run_batch(proc, economies, opt, steps):
    return jax.jit(jax.vmap(lambda e, u: run(proc, e, steps, optimal_welfare=u)))(economies, opt.welfare)


def assert_monotone(welfare, tol=1e-12):
    w = np.asarray(welfare)
    drops = np.diff(w, axis=1)
    assert np.all(drops >= -tol * np.maximum(1.0, np.abs(w[:, 1:]))), drops.min()


# -- Malinvaud / LSM ---------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [3, 10])
def test_malinvaud_feasible_monotone_and_optimal(n):
    economies, opt = batch(21 + n, B, n, 1, returns_to_scale=1.0, density=0.7)
    tr = run_batch(Malinvaud(), economies, opt, DEFAULT_STEPS["malinvaud"])
    assert np.all(np.asarray(tr.status) == CONVERGED)
    assert np.max(np.asarray(tr.gap[:, -1])) <= 1e-6
    assert np.max(np.asarray(tr.infeasibility)) <= 1e-9  # every iterate
    assert_monotone(tr.welfare)
    labour = np.asarray(jnp.sum(tr.plan.resource_use[..., 0], axis=1))
    np.testing.assert_allclose(labour, np.asarray(economies.endowments[:, 0]), rtol=1e-9)
    # limit prices are the shadow prices relative to labour
    shadow = np.asarray(opt.goods_prices / opt.resource_prices)
    np.testing.assert_allclose(np.asarray(tr.goods_prices), shadow, rtol=1e-8)


def test_malinvaud_prices_fall_from_the_first_iterate_on():
    economies, _ = batch(3, B, 6, 1, returns_to_scale=1.0)
    proc = Malinvaud()

    def prices(e):
        state, _ = proc.init(e)

        def body(s, _):
            s2, _ = proc.step(e, s)
            return s2, s2.prices

        _, ps = jax.lax.scan(body, state, None, length=12)
        return jnp.concatenate([state.prices[None], ps])

    ps = np.asarray(jax.jit(jax.vmap(prices))(economies))
    rises = np.diff(ps, axis=1)
    assert np.all(rises <= 1e-12 * ps[:, 1:]), rises.max()


def test_malinvaud_worked_example():
    e, _ = load_economy("examples/malinvaud_two_goods.toml")
    res = solve(Malinvaud(), e)
    tr = res.trace
    assert res.status == "converged"
    np.testing.assert_allclose(tr.goods_prices, [6.67604722, 5.10673113], rtol=1e-8)
    np.testing.assert_allclose(tr.plan.consumption, [5.99156936, 11.74919895], rtol=1e-8)
    np.testing.assert_allclose(tr.plan.output, [12.8390772, 18.64952214], rtol=1e-8)
    np.testing.assert_allclose(tr.welfare[-1], 2.19441239, rtol=1e-8)


def test_malinvaud_reports_non_productive_techniques():
    economies, _ = batch(8, 4, 3, 1, returns_to_scale=1.0, intermediate_share=0.6)
    # starting prices far below costs make the first reported technique matrix non-productive
    tr = jax.vmap(lambda e: run(Malinvaud(initial_prices=jnp.asarray(1e-6)), e, 10))(economies)
    from jplan.procedures import FAILED

    assert np.all(np.asarray(tr.status) == FAILED)


# -- Heal ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("rho", [(0.5, 0.95), 1.0, (1.05, 1.5)], ids=["decreasing", "constant", "increasing"])
def test_heal_feasible_monotone_and_optimal(rho):
    economies, opt = batch(31, B, 8, 2, returns_to_scale=rho, density=0.6)
    tr = run_batch(HealProportional(), economies, opt, 300)
    assert np.all(np.asarray(tr.status) == CONVERGED)
    assert np.max(np.asarray(tr.gap[:, -1])) <= 1e-8
    assert np.max(np.asarray(tr.infeasibility)) <= 1e-12  # every iterate feasible
    assert np.all(np.asarray(tr.plan.consumption) > 0)
    assert_monotone(tr.welfare)


# -- Arrow–Hurwicz ----------------------------------------------------------------------------------
def test_arrow_hurwicz_converges_to_shadow_prices():
    economies, opt = batch(41, B, 6, 2, returns_to_scale=(0.5, 0.95), density=0.7)
    tr = run_batch(ArrowHurwiczAdaptive(), economies, opt, 5000)
    assert np.all(np.asarray(tr.status) == CONVERGED)
    assert np.max(np.asarray(tr.gap[:, -1])) <= 1e-4
    assert np.max(np.asarray(tr.infeasibility[:, -1])) <= 1e-5
    np.testing.assert_allclose(np.asarray(tr.goods_prices), np.asarray(opt.goods_prices), rtol=1e-4)
    np.testing.assert_allclose(np.asarray(tr.resource_prices), np.asarray(opt.resource_prices), rtol=1e-4)
    # it is not feasible before the limit: early iterates violate some balance
    assert np.all(np.asarray(tr.infeasibility[:, 1]) > 1e-3)


def test_arrow_hurwicz_additive_rule_small_step_approaches_large_step_diverges():
    economies, opt = batch(42, B, 3, 1, returns_to_scale=0.5, intermediate_share=0.2, tfp=1.0, endowments=1.0)
    small = run_batch(ArrowHurwicz(step_size=0.03), economies, opt, 5000)
    assert not np.any(np.asarray(small.status) == DIVERGED)
    gap = np.asarray(small.gap)
    assert np.median(gap[:, -1]) < 0.1 * np.median(gap[:, 1])  # slow, but it gets closer
    large = run_batch(ArrowHurwicz(step_size=50.0), economies, opt, 5000)
    assert np.mean(np.asarray(large.status) == DIVERGED) >= 0.9


def test_multiplicative_rule_converges():
    economies, opt = batch(43, B, 5, 2, returns_to_scale=(0.5, 0.9))
    tr = run_batch(ArrowHurwicz(rule="multiplicative", step_size=0.05), economies, opt, 5000)
    assert np.mean(np.asarray(tr.status) == CONVERGED) == 1.0
    assert np.max(np.asarray(tr.gap[:, -1])) <= 1e-4


# -- defaults of `jplan solve` --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "proc,m,rho,tol",
    [(ArrowHurwiczAdaptive(), 2, (0.5, 0.95), 1e-4), (Malinvaud(), 1, 1.0, 1e-6), (HealProportional(), 2, (0.5, 1.5), 1e-4)],
    ids=["arrow-hurwicz-adaptive", "malinvaud", "heal-proportional"],
)
def test_defaults_reach_the_promised_gap_at_n10(proc, m, rho, tol):
    economies, opt = batch(51, 100, 10, m, returns_to_scale=rho, density=0.8)
    tr = run_batch(proc, economies, opt, DEFAULT_STEPS[proc.name])
    assert np.all(np.asarray(tr.status) == CONVERGED)
    assert np.max(np.asarray(tr.gap[:, -1])) <= tol


# -- gradients through the procedures --------------------------------------------------------------
@pytest.mark.parametrize(
    "proc,m,rho,steps,fd_steps",
    [(ArrowHurwiczAdaptive(), 2, 0.8, 600, 100), (Malinvaud(), 1, 1.0, 12, 12), (HealProportional(), 2, 1.2, 60, 60)],
    ids=["arrow-hurwicz", "malinvaud", "heal"],
)
def test_grad_through_run_matches_envelope_and_finite_differences(proc, m, rho, steps, fd_steps):
    economies, opt = batch(61, 3, 4, m, returns_to_scale=rho)
    # One compiled function for every economy and perturbation (the economy is an argument, not a constant).
    welfare_of = jax.jit(lambda e, R: run(proc, replace(e, endowments=R), steps).welfare[-1])
    grad_of = jax.jit(jax.grad(welfare_of, argnums=1))
    # The finite-difference check differentiates a fixed program: `fd_steps` steps and no stopping rule.
    # (With the stopping rule the final welfare jumps where a perturbation moves the stopping step.)
    fixed = eqx.tree_at(lambda p: p.tolerance, proc, jnp.asarray(0.0))
    fixed_welfare = jax.jit(lambda e, R: run(fixed, replace(e, endowments=R), fd_steps).welfare[-1])
    fixed_grad = jax.jit(jax.grad(fixed_welfare, argnums=1))
    for i in range(3):
        e = index(economies, i)
        R = e.endowments
        # converged runs: envelope theorem, dU*/dR = shadow price of the resource
        np.testing.assert_allclose(grad_of(e, R), opt.resource_prices[i], rtol=1e-5)
        h = 1e-5 * R
        fd = np.array([(fixed_welfare(e, R.at[j].add(h[j])) - fixed_welfare(e, R.at[j].add(-h[j]))) / (2 * h[j]) for j in range(m)])
        np.testing.assert_allclose(fixed_grad(e, R), fd, rtol=1e-7)


def test_grad_with_respect_to_step_size_is_finite_and_matches_fd():
    economies, opt = batch(62, 1, 4, 2, returns_to_scale=0.8)
    e = index(economies, 0)

    def welfare_after(eta):
        tr = run(ArrowHurwicz(rule="multiplicative", step_size=eta), e, 30)
        return tr.welfare[-1]

    g = jax.grad(welfare_after)(0.05)
    fd = (welfare_after(0.05 + 1e-6) - welfare_after(0.05 - 1e-6)) / 2e-6
    np.testing.assert_allclose(g, fd, rtol=1e-5)


def test_a_plugin_that_raises_or_returns_wrong_shapes_is_one_line(tmp_path, capsys, monkeypatch):
    """Issue 32: a plugin whose step raises gave a full traceback; one returning a scalar consumption was
    silently broadcast. Now: one line naming the plugin (its traceback under --debug), and a shape check."""
    import jax
    import jax.numpy as jnp

    import jplan
    from jplan.cli import main
    from jplan.economies import save_economy
    from jplan.procedures import DEFAULT_STEPS, PROCEDURES, HealProportional
    from jplan.procedures.registry import solve

    class Raises(HealProportional):
        name = "raising-plugin"

        def step(self, economy, state):
            raise RuntimeError("the plugin's own bug\nsecond line")

    class Scalar(HealProportional):
        name = "scalar-plugin"

        def observe(self, economy, state):
            obs = super().observe(economy, state)
            return jax.tree_util.tree_map(lambda x: x, obs.__class__(**{**vars(obs), "plan": obs.plan.__class__(
                consumption=jnp.sum(obs.plan.consumption), output=obs.plan.output,
                resource_use=obs.plan.resource_use, intermediate_use=obs.plan.intermediate_use)}))

    e = jplan.sample(jax.random.PRNGKey(0), 3, 2)
    path = tmp_path / "e.toml"
    save_economy(path, e)
    try:
        for cls in (Raises, Scalar):
            jplan.register_procedure(default_steps=5)(cls)
        with pytest.raises(jplan.errors.JplanInputError, match="consumption has shape"):
            solve(jplan.make_procedure("scalar-plugin"), e)
        assert main(["solve", str(path), "--procedure", "raising-plugin"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "raising-plugin" in err and "RuntimeError: the plugin's own bug" in err
        assert main(["--debug", "solve", str(path), "--procedure", "raising-plugin"]) == 2
        err = capsys.readouterr().err
        assert "Traceback" in err and err.strip().splitlines()[-1].startswith("jplan: error: procedure 'raising-plugin'")
    finally:
        for name in ("raising-plugin", "scalar-plugin"):
            PROCEDURES.pop(name, None)
            DEFAULT_STEPS.pop(name, None)


@pytest.mark.parametrize("family", [
    dict(returns_to_scale=(0.6, 0.9)),
    dict(returns_to_scale=(0.6, 0.9), technology="ces", elasticity=(0.3, 0.7)),
    dict(returns_to_scale=(0.6, 0.9), technology="ces", elasticity=(1.5, 3.0)),
], ids=["cobb-douglas", "ces-complements", "ces-substitutes"])
def test_accelerated_dual_reaches_the_reference_optimum(family):
    """Issue 28: `accelerated-dual` (Nesterov momentum with adaptive restart on Arrow–Hurwicz's messages)
    converges on 64 random economies per family, to the reference optimum, faster than the adaptive rule."""
    import jax
    import numpy as np

    import jplan
    from jplan.procedures import AcceleratedDual, ArrowHurwiczAdaptive, run
    from jplan.solvers import optimum

    es = jplan.sample_batch(jax.random.PRNGKey(11), 64, 5, 2, **family)
    u = jax.jit(jax.vmap(optimum))(es).welfare
    fast = jax.jit(jax.vmap(lambda e, w: run(AcceleratedDual(), e, 1500, optimal_welfare=w)))(es, u)
    slow = jax.jit(jax.vmap(lambda e, w: run(ArrowHurwiczAdaptive(), e, 1500, optimal_welfare=w)))(es, u)
    assert np.all(np.asarray(fast.status) == 1)  # converged, every one
    assert np.max(np.asarray(fast.gap)[:, -1]) < 1e-5
    assert np.median(np.asarray(fast.steps)) < 0.6 * np.median(np.asarray(slow.steps))


@pytest.mark.parametrize("family", [
    dict(returns_to_scale=(0.6, 0.9)),
    dict(returns_to_scale=(0.6, 0.9), technology="ces", elasticity=(0.3, 0.7)),
    dict(returns_to_scale=(0.6, 0.9), welfare="stone-geary", subsistence=(0.0, 0.3)),
    dict(returns_to_scale=(0.6, 0.9), welfare="ces", welfare_elasticity=(0.5, 2.0)),
], ids=["cobb-douglas", "ces-complements", "stone-geary", "ces-welfare"])
def test_participatory_planning_reaches_the_reference_optimum(family):
    """Issue 28: iterative participatory planning (worker and consumer councils, a facilitation board with
    Pequod's capped adjustment) converges to the planners' optimum on 64 random economies per family."""
    import jax
    import numpy as np

    import jplan
    from jplan.procedures import Participatory, run
    from jplan.solvers import optimum

    es = jplan.sample_batch(jax.random.PRNGKey(5), 64, 5, 2, **family)
    u = jax.jit(jax.vmap(optimum))(es).welfare
    tr = jax.jit(jax.vmap(lambda e, w: run(Participatory(), e, 1500, optimal_welfare=w)))(es, u)
    assert np.all(np.asarray(tr.status) == 1)
    assert np.max(np.asarray(tr.gap)[:, -1]) < 1e-9
    # the councils' split of preferences does not change the plan (Negishi budgets), only the messages
    other = jax.jit(jax.vmap(lambda e, w: run(Participatory(councils=1), e, 1500, optimal_welfare=w)))(es, u)
    assert np.max(np.abs(np.asarray(other.gap)[:, -1] - np.asarray(tr.gap)[:, -1])) < 1e-9
    assert np.all(np.asarray(tr.messages_up)[:, 0] > np.asarray(other.messages_up)[:, 0])


PROXIMAL_FAMILIES = {
    "cobb-douglas": (2, dict(returns_to_scale=(0.6, 0.9))),
    "ces-complements": (2, dict(returns_to_scale=(0.6, 0.9), technology="ces", elasticity=(0.3, 0.7))),
    "ces-substitutes": (2, dict(returns_to_scale=(0.6, 0.9), technology="ces", elasticity=(1.5, 3.0))),
    "constant-returns": (2, dict(returns_to_scale=1.0, technology="ces", elasticity=(0.5, 2.0))),
    "ces-welfare": (2, dict(returns_to_scale=(0.6, 0.9), welfare="ces", welfare_elasticity=(0.5, 2.0))),
    "stone-geary": (2, dict(returns_to_scale=(0.6, 0.9), welfare="stone-geary", subsistence=(0.0, 0.3))),
}


@pytest.mark.parametrize("name", ["admm", "pdhg"])
@pytest.mark.parametrize("per_family", [8, pytest.param(64, marks=pytest.mark.slow)])
def test_proximal_procedures_reach_the_reference_optimum(name, per_family):
    """Issue 28: ADMM (exchange form) and PDHG (Chambolle–Pock) converge on random economies of each of six
    families (8 each in the default suite, 64 in the slow one) to the reference optimum, its plan and its
    relative prices, constant returns included (where price rules cannot run). Families with the same shapes
    run as one batch (one compilation)."""
    import jax
    import numpy as np

    import jplan
    from jplan.procedures import make_procedure, run
    from jplan.solvers import optimum

    proc = make_procedure(name)
    for m in sorted({m for m, _ in PROXIMAL_FAMILIES.values()}):
        families = [f for f, (mf, _) in PROXIMAL_FAMILIES.items() if mf == m]
        batches = [jplan.sample_batch(jax.random.PRNGKey(21), per_family, 5, m, **PROXIMAL_FAMILIES[f][1]) for f in families]
        es = jax.tree_util.tree_map(lambda *x: np.concatenate(x), *batches)
        opt = jax.jit(jax.vmap(optimum))(es)
        tr = jax.jit(jax.vmap(lambda e, w: run(proc, e, 600, optimal_welfare=w)))(es, opt.welfare)
        status = np.asarray(tr.status).reshape(len(families), per_family)
        for family, s in zip(families, status):
            assert np.all(s == 1), (family, np.bincount(s))
        assert np.max(np.asarray(tr.gap)[:, -1]) < 1e-5
        np.testing.assert_allclose(np.asarray(tr.plan.output), np.asarray(opt.plan.output), rtol=1e-4)
        # prices in the centre's units (welfare units for log welfare): relative prices as the optimum's
        p, p_star = np.asarray(tr.goods_prices), np.asarray(opt.goods_prices)
        np.testing.assert_allclose(p / p[:, :1], p_star / p_star[:, :1], rtol=1e-4)


def test_firm_proximal_answer_is_the_projection_scipy_finds():
    """The firm's proximal answer (the agent of admm and pdhg) against SciPy's L-BFGS-B on the same problem,
    from three starts, for Cobb–Douglas, CES complements with constant returns and CES substitutes."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    scipy_optimize = pytest.importorskip("scipy.optimize")
    import jplan
    from jplan.economies.production import firm_output
    from jplan.procedures import firm_proximal

    rng = np.random.default_rng(0)
    answer = jax.jit(firm_proximal)
    output_of = jax.jit(lambda tech, z: firm_output(tech, z[:2], z[2:]))
    for options in (dict(returns_to_scale=(0.6, 0.9)), dict(returns_to_scale=1.0, technology="ces", elasticity=(0.3, 0.7)),
                    dict(returns_to_scale=(0.6, 1.0), technology="ces", elasticity=(1.5, 3.0))):
        e = jplan.sample(jax.random.PRNGKey(1), 5, 2, **options)
        for trial in range(10):
            i = trial % 5
            tech = jax.tree_util.tree_map(lambda a: a[i], e.firms)
            t = rng.normal(size=7) * 2
            t[i] += 1.0
            W = rng.uniform(0.5, 2.0, size=7)
            y, x, q = answer(tech, i, jnp.asarray(t), jnp.asarray(W), jnp.ones(7))

            def distance(z):
                f = float(output_of(tech, jnp.asarray(z)))
                out = min(f, max(t[i] + z[2 + i], 0.0))
                net = np.concatenate([np.eye(5)[i] * out - z[2:], -z[:2]])
                return 0.5 * np.sum(W * (net - t) ** 2)

            best = min(scipy_optimize.minimize(distance, x0, bounds=[(0, None)] * 7, method="L-BFGS-B",
                                               options=dict(ftol=1e-15, gtol=1e-12, maxiter=5000)).fun
                       for x0 in (np.ones(7), np.asarray(x) + 1e-3, np.full(7, 0.1)))
            assert distance(np.asarray(x)) <= best + 1e-6 * max(1.0, abs(best))
            np.testing.assert_allclose(np.asarray(y)[i] + float(np.asarray(x)[2 + i]), float(q), rtol=1e-9, atol=1e-12)


def test_proximal_procedures_refuse_increasing_returns():
    import jax
    import numpy as np

    import jplan
    from jplan.procedures import ADMM, PDHG, check_domain

    bad = jplan.sample(jax.random.PRNGKey(2), 4, 2, returns_to_scale=(1.05, 1.2))
    for proc in (ADMM(), PDHG()):
        with pytest.raises(jplan.errors.DomainError, match="convex production sets"):
            check_domain(proc, bad)
        assert bool(proc.domain_violation(bad))
        # just inside: constant returns is in their domain (a set-up cost is not)
        crs = jplan.sample_batch(jax.random.PRNGKey(2), 4, 4, 1, returns_to_scale=1.0)
        assert not np.any(np.asarray(jax.vmap(proc.domain_violation)(crs)))
        setup = jplan.sample_batch(jax.random.PRNGKey(2), 4, 4, 2, returns_to_scale=0.8, setup=(0.1, 0.2))
        assert np.all(np.asarray(jax.vmap(proc.domain_violation)(setup)))


def test_the_shipped_learned_rule_converges_on_held_out_economies():
    """Issue 28: the shipped learned rule (experiments/learned_rule.py) on 64 economies of its training family
    that training never drew (another key) converges on every one, to the reference optimum."""
    import jax
    import numpy as np

    import jplan
    from jplan.procedures import LearnedTatonnement, run
    from jplan.solvers import optimum

    es = jplan.sample_batch(jax.random.PRNGKey(4242), 64, 6, 2, returns_to_scale=(0.6, 0.9))
    u = jax.jit(jax.vmap(optimum))(es).welfare
    tr = jax.jit(jax.vmap(lambda e, w: run(LearnedTatonnement(), e, 1500, optimal_welfare=w)))(es, u)
    assert np.all(np.asarray(tr.status) == 1)
    assert np.max(np.asarray(tr.gap)[:, -1]) < 1e-5


def test_training_lowers_the_loss_and_keeps_the_rule_private():
    """A few Adam iterations of `jplan.learn.train_rule` lower the training loss (the gradient through `run` is
    finite and useful); the trained rule is an ordinary procedure (jit, vmap, the registry)."""
    import jax
    import numpy as np

    from jplan.learn import train_rule
    from jplan.procedures import make_procedure

    proc, history = train_rule(jax.random.PRNGKey(3), batch=8, rounds=15, iterations=25, validate_every=25,
                               validation_rounds=20)
    assert np.all(np.isfinite(history))
    assert np.mean(history[-5:]) < np.mean(history[:5]) - 0.3
    assert make_procedure("learned-tatonnement").name == proc.name
