"""Domain checks on the data (issue 31, item 1): every production procedure refuses, with status
`out_of_domain`, an economy just outside the assumptions its convergence rests on, whatever the economy's
kind or placeholder fields say; and accepts one just inside.

(The division procedures' checks are tested in tests/test_divisions.py: Kornai–Lipták refuses a negative
right-hand side and a division that supplies a shared resource; Dantzig–Wolfe has no domain beyond an LP.)
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import pytest

import jplan
from jplan.economies import with_technology
from jplan.procedures import (
    ArrowHurwicz,
    ArrowHurwiczAdaptive,
    Heal,
    HealProportional,
    Malinvaud,
    MalinvaudMemory,
    MalinvaudMemoryCentred,
    run,
    status_name,
)

from .test_families import HandWrittenCES


def decreasing(rho=0.8, m=2):
    return jplan.sample(jax.random.PRNGKey(5), 4, m, returns_to_scale=rho, technology="ces", elasticity=(0.6, 2.0))


def as_user(e, rho):
    """The economy's CES firms written as a user technology with returns `rho`; the economy's own
    `returns_to_scale` field (a placeholder for user technologies) keeps its old values."""
    shares = jnp.concatenate([e.resource_shares, e.input_shares], 1)
    return with_technology(e, HandWrittenCES(e.tfp, jnp.broadcast_to(jnp.asarray(rho, e.tfp.dtype), e.tfp.shape),
                                             shares, e.elasticity))


def one_firm(e, field, value):
    return eqx.tree_at(lambda x: getattr(x, field), e, getattr(e, field).at[1].set(value))


CONVEX = (ArrowHurwicz(), ArrowHurwicz(rule="multiplicative"), ArrowHurwiczAdaptive(), MalinvaudMemory(),
          MalinvaudMemoryCentred())

CASES = [
    # (procedures, economy just outside, what is outside)
    (CONVEX, lambda: one_firm(decreasing(), "returns_to_scale", 1.0), "one firm with constant returns"),
    (CONVEX, lambda: one_firm(decreasing(), "setup_cost", 1e-6), "one firm with a tiny set-up cost"),
    (CONVEX, lambda: as_user(decreasing(0.8), 1.0), "a user technology with constant returns (placeholder says 0.8)"),
    (CONVEX, lambda: as_user(decreasing(0.8), 1.05), "a user technology with increasing returns"),
    ((Malinvaud(),), lambda: one_firm(decreasing(1.0, 1), "returns_to_scale", 1.0 - 1e-6), "one firm with decreasing returns"),
    ((Malinvaud(),), lambda: decreasing(1.0, 2), "two resources"),
    ((Malinvaud(),), lambda: as_user(decreasing(1.0, 1), 0.9), "a user technology with decreasing returns"),
    ((Heal(), HealProportional()), lambda: one_firm(decreasing(), "welfare_weights", 0.0), "a welfare weight of 0"),
]


@pytest.mark.parametrize("procedures, make, what", CASES, ids=[c[2] for c in CASES])
def test_just_outside_the_domain_is_refused(procedures, make, what):
    e = make()
    for procedure in procedures:
        assert bool(procedure.domain_violation(e)), (procedure.name, what)
    # and a run says so (one procedure per case: each run compiles)
    assert status_name(run(procedures[0], e, 2).status) == "out_of_domain", (procedures[0].name, what)


INSIDE = [
    (CONVEX, lambda: one_firm(decreasing(), "returns_to_scale", 0.999)),
    (CONVEX, lambda: as_user(decreasing(0.95), 0.95)),
    (CONVEX, lambda: as_user(decreasing(1.0), 0.95)),  # the placeholder says constant returns; the data do not
    ((Malinvaud(),), lambda: decreasing(1.0, 1)),
    ((Malinvaud(),), lambda: as_user(decreasing(1.0, 1), 1.0)),
    ((Heal(), HealProportional()), lambda: one_firm(decreasing(), "welfare_weights", 1e-6)),
]


@pytest.mark.parametrize("procedures, make", INSIDE)
def test_just_inside_the_domain_is_accepted(procedures, make):
    e = make()
    for procedure in procedures:
        assert not bool(procedure.domain_violation(e)), procedure.name
