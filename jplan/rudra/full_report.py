"""Readable and JSON reports of Rudra's full central calculation (`jplan rudra central`; formatting only)."""

from __future__ import annotations

import equinox as eqx
import numpy as np

from .._json import number, numbers
from ..economies.rudra_full import RudraFullFile
from .full import balance_residuals, central_calculation, full_planning_cycles, full_status_name, objective_slacks
from .report import text_table

__all__ = ["central_report", "central_text", "cycles_report", "cycles_text"]

_calculate = eqx.filter_jit(central_calculation)


def central_report(f: RudraFullFile, rounds: int = 30) -> dict:
    """The structures X, Λ, Δ, λ, the objectives' slacks and the balance residuals, as JSON-ready lists."""
    out = _calculate(f.economy, rounds)
    r = out.result
    X, P, D = r.production, r.prices, r.incomes
    residuals = balance_residuals(f.economy, r)
    balances = {k: number(np.max(np.abs(np.asarray(v)))) for k, v in residuals.items() if k != "commodity_balances"}
    balances["commodity_balances_min"] = number(np.min(np.asarray(residuals["commodity_balances"])))
    return {
        "status": full_status_name(out.status),
        "rounds": int(out.rounds),
        "change": number(out.change),
        "lambda": number(r.capital_gap),
        "lambda_per_round": [number(x) for x in np.asarray(out.history_capital_gap)[: int(out.rounds)]],
        "closure": f.economy.closure,
        # the instruments' ranges step 8 works within: direct-tax rates ("direct-taxes"), indirect taxes per unit
        # of cost price on non-essential goods ("market-prices")
        "max_direct_tax_rate": number(f.economy.max_direct_tax_rate),
        "max_indirect_tax_rate": number(f.economy.max_indirect_tax_rate),
        # per round (§6.3): market prices, the non-essential price level ψ, the direct-tax rates (old units,
        # then new), the import sector's direct tax d_N and the public saving S_g that close the accounts
        "per_round": {
            "market_prices": [numbers(x) for x in np.asarray(out.history_prices)[: int(out.rounds)]],
            "price_level": [number(x) for x in np.asarray(out.history_price_level)[: int(out.rounds)]],
            "direct_tax_rates": [numbers(x) for x in np.asarray(out.history_direct_tax_rates)[: int(out.rounds)]],
            "import_direct_tax": [number(x) for x in np.asarray(out.history_import_direct_tax)[: int(out.rounds)]],
            "public_saving": [number(x) for x in np.asarray(out.history_savings_gap)[: int(out.rounds)]],
        },
        "balancing": {
            "import_direct_tax": number(r.incomes.import_direct_tax),
            "import_direct_tax_share_of_lambda": number(f.economy.import_growth * r.incomes.import_direct_tax / r.capital_gap),
            "public_saving": number(r.savings_gap),
        },
        "commodities": list(f.commodities),
        "sectors": list(f.sectors),
        "skills": list(f.skills),
        "steps": {
            "essential_prices": numbers(np.where(np.asarray(f.economy.essential), np.asarray(r.essential_prices), np.nan)),
            "C_alpha": number(r.C_alpha),
            "rho1": number(r.rho1),
            "rho2": number(r.rho2),
            "mean_consumption": number(r.mean_consumption),
            "income_estimate": number(r.income_estimate),
            "capital_formation_value": number(r.capital_formation_value),
            "step6_lambda": number(r.step6_capital_gap),
        },
        "production": {k: numbers(getattr(X, k)) for k in ProductionKeys},
        "prices": {k: numbers(getattr(P, k)) for k in PriceKeys},
        "incomes": {k: numbers(getattr(D, k)) for k in IncomeKeys},
        "objectives": {k: numbers(v) for k, v in objective_slacks(f.economy, r).items()},
        "balances": balances,
    }


ProductionKeys = ("activity", "outputs", "old_outputs", "inputs", "old_inputs", "capital", "labour", "households",
                  "public", "capital_formation", "exports", "imports", "stocks")
PriceKeys = ("market", "cost", "imports", "indirect_tax", "import_duties", "wages", "rate_of_return")
IncomeKeys = ("old_income", "income", "old_consumption", "consumption", "old_savings", "savings", "old_direct_tax",
              "direct_tax", "import_income", "import_savings", "import_direct_tax", "capital_value")


def _f(x, digits: int = 4) -> str:
    return "—" if x is None else f"{x:.{digits}g}"


def central_text(rep: dict) -> str:
    """The report as tables a planner reads: X by sector and commodity, Λ, Δ, λ, objectives, balances."""
    X, P, D = rep["production"], rep["prices"], rep["incomes"]
    lines = [f"Rudra's central calculation: {rep['status']} after {rep['rounds']} round(s) (last change {_f(rep['change'], 2)}); "
             f"lambda = {_f(rep['lambda'], 8)}"]
    if rep["lambda"] is None:
        lines.append("(no plan: a step's LP has no solution; the status says why)")
        return "\n".join(lines)
    bal = rep["balancing"]
    share = bal["import_direct_tax_share_of_lambda"]
    cap = (f" (indirect taxes at most {_f(rep['max_indirect_tax_rate'])} of cost price)" if rep["closure"] == "market-prices"
           else f" (direct-tax rates at most {_f(rep['max_direct_tax_rate'])})" if rep["closure"] == "direct-taxes" else "")
    lines.append(f"step 8 closure: {rep['closure']}{cap}; import sector's direct tax d_N = {_f(bal['import_direct_tax'])} "
                 f"(r_N d_N = {_f(100 * share if share is not None else None, 3)}% of lambda), "
                 f"public saving S_g = {_f(bal['public_saving'])}")
    lines += ["", "Production structure X (new units; old units as given)"]
    rows = [[s, _f(X["activity"][j]), _f(sum(row[j] for row in X["capital"])), _f(sum(row[j] for row in X["labour"]))]
            for j, s in enumerate(rep["sectors"])]
    lines.append(text_table(["sector", "activity X_j", "capital (units) sum_i K_ij", "labour sum_s L_sj"], rows))
    lines.append("")
    rows = []
    for i, c in enumerate(rep["commodities"]):
        supply = sum(X["outputs"][i]) + sum(X["old_outputs"][i]) + X["imports"][i]
        rows.append([c, _f(supply), _f(sum(X["inputs"][i]) + sum(X["old_inputs"][i])), _f(X["households"][i]), _f(X["public"][i]),
                     _f(X["capital_formation"][i]), _f(X["exports"][i]), _f(X["imports"][i]), _f(X["stocks"][i])])
    lines.append(text_table(["commodity", "supply", "intermediate", "households h", "public g", "capital z", "exports e", "imports m", "stocks f"], rows))
    lines += ["", f"Price structure (rate of return pi = {_f(P['rate_of_return'])})"]
    rows = [[c, _f(P["market"][i]), _f(P["cost"][i]), _f(P["indirect_tax"][i]), _f(P["imports"][i]), _f(P["import_duties"][i])]
            for i, c in enumerate(rep["commodities"])]
    lines.append(text_table(["commodity", "market p", "cost p(d)", "indirect tax", "import p(m)", "import duty"], rows))
    lines.append("wages: " + ", ".join(f"{s} {_f(w)}" for s, w in zip(rep["skills"], P["wages"])))
    lines += ["", "Income structure"]
    keys = ("old_income", "income", "old_consumption", "consumption", "old_savings", "savings", "old_direct_tax", "direct_tax")
    rows = [[s, *(_f(D[k][j]) for k in keys)] for j, s in enumerate(rep["sectors"])]
    rows.append(["import sector", "", _f(D["import_income"]), "", "0", "", _f(D["import_savings"]), "", _f(D["import_direct_tax"])])
    lines.append(text_table(["sector", "y0", "y", "c0", "c", "s0", "s", "d0", "d"], rows))
    st = rep["steps"]
    lines += ["", f"steps 1-5: C_alpha = {_f(st['C_alpha'])}, lognormal rho1 = {_f(st['rho1'])}, rho2 = {_f(st['rho2'])}, "
                  f"mean consumption {_f(st['mean_consumption'])}, income y = {_f(st['income_estimate'])}, capital formation z = {_f(st['capital_formation_value'])}"]
    ob = rep["objectives"]
    ess = [x for x, e in zip(ob["essential_minima"], st["essential_prices"]) if e is not None]
    lines += ["", "Objectives (0 = met exactly)",
              f"  1 essential minima: demand - minimum, max |.| = {_f(max(abs(x) for x in ess), 2)}",
              f"  2 public floors: min(g - g0) = {_f(min(ob['public_floors']), 2)}",
              f"  3 Lorenz ratio - target = {_f(ob['lorenz_ratio'], 2)} (target below the base year's by {_f(ob['lorenz_below_base'], 3)})",
              f"  4 capital formation / income - phi = {_f(ob['capital_formation_ratio'], 3)}",
              f"  5 foreign exchange: earnings - spending - m0 = {_f(ob['foreign_exchange'], 2)}",
              "", "Balances (largest relative residual): " + ", ".join(f"{k} {_f(v, 2)}" for k, v in rep["balances"].items())]
    return "\n".join(lines)


def cycles_report(f: RudraFullFile, cycles: int, steps: int, rounds: int = 30) -> dict:
    """The planning cycles of §8 with the full calculation: λ and the sectors' choices per cycle."""
    out = eqx.filter_jit(full_planning_cycles)(f.economy, f.technologies, cycles=cycles, steps=steps, rounds=rounds)
    last = int(out.cycles)
    choosing = [j for j, names in enumerate(f.projects) if names]
    return {
        "status": full_status_name(out.status),
        "cycles": last,
        "lambda": [number(x) for x in np.asarray(out.capital_gap)[: last + 1]],
        "targets": numbers(np.asarray(out.targets)[: last + 1]),
        "sectors": {f.sectors[j]: {"projects": list(f.projects[j]),
                                   "theta": numbers(np.asarray(out.theta)[: last + 1, j, : len(f.projects[j])]),
                                   "criterion": [number(x) for x in np.asarray(out.sector_criteria)[: last + 1, j]]}
                    for j in choosing},
    }


def cycles_text(rep: dict) -> str:
    """The cycles as a table: λ per cycle and each choosing sector's project weights."""
    sectors = list(rep["sectors"])
    header = ["cycle", "lambda"] + [f"{s}: weights" for s in sectors]
    rows = []
    for v, lam in enumerate(rep["lambda"]):
        rows.append([str(v), _f(lam, 8)] + [", ".join(f"{w:.4f}" for w in rep["sectors"][s]["theta"][v]) for s in sectors])
    lines = [f"Planning cycles with the full central calculation: {rep['status']} after {rep['cycles']} cycle(s)",
             text_table(header, rows)]
    for s in sectors:
        lines.append(f"{s}: projects " + ", ".join(rep["sectors"][s]["projects"]))
    return "\n".join(lines)
