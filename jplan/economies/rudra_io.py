'''Rudra economy files (`kind = "rudra"`), read and validated with one-line errors naming the field.

```toml
kind = "rudra"

[commodities]
names = ["commodity 1", "commodity 2"]   # optional
final_demand = [100.0, 100.0]            # d, >= 0
importable = [true, false]               # optional (default: all true); m_i = 0 where false
prices = [1.0, 1.0]                      # optional (default: ones), > 0; value the value-added shares

[sectors]
names = ["sector 1", "sector 2"]         # optional
inputs = [[0.0, 0.8], [0.6, 0.0]]        # a: n x N, row = commodity i, column = sector j (seed's a_ij), >= 0
outputs = [[1.0, 0.0], [0.0, 1.0]]       # b: n x N, >= 0, optional (default identity, needs n = N)
capital = [2.4, 1.6]                     # k >= 0
savings_rate = [0.2, 0.1]                # v in [0, 1]
growth = [4.0, 7.0]                      # r > 0

[foreign_exchange]
available = 20.0                         # F >= 0

[constraints]                            # optional
balances = "equality"                    # or "at-least" (default: free disposal of surplus)
imports = "equality"                     # or "at-most" (default)

[[technology]]                           # optional, one table per sector that chooses its technology
sector = "sector 1"                      # a sector name or 1-based index
projects = [                             # >= 1 alternative projects (coefficient columns)
  { name = "minimum current cost", inputs = [0.0, 0.55], capital = 2.92, savings_rate = 0.2, growth = 3.2 },
  { name = "minimum fixed capital", inputs = [0.0, 0.75], capital = 2.19, savings_rate = 0.2, growth = 4.4 },
]                                        # per project, optional: outputs = [...], scale_elasticity = 0.0
mixing_savings = { inputs = [0.0, 0.1], capital = 0.36 }   # optional (default 0)
reference_level = 307.7                  # X_ref of the scale functions; required if a scale_elasticity != 0
start = 1                                # optional: the project the planners start from (1-based)

[time]                                   # optional; used by `jplan rudra shortest-time`
base_ratio = [0.5, 0.4]                  # q_j = base-year output / end-year output, in (0, 1)
demand_growth = 0.0                      # g >= 0, growth of the targets per year of plan length
reference_length = 15                    # T_ref, the plan length at which the targets are final_demand
```
The frontier a technology table defines is `jplan.economies.rudra.ProjectFrontier`; the growth
assumptions of the [time] table are `GrowthPath`.
'''

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import jax.numpy as jnp
import numpy as np

from ..errors import EconomyFileError
from ._format import _array, _shape, parse_toml, read_toml
from .rudra import GrowthPath, ProjectFrontier, RudraEconomy, frontiers

__all__ = ["RudraFile", "load_rudra", "loads_rudra", "rudra_from_dict"]

_TOP = {"kind", "commodities", "sectors", "foreign_exchange", "constraints", "technology", "time"}
_SECTIONS = {
    "commodities": ({"final_demand"}, {"names", "importable", "prices"}),
    "sectors": ({"inputs", "capital", "savings_rate", "growth"}, {"names", "outputs"}),
    "foreign_exchange": ({"available"}, set()),
    "constraints": (set(), {"balances", "imports"}),
    "time": ({"base_ratio", "reference_length"}, {"demand_growth"}),
}
_TECH_KEYS = ({"sector", "projects"}, {"mixing_savings", "reference_level", "start"})
_PROJECT_KEYS = ({"inputs", "capital", "savings_rate", "growth"}, {"name", "outputs", "scale_elasticity"})


@dataclass(frozen=True)
class RudraFile:
    """A loaded Rudra economy file.

    Attributes:
        economy: the central data (base-year coefficients).
        technologies: every sector's technology set, stacked (sectors without a [[technology]] table
            keep their base column); None when the file has no technology tables.
        growth_path: the [time] assumptions, or None.
        commodities, sectors: names for printing.
        projects: per sector, the names of its projects (empty for sectors without a technology table).
    """

    economy: RudraEconomy
    technologies: ProjectFrontier | None
    growth_path: GrowthPath | None
    commodities: tuple[str, ...]
    sectors: tuple[str, ...]
    projects: tuple[tuple[str, ...], ...]


def _check(arr: np.ndarray, field: str, ok: np.ndarray, rule: str) -> None:
    if not np.all(ok):
        idx = np.unravel_index(int(np.argmin(ok.ravel())), arr.shape) if arr.ndim else ()
        where = f" (entry {[int(i) + 1 for i in idx]} is {float(arr[idx]):g})" if arr.ndim else f" (got {float(arr)!r})"
        raise EconomyFileError(f"{field}: must be {rule}{where}")


def _keys(section: dict, field: str, need: set, optional: set) -> None:
    extra = set(section) - need - optional
    if extra:
        raise EconomyFileError(f"{field}.{sorted(extra)[0]}: unknown key")
    missing = sorted(need - set(section))
    if missing:
        raise EconomyFileError(f"{field}.{missing[0]}: missing")


def _table(doc: dict, name: str, required: bool = True) -> dict:
    if name not in doc:
        if required:
            raise EconomyFileError(f"[{name}]: missing section")
        return {}
    section = doc[name]
    if not isinstance(section, dict):
        raise EconomyFileError(f"{name}: must be a table")
    _keys(section, name, *_SECTIONS[name])
    return section


def _names(section: dict, field: str, count: int, prefix: str) -> tuple[str, ...]:
    names = section.get("names")
    if names is None:
        return tuple(f"{prefix} {i + 1}" for i in range(count))
    if not isinstance(names, list) or not all(isinstance(s, str) for s in names):
        raise EconomyFileError(f"{field}.names: must be a list of strings")
    if len(names) != count:
        raise EconomyFileError(f"{field}.names: expected {count} names, got {len(names)}")
    if len(set(names)) != count:
        raise EconomyFileError(f"{field}.names: names must be distinct")
    return tuple(names)


def _choice(section: dict, key: str, field: str, options: tuple[str, str]) -> bool:
    value = section.get(key, options[1])
    if value not in options:
        raise EconomyFileError(f'{field}: must be "{options[0]}" or "{options[1]}" (got {value!r})')
    return value == options[0]


def _technology(entry: Any, k: int, n: int, sectors: tuple[str, ...], b: np.ndarray) -> tuple[int, dict, tuple[str, ...]]:
    field = f"technology[{k + 1}]"
    if not isinstance(entry, dict):
        raise EconomyFileError(f"{field}: must be a table")
    _keys(entry, field, *_TECH_KEYS)
    sector = entry["sector"]
    if isinstance(sector, str):
        if sector not in sectors:
            raise EconomyFileError(f"{field}.sector: unknown sector {sector!r}")
        j = sectors.index(sector)
    elif isinstance(sector, int) and not isinstance(sector, bool) and 1 <= sector <= len(sectors):
        j = sector - 1
    else:
        raise EconomyFileError(f"{field}.sector: must be a sector name or an index from 1 to {len(sectors)}")
    projects = entry["projects"]
    if not isinstance(projects, list) or not projects or not all(isinstance(p, dict) for p in projects):
        raise EconomyFileError(f"{field}.projects: must be a non-empty list of tables")
    cols: dict[str, list] = {k: [] for k in ("inputs", "outputs", "capital", "savings_rate", "growth", "scale_elasticity")}
    names = []
    for q, proj in enumerate(projects):
        pf = f"{field}.projects[{q + 1}]"
        _keys(proj, pf, *_PROJECT_KEYS)
        name = proj.get("name", f"project {q + 1}")
        if not isinstance(name, str):
            raise EconomyFileError(f"{pf}.name: must be a string")
        names.append(name)
        a = _array(proj["inputs"], f"{pf}.inputs", 1)
        _shape(a, f"{pf}.inputs", (n,), "one per commodity")
        _check(a, f"{pf}.inputs", a >= 0, ">= 0")
        out = _array(proj.get("outputs", b[:, j]), f"{pf}.outputs", 1)
        _shape(out, f"{pf}.outputs", (n,), "one per commodity")
        _check(out, f"{pf}.outputs", out >= 0, ">= 0")
        if not np.any(out > 0):
            raise EconomyFileError(f"{pf}.outputs: must produce something (all 0)")
        kk = _array(proj["capital"], f"{pf}.capital", 0)
        _check(kk, f"{pf}.capital", kk >= 0, ">= 0")
        v = _array(proj["savings_rate"], f"{pf}.savings_rate", 0)
        _check(v, f"{pf}.savings_rate", (v >= 0) & (v <= 1), "in [0, 1]")
        r = _array(proj["growth"], f"{pf}.growth", 0)
        _check(r, f"{pf}.growth", r > 0, "> 0")
        s = _array(proj.get("scale_elasticity", 0.0), f"{pf}.scale_elasticity", 0)
        for key, val in (("inputs", a), ("outputs", out), ("capital", kk), ("savings_rate", v), ("growth", r), ("scale_elasticity", s)):
            cols[key].append(val)
    spec: dict[str, Any] = {k: np.stack(v) for k, v in cols.items()}
    mix = entry.get("mixing_savings", {})
    if not isinstance(mix, dict) or set(mix) - {"inputs", "capital"}:
        raise EconomyFileError(f"{field}.mixing_savings: must be a table with optional keys inputs and capital")
    mi = _array(mix.get("inputs", [0.0] * n), f"{field}.mixing_savings.inputs", 1)
    _shape(mi, f"{field}.mixing_savings.inputs", (n,), "one per commodity")
    mk = _array(mix.get("capital", 0.0), f"{field}.mixing_savings.capital", 0)
    # along the frontier a coefficient is at least min_p(coefficient) − (1 − 1/P)·saving, so savings beyond
    # that would make inputs or capital negative (a "plan" with negative capital)
    widest = 1.0 - 1.0 / len(projects)
    _check(mi, f"{field}.mixing_savings.inputs", (mi >= 0) & (widest * mi <= spec["inputs"].min(axis=0)),
           ">= 0 and at most min over projects / (1 - 1/P), so no frontier input coefficient is negative")
    _check(mk, f"{field}.mixing_savings.capital", (mk >= 0) & (widest * mk <= spec["capital"].min()),
           ">= 0 and at most min over projects / (1 - 1/P), so no frontier capital coefficient is negative")
    spec["mixing_inputs"], spec["mixing_capital"] = mi, float(mk)
    if "reference_level" in entry:
        ref = _array(entry["reference_level"], f"{field}.reference_level", 0)
        _check(ref, f"{field}.reference_level", ref > 0, "> 0")
        spec["reference_level"] = float(ref)
    elif np.any(spec["scale_elasticity"] != 0):
        raise EconomyFileError(f"{field}.reference_level: required when a project has a scale_elasticity")
    start = entry.get("start", 1)
    if not isinstance(start, int) or isinstance(start, bool) or not 1 <= start <= len(projects):
        raise EconomyFileError(f"{field}.start: must be a project index from 1 to {len(projects)}")
    spec["start"] = np.eye(len(projects))[start - 1]
    return j, spec, tuple(names)


def rudra_from_dict(doc: dict) -> RudraFile:
    """Validate a parsed `kind = "rudra"` document (see the module docstring for the format)."""
    if doc.get("kind") == "production":
        raise EconomyFileError('kind: this is a "production" economy; use jplan optimum, solve or sensitivity')
    if doc.get("kind") == "rudra-full":
        raise EconomyFileError('kind: this is a "rudra-full" file (the full central calculation); use jplan rudra central')
    if doc.get("kind") != "rudra":
        raise EconomyFileError(f'kind: expected "rudra", got {doc.get("kind")!r}')
    extra = set(doc) - _TOP
    if extra:
        raise EconomyFileError(f"{sorted(extra)[0]}: unknown key")
    com, sec, fx = _table(doc, "commodities"), _table(doc, "sectors"), _table(doc, "foreign_exchange")
    cons = _table(doc, "constraints", required=False)
    d = _array(com["final_demand"], "commodities.final_demand", 1)
    n = d.shape[0]
    a = _array(sec["inputs"], "sectors.inputs", 2)
    if a.shape[0] != n:
        raise EconomyFileError(f"sectors.inputs: expected {n} rows (one per commodity, columns are sectors), got {a.shape[0]}")
    N = a.shape[1]
    if "outputs" in sec:
        b = _array(sec["outputs"], "sectors.outputs", 2)
        _shape(b, "sectors.outputs", (n, N), "commodities x sectors")
    elif n == N:
        b = np.eye(n)
    else:
        raise EconomyFileError(f"sectors.outputs: required when the number of commodities ({n}) differs from the number of sectors ({N})")
    k = _array(sec["capital"], "sectors.capital", 1)
    v = _array(sec["savings_rate"], "sectors.savings_rate", 1)
    r = _array(sec["growth"], "sectors.growth", 1)
    for arr, field in ((k, "sectors.capital"), (v, "sectors.savings_rate"), (r, "sectors.growth")):
        _shape(arr, field, (N,), "one per sector")
    p = _array(com.get("prices", [1.0] * n), "commodities.prices", 1)
    _shape(p, "commodities.prices", (n,), "one per commodity")
    imp = com.get("importable", [True] * n)
    if not isinstance(imp, list) or not all(isinstance(x, bool) for x in imp) or len(imp) != n:
        raise EconomyFileError(f"commodities.importable: must be a list of {n} booleans")
    F = _array(fx["available"], "foreign_exchange.available", 0)
    _check(d, "commodities.final_demand", d >= 0, ">= 0")
    _check(p, "commodities.prices", p > 0, "> 0")
    _check(a, "sectors.inputs", a >= 0, ">= 0")
    _check(b, "sectors.outputs", b >= 0, ">= 0")
    _check(k, "sectors.capital", k >= 0, ">= 0")
    _check(v, "sectors.savings_rate", (v >= 0) & (v <= 1), "in [0, 1]")
    _check(r, "sectors.growth", r > 0, "> 0")
    _check(F, "foreign_exchange.available", F >= 0, ">= 0")
    if np.any(b.sum(axis=0) <= 0):
        j = int(np.argmax(b.sum(axis=0) <= 0))
        raise EconomyFileError(f"sectors.outputs: column {j + 1} is all 0 (every sector must produce something)")
    commodities = _names(com, "commodities", n, "commodity")
    sectors = _names(sec, "sectors", N, "sector")
    economy = RudraEconomy(
        inputs=jnp.asarray(a),
        outputs=jnp.asarray(b),
        capital=jnp.asarray(k),
        savings_rate=jnp.asarray(v),
        growth=jnp.asarray(r),
        final_demand=jnp.asarray(d),
        foreign_exchange=jnp.asarray(F),
        prices=jnp.asarray(p),
        importable=jnp.asarray(np.array(imp, bool)),
        balance_equality=jnp.asarray(_choice(cons, "balances", "constraints.balances", ("equality", "at-least"))),
        imports_equality=jnp.asarray(_choice(cons, "imports", "constraints.imports", ("equality", "at-most"))),
    )
    techs = doc.get("technology")
    technologies, project_names = None, [()] * N
    if techs is not None:
        if not isinstance(techs, list):
            raise EconomyFileError("technology: must be an array of tables ([[technology]])")
        specs = {}
        for idx, entry in enumerate(techs):
            j, spec, names = _technology(entry, idx, n, sectors, b)
            if j in specs:
                raise EconomyFileError(f"technology[{idx + 1}].sector: sector {sectors[j]!r} has two technology tables")
            specs[j], project_names[j] = spec, names
        technologies = frontiers(economy, specs)
    path = None
    if "time" in doc:
        t = _table(doc, "time")
        q = _array(t["base_ratio"], "time.base_ratio", 1)
        _shape(q, "time.base_ratio", (N,), "one per sector")
        _check(q, "time.base_ratio", (q > 0) & (q < 1), "in (0, 1)")
        g = _array(t.get("demand_growth", 0.0), "time.demand_growth", 0)
        _check(g, "time.demand_growth", g >= 0, ">= 0")
        T = _array(t["reference_length"], "time.reference_length", 0)
        _check(T, "time.reference_length", T > 0, "> 0")
        path = GrowthPath(base_ratio=jnp.asarray(q), demand_growth=jnp.asarray(g), reference_length=jnp.asarray(T))
    return RudraFile(economy, technologies, path, commodities, sectors, tuple(project_names))


def loads_rudra(text: str) -> RudraFile:
    """Parse a Rudra economy from TOML text."""
    return rudra_from_dict(parse_toml(text))


def load_rudra(path: str | os.PathLike) -> RudraFile:
    """Read and validate a `kind = "rudra"` economy file.

    Raises:
        EconomyFileError: one line naming the file and the offending field.
    """
    doc = read_toml(path, "economy file")
    try:
        return rudra_from_dict(doc)
    except EconomyFileError as exc:
        raise EconomyFileError(f"{path}: {exc}") from None
