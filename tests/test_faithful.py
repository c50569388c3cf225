"""Faithful procedures (issue 11): Heal's rule, the seed's Arrow–Hurwicz, LSM on CES, private information,
and the information accounting under the seed's conventions.

Properties are checked over 100 random economies per family in one vmapped call each.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jplan
from jplan.procedures import ArrowHurwicz, ArrowHurwiczAdaptive, Heal, HealProportional, Malinvaud, run
from jplan.procedures.heal import centre_opening
from jplan.procedures.malinvaud import probe_prices

from .helpers import batch, index

TECHNOLOGY = ("tfp", "returns_to_scale", "resource_shares", "input_shares", "elasticity")


def without_technology(e):
    """The economy as the centre may see it: every firm's technology replaced by NaN."""
    return eqx.tree_at(lambda x: tuple(getattr(x, f) for f in TECHNOLOGY), e,
                       tuple(jnp.full_like(getattr(e, f), jnp.nan) for f in TECHNOLOGY))


def test_no_centre_start_reads_a_firms_technology():
    e = jplan.sample(jax.random.PRNGKey(0), 5, 2, technology="ces", elasticity=(0.5, 2.0))
    hidden = without_technology(e)
    for proc in (ArrowHurwicz(), ArrowHurwiczAdaptive()):
        p, s = proc.start_prices(hidden)
        assert bool(jnp.all(jnp.isfinite(p)) & jnp.all(jnp.isfinite(s)))
    r, v = centre_opening(hidden)
    assert bool(jnp.all(jnp.isfinite(r)) & jnp.all(jnp.isfinite(v)))
    assert bool(jnp.all(jnp.isfinite(probe_prices(hidden))))
    # and the starts really do not depend on technology: identical with and without it
    for a, b in zip(jax.tree_util.tree_leaves(centre_opening(e)), jax.tree_util.tree_leaves(centre_opening(hidden))):
        assert np.array_equal(np.asarray(a), np.asarray(b))


FAMILIES = {
    "cd-decreasing": (2, dict(returns_to_scale=(0.6, 0.9))),
    "ces-decreasing": (2, dict(returns_to_scale=(0.6, 0.9), technology="ces", elasticity=(0.5, 3.0))),
    "cd-constant": (1, dict(returns_to_scale=1.0)),
    "ces-constant": (1, dict(returns_to_scale=1.0, technology="ces", elasticity=(0.7, 2.0))),
}


@pytest.mark.parametrize("family", FAMILIES)
def test_heal_is_feasible_monotone_and_approaches_the_optimum(family):
    m, options = FAMILIES[family]
    economies, opt = batch(31, 100, 4, m, density=0.7, **options)
    tr = jax.jit(jax.vmap(lambda e, u: run(Heal(), e, 1500, optimal_welfare=u)))(economies, opt.welfare)
    status = np.asarray(tr.status)
    ok = status != 4  # a start the centre could not make feasible is reported as failed, never used
    assert ok.mean() >= 0.95
    infeas, welfare, gap = (np.asarray(x)[ok] for x in (tr.infeasibility, tr.welfare, tr.gap))
    assert np.all(infeas <= 1e-9)  # feasible at every iterate
    assert np.all(np.diff(welfare, axis=1) >= -1e-12 * np.abs(welfare[:, 1:]))  # monotone
    assert np.all(gap[:, -1] < gap[:, 0])  # every run got closer
    assert np.median(gap[:, -1]) < 1e-3 and np.median(gap[:, 200]) < np.median(gap[:, 10])


def test_heal_starts_above_subsistence_from_reports_alone():
    """Stone–Geary: the reported start plus the subsistence phase gives every consumption above γ on
    (almost) every economy, for Heal's rule and the variant; from there every iterate is feasible and
    welfare never falls. (Before the phase, most of these runs ended `failed` at step 0.)"""
    economies, opt = batch(37, 100, 4, 2, density=0.7, returns_to_scale=(0.7, 0.95), technology="ces",
                           elasticity=(0.5, 2.0), welfare="stone-geary", subsistence=(0.2, 0.6))
    for proc in (Heal(), HealProportional()):
        state, _ = jax.jit(jax.vmap(proc.init))(economies)
        started = np.asarray(jnp.all(state.plan.consumption > economies.subsistence, axis=1))
        assert started.mean() >= 0.95, (proc.name, started.mean())
        tr = jax.jit(jax.vmap(lambda e, u: run(proc, e, 300, optimal_welfare=u)))(economies, opt.welfare)
        status = np.asarray(tr.status)
        assert np.array_equal(status == 4, ~started)  # failed exactly where the start fell short
        infeas, welfare, gap = (np.asarray(x)[started] for x in (tr.infeasibility, tr.welfare, tr.gap))
        assert np.all(infeas <= 1e-9) and np.all(np.isfinite(welfare))
        assert np.all(np.diff(welfare, axis=1) >= -1e-12 * np.abs(welfare[:, 1:]))
        assert np.median(gap[:, -1]) < 0.1 * np.median(gap[:, 0])


def test_additive_arrow_hurwicz_diverges_for_large_steps_and_says_so():
    economies, opt = batch(32, 16, 4, 2, returns_to_scale=(0.6, 0.9))
    tr = jax.jit(jax.vmap(lambda e, u: run(ArrowHurwicz(step_size=50.0), e, 500, optimal_welfare=u)))(economies, opt.welfare)
    assert np.mean(np.asarray(tr.status) == 2) >= 0.5  # "diverged"
    assert all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree_util.tree_leaves(tr.plan))  # last good iterate


def test_additive_arrow_hurwicz_moves_prices_by_excess_demand():
    e = jplan.sample(jax.random.PRNGKey(3), 3, 2, returns_to_scale=0.8)
    ah = ArrowHurwicz(step_size=0.01)
    state, _ = ah.init(e)
    new, _ = ah.step(e, state)
    plan = ah.observe(e, state).plan  # the plan the start prices call forth (the state keeps only its totals)
    demand = plan.consumption + plan.intermediate_use.sum(0)
    z = demand - plan.output
    np.testing.assert_allclose(new.goods_prices, np.maximum(0, state.goods_prices + 0.01 * z / state.scale[:3]), rtol=1e-14)


def test_malinvaud_converges_quadratically_on_ces():
    economies, opt = batch(33, 8, 5, 1, returns_to_scale=1.0, technology="ces", elasticity=(0.7, 2.0))
    init = eqx.filter_jit(lambda p, e: p.init(e))
    step = eqx.filter_jit(lambda p, e, s: p.step(e, s))
    for i in range(8):
        e = index(economies, i)
        proc = Malinvaud(tolerance=1e-300)
        state, _ = init(proc, e)
        if bool(state.failed):
            continue
        p_star = opt.goods_prices[i] / opt.resource_prices[i]  # LSM prices are in labour units
        errors = []
        for _ in range(5):
            errors.append(float(jnp.max(jnp.abs(state.prices / p_star - 1))))
            state, _ = step(proc, e, state)
        k = next(j for j in range(4) if errors[j] < 1e-2)
        assert errors[k + 1] <= 10 * errors[k] ** 2 + 1e-13, errors


def test_information_counts_match_a_hand_count():
    # n = 2 goods, m = 1 resource
    e = jplan.sample(jax.random.PRNGKey(4), 2, 1, returns_to_scale=0.8)
    n, m = 2, 1
    expect = [
        (ArrowHurwicz(), (n + m, 2 * n + m)),  # prices broadcast once; totals: supplies, goods demand, resource demand
        (ArrowHurwiczAdaptive(), (n + m, 2 * n + m + 1)),  # ... plus the total profit
        (Heal(), (n * (m + n), n * (1 + m + n))),  # each firm its allocation; output and marginal productivities
        (HealProportional(), (n * (m + n), n * (1 + m + n))),
    ]
    for proc, (down, up) in expect:
        state, _ = proc.init(e)
        _, msgs = proc.step(e, state)
        assert (int(msgs.down), int(msgs.up)) == (down, up), proc.name
    crs = jplan.sample(jax.random.PRNGKey(4), 2, 1, returns_to_scale=1.0)
    state, _ = Malinvaud().init(crs)
    _, msgs = Malinvaud().step(crs, state)
    assert (int(msgs.down), int(msgs.up), int(msgs.solves)) == (n, n * (1 + n), 2)


GRAD_CASES = [[ArrowHurwicz(), ArrowHurwiczAdaptive(), Heal(), HealProportional(), jplan.procedures.ADMM(),
               jplan.procedures.LearnedTatonnement()],
              # PDHG shares ADMM's agents (the costly part to differentiate): its gradient runs in the slow suite
              pytest.param([jplan.procedures.PDHG()], marks=pytest.mark.slow)]


@pytest.mark.parametrize("procedures", GRAD_CASES, ids=["default", "pdhg"])
def test_grad_through_every_procedure_on_a_ces_economy(procedures):
    # jit = no-jit and vmap = loop for every procedure are in test_run_loop.py; here: gradients through
    # runs on a CES economy (the technology family the closed-form checks there do not cover)
    economies, opt = batch(34, 1, 3, 1, returns_to_scale=(0.7, 0.9), technology="ces", elasticity=(0.6, 1.6))
    e, u_star = index(economies, 0), opt.welfare[0]
    for proc in procedures:
        steps = 8 if proc.name in ("admm", "pdhg") else 20  # each proximal round is a Newton solve per firm
        f = lambda R: run(proc, eqx.tree_at(lambda x: x.endowments, e, R), steps, optimal_welfare=u_star).welfare[-1]
        value_and_grad = jax.jit(jax.value_and_grad(f))  # one compiled program serves the gradient and the differences
        _, g = value_and_grad(e.endowments)
        assert bool(jnp.all(jnp.isfinite(g))), proc.name
        # the proximal procedures' inner Newton picks its step among trials, which leaves ~1e-10 rounding noise
        # in the welfare: their finite difference needs a wider step (its truncation error is then ~1e-7)
        h = (1e-3 if proc.name in ("admm", "pdhg") else 1e-6) * float(e.endowments[0])
        fd = (value_and_grad(e.endowments.at[0].add(h))[0] - value_and_grad(e.endowments.at[0].add(-h))[0]) / (2 * h)
        if proc.name != "heal":  # Heal's accept/refuse steps make its welfare piecewise in R
            assert abs(float(g[0]) - float(fd)) <= 1e-4 * max(abs(float(fd)), 1e-3), (proc.name, float(g[0]), float(fd))


def centre_view(e):
    """The economy as a run sees it with every technology field NaN; only `economy.firms` — what the firms'
    own responses read — carries the true technology (as a stacked `FirmTechnology`)."""
    from jplan.economies import with_technology

    fields = TECHNOLOGY + ("setup_cost",)
    firms = e.firms
    hidden = eqx.tree_at(lambda x: tuple(getattr(x, f) for f in fields), e,
                         tuple(jnp.full_like(getattr(e, f), jnp.nan) for f in fields))
    return with_technology(hidden, firms)


def _same_run(a, b):
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
        x, y = np.asarray(x), np.asarray(y)
        if not np.array_equal(x, y, equal_nan=x.dtype.kind == "f"):
            return False
    return True


WHOLE_RUNS = [(ArrowHurwicz(), 0.85, 2), (ArrowHurwicz(rule="multiplicative", step_size=0.05), 0.85, 2),
              (ArrowHurwiczAdaptive(), 0.85, 2), (Malinvaud(), 1.0, 1), (Heal(), 0.85, 2), (HealProportional(), 0.85, 2),
              (jplan.procedures.MalinvaudMemory(), 0.85, 2), (jplan.procedures.MalinvaudMemoryCentred(), 0.85, 2),
              (jplan.procedures.AcceleratedDual(), 0.85, 2), (jplan.procedures.Participatory(), 0.85, 2),
              (jplan.procedures.ADMM(), 1.0, 2), (jplan.procedures.PDHG(), 0.85, 2),
              (jplan.procedures.LearnedTatonnement(), 0.85, 2)]


@pytest.mark.parametrize("proc, rho, m", WHOLE_RUNS, ids=lambda x: getattr(x, "name", str(x)))
def test_whole_runs_use_technology_only_through_the_firms(proc, rho, m):
    """Issue 25, item 5: a whole run (start, every step, the recorded prices, plans and messages) with every
    technology field NaN, the firms alone holding the technology (`economy.firms`), is bit-for-bit the run on
    the plain economy: no centre computation reads a technology field. (What this cannot see: a centre that
    reads `economy.firms` itself; the firm-side functions are the only callers of it in jplan.procedures.)"""
    e = jplan.sample(jax.random.PRNGKey(4), 4, m, returns_to_scale=rho, technology="ces", elasticity=(0.6, 2.0))
    u = jplan.optimum(e).welfare
    plain = run(proc, e, 15, optimal_welfare=u)
    hidden = run(proc, centre_view(e), 15, optimal_welfare=u)
    assert _same_run(plain, hidden), proc.name


def test_the_whole_run_check_catches_a_centre_that_reads_technology():
    """The negative control: a Heal whose centre peeks at tfp (even multiplied by 0) is caught."""

    class Peeking(Heal):
        def step(self, economy, state):
            state, msgs = super().step(economy, state)
            plan = eqx.tree_at(lambda s: s.plan.consumption, state, state.plan.consumption + 0.0 * jnp.sum(economy.tfp))
            return plan, msgs

    e = jplan.sample(jax.random.PRNGKey(4), 4, 2, returns_to_scale=0.85)
    assert _same_run(run(Peeking(), e, 5), run(Peeking(), e, 5))
    assert not _same_run(run(Peeking(), e, 5), run(Peeking(), centre_view(e), 5))
