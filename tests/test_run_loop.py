"""The shared run loop: jit = no-jit, vmap = loop, statuses for divergence and domain, messages."""

import jax
import numpy as np
import pytest

from jplan.procedures import (
    ADMM,
    PDHG,
    LearnedTatonnement,
    ArrowHurwiczAdaptive,
    HealProportional,
    CONVERGED, DIVERGED, OUT_OF_DOMAIN, ArrowHurwicz, Heal, Malinvaud, run,
)

from .helpers import batch, index

CASES = [
    (ArrowHurwiczAdaptive(), dict(n=4, m=2, returns_to_scale=0.8), 60),
    (ArrowHurwicz(), dict(n=4, m=2, returns_to_scale=0.8), 60),
    (Malinvaud(), dict(n=4, m=1, returns_to_scale=1.0), 8),
    (Heal(), dict(n=4, m=2, returns_to_scale=(0.8, 1.3)), 12),
    (HealProportional(), dict(n=4, m=2, returns_to_scale=(0.8, 1.3)), 12),
    (ADMM(), dict(n=3, m=1, returns_to_scale=(0.8, 1.0)), 8),
    # PDHG shares ADMM's agents and round; its jit + vmap runs are checked in test_procedures.py
    pytest.param(PDHG(), dict(n=3, m=1, returns_to_scale=(0.8, 1.0)), 8, marks=pytest.mark.slow),
    (LearnedTatonnement(), dict(n=4, m=2, returns_to_scale=0.8), 40),
]


def _close(a, b, rtol=1e-10):
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=1e-12)


#: ADMM's and PDHG's firms solve by Newton with a step chosen among trials: op-by-op and fused execution round
#: differently, which can select another trial in an inner iteration; the answers agree to the inner solver's
#: accuracy, not to the last bits. Their eager check also runs fewer steps (op-by-op Newton is slow).
PROXIMAL = ("admm", "pdhg")


@pytest.mark.parametrize("proc,opts,steps", CASES, ids=lambda c: getattr(c, "name", ""))
def test_jit_equals_no_jit_and_vmap_equals_loop(proc, opts, steps):
    opts = dict(opts)
    economies, opt = batch(5, 4, opts.pop("n"), opts.pop("m"), **opts)
    f = lambda e, u: run(proc, e, steps, optimal_welfare=u)
    batched = jax.jit(jax.vmap(f))(economies, opt.welfare)
    jitted_f = jax.jit(f)  # compiled once, called per economy
    rtol = 1e-7 if proc.name in PROXIMAL else 1e-10
    for i in range(4):
        e, u = index(economies, i), opt.welfare[i]
        jitted = jitted_f(e, u)
        _close(jitted, index(batched, i), rtol)
        if i < (1 if proc.name in PROXIMAL else 2):  # op-by-op execution is slow: the first steps show jit = no-jit
            short = min(steps, 1 if proc.name in PROXIMAL else 6)
            with jax.disable_jit():
                eager = run(proc, e, short, optimal_welfare=u)
            # (the proximal procedures' opening plan has outputs near 1e-12, whose relative excess demand, ~1e9,
            # carries their rounding: its comparison says nothing there)
            fields = ("welfare", "gap", "residual", "messages_down", "messages_up", "active")
            for field in fields + (() if proc.name in PROXIMAL else ("infeasibility",)):
                _close(getattr(eager, field), getattr(jitted, field)[: short + 1], rtol)


def test_trace_fields_are_uniform_across_procedures():
    shapes = []
    for case in CASES:
        proc, opts, _ = getattr(case, "values", case)  # a pytest.param carries its values
        opts = dict(opts)
        economies, opt = batch(1, 2, opts.pop("n"), opts.pop("m"), **opts)
        # shapes only: traced, never compiled or run
        tr = jax.eval_shape(jax.vmap(lambda e, u: run(proc, e, 5, optimal_welfare=u)), economies, opt.welfare)
        shapes.append({k: np.shape(getattr(tr, k)) for k in ("welfare", "gap", "infeasibility", "residual", "messages_down", "messages_up", "status", "steps")})
    assert shapes[0] == shapes[1] == shapes[2]


def test_non_finite_iterate_is_a_status_not_nan():
    economies, opt = batch(2, 16, 4, 2, returns_to_scale=0.9)
    proc = ArrowHurwicz(rule="additive", step_size=1e3)
    tr = jax.jit(jax.vmap(lambda e, u: run(proc, e, 200, optimal_welfare=u)))(economies, opt.welfare)
    assert np.all(np.asarray(tr.status) == DIVERGED)
    for leaf in jax.tree_util.tree_leaves((tr.plan, tr.welfare, tr.goods_prices)):
        assert np.all(np.isfinite(np.asarray(leaf)))


def test_out_of_domain_under_vmap_is_a_status():
    economies, opt = batch(3, 12, 4, 2, returns_to_scale=(0.85, 1.01))
    tr = jax.jit(jax.vmap(lambda e, u: run(ArrowHurwicz(), e, 20, optimal_welfare=u)))(economies, opt.welfare)
    bad = np.any(np.asarray(economies.returns_to_scale) >= 1.0, axis=1)
    assert bad.any() and (~bad).any()
    status = np.asarray(tr.status)
    assert np.all(status[bad] == OUT_OF_DOMAIN)
    assert np.all(np.asarray(tr.steps)[bad] == 0)
    assert np.all(status[~bad] != OUT_OF_DOMAIN)
    tr = jax.jit(jax.vmap(lambda e: run(Malinvaud(), e, 5)))(economies)
    assert np.all(np.asarray(tr.status) == OUT_OF_DOMAIN)


def test_messages_are_counted_from_exchanged_arrays():
    n, m = 5, 2
    economies, opt = batch(4, 1, n, m, returns_to_scale=0.9)
    e = index(economies, 0)
    heal = run(Heal(), e, 3)
    assert int(heal.messages_down[1]) == n * (m + n)  # allocation per firm
    assert int(heal.messages_up[1]) == n * (1 + m + n)  # output + marginal productivities
    ah = run(ArrowHurwicz(rule="multiplicative"), e, 3)
    assert int(ah.messages_down[1]) == n + m  # prices broadcast once
    assert int(ah.messages_up[1]) == 2 * n + m  # anonymous totals: supplies, goods and resource demands
    adaptive = run(ArrowHurwiczAdaptive(), e, 3)
    assert int(adaptive.messages_up[1]) == 2 * n + m + 1  # plus the total profit
    economies1, _ = batch(4, 1, n, 1, returns_to_scale=1.0)
    lsm = run(Malinvaud(), index(economies1, 0), 3)
    assert int(lsm.messages_down[1]) == n and int(lsm.messages_up[1]) == n * (1 + n)


def test_converged_runs_freeze_and_stop_sending():
    economies, opt = batch(6, 1, 4, 1, returns_to_scale=1.0)
    tr = run(Malinvaud(), index(economies, 0), 50, optimal_welfare=opt.welfare[0])
    assert int(tr.status) == CONVERGED
    k = int(tr.steps)
    assert k < 50
    assert np.all(np.asarray(tr.messages_down[k + 1:]) == 0)
    assert np.all(np.asarray(tr.welfare[k:]) == float(tr.welfare[k]))


@pytest.mark.parametrize("rule", ["additive", "multiplicative", "adaptive"])
def test_recording_from_the_totals_is_the_same_trace_as_observing_every_step(rule):
    """Arrow–Hurwicz's `totals` (the run loop records welfare, gap, infeasibility and the residual from the
    totals the centre heard, and forms the firms' plans only at the end) gives the trace of the loop that
    observes (forms every plan) at every step: on CES economies the same statuses, steps, prices, final
    plans and series, bit for bit (the infeasibility to 1e-13: the same sums, which XLA may reassociate); on
    a batch marked Cobb–Douglas (`specialise`), whose totals `firms_totals` sums in another order, the same
    statuses and steps and every number to 1e-9 (1e-12 absolute, for gaps near 0). The additive rule's large step makes some runs diverge."""
    import dataclasses

    from jplan.economies import specialise

    class Observed(ArrowHurwicz):
        totals = None

    step_size = 1.0 if rule == "additive" else 0.1
    statuses = set()
    for opts in (dict(n=5, m=2, returns_to_scale=(0.6, 0.9), technology="ces", elasticity=(0.5, 2.0)),
                 dict(n=5, m=2, returns_to_scale=(0.6, 0.9))):
        economies, opt = batch(41, 16, **opts)
        if "technology" not in opts:
            economies = specialise(economies)
        lean, observed = (jax.jit(jax.vmap(lambda e, u, p=proc: run(p, e, 120, optimal_welfare=u)))(economies, opt.welfare)
                          for proc in (ArrowHurwicz(rule=rule, step_size=step_size), Observed(rule=rule, step_size=step_size)))
        marked = "technology" not in opts
        for field in dataclasses.fields(lean):
            a, b = getattr(lean, field.name), getattr(observed, field.name)
            for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
                x, y = np.asarray(x), np.asarray(y)
                if field.name in ("status", "steps", "active") or not np.issubdtype(x.dtype, np.floating):
                    assert np.array_equal(x, y), field.name
                elif marked or field.name == "infeasibility":
                    np.testing.assert_allclose(x, y, rtol=1e-9 if marked else 1e-13, atol=1e-12 if marked else 0, err_msg=field.name)
                else:
                    assert np.array_equal(x, y, equal_nan=True), field.name
        statuses |= set(np.asarray(lean.status).tolist())
    if rule == "additive":
        assert DIVERGED in statuses  # the divergence check on the totals caught what the plan check catches


def test_gradients_through_the_marked_totals_match_the_unmarked_run():
    """Differentiating a run through `firms_totals`' Cobb–Douglas sums (a batch marked by `specialise`) gives
    the gradient of the unmarked run, which forms every firm's plan: d welfare / d endowments to 1e-8."""
    import equinox as eqx
    import jax.numpy as jnp

    from jplan.economies import specialise

    economies, opt = batch(43, 1, 4, 2, returns_to_scale=(0.6, 0.9))
    e, u = index(economies, 0), opt.welfare[0]
    grads = []
    for economy in (e, specialise(e)):
        f = lambda R, economy=economy: run(ArrowHurwiczAdaptive(), eqx.tree_at(lambda x: x.endowments, economy, R), 30,
                                           optimal_welfare=u).welfare[-1]
        grads.append(jax.jit(jax.grad(f))(economy.endowments))
    assert bool(jnp.all(jnp.isfinite(grads[0])))
    np.testing.assert_allclose(np.asarray(grads[1]), np.asarray(grads[0]), rtol=1e-8)


def test_marked_totals_find_the_free_inputs_in_a_batch_with_and_without_zero_prices():
    """`firms_totals` on a marked batch tests for free inputs (a used input at price 0) only where some economy
    of the batch has a price of 0 (`cond_all`): both ways give the unmarked totals' outputs, infinite exactly
    where a firm uses a free input."""
    import jax.numpy as jnp

    from jplan.economies import specialise
    from jplan.procedures.arrow_hurwicz import firms_totals

    economies, _ = batch(47, 6, 4, 2, returns_to_scale=(0.6, 0.9), density=0.6)
    prices = jnp.ones((6, 6))
    for zeros in (False, True):
        p = prices.at[2, 1].set(0.0).at[4, 4].set(0.0) if zeros else prices
        marked = jax.vmap(firms_totals)(specialise(economies), p)
        plain = jax.vmap(firms_totals)(economies, p)
        q_marked, q_plain = np.asarray(marked[0]), np.asarray(plain[0])
        np.testing.assert_array_equal(np.isfinite(q_marked), np.isfinite(q_plain))
        np.testing.assert_allclose(q_marked[np.isfinite(q_plain)], q_plain[np.isfinite(q_plain)], rtol=1e-12)
        np.testing.assert_array_equal(np.asarray(marked[4]), np.asarray(plain[4]))  # `finite`
        assert np.isfinite(q_marked).all() != zeros
