"""`jplan.economies.specialise`: marking a batch's families on the host changes the work, never the answer."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jplan.economies import sample_batch, specialise
from jplan.procedures import PROCEDURES, run

FAMILIES = {
    "cobb-douglas": (dict(), ("cobb-douglas", "log-welfare")),
    "ces-welfare": (dict(welfare="ces", welfare_elasticity=(0.5, 2.0)), ("cobb-douglas",)),
    "set-up-costs": (dict(setup=(0.1, 0.3)), ("log-welfare",)),
}


@pytest.mark.parametrize("family", FAMILIES)
def test_marks_follow_the_data_and_runs_are_unchanged(family):
    options, marks = FAMILIES[family]
    economies = sample_batch(jax.random.PRNGKey(3), 6, 4, 2, returns_to_scale=(0.6, 0.9), **options)
    marked = specialise(economies)
    assert marked.known == marks
    assert economies.known == ()
    for name in ("arrow-hurwicz-adaptive", "heal", "heal-proportional"):  # firms' supply, outputs, welfare
        procedure = PROCEDURES[name]()
        go = jax.jit(jax.vmap(lambda e: run(procedure, e, 15)))
        a, b = go(economies), go(marked)
        np.testing.assert_array_equal(np.asarray(a.status), np.asarray(b.status), err_msg=name)
        ok = np.asarray(a.status) != 2  # a diverged run's last iterate may differ by rounding only
        for x, y in ((a.plan.consumption, b.plan.consumption), (a.welfare, b.welfare), (a.goods_prices, b.goods_prices)):
            np.testing.assert_allclose(np.asarray(y)[ok], np.asarray(x)[ok], rtol=1e-9, atol=0, err_msg=name)


def test_a_mixed_batch_gets_no_mark_and_traced_economies_are_left_alone():
    cd = sample_batch(jax.random.PRNGKey(0), 3, 4, 2, returns_to_scale=0.8)
    ces = sample_batch(jax.random.PRNGKey(1), 3, 4, 2, returns_to_scale=0.8, technology="ces", elasticity=(0.5, 2.0))
    mixed = jax.tree_util.tree_map(lambda x, y: jnp.concatenate([x, y]), cd, ces)
    assert specialise(mixed).known == ("log-welfare",)
    seen = []
    jax.jit(lambda e: seen.append(specialise(e).known) or e.tfp)(cd)
    assert seen == [()]
