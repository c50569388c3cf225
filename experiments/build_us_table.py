"""Build `examples/us_bea_2021_15.csv`, the US economy of 2021 in 15 sectors, in jplan's table format, from
the BEA supply and use tables as the PyPI package `quantecon-book-networks` ships them (its
`data/csv_files/use_15.csv` and `make_15.csv`; BEA Input–Output Accounts, summary level, before
redefinitions; millions of dollars).

    pip install quantecon-book-networks   # or: --source FOLDER holding use_15.csv and make_15.csv
    python experiments/build_us_table.py [--out examples/us_bea_2021_15.csv]

BEA publishes a *supply–use* pair (commodities × industries, uses at purchasers' prices, imports in the
supply table), not the symmetric, domestic, balanced table a planning model reads. The construction, every
step stated (docs/economies.md, "The US table"):

1. *Sectors.* At 15 sectors each commodity is (almost) one industry's: commodity i is made by industry i
   (the supply table's diagonal holds 95% of domestic output and more); the table pairs them.
2. *Domestic flows by import proportionality.* The use table records each use of commodity i whether
   made at home or imported. With no import matrix at this level, every user of i is assumed to import
   the same share of it, the share imports have in i's total supply: d_i = domestic output_i / (domestic
   output_i + imports_i + CIF/FOB adjustment_i). The domestic flow is Z_ij = d_i U_ij, and the imported
   part Σ_i (1 − d_i) U_ij is the value-added row `imports` of industry j (an input from abroad), so
   every column still adds up to industry j's gross output at basic prices (BEA's own column identity).
3. *Other inputs without a producing sector* — scrap and second-hand goods, non-comparable imports —
   are the row `scrap and noncomparable imports`.
4. *Value added* is BEA's at basic prices in two rows: `compensation of employees` (labour) and `gross
   operating surplus and net taxes on production` (operating surplus + other taxes on production − other
   subsidies on production: some industries' net taxes are negative, their sum with the surplus never).
5. *Final demand* is BEA's five columns (personal consumption, private fixed investment, change in private
   inventories, exports, government), each times d_i, plus one balancing column `margins and product
   taxes (balancing)`: gross output minus domestic intermediate use minus those five. Uses are at
   purchasers' prices and output at basic prices; the difference is the trade and transport margins (the
   trade and transport sectors' rows are small at purchasers' prices, because their output is mostly
   margins on goods) and net taxes on products, and the balancing column puts them where the table can
   hold them (positive for trade and transport, negative for goods). A calibration that counts every
   final-demand column as consumption (`calibrate_table`) sees each sector's *net* final demand
   x_i − Σ_j Z_ij, which is positive for all 15.

The output has 15 sectors, 6 final-demand columns and 4 value-added rows, and balances to rounding
(4 decimals of a million dollars). BEA's data are a work of the US Government (public domain); the
cleaned CSVs are MIT-licensed (QuantEcon). The file's header repeats source, year and licence.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys

import numpy as np

N = 15
FINAL = ["Personal consumption expenditures", "Private fixed investment", "Change in private inventories",
         "Exports of goods and services", "Government consumption expenditures and gross investment"]
FINAL_OUT = ["personal consumption", "private fixed investment", "change in private inventories", "exports",
             "government"]


def _number(cell: str) -> float:
    cell = cell.strip()
    return 0.0 if cell in ("---", "", "...") else float(cell)


def _read(path: str):
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    head = rows[0]
    return head, {r[0]: r for r in rows[1:] if r}


def _source_folder(source: str | None) -> str:
    if source:
        return source
    try:
        from importlib.resources import files

        return str(files("quantecon_book_networks") / "data" / "csv_files")
    except ModuleNotFoundError:
        sys.exit("build_us_table: install quantecon-book-networks (pip) or pass --source FOLDER")


def build(source: str) -> tuple[list[str], list[str], np.ndarray, list[str], np.ndarray, list[str], np.ndarray]:
    """(sectors, final labels, Z, value-added labels, V, F) of the constructed table."""
    uhead, use = _read(os.path.join(source, "use_15.csv"))
    mhead, make = _read(os.path.join(source, "make_15.csv"))
    sectors = uhead[1 : N + 1]
    if mhead[1 : N + 1] != sectors or list(use)[:N] != sectors or list(make)[:N] != sectors:
        sys.exit("build_us_table: the use and supply tables do not list the same 15 sectors in the same order")
    ucol = {c: k for k, c in enumerate(uhead)}
    mcol = {c: k for k, c in enumerate(mhead)}
    U = np.array([[_number(use[s][ucol[t]]) for t in sectors] for s in sectors])
    FD = np.array([[_number(use[s][ucol[c]]) for c in FINAL] for s in sectors])
    x = np.array([_number(use["Total industry output (basic prices)"][ucol[t]]) for t in sectors])
    domestic = np.array([_number(make[s][mcol["Total Commodity Output"]]) for s in sectors])
    imports = np.array([_number(make[s][mcol["Imports"]]) + _number(make[s][mcol["CIF/FOB Adjustments on Imports"]])
                        for s in sectors])
    d = domestic / (domestic + imports)
    row = lambda label: np.array([_number(use[label][ucol[t]]) for t in sectors])  # noqa: E731
    Z = d[:, None] * U
    imported = ((1.0 - d)[:, None] * U).sum(axis=0)
    other = row("Scrap, used and secondhand goods") + row("Noncomparable imports and rest-of-the-world adjustment")
    labour = row("Compensation of employees")
    surplus = (row("Gross operating surplus") + row("Other taxes on production")
               - row("Less: Other subsidies on production"))
    V = np.stack([labour, surplus, imported, other])
    va_labels = ["compensation of employees", "gross operating surplus and net taxes on production", "imports",
                 "scrap and noncomparable imports"]
    # BEA's column identity: intermediate inputs + value added = gross output (to BEA's rounding)
    total = row("Total Intermediate") + row("Value Added (basic prices)")
    if np.max(np.abs(total - x) / x) > 1e-4:
        sys.exit("build_us_table: BEA's columns do not add up to industry output")
    F = np.concatenate([d[:, None] * FD, np.zeros((N, 1))], axis=1)
    Z, V, F = np.round(Z, 4), np.round(V, 4), np.round(F, 4)
    # close the columns on the rounded numbers (the surplus row takes BEA's rounding, at most a few $M)
    V[1] = x - Z.sum(axis=0) - V[[0, 2, 3]].sum(axis=0)
    F[:, -1] = x - Z.sum(axis=1) - F[:, :-1].sum(axis=1)
    return sectors, FINAL_OUT + ["margins and product taxes (balancing)"], Z, va_labels, V, F, x


HEADER = """\
# The United States economy, 2021, 15 sectors (millions of dollars), in jplan's input-output table format.
# Source: US Bureau of Economic Analysis, Input-Output Accounts, summary supply and use tables before
# redefinitions (https://www.bea.gov/industry/input-output-accounts-data), as cleaned and shipped by the
# PyPI package quantecon-book-networks 1.6 (data/csv_files/use_15.csv, make_15.csv; MIT licence). BEA's data
# are a work of the US Government (public domain).
# Built by experiments/build_us_table.py: domestic flows by import proportionality, imports and scrap as
# inputs, value added at basic prices, and a balancing final-demand column for trade and transport margins
# and taxes on products (uses are at purchasers' prices, output at basic prices). See that script's docstring
# and docs/economies.md ("The US table") for every step.
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=None, help="folder holding use_15.csv and make_15.csv (default: the installed quantecon-book-networks)")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "examples", "us_bea_2021_15.csv"))
    args = parser.parse_args(argv)
    sectors, finals, Z, va_labels, V, F, x = build(_source_folder(args.source))
    fmt = lambda v: f"{v:.4f}".rstrip("0").rstrip(".")  # noqa: E731
    with open(args.out, "w", newline="", encoding="utf-8") as fh:
        fh.write(HEADER)
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["sector"] + sectors + finals)
        for i, s in enumerate(sectors):
            w.writerow([s] + [fmt(v) for v in Z[i]] + [fmt(v) for v in F[i]])
        for k, label in enumerate(va_labels):
            w.writerow([label] + [fmt(v) for v in V[k]] + [""] * len(finals))
        w.writerow(["output"] + [fmt(v) for v in x] + [""] * len(finals))
    net = x - Z.sum(axis=1)
    print(f"wrote {args.out}: {len(sectors)} sectors; net final demand {net.min():.0f}..{net.max():.0f} $M "
          f"(all > 0: {bool(np.all(net > 0))})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
