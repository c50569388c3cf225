"""Cockshott's multi-year plan: a dynamic Leontief economy planned over T years (the economy kind
`kind = "multiyear"`, and Cockshott's own four CSV files).

The model (Cockshott, *Documentation for the N-year plan solvers*, in `wc22m/5yearplan`, `plancode/`),
written here from its description; every quantity is per year t = 1..T:

- goods j = 1..n, each made by one industry with fixed coefficients per unit of output: current inputs
  a_ij (flows), capital stocks k_ij (stocks of good i the industry must hold), labour l_j;
- an industry's output is limited by each capital stock it holds, k_ij x_j(t) ≤ K_ij(t), and by the
  labour it is given; total labour Σ_j l_j x_j(t) ≤ L(t), the year's labour supply;
- stocks wear out at rates δ_ij and grow by accumulation: K_ij(t+1) ≤ (1 − δ_ij) K_ij(t) + A_ij(t), where
  A_ij(t) ≥ 0 is good i added to industry j's stock in year t; K_ij(1) ≤ K⁰_ij, the initial stocks;
- final consumption c_i(t) = x_i(t) − Σ_j a_ij x_j(t) − Σ_j A_ij(t) ≥ 0;
- the year's plan fulfilment u(t) ≤ c_i(t)/τ_i(t) for every good with a target τ_i(t) > 0;
- the plan maximises Σ_t u(t): the sum over years of each year's fulfilment of its *least* fulfilled target.

His files: `flows.csv` (goods × goods flows, then a `labour` row and an `output` row), `cap.csv` (the capital
stocks held at that output), `dep.csv` (depreciation rates), `labtarg.csv` (a row per year, `year1`, ...,
with each good's consumption target and the `labour` supply). Coefficients are flows and stocks divided
by the output row; the initial stocks are `cap.csv` as it stands (the stocks that produce the base output).
"""

from __future__ import annotations

import os
from typing import Any

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ..errors import EconomyFileError
from ._format import read_toml

__all__ = ["MultiYearEconomy", "read_cockshott", "multiyear_from_dict", "load_multiyear", "dumps_multiyear", "multiyear_divisions",
           "sample_multiyear", "multiyear_from_table"]


class MultiYearEconomy(eqx.Module):
    """A multi-year planning problem (the module docstring's model). Batch with a leading axis.

    Attributes:
        inputs: a [n, n], input of good i per unit of good j's output.
        capital: k [n, n], stock of good i industry j holds per unit of its output.
        depreciation: δ [n, n], the share of industry j's stock of good i worn out in a year.
        labour: l [n], labour per unit of output.
        initial_capital: K⁰ [n, n], the stocks at the start of year 1.
        labour_supply: L [T], labour available each year.
        targets: τ [T, n], each year's consumption target per good (0: no target).
        goods, years: names (static).
    """

    inputs: Float[Array, "n n"]
    capital: Float[Array, "n n"]
    depreciation: Float[Array, "n n"]
    labour: Float[Array, " n"]
    initial_capital: Float[Array, "n n"]
    labour_supply: Float[Array, " T"]
    targets: Float[Array, "T n"]
    goods: tuple[str, ...] = eqx.field(static=True, default=())
    years: tuple[str, ...] = eqx.field(static=True, default=())

    @property
    def n(self) -> int:
        return self.inputs.shape[-1]

    @property
    def T(self) -> int:
        return self.targets.shape[-2]


# --------------------------------------------------------------------------------------- Cockshott's CSVs

_FILES = ("flows.csv", "cap.csv", "dep.csv", "labtarg.csv")


def _read_csv(path: str) -> tuple[list[str], list[str], np.ndarray]:
    """(column headings after the first, row headings, numbers) of one of Cockshott's tables."""
    from .table import csv_number, csv_rows

    name = os.path.basename(path)
    rows = csv_rows(path)  # his files end in blank or space-only lines
    if not rows:
        raise EconomyFileError(f"{name}: empty")
    head = [c for c in rows[0]]
    while head and head[-1] == "":
        head.pop()
    if len(head) < 2:
        raise EconomyFileError(f"{name}: the first row must hold the column headings (a corner cell, then one per column)")
    cols = head[1:]
    names, data = [], []
    for k, r in enumerate(rows[1:], start=2):
        cells = r[1:]
        while len(cells) > len(cols) and cells[-1] == "":
            cells.pop()
        if len(cells) != len(cols):
            raise EconomyFileError(f"{name}: row {k} ({r[0]!r}) has {len(cells)} numbers, the headings {len(cols)}")
        values = [csv_number(cell, f"{name}: row {r[0]!r}, column {col!r}", empty_is_zero=False) for col, cell in zip(cols, cells)]
        names.append(r[0])
        data.append(values)
    return cols, names, np.asarray(data, dtype=float).reshape(len(names), len(cols))


def read_cockshott(folder: str) -> MultiYearEconomy:
    """Cockshott's four CSV files in `folder` (`flows.csv`, `cap.csv`, `dep.csv`, `labtarg.csv`), read as
    his planner reads them: the same column headings in every file, the goods' rows of `flows.csv`,
    `cap.csv` and `dep.csv` in the columns' order, `labour` and `output` rows in `flows.csv`, and in
    `labtarg.csv` one row per year (headed `year...`) with the goods' targets and a `labour` column.
    Raises `EconomyFileError` (one line naming the file, row and column) on anything else."""
    if not os.path.isdir(folder):
        raise EconomyFileError(f"{folder}: not a folder holding {', '.join(_FILES)}")
    missing = [f for f in _FILES if not os.path.isfile(os.path.join(folder, f))]
    if missing:
        raise EconomyFileError(f"{folder}: missing {', '.join(missing)} (Cockshott's format needs {', '.join(_FILES)})")
    tables = {f: _read_csv(os.path.join(folder, f)) for f in _FILES}
    goods, rows, flows = tables["flows.csv"]
    n = len(goods)
    if len(set(goods)) != n:
        raise EconomyFileError("flows.csv: repeated column heading")
    for label in ("labour", "output"):
        if label not in rows:
            raise EconomyFileError(f"flows.csv: no {label!r} row")
    if rows[:n] != goods:
        raise EconomyFileError(f"flows.csv: the first {n} rows must be the goods in the columns' order ({', '.join(goods)}), got "
                               f"{', '.join(rows[:n])}")
    output = flows[rows.index("output")]
    labour = flows[rows.index("labour")]
    for j, g in enumerate(goods):
        if not output[j] > 0:
            raise EconomyFileError(f"flows.csv: row 'output', column {g!r}: must be > 0 (got {output[j]:g})")
    if np.any(flows[:n] < 0) or np.any(labour < 0):
        i, j = np.argwhere(np.vstack([flows[:n], labour[None]]) < 0)[0]
        raise EconomyFileError(f"flows.csv: row {(rows[:n] + ['labour'])[i]!r}, column {goods[j]!r}: must be >= 0")
    mats = {}
    for f, what in (("cap.csv", "capital stocks"), ("dep.csv", "depreciation rates")):
        cols, names, data = tables[f]
        if cols != goods:
            raise EconomyFileError(f"{f}: column headings {', '.join(cols)} differ from flows.csv's {', '.join(goods)}")
        if names[:n] != goods:
            raise EconomyFileError(f"{f}: the first {n} rows must be the goods in the columns' order ({', '.join(goods)})")
        data = data[:n]
        bad = np.argwhere(~((data >= 0) & ((data <= 1) if f == "dep.csv" else True)))
        if bad.size:
            i, j = bad[0]
            rule = "in [0, 1]" if f == "dep.csv" else ">= 0"
            raise EconomyFileError(f"{f}: row {goods[i]!r}, column {goods[j]!r}: {what} must be {rule} (got {data[i, j]:g})")
        mats[f] = data
    cols, names, data = tables["labtarg.csv"]
    if cols[:n] != goods or cols[n:] != ["labour"]:
        raise EconomyFileError(f"labtarg.csv: columns must be {', '.join(goods)}, labour (got {', '.join(cols)})")
    years = [k for k, r in enumerate(names) if r.startswith("year")]
    if not years:
        raise EconomyFileError("labtarg.csv: no rows headed year1, year2, ...")
    targets, supply = data[years, :n], data[years, n]
    if np.any(targets < 0):
        k, j = np.argwhere(targets < 0)[0]
        raise EconomyFileError(f"labtarg.csv: row {names[years[k]]!r}, column {goods[j]!r}: targets must be >= 0")
    if np.any(supply < 0):
        raise EconomyFileError(f"labtarg.csv: row {names[years[int(np.argmax(supply < 0))]]!r}, column 'labour': must be >= 0")
    if not np.any(targets > 0):
        raise EconomyFileError("labtarg.csv: every target is 0 (nothing to plan for)")
    return MultiYearEconomy(
        inputs=jnp.asarray(flows[:n] / output), capital=jnp.asarray(mats["cap.csv"] / output),
        depreciation=jnp.asarray(mats["dep.csv"]), labour=jnp.asarray(labour / output),
        initial_capital=jnp.asarray(mats["cap.csv"]), labour_supply=jnp.asarray(supply), targets=jnp.asarray(targets),
        goods=tuple(goods), years=tuple(names[k] for k in years))


# -------------------------------------------------------------------------------------------------- TOML


def _matrix(doc: dict, key: str, shape: tuple[int, ...], rule, rule_text: str) -> np.ndarray:
    if key not in doc:
        raise EconomyFileError(f"{key}: required")
    try:
        arr = np.asarray(doc[key], dtype=float)
    except (TypeError, ValueError):
        raise EconomyFileError(f"{key}: must be numbers of shape {list(shape)}") from None
    if arr.shape != shape:
        raise EconomyFileError(f"{key}: expected shape {list(shape)}, got {list(arr.shape)}")
    if not np.all(np.isfinite(arr)):
        raise EconomyFileError(f"{key}: must be finite numbers")
    if not np.all(rule(arr)):
        raise EconomyFileError(f"{key}: every entry must be {rule_text}")
    return arr


def multiyear_from_dict(doc: dict[str, Any]) -> MultiYearEconomy:
    """A `kind = "multiyear"` document (see `dumps_multiyear` for the layout)."""
    known = {"kind", "goods", "inputs", "capital", "depreciation", "labour", "initial_capital", "plan"}
    unknown = sorted(set(doc) - known)
    if unknown:
        raise EconomyFileError(f"{unknown[0]}: unknown key (expected {', '.join(sorted(known - {'kind'}))})")
    goods = doc.get("goods")
    if not isinstance(goods, list) or not goods or not all(isinstance(g, str) and g for g in goods):
        raise EconomyFileError("goods: must be a list of names")
    n = len(goods)
    plan = doc.get("plan")
    if not isinstance(plan, dict):
        raise EconomyFileError("plan: required table (years, labour_supply, targets)")
    bad = sorted(set(plan) - {"years", "labour_supply", "targets"})
    if bad:
        raise EconomyFileError(f"plan.{bad[0]}: unknown key")
    years = plan.get("years")
    if not isinstance(years, list) or not years or not all(isinstance(y, str) for y in years):
        raise EconomyFileError("plan.years: must be a list of year names")
    T = len(years)
    nonneg = lambda a: a >= 0  # noqa: E731
    a = _matrix(doc, "inputs", (n, n), nonneg, ">= 0")
    k = _matrix(doc, "capital", (n, n), nonneg, ">= 0")
    d = _matrix(doc, "depreciation", (n, n), lambda x: (x >= 0) & (x <= 1), "in [0, 1]")
    l = _matrix(doc, "labour", (n,), nonneg, ">= 0")
    K0 = _matrix(doc, "initial_capital", (n, n), nonneg, ">= 0")
    L = _matrix(plan, "labour_supply", (T,), nonneg, ">= 0")
    tau = _matrix(plan, "targets", (T, n), nonneg, ">= 0")
    if not np.any(tau > 0):
        raise EconomyFileError("plan.targets: every target is 0 (nothing to plan for)")
    return MultiYearEconomy(inputs=jnp.asarray(a), capital=jnp.asarray(k), depreciation=jnp.asarray(d),
                            labour=jnp.asarray(l), initial_capital=jnp.asarray(K0), labour_supply=jnp.asarray(L),
                            targets=jnp.asarray(tau), goods=tuple(goods), years=tuple(years))


def load_multiyear(path: str) -> MultiYearEconomy:
    """A multi-year plan from a folder of Cockshott's CSV files or a `kind = "multiyear"` TOML file."""
    if os.path.isdir(path):
        return read_cockshott(path)
    doc = read_toml(path, "multi-year plan file")  # one-line errors: missing, unreadable, too large, bad TOML
    if doc.get("kind") != "multiyear":
        raise EconomyFileError(f"{path}: kind must be \"multiyear\" (or give a folder of Cockshott's CSV files)")
    return multiyear_from_dict(doc)


def _toml_array(a) -> str:
    a = np.asarray(a, dtype=float)
    if a.ndim == 1:
        return "[" + ", ".join(repr(float(x)) for x in a) + "]"
    return "[\n" + "".join(f"  {_toml_array(r)},\n" for r in a) + "]"


def dumps_multiyear(e: MultiYearEconomy) -> str:
    """The `kind = "multiyear"` TOML text of an economy (round-trips exactly through `multiyear_from_dict`)."""
    goods = e.goods or tuple(f"good{j + 1}" for j in range(e.n))
    years = e.years or tuple(f"year{t + 1}" for t in range(e.T))
    q = lambda names: "[" + ", ".join(f'"{x}"' for x in names) + "]"  # noqa: E731
    return "\n".join([
        'kind = "multiyear"',
        f"goods = {q(goods)}",
        "# per unit of each column good's output: current inputs, capital stocks held, labour",
        f"inputs = {_toml_array(e.inputs)}",
        f"capital = {_toml_array(e.capital)}",
        "# yearly wear of each stock (rows: the good held; columns: the industry holding it)",
        f"depreciation = {_toml_array(e.depreciation)}",
        f"labour = {_toml_array(e.labour)}",
        f"initial_capital = {_toml_array(e.initial_capital)}",
        "",
        "[plan]",
        f"years = {q(years)}",
        f"labour_supply = {_toml_array(e.labour_supply)}",
        "# consumption targets, one row per year (0: no target)",
        f"targets = {_toml_array(e.targets)}",
        "",
    ])


def sample_multiyear(key, n: int = 4, T: int = 5) -> MultiYearEconomy:
    """A random productive multi-year economy (jit/vmap over keys): input columns summing to 0.2–0.5,
    capital 0.5–2 units of value per unit of output spread over goods, depreciation 5–30%, initial stocks
    that support a base output of 1 per good (spare capacity 0–50%), labour 0.2–1 per unit, labour supply
    growing 0–3% a year from what the base output needs, and targets a random mix of final goods growing
    0–5% a year."""
    import jax

    ks = iter(jax.random.split(key, 16))
    U = lambda lo, hi, shape: jax.random.uniform(next(ks), shape, minval=lo, maxval=hi)  # noqa: E731
    w = U(0.0, 1.0, (n, n)) * (U(0.0, 1.0, (n, n)) < 0.6)
    a = w / jnp.maximum(jnp.sum(w, axis=0), 1e-12) * U(0.2, 0.5, (1, n))
    c = U(0.0, 1.0, (n, n)) * (U(0.0, 1.0, (n, n)) < 0.5) + jnp.eye(n) * 0.1
    k = c / jnp.sum(c, axis=0) * U(0.5, 2.0, (1, n))
    dep = U(0.05, 0.3, (n, n)) * (k > 0)
    labour = U(0.2, 1.0, (n,))
    K0 = k * U(1.0, 1.5, (1, n))
    base = jnp.sum(labour)
    growth = jnp.cumprod(jnp.full((T,), 1.0) + U(0.0, 0.03, (T,)))
    net = 1.0 - jnp.sum(a, axis=1) - jnp.sum(k * dep, axis=1)  # what a base output of 1 leaves for consumption
    mix = U(0.2, 1.0, (n,)) * (U(0.0, 1.0, (n,)) < 0.8).at[0].set(True)
    targets = jnp.maximum(net, 0.05)[None, :] * mix[None, :] * jnp.cumprod(1.0 + U(0.0, 0.05, (T, 1)), axis=0)
    return MultiYearEconomy(inputs=a, capital=k, depreciation=dep, labour=labour, initial_capital=K0,
                            labour_supply=base * growth, targets=targets)


def multiyear_divisions(e: MultiYearEconomy):
    """The plan as a block-angular economy (`DivisionsEconomy`), one division per year, so that the
    decomposition procedures can plan it: year t's activities are [x(t) (n), K(t) (n²), A(t) (n²), u(t)],
    its private rows its capacity, labour and consumption rows (and, in year 1, the initial stocks), its
    objective u(t); the shared rows are the capital links K(t+1) − (1 − δ) K(t) − A(t) ≤ 0, in which year
    t *supplies* (negative entries) what year t + 1 uses. Its optimum is `solve_multiyear`'s.
    (Kornai–Lipták's quota procedures refuse it: a division supplying a shared resource is outside their
    domain.)"""
    from .divisions import DivisionsEconomy

    n, T = e.n, e.T
    nn = n * n
    a = n + 2 * nn + 1
    dtype = jnp.result_type(e.inputs, float)
    eye_n, eye_nn = jnp.eye(n, dtype=dtype), jnp.eye(nn, dtype=dtype)
    zeros = lambda r, c: jnp.zeros((r, c), dtype)  # noqa: E731
    cap = jnp.concatenate([(e.capital[:, :, None] * eye_n[None]).reshape(nn, n), -eye_nn, zeros(nn, nn + 1)], axis=1)
    lab = jnp.concatenate([e.labour[None, :], zeros(1, 2 * nn + 1)], axis=1)
    acc = jnp.broadcast_to(eye_n[:, :, None], (n, n, n)).reshape(n, nn)
    initial = jnp.concatenate([zeros(nn, n), eye_nn, zeros(nn, nn + 1)], axis=1)
    constraints, limits = [], []
    for t in range(T):
        cons = jnp.concatenate([e.inputs - eye_n, zeros(n, nn), acc, e.targets[t][:, None]], axis=1)
        first = initial if t == 0 else zeros(nn, a)
        constraints.append(jnp.concatenate([cap, lab, cons, first], axis=0))
        limits.append(jnp.concatenate([jnp.zeros(nn, dtype), e.labour_supply[t][None], jnp.zeros(n, dtype),
                                       e.initial_capital.reshape(nn) if t == 0 else jnp.zeros(nn, dtype)]))
    m0 = max(T - 1, 1) * nn
    shared = jnp.zeros((T, m0, a), dtype)
    for t in range(1, T):
        rows = slice((t - 1) * nn, t * nn)
        shared = shared.at[t, rows, n : n + nn].set(eye_nn)
        shared = shared.at[t - 1, rows, n : n + nn].set(-jnp.diag(1.0 - e.depreciation.reshape(nn)))
        shared = shared.at[t - 1, rows, n + nn : n + 2 * nn].set(-eye_nn)
    objective = jnp.zeros((T, a), dtype).at[:, -1].set(1.0)
    return DivisionsEconomy(resources=jnp.zeros(m0, dtype), objective=objective, shared_use=shared,
                            constraints=jnp.stack(constraints), limits=jnp.stack(limits),
                            activity_mask=jnp.ones((T, a), bool))


def multiyear_from_table(table, years: int = 5, growth_rate: float = 0.02, capital_return: float = 0.10,
                         depreciation: float = 0.06, spare_capacity: float = 0.0):
    """Cockshott's multi-year plan (`kind = "multiyear"`) built from an input–output table. The flows and
    labour are the table's; capital, depreciation and the growth of labour and targets are imputed, each
    by a stated rule (an IO table records none of them):

    - inputs a = Z diag(x)⁻¹ (domestic flows; imports are outside the plan, which is closed);
    - labour per unit of output l_j = labour row_j / x_j (labour measured by its base-year wage bill);
    - capital: industry j holds k_j = (non-labour, non-import value added)_j / (x_j · `capital_return`) of
      capital value per unit of output (the surplus capitalised, `jplan.economies.table.capital_per_output`), made of the goods
      in the proportions of the table's investment column(s) (goods nobody invests in are no capital);
    - depreciation: one rate for every stock (`depreciation`);
    - initial stocks K⁰ = k x (1 + `spare_capacity`): the stocks that produce the base year's output;
    - labour supply L(t) = total labour · (1 + g)^t and targets τ_i(t) = (final demand other than
      investment)_i · (1 + g)^t (negative entries set to 0: no target), g = `growth_rate`, t = 1..`years`.

    Returns (MultiYearEconomy, report of the imputations)."""
    from .table import capital_per_output, investment_split

    if not (isinstance(years, int) and 1 <= years <= 50):
        raise EconomyFileError(f"years must be an integer in [1, 50], got {years!r}")
    for value, name, lo, hi in ((growth_rate, "the growth rate", -0.5, 1.0), (capital_return, "the capital return", 0.0, 1.0),
                                (depreciation, "the depreciation rate", 0.0, 1.0), (spare_capacity, "the spare capacity", -1.0, 10.0)):
        if not (isinstance(value, (int, float)) and lo < value <= hi):
            raise EconomyFileError(f"{name} must lie in ({lo:g}, {hi:g}], got {value!r}")
    if table.labour_row is None:
        raise EconomyFileError("the table has no labour row (labour, compensation, ...)")
    x = table.output
    k_value = capital_per_output(table, capital_return)
    investment, other_demand = investment_split(table)
    if investment is None:
        raise EconomyFileError("the table has no investment column (a final-demand label naming investment or capital "
                               "formation): it cannot say which goods are capital")
    mix = np.maximum(investment, 0.0)
    if mix.sum() <= 0:
        raise EconomyFileError("the table's investment columns hold no positive entry: no good is capital")
    capital = (mix / mix.sum())[:, None] * k_value[None, :]
    base_targets = np.maximum(other_demand, 0.0)
    growth = (1.0 + growth_rate) ** np.arange(1, years + 1)
    economy = MultiYearEconomy(
        inputs=jnp.asarray(table.coefficients), capital=jnp.asarray(capital),
        depreciation=jnp.asarray(np.where(capital > 0, float(depreciation), 0.0)),
        labour=jnp.asarray(table.labour_coefficients), initial_capital=jnp.asarray(capital * x[None, :] * (1.0 + spare_capacity)),
        labour_supply=jnp.asarray(table.labour.sum() * growth), targets=jnp.asarray(growth[:, None] * base_targets[None, :]),
        goods=tuple(table.sectors), years=tuple(f"year{t}" for t in range(1, years + 1)))
    report = {"capital_per_output": k_value.tolist(), "capital_goods": [s for s, m in zip(table.sectors, mix) if m > 0],
              "targets_set_to_zero": int(np.sum(base_targets <= 0))}
    return economy, report
