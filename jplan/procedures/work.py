"""The centre's and the firms' work per step in one unit: floating-point operations (Lustosa's criterion 2).

`Messages.solves` and `Messages.firm_work` count *what* was done (linear systems, responses); they do not
compare across procedures (a Dantzig–Wolfe master LP and a Malinvaud price solve both count one).
`Messages.centre_flops` and `Messages.firm_flops` count the same work in one unit, flops, by this
convention:

- one flop is one floating-point add, subtract, multiply, divide, comparison-select, square root, or
  transcendental (exp, log, power): Lustosa's "elementary operations", with transcendentals counted one
  each as XLA's cost analysis reports them separately;
- **the firms' flops** (every agent holding private information: firms, divisions) come from *XLA's HLO
  cost analysis* (`flops` + `transcendentals`) of the procedure's own response function for one firm at
  the economy's shapes (`agent_flops`, lowered once per function and shapes and cached), times the number
  of firms that respond; a division's LP is counted by its simplex pivots (`simplex_flops`). For a
  response with an inner loop (a user technology's solver) XLA counts the loop body once, so the count
  is a lower bound there;
- **the centre's flops** are closed-form counts of the centre's algorithm as written (`lu_flops`,
  `solve_flops`, `simplex_flops`, `projection_flops`, …, in n, m and the iterations the step actually
  ran), stated next to each procedure's step. The welfare function belongs to the centre (the planners'
  preferences), so consumption demand and welfare are centre work.

Opening rounds count like steps. The counts are of arithmetic, not time: memory traffic, which bounds most
of these steps on a CPU, is measured in `benchmarks/`.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array

__all__ = ["agent_flops", "firms_flops", "lu_flops", "solve_flops", "triangular_flops", "simplex_flops", "projection_flops"]


def lu_flops(k) -> float:
    """An LU factorisation of a dense k × k matrix: 2k³/3."""
    return 2.0 * k**3 / 3.0


def triangular_flops(k, rhs: int = 1) -> float:
    """A forward and a back substitution with k × k triangular factors, per right-hand side: 2k²."""
    return 2.0 * k * k * rhs


def solve_flops(k, rhs: int = 1) -> float:
    """A dense linear solve of order k: one factorisation and its substitutions."""
    return lu_flops(k) + triangular_flops(k, rhs)


def simplex_flops(rows, cols, pivots) -> Array:
    """`pivots` pivots of a dense tableau simplex with `rows` rows and `cols` columns: the rank-one update of
    the tableau (2·rows·(cols + 1)) plus pricing and the ratio test (2·(rows + cols)) per pivot."""
    return jnp.asarray(pivots, jnp.result_type(float)) * (2.0 * rows * (cols + 1) + 2.0 * (rows + cols))


def projection_flops(k) -> float:
    """A Euclidean projection of k numbers onto a simplex by sorting: k log₂ k comparisons and 4k for the
    prefix sums, the threshold and the clip."""
    return k * max(np.log2(max(k, 2)), 1.0) + 4.0 * k


def _struct(x):
    x = jnp.asarray(x) if not hasattr(x, "shape") else x
    return jax.ShapeDtypeStruct(tuple(x.shape[1:]), x.dtype)


@functools.lru_cache(maxsize=512)
def _cost(agent, treedef, structs, kwargs) -> float:
    args = jax.tree_util.tree_unflatten(treedef, list(structs))
    fn = functools.partial(agent, **dict(kwargs))
    analysis = jax.jit(fn).lower(*args).cost_analysis()
    if isinstance(analysis, (list, tuple)):  # older JAX returned one dict per device
        analysis = analysis[0] if analysis else {}
    analysis = analysis or {}
    return float(analysis.get("flops", 0.0)) + float(analysis.get("transcendentals", 0.0))


def agent_flops(agent, *per_firm_args, **kwargs) -> float:
    """XLA's count of one firm's response: `agent(*args, **kwargs)` for one firm, where every argument is
    given as the whole firms' batch (leading axis = firms, as `vmap(agent)` takes it). Static: reads only
    shapes and dtypes, so it is a Python float at trace time (cached per function and shapes)."""
    leaves, treedef = jax.tree_util.tree_flatten(per_firm_args)
    structs = tuple(_struct(x) for x in leaves)
    return _cost(agent, treedef, structs, tuple(sorted(kwargs.items())))


def firms_flops(economy, agent, *per_firm_args) -> Array:
    """The firms' flops of one round in which every firm calls `agent(tech, *args)` (as `for_firms` and
    `vmap(agent)(economy.firms, *args)` do): n × XLA's count of one firm's call, with the Cobb–Douglas
    formulas alone where every firm of the economy is plain Cobb–Douglas (what `for_firms` runs)."""
    from ..economies.production import FirmTechnology, plain_cobb_douglas

    firms = economy.firms
    n = economy.n
    if isinstance(firms, FirmTechnology):
        cd = agent_flops(agent, firms, *per_firm_args, cobb_douglas=True)
        general = agent_flops(agent, firms, *per_firm_args, cobb_douglas=False)
        return n * jnp.where(plain_cobb_douglas(firms), cd, general)
    return jnp.asarray(n * agent_flops(agent, firms, *per_firm_args), jnp.result_type(float))
