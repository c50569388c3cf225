"""Readable and JSON reports of a multi-year plan (`jplan multiyear`; formatting only)."""

from __future__ import annotations

import equinox as eqx
import numpy as np

from ._json import number, numbers
from .economies.multiyear import MultiYearEconomy
from .rudra.report import text_table
from .solvers.lp import lp_status_name
from .solvers.multiyear import solve_multiyear

__all__ = ["multiyear_report", "multiyear_text"]

_solve = eqx.filter_jit(solve_multiyear)


def multiyear_report(e: MultiYearEconomy) -> dict:
    """The optimal plan as JSON-ready lists: the objective, each year's fulfilment, outputs, capacities,
    consumption, labour, capital stocks and accumulation (years × goods; stocks years × held × holder)."""
    r = _solve(e)
    goods = list(e.goods or (f"good{j + 1}" for j in range(e.n)))
    years = list(e.years or (f"year{t + 1}" for t in range(e.T)))
    return {
        "status": lp_status_name(r.status),
        "objective": number(r.objective),
        "years": years,
        "goods": goods,
        "fulfilment": numbers(r.fulfilment),
        "outputs": numbers(r.output),
        "capacities": numbers(np.where(np.isfinite(np.asarray(r.capacity)), np.asarray(r.capacity), np.nan)),
        "consumption": numbers(r.consumption),
        "targets": numbers(e.targets),
        "labour": numbers(r.labour),
        "labour_supply": numbers(e.labour_supply),
        "capital": numbers(r.capital),
        "accumulation": numbers(r.accumulation),
    }


def _f(x, digits: int = 6) -> str:
    return "-" if x is None else f"{x:.{digits}g}"


def multiyear_text(rep: dict) -> str:
    lines = [f"Multi-year plan (Cockshott's model): {rep['status']}; objective (sum of yearly fulfilment) = {_f(rep['objective'], 8)}"]
    if rep["objective"] is None:
        lines.append("(no plan: the LP has no solution; the status says why)")
        return "\n".join(lines)
    goods = rep["goods"]
    rows = [[y, _f(rep["fulfilment"][t]), _f(rep["labour"][t]), _f(rep["labour_supply"][t])] for t, y in enumerate(rep["years"])]
    lines += ["", text_table(["year", "fulfilment", "labour used", "labour supply"], rows)]
    for title, key in (("output", "outputs"), ("capacity (what the stocks allow)", "capacities"), ("final consumption", "consumption"),
                       ("target", "targets")):
        rows = [[y] + [_f(v) if v is not None else "-" for v in rep[key][t]] for t, y in enumerate(rep["years"])]
        lines += ["", title, text_table(["year"] + goods, rows)]
    return "\n".join(lines)
