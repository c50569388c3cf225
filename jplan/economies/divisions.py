"""Block-angular planning economies: the setting of the decomposition procedures (Dantzig and Wolfe 1960;
Kornai and Lipták 1965; Lustosa 1987, §§5.1.2 and 5.2).

A centre holds m₀ shared resources b₀; N divisions each run their own activities x_j ≥ 0 under private
constraints A_j x_j ≤ b_j, earn c_jᵀx_j and use D_j x_j of the shared resources. The plan maximises

    Σ_j c_jᵀx_j   subject to   Σ_j D_j x_j ≤ b₀,   A_j x_j ≤ b_j,   x_j ≥ 0.

The centre knows b₀ only; (c_j, D_j, A_j, b_j) are division j's private data. Divisions may have different
numbers of activities and private constraints; the arrays are padded to the largest (`activity_mask`
marks the real activities, padded constraint rows are 0 ≤ 0), so a batch of economies is one pytree.

File format (`kind = "divisions"`):

    kind = "divisions"
    [centre]
    resources = [40.0]                      # b0, one entry per shared resource
    names = ["steel"]                       # optional, the shared resources' names
    [[division]]
    name = "one"                            # optional
    objective = [1.0, 1.0]                  # c_j, one entry per activity (maximised)
    shared_use = [[1.0, 2.0]]               # D_j: rows = shared resources, columns = activities
    constraints = [[1.0, 3.0], [2.0, 1.0]]  # A_j: the division's private constraints
    limits = [30.0, 20.0]                   # b_j

Right-hand sides may be negative: a row −aᵀx ≤ −r states aᵀx ≥ r (a requirement), and an equality is a
pair of rows. With b₀ ≥ 0 and b_j ≥ 0 the zero plan is feasible and Dantzig–Wolfe starts from it;
otherwise it begins with a phase I (see `jplan.procedures.dantzig_wolfe`), and Kornai–Lipták, whose quotas
split non-negative resources, reports the economy out of its domain.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float

from ..errors import EconomyFileError

__all__ = [
    "DivisionsEconomy",
    "DivisionPlan",
    "DivisionLabels",
    "divisions_from_arrays",
    "load_divisions",
    "loads_divisions",
    "dumps_divisions",
    "save_divisions",
    "sample_divisions",
    "plan_value",
    "division_infeasibility",
]

#: Size limits of a divisions file (refused with one line before allocating).
MAX_DIVISIONS, MAX_ACTIVITIES, MAX_ROWS = 1000, 1000, 1000
#: Largest padded block-angular economy (numbers in the padded arrays; 2^26 float64 = 512 MiB).
MAX_PADDED_ENTRIES = 2**26
#: Largest dense tableau of the whole economy's LP (`jplan.solvers.divisions_optimum`): 2^25 float64 = 256 MiB.
MAX_LP_ENTRIES = 2**25


class DivisionsEconomy(eqx.Module):
    """A block-angular economy (a pytree: batch it with a leading axis on every field).

    Attributes:
        resources: b₀ [m0], the shared resources the centre holds.
        objective: c [N, a], each division's return per unit of each activity (0 on padding).
        shared_use: D [N, m0, a], shared resources used per unit of activity.
        constraints: A [N, p, a], the divisions' private constraint rows (zero rows on padding).
        limits: b [N, p], the private right-hand sides (0 on padding).
        activity_mask: [N, a], True on real activities.
    """

    resources: Float[Array, " m0"]
    objective: Float[Array, "N a"]
    shared_use: Float[Array, "N m0 a"]
    constraints: Float[Array, "N p a"]
    limits: Float[Array, "N p"]
    activity_mask: Bool[Array, "N a"]

    @property
    def divisions(self) -> int:
        return self.objective.shape[-2]

    @property
    def shared(self) -> int:
        return self.resources.shape[-1]


class DivisionPlan(eqx.Module):
    """Every division's activity levels x [N, a] (0 on padded activities)."""

    activities: Float[Array, "N a"]


def plan_value(economy: DivisionsEconomy, plan: DivisionPlan) -> Array:
    """The objective Σ_j c_jᵀx_j of a plan."""
    return jnp.sum(jnp.where(economy.activity_mask, economy.objective * plan.activities, 0.0))


def division_infeasibility(economy: DivisionsEconomy, plan: DivisionPlan) -> Array:
    """The largest violation of a shared or private constraint or of x ≥ 0, each relative to
    max(1, its right-hand side): 0 for a feasible plan."""
    x = jnp.where(economy.activity_mask, plan.activities, 0.0)
    shared = jnp.einsum("jra,ja->r", economy.shared_use, x) - economy.resources
    private = jnp.einsum("jpa,ja->jp", economy.constraints, x) - economy.limits
    worst = jnp.maximum(
        jnp.max(shared / jnp.maximum(1.0, jnp.abs(economy.resources))),
        jnp.max(private / jnp.maximum(1.0, jnp.abs(economy.limits))),
    )
    return jnp.maximum(jnp.maximum(worst, jnp.max(-x)), 0.0)


@dataclass(frozen=True)
class DivisionLabels:
    """Names of the shared resources and of the divisions, and each division's activity count."""

    resources: tuple[str, ...]
    divisions: tuple[str, ...]
    activities: tuple[int, ...]


# -- construction and validation ---------------------------------------------------------------------
def _matrix(value, field: str, ndim: int) -> np.ndarray:
    from ._format import _array

    return _array(value, field, ndim)


def divisions_from_arrays(resources, divisions: list[dict], prefix: str = "") -> DivisionsEconomy:
    """Validate raw arrays and build a padded `DivisionsEconomy`.

    Args:
        resources: b₀, a list of m0 ≥ 1 numbers (negative entries are requirements: a row −a'x ≤ −r is
            a'x ≥ r, and an equality is a pair of rows).
        divisions: one dict per division with `objective` [a_j], `shared_use` [m0 × a_j],
            `constraints` [p_j × a_j] and `limits` [p_j] (p_j ≥ 1; limits of any sign).
        prefix: prepended to field names in error messages (the file reader passes "division[k].").
    """
    b0 = _matrix(resources, "centre.resources", 1)
    if b0.size > MAX_ROWS:
        raise EconomyFileError(f"centre.resources: at most {MAX_ROWS} shared resources are supported, got {b0.size}")
    if not divisions:
        raise EconomyFileError("division: at least one [[division]] table is needed")
    if len(divisions) > MAX_DIVISIONS:
        raise EconomyFileError(f"division: at most {MAX_DIVISIONS} divisions are supported, got {len(divisions)}")
    parts = []
    for k, d in enumerate(divisions):
        where = f"{prefix}division[{k}]"
        c = _matrix(_field(d, "objective", where), f"{where}.objective", 1)
        a = c.size
        if a > MAX_ACTIVITIES:
            raise EconomyFileError(f"{where}.objective: at most {MAX_ACTIVITIES} activities are supported, got {a}")
        D = _matrix(_field(d, "shared_use", where), f"{where}.shared_use", 2)
        if D.shape != (b0.size, a):
            raise EconomyFileError(f"{where}.shared_use: expected shape {[b0.size, a]} (shared resources × activities), got {list(D.shape)}")
        A = _matrix(_field(d, "constraints", where), f"{where}.constraints", 2)
        if A.shape[1] != a or A.shape[0] > MAX_ROWS:
            raise EconomyFileError(f"{where}.constraints: expected {a} columns (one per activity) and at most {MAX_ROWS} rows, got shape {list(A.shape)}")
        b = _matrix(_field(d, "limits", where), f"{where}.limits", 1)
        if b.size != A.shape[0]:
            raise EconomyFileError(f"{where}.limits: expected {A.shape[0]} entries (one per constraint row), got {b.size}")
        for field, arr in (("objective", c), ("shared_use", D), ("constraints", A), ("limits", b)):
            big = float(np.max(np.abs(arr))) if arr.size else 0.0
            if big > 1e12:
                raise EconomyFileError(f"{where}.{field}: entries above 1e12 in magnitude are outside the supported range")
        parts.append((c, D, A, b))
    big = float(np.max(np.abs(b0)))
    if big > 1e12:
        raise EconomyFileError("centre.resources: entries above 1e12 are outside the supported range")
    N, m0 = len(parts), b0.size
    amax = max(p[0].size for p in parts)
    pmax = max(p[2].shape[0] for p in parts)
    padded = N * (m0 + pmax + 2) * amax
    if padded > MAX_PADDED_ENTRIES:
        raise EconomyFileError(
            f"division: the divisions are stored padded to the largest ({amax} activities, {pmax} constraint rows), "
            f"{N} x ({m0} + {pmax}) x {amax} = {padded:,} numbers, more than the {MAX_PADDED_ENTRIES:,} supported; "
            "give divisions of more even sizes or fewer of them")
    rows, cols = m0 + N * pmax, N * amax
    if rows * (cols + rows) > MAX_LP_ENTRIES:
        raise EconomyFileError(
            f"division: the economy's exact LP (the reference every procedure is measured against) is a dense "
            f"{rows:,} x {cols + rows:,} tableau, more than the {MAX_LP_ENTRIES:,} entries jplan's dense simplex "
            "supports; give fewer or smaller divisions")
    c = np.zeros((N, amax))
    D = np.zeros((N, m0, amax))
    A = np.zeros((N, pmax, amax))
    b = np.zeros((N, pmax))
    mask = np.zeros((N, amax), bool)
    for j, (cj, Dj, Aj, bj) in enumerate(parts):
        a, p = cj.size, bj.size
        c[j, :a], D[j, :, :a], A[j, :p, :a], b[j, :p], mask[j, :a] = cj, Dj, Aj, bj, True
    dtype = jnp.zeros(()).dtype
    return DivisionsEconomy(
        resources=jnp.asarray(b0, dtype), objective=jnp.asarray(c, dtype), shared_use=jnp.asarray(D, dtype),
        constraints=jnp.asarray(A, dtype), limits=jnp.asarray(b, dtype), activity_mask=jnp.asarray(mask),
    )


def _field(d: dict, key: str, where: str):
    if key not in d:
        raise EconomyFileError(f"{where}.{key}: missing")
    return d[key]


_TOP = {"kind", "centre", "division"}
_CENTRE = {"resources", "names"}
_DIVISION = {"name", "objective", "shared_use", "constraints", "limits"}


def _from_dict(doc: dict) -> tuple[DivisionsEconomy, DivisionLabels]:
    if doc.get("kind") != "divisions":
        raise EconomyFileError(f'kind: expected "divisions", got {doc.get("kind")!r}')
    unknown = set(doc) - _TOP
    if unknown:
        raise EconomyFileError(f"{sorted(unknown)[0]}: unknown key")
    centre = doc.get("centre")
    if not isinstance(centre, dict):
        raise EconomyFileError("[centre]: missing section")
    unknown = set(centre) - _CENTRE
    if unknown:
        raise EconomyFileError(f"centre.{sorted(unknown)[0]}: unknown key")
    if "resources" not in centre:
        raise EconomyFileError("centre.resources: missing")
    divisions = doc.get("division")
    if not isinstance(divisions, list) or not all(isinstance(d, dict) for d in divisions):
        raise EconomyFileError("division: expected one or more [[division]] tables")
    for k, d in enumerate(divisions):
        unknown = set(d) - _DIVISION
        if unknown:
            raise EconomyFileError(f"division[{k}].{sorted(unknown)[0]}: unknown key")
    economy = divisions_from_arrays(centre["resources"], divisions)
    m0 = economy.shared
    names = centre.get("names", [f"resource{i + 1}" for i in range(m0)])
    if not isinstance(names, list) or len(names) != m0 or not all(isinstance(s, str) for s in names):
        raise EconomyFileError(f"centre.names: expected a list of {m0} strings")
    division_names = []
    for k, d in enumerate(divisions):
        name = d.get("name", f"division{k + 1}")
        if not isinstance(name, str):
            raise EconomyFileError(f"division[{k}].name: must be a string")
        division_names.append(name)
    labels = DivisionLabels(tuple(names), tuple(division_names), tuple(len(d["objective"]) for d in divisions))
    return economy, labels


def loads_divisions(text: str) -> tuple[DivisionsEconomy, DivisionLabels]:
    """Parse a divisions economy from TOML text."""
    from ._format import parse_toml

    return _from_dict(parse_toml(text))


def load_divisions(path: str | os.PathLike) -> tuple[DivisionsEconomy, DivisionLabels]:
    """Read and validate a `kind = "divisions"` file (one-line `EconomyFileError` naming the field)."""
    from ._format import read_toml

    doc = read_toml(path, "economy file")
    try:
        return _from_dict(doc)
    except EconomyFileError as exc:
        raise EconomyFileError(f"{path}: {exc}") from None


def dumps_divisions(economy: DivisionsEconomy, labels: DivisionLabels | None = None) -> str:
    """The TOML text of a (single, concrete) divisions economy; `loads_divisions` reads it back exactly."""
    fmt = lambda x: repr(float(x)) if math.isfinite(float(x)) else "nan"
    vec = lambda xs: "[" + ", ".join(fmt(x) for x in xs) + "]"
    mat = lambda rows: "[" + ", ".join(vec(r) for r in rows) + "]"
    mask = np.asarray(economy.activity_mask)
    lines = ['kind = "divisions"', "[centre]", f"resources = {vec(np.asarray(economy.resources))}"]
    if labels is not None:
        lines.append("names = [" + ", ".join(f'"{s}"' for s in labels.resources) + "]")
    A, b = np.asarray(economy.constraints), np.asarray(economy.limits)
    for j in range(economy.divisions):
        a = int(mask[j].sum())
        rows = [r for r in range(A.shape[1]) if np.any(A[j, r, :a] != 0) or b[j, r] != 0] or [0]
        lines += ["", "[[division]]"]
        if labels is not None:
            lines.append(f'name = "{labels.divisions[j]}"')
        lines += [
            f"objective = {vec(np.asarray(economy.objective)[j, :a])}",
            f"shared_use = {mat(np.asarray(economy.shared_use)[j, :, :a])}",
            f"constraints = {mat(A[j, rows, :a])}",
            f"limits = {vec(b[j, rows])}",
        ]
    return "\n".join(lines) + "\n"


def save_divisions(path: str | os.PathLike, economy: DivisionsEconomy, labels: DivisionLabels | None = None) -> None:
    """Write a divisions economy file atomically."""
    from .._files import atomic_write_text

    atomic_write_text(Path(path), dumps_divisions(economy, labels))


# -- random economies ----------------------------------------------------------------------------------
def sample_divisions(key: jax.Array, divisions: int, activities: int, shared: int, private: int,
                     *, tightness: float | tuple[float, float] = (0.3, 0.8), density: float = 0.8) -> DivisionsEconomy:
    """One random block-angular economy, bounded and feasible by construction (jit/vmap-safe).

    Every division has `activities` activities and `private` constraint rows with positive coefficients
    in [0.2, 1] (so its own polytope is bounded) and limits in [5, 15]; returns c in [1, 2]; shared use D
    in [0, 1] with each entry present with probability `density` (every activity uses at least one
    shared resource). The shared resources are a fraction `tightness` (drawn per resource) of what the
    divisions would use at their own optima ignoring the centre (each division's LP solved exactly,
    by `jplan.solvers.linprog`): with tightness < 1 that plan is infeasible, so at least one shared
    constraint binds at the optimum, which is what makes decomposition non-trivial.

    Args:
        key: a PRNG key; vmap over keys for a batch.
        divisions: N.
        activities: activities per division.
        shared: m0, shared resources.
        private: private constraint rows per division.
        tightness: b₀ as a fraction of that unconstrained use (a number or a (low, high) range).
        density: probability that an activity uses a given shared resource.
    """
    dtype = jnp.zeros(()).dtype
    kc, kd, km, ka, kb, kt = jax.random.split(key, 6)
    N, a, m0, p = divisions, activities, shared, private
    c = jax.random.uniform(kc, (N, a), dtype, 1.0, 2.0)
    D = jax.random.uniform(kd, (N, m0, a), dtype, 0.0, 1.0)
    present = jax.random.uniform(km, (N, m0, a), dtype) < density
    first = jnp.arange(m0)[None, :, None] == (jnp.arange(a)[None, None, :] % m0)  # every activity uses one
    D = jnp.where(present | first, D, 0.0)
    A = jax.random.uniform(ka, (N, p, a), dtype, 0.2, 1.0)
    b = jax.random.uniform(kb, (N, p), dtype, 5.0, 15.0)
    from .._simplex import linprog

    def own_optimum(cj, Aj, bj):  # max c_jᵀx s.t. A_j x ≤ b_j, x ≥ 0 (bounded: A_j > 0)
        sol = linprog(jnp.concatenate([-cj, jnp.zeros(p, dtype)]), jnp.concatenate([Aj, jnp.eye(p, dtype=dtype)], axis=1), bj)
        return sol.x[:a]

    use = jnp.einsum("jra,ja->r", D, jax.vmap(own_optimum)(c, A, b))
    lo, hi = tightness if isinstance(tightness, tuple) else (tightness, tightness)
    t = jax.random.uniform(kt, (m0,), dtype, lo, hi)
    return DivisionsEconomy(resources=t * use, objective=c, shared_use=D, constraints=A, limits=b,
                            activity_mask=jnp.ones((N, a), bool))
