"""Input–output tables as data: a labelled CSV format, a reader with one-line errors, a DataFrame adapter and
the table's Leontief summary (spectral radius, multipliers, labour values).

**The format** (`read_table`): one CSV, its first row the column labels (the first cell is a corner label,
ignored), every other row a label and numbers.

- Lines starting with `#` are comments.
- *Sectors* are the labels that head both a row and a column; the square block where their rows and columns
  meet is the inter-industry flow matrix Z (row i: sector i's output used by column sector j), in the
  columns' order (the rows may come in any order).
- Other columns are *final demand* (households, government, investment, exports, ...), other rows are
  *value added and imports* (labour compensation, operating surplus, taxes, imports, ...).
- A row or a column labelled `output` (or `total`), if present, is gross output x; otherwise x is the
  column sum of inputs and value added. Either way the table must balance: row sums (intermediate use plus
  final demand) equal column sums (inputs plus value added) equal x, to `balance_tolerance` (relative), unless
  the table has no final-demand columns (a physical table such as Cockshott's `flows.csv`, whose corner label
  `headings` is accepted too).

Labour is the value-added row named by `labour_row` (default: the first of `labour`, `compensation`,
`compensation of employees`, `wages`, case-insensitive).
"""

from __future__ import annotations

import csv
import math
import os
from typing import Any

import numpy as np

from ..errors import EconomyFileError

__all__ = ["IOTable", "read_table", "table_from_frame", "table_from_pymrio", "table_summary", "calibrate_table", "perturb_calibrated",
           "table_path", "BUILTIN_TABLES", "TECHNOLOGIES", "WELFARES", "rudra_from_table", "capital_per_output"]

_OUTPUT = ("output", "total", "total output", "gross output")
_LABOUR = ("labour", "labor", "compensation", "compensation of employees", "wages")


class IOTable:
    """An input–output table (numpy arrays; `jplan.economies` builds JAX economies from it).

    Attributes:
        sectors: the n sector labels.
        flows: Z [n, n], inter-industry flows (row: supplying sector, column: using sector).
        final_demand: F [n, f] and `final_labels` (f ≥ 0).
        value_added: V [k, n] and `value_added_labels` (k ≥ 0; imports included if given as a row).
        output: x [n], gross output.
        labour: the labour row of V [n] (None if the table names none).
    """

    def __init__(self, sectors, flows, final_demand, final_labels, value_added, value_added_labels, output, labour_row=None):
        self.sectors = tuple(sectors)
        self.flows = np.asarray(flows, float)
        self.final_demand = np.asarray(final_demand, float).reshape(len(self.sectors), -1)
        self.final_labels = tuple(final_labels)
        self.value_added = np.asarray(value_added, float).reshape(-1, len(self.sectors))
        self.value_added_labels = tuple(value_added_labels)
        self.output = np.asarray(output, float)
        self.labour_row = labour_row
        self.labour = None if labour_row is None else self.value_added[self.value_added_labels.index(labour_row)]

    @property
    def n(self) -> int:
        return len(self.sectors)

    @property
    def coefficients(self) -> np.ndarray:
        """A = Z diag(x)⁻¹: input of sector i per unit of sector j's output."""
        return self.flows / self.output[None, :]

    @property
    def labour_coefficients(self) -> np.ndarray | None:
        """l = labour / x per unit of output (None without a labour row)."""
        return None if self.labour is None else self.labour / self.output


def csv_rows(path: str) -> list[list[str]]:
    """The non-blank rows of a CSV text file, cells stripped (a byte-order mark ignored); one-line
    `EconomyFileError` if it cannot be read. Shared by the table and the multi-year readers."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = [[c.strip() for c in r] for r in csv.reader(fh)]
    except OSError as err:
        raise EconomyFileError(f"{path}: cannot be read ({err.strerror or err})") from None
    except (UnicodeDecodeError, csv.Error) as err:
        raise EconomyFileError(f"{path}: not a CSV text file ({err})") from None
    return [r for r in rows if any(r)]


def csv_number(cell: str, where: str, empty_is_zero: bool = True) -> float:
    """A CSV cell as a finite number (`where` names it in the one-line error); an empty cell is 0 (a zero
    flow in a published table) unless `empty_is_zero` is false."""
    text = cell.strip()
    if text == "" and empty_is_zero:
        return 0.0
    try:
        v = float(text)
    except ValueError:
        raise EconomyFileError(f"{where}: {cell!r} is not a number") from None
    if not math.isfinite(v):
        raise EconomyFileError(f"{where}: {cell!r} is not a finite number")
    return v


def _pick(labels, wanted):
    low = [s.lower() for s in labels]
    for w in wanted:
        if w in low:
            return labels[low.index(w)]
    return None


def _assemble(name: str, cols: list[str], rows: list[str], data: np.ndarray, labour_row: str | None,
              balance_tolerance: float) -> IOTable:
    if len(set(cols)) != len(cols):
        dup = next(c for c in cols if cols.count(c) > 1)
        raise EconomyFileError(f"{name}: column {dup!r} appears twice")
    if len(set(rows)) != len(rows):
        dup = next(r for r in rows if rows.count(r) > 1)
        raise EconomyFileError(f"{name}: row {dup!r} appears twice")
    out_col, out_row = _pick(cols, _OUTPUT), _pick(rows, _OUTPUT)
    sectors = [c for c in cols if c in rows and c not in (out_col, out_row)]
    if not sectors:
        raise EconomyFileError(f"{name}: no sector (a label heading both a row and a column)")
    ci = {c: k for k, c in enumerate(cols)}
    ri = {r: k for k, r in enumerate(rows)}
    sc, sr = [ci[s] for s in sectors], [ri[s] for s in sectors]
    final_labels = [c for c in cols if c not in sectors and c != out_col]
    va_labels = [r for r in rows if r not in sectors and r != out_row]
    Z = data[np.ix_(sr, sc)]
    F = data[np.ix_(sr, [ci[c] for c in final_labels])]
    V = data[np.ix_([ri[r] for r in va_labels], sc)]
    if np.any(Z < 0):
        i, j = np.argwhere(Z < 0)[0]
        raise EconomyFileError(f"{name}: row {sectors[i]!r}, column {sectors[j]!r}: an inter-industry flow must be >= 0 (got {Z[i, j]:g})")
    column_total = Z.sum(axis=0) + V.sum(axis=0)
    if out_row is not None:
        x = data[ri[out_row], sc]
    elif out_col is not None:
        x = data[sr, ci[out_col]]
    else:
        x = column_total
    for j, s in enumerate(sectors):
        if not x[j] > 0:
            raise EconomyFileError(f"{name}: sector {s!r}: gross output must be > 0 (got {x[j]:g})")
    if final_labels or out_row is None:
        row_total = Z.sum(axis=1) + F.sum(axis=1)
        for label, total in (("row", row_total), ("column", column_total)):
            if label == "column" and not va_labels:
                continue
            if label == "row" and not final_labels:
                continue
            gap = np.abs(total - x) / x
            if np.max(gap) > balance_tolerance:
                j = int(np.argmax(gap))
                what = "intermediate use + final demand" if label == "row" else "inputs + value added"
                raise EconomyFileError(f"{name}: sector {sectors[j]!r}: {what} = {total[j]:.6g} but gross output is {x[j]:.6g} "
                                       f"(relative gap {gap[j]:.2g} > {balance_tolerance:g}): the table does not balance")
    if labour_row is None:
        labour_row = _pick(va_labels, _LABOUR)
    elif labour_row not in va_labels:
        raise EconomyFileError(f"{name}: no value-added row {labour_row!r} (rows beyond the sectors: {', '.join(va_labels) or 'none'})")
    return IOTable(sectors, Z, F, final_labels, V, va_labels, x, labour_row)


def read_table(path: str, labour_row: str | None = None, balance_tolerance: float = 1e-6) -> IOTable:
    """Read an input–output table in the module's CSV format (or a shipped table by name: `BUILTIN_TABLES`);
    one-line `EconomyFileError` on a bad file."""
    path = table_path(path)
    name = os.path.basename(path)
    rows = [r for r in csv_rows(path) if not r[0].startswith("#")]  # `#` lines are comments
    if len(rows) < 2:
        raise EconomyFileError(f"{name}: needs a row of column labels and at least one row of numbers")
    head = rows[0]
    while head and head[-1] == "":
        head = head[:-1]
    cols = head[1:]
    if not cols or any(c == "" for c in cols):
        raise EconomyFileError(f"{name}: every column needs a label in the first row")
    labels, data = [], []
    for k, r in enumerate(rows[1:], start=2):
        if not r[0]:
            raise EconomyFileError(f"{name}: row {k} has no label")
        cells = r[1:]
        while len(cells) > len(cols) and cells[-1] == "":
            cells = cells[:-1]
        if len(cells) > len(cols):
            raise EconomyFileError(f"{name}: row {r[0]!r} has {len(cells)} cells, the labels {len(cols)}")
        cells = cells + [""] * (len(cols) - len(cells))
        labels.append(r[0])
        data.append([csv_number(cell, f"{name}: row {r[0]!r}, column {col!r}") for col, cell in zip(cols, cells)])
    return _assemble(name, cols, labels, np.asarray(data, float), labour_row, balance_tolerance)


def table_from_frame(frame: Any, labour_row: str | None = None, balance_tolerance: float = 1e-6) -> IOTable:
    """An `IOTable` from a pandas DataFrame laid out as the CSV format (index: row labels, columns: column
    labels) — e.g. `pd.read_excel(...)` of a published table, or pymrio's `Z` joined with `Y` and `F`."""
    cols = [str(c) for c in frame.columns]
    rows = [str(r) for r in frame.index]
    try:
        data = np.asarray(frame.to_numpy(dtype=float, na_value=0.0))
    except (TypeError, ValueError) as err:
        raise EconomyFileError(f"DataFrame: every cell must be a number ({err})") from None
    if not np.all(np.isfinite(data)):
        i, j = np.argwhere(~np.isfinite(data))[0]
        raise EconomyFileError(f"DataFrame: row {rows[i]!r}, column {cols[j]!r}: not a finite number")
    return _assemble("DataFrame", cols, rows, data, labour_row, balance_tolerance)


def table_from_pymrio(io: Any, region: str | None = None, value_added: str = "factor_inputs", labour_row: str | None = None,
                      close_columns: bool = True, balance_tolerance: float = 1e-6) -> IOTable:
    """An `IOTable` from a pymrio `IOSystem` (the `pymrio` extra: `pip install "jplan[pymrio]"`), e.g.
    `pymrio.load_test()` or a parsed EXIOBASE/WIOD/Eora system.

    - `region=None`: the whole multi-regional system as one table, sectors labelled `region/sector`
      (flows between regions are inter-industry flows), final demand by `region/category`;
    - `region="reg1"`: that region alone as an open economy: its domestic flows, its final demand, an
      `exports` column (its output used by other regions' industries and final demand) and an `imports` row
      (other regions' output its industries use; imports for final demand fall outside a single-region
      table's sector rows, as in national tables).

    Value-added rows come from the extension named `value_added` (pymrio's `factor_inputs`; its rows, for
    the region's sectors). Labour is `labour_row` (default: a row named like labour or compensation; the
    pymrio test system has only `Value Added`, so pass `labour_row="Value Added"` to treat value added as
    the single primary factor). Gross output is the row total (intermediate use + final demand); where a
    sector's inputs + recorded value added fall short of it (pymrio's test system records value added for
    part of output only), `close_columns` adds the gap as a row `value added (residual)` (a negative gap
    is an error naming the sector; `close_columns=False` leaves the table unbalanced, refused by the
    balance check). The table is then checked as `read_table` checks a CSV (balance, signs), the errors
    naming the row and column."""
    import pandas as pd

    for attr in ("Z", "Y"):
        if getattr(io, attr, None) is None:
            raise EconomyFileError(f"pymrio system: no {attr} (load or calc_all() the system first)")
    ext = getattr(io, value_added, None)
    if ext is None or getattr(ext, "F", None) is None:
        raise EconomyFileError(f"pymrio system: no extension {value_added!r} with an F account (value added); "
                               f"extensions: {', '.join(io.get_extensions()) or 'none'}")
    Z, Y, F = io.Z, io.Y, ext.F
    label = lambda pair: "/".join(str(p) for p in pair)  # noqa: E731
    if region is None:
        rows = [label(i) for i in Z.index]
        frame = pd.DataFrame(np.asarray(Z, float), index=rows, columns=rows)
        for col in Y.columns:
            frame[label(col)] = np.asarray(Y[col], float)
        va = pd.DataFrame(np.asarray(F, float), index=[str(r) for r in F.index], columns=rows)
    else:
        regions = list(dict.fromkeys(Z.index.get_level_values(0)))
        if region not in regions:
            raise EconomyFileError(f"pymrio system: no region {region!r} (regions: {', '.join(map(str, regions))})")
        own = Z.index.get_level_values(0) == region
        own_y = Y.columns.get_level_values(0) == region
        sectors = [str(s) for s in Z.index[own].get_level_values(1)]
        Zv, Yv = np.asarray(Z, float), np.asarray(Y, float)
        frame = pd.DataFrame(Zv[np.ix_(own, own)], index=sectors, columns=sectors)
        for k, col in enumerate(Y.columns[own_y].get_level_values(1)):
            frame[str(col)] = Yv[np.ix_(own, own_y)][:, k]
        frame["exports to other regions"] = Zv[np.ix_(own, ~own)].sum(axis=1) + Yv[np.ix_(own, ~own_y)].sum(axis=1)
        va = pd.DataFrame(np.asarray(F, float)[:, own], index=[str(r) for r in F.index], columns=sectors)
        va.loc["imports"] = Zv[np.ix_(~own, own)].sum(axis=0)
    va = va.reindex(columns=frame.columns, fill_value=0.0)
    output = frame.sum(axis=1)  # x from the rows: intermediate use + final demand (+ exports)
    sector_cols = list(frame.index)
    recorded = frame.loc[:, sector_cols].sum(axis=0) + va.loc[:, sector_cols].sum(axis=0)
    residual = output - recorded  # per sector
    if close_columns and np.max(np.abs(residual.to_numpy()) / np.maximum(output.to_numpy(), 1e-300)) > balance_tolerance:
        worst = residual.idxmin()
        if residual[worst] < -balance_tolerance * output[worst]:
            raise EconomyFileError(f"pymrio system: sector {worst!r}: inputs + value added = {recorded[worst]:.6g} exceed its output "
                                   f"{output[worst]:.6g}; the residual value added would be negative")
        va.loc["value added (residual)"] = residual.reindex(frame.columns, fill_value=0.0)
    table = pd.concat([frame, va])
    table["output"] = list(output) + [0.0] * len(va)
    return table_from_frame(table, labour_row=labour_row, balance_tolerance=balance_tolerance)


def table_summary(table: IOTable) -> dict:
    """A's spectral radius, the Leontief inverse's output multipliers (column sums of (I − A)⁻¹), and the
    labour values v solving v = vA + l (with their residual) where the table has a labour row."""
    A = table.coefficients
    n = table.n
    eig = np.linalg.eigvals(A)
    rho = float(np.max(np.abs(eig)))
    I_A = np.eye(n) - A
    out: dict[str, Any] = {"sectors": list(table.sectors), "n": n, "output": table.output.tolist(),
                           "final_demand_columns": list(table.final_labels),
                           "value_added_rows": list(table.value_added_labels),
                           "spectral_radius": rho, "productive": rho < 1.0}
    if rho < 1.0:
        L = np.linalg.solve(I_A, np.eye(n))
        out["output_multipliers"] = L.sum(axis=0).tolist()
        out["leontief_residual"] = float(np.max(np.abs(I_A @ L - np.eye(n))))
    else:
        out["output_multipliers"] = None
        out["leontief_residual"] = None
    l = table.labour_coefficients
    out["labour_row"] = table.labour_row
    if l is not None and rho < 1.0:
        v = np.linalg.solve(I_A.T, l)
        out["labour_values"] = v.tolist()
        out["labour_value_residual"] = float(np.max(np.abs(I_A.T @ v - l)) / max(np.max(np.abs(l)), 1e-300))
    else:
        out["labour_values"] = None
        out["labour_value_residual"] = None
    return out


#: The technology and welfare families `calibrate_table` builds.
TECHNOLOGIES = ("cobb-douglas", "ces", "leontief")
WELFARES = ("log", "ces", "stone-geary")

#: Tables shipped with jplan (package data `jplan.examples`), by name: usable wherever a table path is.
BUILTIN_TABLES = {"us-bea-2021-15": "us_bea_2021_15.csv"}


def table_path(name_or_path: str) -> str:
    """The file of a table: a shipped table's name (`BUILTIN_TABLES`) or a path, returned as it is."""
    if name_or_path in BUILTIN_TABLES:
        from importlib.resources import files

        return str(files("jplan.examples") / BUILTIN_TABLES[name_or_path])
    return name_or_path


def calibrate_table(table: IOTable, single_factor: bool = False, technology: str = "cobb-douglas",
                    elasticity: float | None = None, welfare: str = "log", welfare_elasticity: float | None = None,
                    subsistence: float = 0.5, returns_to_scale: float = 1.0):
    """A production economy whose optimum replicates the table (the benchmark replication of CGE practice:
    MPSGE/GAMS check it the same way), and its labels.

    At base-year prices of 1 every column of the table is a firm's cost split: cost shares s_ik of firm i
    over goods (Z_ki/x_i) and primary resources (V_ri/x_i: the value-added and import rows), constant
    returns (a balanced column's shares sum to 1). The technology reproduces those shares at prices 1 and
    a unit cost of 1:

    - ``"cobb-douglas"``: shares a = s, tfp A_i = Π_k s_k^(−s_k);
    - ``"ces"`` (elasticity σ > 0, ≠ 1): the CES cost share at prices 1 is a_k^σ/Σ a^σ, so a_k ∝ s_k^(1/σ)
      (normalised to sum 1) and A_i = κ_i(1) = (Σ_k a_k^σ)^(1/(1−σ)). Small σ approaches fixed coefficients
      (Leontief; σ ≥ 0.05 is safe in float64).

    Endowments are the value-added row totals. Every final-demand column counts as consumption (a closure
    choice, stated: investment, exports and the balancing columns are planned as final use), F_i their
    row sum; the welfare reproduces F as the demand at prices 1 and income ΣF (= Σ value added):

    - ``"log"``: weights F_i/ΣF;
    - ``"ces"`` (elasticity η > 0, ≠ 1): demand ∝ w^η at prices 1, so w ∝ F^(1/η);
    - ``"stone-geary"``: subsistence γ_i = `subsistence`·F_i (a share in [0, 1)), weights ∝ F_i − γ_i.

    With these, prices of 1 support the table's flows as a competitive equilibrium, so the planner's optimum
    is the table: consumption = final demand, outputs = gross output (`tests/test_table.py` checks every
    family to 1e-10). `single_factor` merges the value-added rows into one resource (the domain of
    Malinvaud's procedure: constant returns and one primary factor). `returns_to_scale` below 1 lowers every
    firm's returns (tfp kept) to enter the price-guided procedures' domain (Arrow–Hurwicz needs decreasing
    returns): the table's accounts have none (no pure profit), so that economy no longer replicates it.

    Returns (ProductionEconomy, Labels)."""
    from .io import Labels, from_arrays

    if technology not in TECHNOLOGIES:
        raise EconomyFileError(f"technology must be one of {', '.join(TECHNOLOGIES)}, got {technology!r}")
    if welfare not in WELFARES:
        raise EconomyFileError(f"welfare must be one of {', '.join(WELFARES)}, got {welfare!r}")
    if technology == "leontief" and not single_factor:
        raise EconomyFileError("a Leontief (fixed-coefficients) economy needs --single-factor: the only procedure that plans it, "
                               "Malinvaud's, has one primary factor as its domain (and jplan's Leontief optimum assumes one)")
    if technology == "leontief" and returns_to_scale != 1:
        raise EconomyFileError(f"a Leontief technology has constant returns (returns to scale 1), got {returns_to_scale!r}")
    if technology == "ces" and not (isinstance(elasticity, (int, float)) and 0.05 <= elasticity <= 20 and elasticity != 1):
        raise EconomyFileError(f"a CES technology needs an elasticity in [0.05, 20] other than 1, got {elasticity!r}")
    if welfare == "ces" and not (isinstance(welfare_elasticity, (int, float)) and 0.05 <= welfare_elasticity <= 20
                                 and welfare_elasticity != 1):
        raise EconomyFileError(f"CES welfare needs an elasticity in [0.05, 20] other than 1, got {welfare_elasticity!r}")
    if not (isinstance(returns_to_scale, (int, float)) and 0 < returns_to_scale <= 1):
        raise EconomyFileError(f"returns to scale must lie in (0, 1] for a calibrated economy, got {returns_to_scale!r}")
    if welfare == "stone-geary" and not (isinstance(subsistence, (int, float)) and 0 <= subsistence < 1):
        raise EconomyFileError(f"the subsistence share must lie in [0, 1), got {subsistence!r}")
    if not table.final_labels:
        raise EconomyFileError("the table has no final-demand columns: nothing to calibrate welfare on")
    if not table.value_added_labels:
        raise EconomyFileError("the table has no value-added rows: nothing to make the primary resources of")
    x = table.output
    column = table.flows.sum(axis=0) + table.value_added.sum(axis=0)
    if np.max(np.abs(column - x) / x) > 1e-6:
        raise EconomyFileError("the table's columns do not add up to gross output: its firms' cost shares would not sum to 1")
    V = table.value_added.sum(axis=0, keepdims=True) if single_factor else table.value_added
    names = ("value added",) if single_factor else table.value_added_labels
    keep = np.any(V > 0, axis=1)  # a row of zeros is no resource
    V, names = V[keep], tuple(n for n, k in zip(names, keep) if k)
    if np.any(V < 0):
        r, j = np.argwhere(V < 0)[0]
        raise EconomyFileError(f"row {names[r]!r}, sector {table.sectors[j]!r}: a value-added entry must be >= 0 to be a "
                               f"cost share (got {V[r, j]:g}; merge it with another row, or use --single-factor)")
    shares = np.concatenate([(V / x).T, (table.flows / x).T], axis=1)
    if technology == "cobb-douglas":
        logs = np.where(shares > 0, shares * np.log(np.where(shares > 0, shares, 1.0)), 0.0)
        tfp, sigma = np.exp(-logs.sum(axis=1)), None
    elif technology == "leontief":  # the shares themselves are the fixed coefficients, at tfp 1
        tfp, sigma = np.ones(table.n), None
    else:
        s = float(elasticity)
        # a_k ∝ s_k^(1/σ), in logs (tiny shares at small σ underflow gracefully to a zero share)
        log_s = np.log(np.where(shares > 0, shares, 1.0)) / s
        log_s = np.where(shares > 0, log_s - np.max(np.where(shares > 0, log_s, -np.inf), axis=1, keepdims=True), -np.inf)
        a = np.exp(log_s)
        a = a / a.sum(axis=1, keepdims=True)
        tfp = np.sum(np.where(a > 0, a ** s, 0.0), axis=1) ** (1.0 / (1.0 - s))
        shares, sigma = a, np.full(table.n, s)
    m = V.shape[0]
    F = table.final_demand.sum(axis=1)
    if np.any(F <= 0):
        j = int(np.argmin(F))
        raise EconomyFileError(f"sector {table.sectors[j]!r}: final demand must be > 0 to calibrate a welfare weight (got {F[j]:g})")
    gamma, eta = None, None
    if welfare == "log":
        w = F / F.sum()
    elif welfare == "ces":
        eta = float(welfare_elasticity)
        w = (F / F.max()) ** (1.0 / eta)
        w = w / w.sum()
    else:
        gamma = subsistence * F
        w = (F - gamma) / (F - gamma).sum()
    economy = from_arrays(endowments=V.sum(axis=1), welfare_weights=w, tfp=tfp, returns_to_scale=np.full(table.n, float(returns_to_scale)),
                          resource_shares=shares[:, :m], input_shares=shares[:, m:], elasticity=sigma,
                          welfare_elasticity=eta, subsistence=gamma)
    if technology == "leontief":
        from .io import as_leontief

        economy = as_leontief(economy)
    return economy, Labels(tuple(table.sectors), names)


def perturb_calibrated(key, economy, perturbation: float = 0.1, returns_to_scale: float = 1.0):
    """A random economy *around* a calibrated one (jit/vmap over keys): every non-zero share of every firm
    (inputs and resources) and every welfare weight is multiplied by exp(σ·z), z standard normal, σ =
    `perturbation`, then renormalised (each firm's shares to sum 1, the weights to sum 1); tfp is recomputed
    so that unit costs at prices 1 would stay 1 and then multiplied by exp(σ·z) too — without that last
    shock every perturbed economy would keep prices of 1 as its equilibrium, a start that Malinvaud's
    procedure (uniform prices 1) would hit at step 0 by construction. Every firm gets `returns_to_scale` (1:
    the table's constant returns; below 1 the economy enters Arrow–Hurwicz's domain and no longer replicates
    the table exactly). The families stay the calibrated economy's (elasticities, welfare elasticity and
    subsistence unchanged); endowments are the table's. σ = 0 and ρ = 1 give the calibrated economy back."""
    import jax
    import jax.numpy as jnp

    from .production import ces_log_unit_cost

    k1, k2, k3 = jax.random.split(key, 3)
    shares = jnp.concatenate([economy.resource_shares, economy.input_shares], axis=1)
    noisy = shares * jnp.exp(perturbation * jax.random.normal(k1, shares.shape, shares.dtype))
    noisy = noisy / jnp.sum(noisy, axis=1, keepdims=True) * jnp.sum(shares, axis=1, keepdims=True)
    w = economy.welfare_weights * jnp.exp(perturbation * jax.random.normal(k2, economy.welfare_weights.shape, shares.dtype))
    w = w / jnp.sum(w)
    # log κ(1), the unit cost at prices 1 of the aggregate (−Σ a log a for Cobb–Douglas)
    log_cost = jax.vmap(ces_log_unit_cost, in_axes=(0, None, 0))(noisy, jnp.ones(shares.shape[1], shares.dtype),
                                                                 economy.elasticity)
    m = economy.resource_shares.shape[1]
    tfp = jnp.exp(log_cost + perturbation * jax.random.normal(k3, economy.tfp.shape, shares.dtype))
    return type(economy)(endowments=economy.endowments, welfare_weights=w, tfp=tfp,
                         returns_to_scale=jnp.full_like(economy.tfp, returns_to_scale), resource_shares=noisy[:, :m],
                         input_shares=noisy[:, m:], elasticity=economy.elasticity,
                         welfare_elasticity=economy.welfare_elasticity, subsistence=economy.subsistence)


def _rows_matching(labels, words) -> list[int]:
    return [k for k, label in enumerate(labels) if any(w in label.lower() for w in words)]


def investment_split(table: IOTable) -> tuple[np.ndarray | None, np.ndarray]:
    """(investment demand per good, or None where no final-demand column names investment or capital
    formation; the rest of final demand per good): the split the Rudra and multi-year builders impute from."""
    investment = _rows_matching(table.final_labels, ("invest", "capital formation"))
    rest = [c for c in range(len(table.final_labels)) if c not in investment]
    demand = table.final_demand[:, investment].sum(axis=1) if investment else None
    return demand, table.final_demand[:, rest].sum(axis=1)


def capital_per_output(table: IOTable, capital_return: float) -> np.ndarray:
    """Capital value per unit of output k_j = (non-labour, non-import value added)_j / (x_j · return): the
    surplus the table records, capitalised at a gross return (`rudra_from_table`, `multiyear_from_table`)."""
    labels = table.value_added_labels
    imports = _rows_matching(labels, ("import",))
    surplus_rows = [k for k in range(len(labels)) if k not in imports and labels[k] != table.labour_row]
    surplus = table.value_added[surplus_rows].sum(axis=0) if surplus_rows else np.zeros(table.n)
    return np.maximum(surplus, 0.0) / (table.output * capital_return)


def rudra_from_table(table: IOTable, plan_years: int = 5, growth_rate: float = 0.03, capital_return: float = 0.10,
                     savings_rate: float | None = None) -> tuple[str, dict]:
    """A `kind = "rudra"` file (Rudra's central LP, Appendix 2 generalised) built from an input–output table:
    the TOML text and what was imputed. An IO table has flows and values, not Rudra's capital coefficients,
    savings rates or plan-period growth, so these are imputed, each by a stated rule:

    - commodities = sectors (one each, `outputs` the identity), `inputs` = A = Z diag(x)⁻¹, prices 1 (the
      table's units are a base-year dollar's worth);
    - capital per unit of activity k_j = (non-labour, non-import value added)_j / (x_j · `capital_return`):
      the capital whose gross return at that rate is the surplus the table records (value-added rows other
      than the labour row and rows whose label names imports);
    - savings rate v_j = investment / domestic value added, one rate for all sectors (investment: final-demand
      columns whose label names investment or capital formation), or `savings_rate` if given;
    - growth coefficient r_j = Σ_{t=0}^{T−1} (1 + g)^(−t) (cumulated plan-period output over end-year output,
      seed (5.3), with output growing at g a year over T = `plan_years`);
    - end-year final-demand targets d_i = (final demand other than investment)_i · (1 + g)^T (negative
      entries, where a balancing column exceeds the rest, are set to 0 and counted);
    - foreign exchange F = the imports rows' total · (1 + g)^T, every commodity importable (the table says
      which industries use imports, not which commodities they are).

    Returns (TOML text, report: the imputed k, v, r and the number of targets set to 0)."""
    from ._format import _fmt, _mat, _strs, _vec

    if not (isinstance(plan_years, int) and 1 <= plan_years <= 100):
        raise EconomyFileError(f"plan years must be an integer in [1, 100], got {plan_years!r}")
    if not (isinstance(growth_rate, (int, float)) and -0.5 < growth_rate < 1):
        raise EconomyFileError(f"the growth rate must lie in (-0.5, 1), got {growth_rate!r}")
    if not (isinstance(capital_return, (int, float)) and 0 < capital_return <= 1):
        raise EconomyFileError(f"the capital return must lie in (0, 1], got {capital_return!r}")
    if savings_rate is not None and not (isinstance(savings_rate, (int, float)) and 0 <= savings_rate <= 1):
        raise EconomyFileError(f"the savings rate must lie in [0, 1], got {savings_rate!r}")
    if table.labour_row is None:
        raise EconomyFileError("the table has no labour row (labour, compensation, ...): capital cannot be told from labour")
    imports = _rows_matching(table.value_added_labels, ("import",))
    k = capital_per_output(table, capital_return)
    investment, other_demand = investment_split(table)
    domestic_va = table.value_added.sum() - (table.value_added[imports].sum() if imports else 0.0)
    if savings_rate is None:
        if investment is None:
            raise EconomyFileError("the table has no investment column (a final-demand label naming investment or "
                                   "capital formation): give the savings rate")
        savings_rate = float(np.clip(investment.sum() / domestic_va, 0.0, 1.0))
    g, T = float(growth_rate), plan_years
    r = float(sum((1.0 + g) ** (-t) for t in range(T)))
    d = other_demand * (1.0 + g) ** T
    zeroed = int(np.sum(d < 0))
    d = np.maximum(d, 0.0)
    F = (table.value_added[imports].sum() if imports else 0.0) * (1.0 + g) ** T
    n = table.n
    text = "\n".join([
        "# Rudra's central LP built from an input-output table by `jplan table rudra` (jplan.economies.table.rudra_from_table):",
        f"# inputs A = Z/x; capital = non-labour, non-import value added / (output x {capital_return:g}); one savings rate",
        f"# {savings_rate:.4g} (investment / domestic value added); growth coefficient {r:.6g} ({T} years at {g:g} a year);",
        f"# targets: final demand other than investment grown {T} years ({zeroed} negative set to 0); foreign exchange:",
        "# imports grown the same. Every one of these is an imputation: the table records none of them.",
        'kind = "rudra"',
        "",
        "[commodities]",
        f"names = {_strs(table.sectors)}",
        f"final_demand = {_vec(d)}",
        f"importable = [{', '.join(['true'] * n)}]",
        "",
        "[sectors]",
        f"names = {_strs(table.sectors)}",
        f"inputs = {_mat(table.coefficients)}",
        f"capital = {_vec(k)}",
        f"savings_rate = {_vec(np.full(n, savings_rate))}",
        f"growth = {_vec(np.full(n, r))}",
        "",
        "[foreign_exchange]",
        f"available = {_fmt(F)}",
        "",
        "[constraints]",
        'balances = "at-least"',
        'imports = "at-most"',
        "",
    ])
    report = {"capital": k.tolist(), "savings_rate": savings_rate, "growth": r, "targets_set_to_zero": zeroed,
              "foreign_exchange": float(F)}
    return text, report

