"""Readable and JSON reports of a multi-year plan (`jplan multiyear`; formatting only)."""

from __future__ import annotations

import equinox as eqx
import numpy as np

from ._json import number, numbers
from .economies.multiyear import MultiYearEconomy
from .rudra.report import text_table
from .solvers.lp import lp_status_name
from .solvers.harmony import HARMONY_DEFAULTS, HARMONY_JAVA
from .solvers.multiyear import harmony_multiyear, solve_multiyear

__all__ = ["multiyear_report", "multiyear_text", "HARMONY_VERSIONS"]

_solve = eqx.filter_jit(solve_multiyear)
HARMONY_VERSIONS = {"pascal": HARMONY_DEFAULTS, "java": HARMONY_JAVA}


def _harmony_report(e: MultiYearEconomy, version: str, lp_objective) -> dict:
    options = HARMONY_VERSIONS[version]
    h = eqx.filter_jit(lambda e: harmony_multiyear(e, **options))(e)
    objective = number(h.objective)
    distance = None
    if lp_objective is not None and objective is not None and lp_objective != 0:
        distance = (lp_objective - objective) / abs(lp_objective)
    return {"version": version, "iterations": options["iterations"], "failed": bool(h.failed), "objective": objective,
            "distance_to_lp": distance, "fulfilment": numbers(h.fulfilment), "infeasibility": number(h.infeasibility),
            "outputs": numbers(h.output), "consumption": numbers(h.consumption), "labour": numbers(h.labour),
            "accumulation": numbers(h.accumulation)}


def multiyear_report(e: MultiYearEconomy, *, lp: bool = True, harmony: str | None = None) -> dict:
    """The optimal plan as JSON-ready lists: the objective, each year's fulfilment, outputs, capacities,
    consumption, labour, capital stocks and accumulation (years × goods; stocks years × held × holder).
    `harmony` ("pascal" or "java") adds Cockshott's harmony plan under "harmony", with its objective's
    relative distance to the LP optimum (`distance_to_lp`, (LP − harmony)/|LP|); `lp=False` skips the LP."""
    goods = list(e.goods or (f"good{j + 1}" for j in range(e.n)))
    years = list(e.years or (f"year{t + 1}" for t in range(e.T)))
    if not lp:
        return {"status": "not solved", "objective": None, "years": years, "goods": goods, "targets": numbers(e.targets),
                "labour_supply": numbers(e.labour_supply), "harmony": _harmony_report(e, harmony, None)}
    r = _solve(e)
    rep = {
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
    if harmony is not None:
        rep["harmony"] = _harmony_report(e, harmony, rep["objective"] if rep["status"] == "optimal" else None)
    return rep


def _f(x, digits: int = 6) -> str:
    return "-" if x is None else f"{x:.{digits}g}"


def _harmony_text(rep: dict) -> list[str]:
    h = rep["harmony"]
    head = (f"Cockshott's harmony algorithm ({h['version']} version, {h['iterations']} iterations): "
            + ("FAILED (a non-finite intensity; his programs stop there)" if h["failed"] else f"objective = {_f(h['objective'], 8)}"))
    if h["distance_to_lp"] is not None:
        head += f", {100 * h['distance_to_lp']:.3g}% below the LP optimum"
    lines = ["", head]
    if h["failed"]:
        return lines
    lines.append(f"largest shortfall of any product (relative to what is available): {_f(h['infeasibility'], 3)}")
    rows = [[y, _f(h["fulfilment"][t]), _f(h["labour"][t])] for t, y in enumerate(rep["years"])]
    lines += [text_table(["year", "fulfilment", "labour used"], rows)]
    rows = [[y] + [_f(v) for v in h["consumption"][t]] for t, y in enumerate(rep["years"])]
    lines += ["", "final consumption (harmony)", text_table(["year"] + rep["goods"], rows)]
    return lines


def multiyear_text(rep: dict) -> str:
    if rep["status"] == "not solved":
        return "\n".join(["Multi-year plan (Cockshott's model): LP not solved (--no-lp)"] + _harmony_text(rep))
    lines = [f"Multi-year plan (Cockshott's model): {rep['status']}; objective (sum of yearly fulfilment) = {_f(rep['objective'], 8)}"]
    if rep["objective"] is None:
        lines.append("(no plan: the LP has no solution; the status says why)")
        return "\n".join(lines + (_harmony_text(rep) if "harmony" in rep else []))
    goods = rep["goods"]
    rows = [[y, _f(rep["fulfilment"][t]), _f(rep["labour"][t]), _f(rep["labour_supply"][t])] for t, y in enumerate(rep["years"])]
    lines += ["", text_table(["year", "fulfilment", "labour used", "labour supply"], rows)]
    for title, key in (("output", "outputs"), ("capacity (what the stocks allow)", "capacities"), ("final consumption", "consumption"),
                       ("target", "targets")):
        rows = [[y] + [_f(v) if v is not None else "-" for v in rep[key][t]] for t, y in enumerate(rep["years"])]
        lines += ["", title, text_table(["year"] + goods, rows)]
    if "harmony" in rep:
        lines += _harmony_text(rep)
    return "\n".join(lines)
