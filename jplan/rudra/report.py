"""Readable and JSON reports of Rudra runs (used by `jplan rudra …`; no numerics beyond formatting)."""

from __future__ import annotations

import dataclasses

import equinox as eqx
import numpy as np

from .._json import number, numbers
from ..economies.rudra import column, frontiers
from ..economies.rudra_io import RudraFile
from ..solvers.lp import lp_status_name
from .central import sensitivities, solve_central
from .cycles import cycle_status_name, plan_cycles
from .plan_length import shortest_time

__all__ = ["central_json", "column_json", "plan_report", "sensitivity_report", "shortest_time_report", "plot_example", "plot_cycles", "text_table"]


_plan_cycles = eqx.filter_jit(plan_cycles)  # compiled once per process and shape


def text_table(header: list[str], rows: list[list[str]]) -> str:
    """A plain fixed-width table."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).rjust(w) for c, w in zip(r, widths))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def column_json(col) -> dict:
    """A sector's coefficient column Ω_j as JSON."""
    return {
        "inputs": numbers(col.inputs),
        "outputs": numbers(col.outputs),
        "capital": number(col.capital),
        "savings_rate": number(col.savings_rate),
        "growth": number(col.growth),
    }


def central_json(plan, f: RudraFile | None = None) -> dict:
    """The central plan as JSON (targets by sector, imports by commodity, λ, duals; names when `f` is given)."""
    names = {} if f is None else {"sectors": list(f.sectors), "commodities": list(f.commodities)}
    return {
        "status": lp_status_name(plan.status),
        "targets": numbers(plan.targets),
        "imports": numbers(plan.imports),
        "surplus": numbers(plan.surplus),
        "lambda": number(plan.capital_gap),
        "gamma": numbers(plan.gamma),
        "commodity_values": numbers(plan.commodity_values),
        "foreign_exchange_value": number(plan.foreign_exchange_value),
        **names,
    }


def plan_report(f: RudraFile, *, cycles: int, steps: int) -> tuple[dict, object]:
    """Run the planning cycles on a loaded file; return (JSON-ready dict, CycleHistory)."""
    technologies = f.technologies if f.technologies is not None else frontiers(f.economy, {})
    history = _plan_cycles(f.economy, technologies, cycles=cycles, steps=steps)
    last = int(history.cycles)
    final_economy = dataclasses.replace(
        f.economy,
        inputs=history.inputs[last],
        outputs=history.outputs[last],
        capital=history.capital[last],
        savings_rate=history.savings_rate[last],
        growth=history.growth[last],
    )
    final_plan = solve_central(final_economy)
    technology = []
    for j, names in enumerate(f.projects):
        if not names:
            continue
        technology.append(
            {
                "sector": f.sectors[j],
                "projects": list(names),
                "theta": numbers(history.theta[last, j, : len(names)]),
                "coefficients": column_json(column(final_economy, j)),
                "lambda_j": number(history.sector_criteria[last, j]),
            }
        )
    sl = slice(0, last + 1)
    report = {
        "status": cycle_status_name(history.status),
        "cycles": last,
        "cycle_limit": cycles,
        "period": int(history.period) or None,
        "plan": central_json(final_plan, f),
        "technology": technology,
        "history": {
            "lambda": numbers(history.capital_gap[sl]),
            "sector_criteria": numbers(history.sector_criteria[sl]),
            "targets": numbers(history.targets[sl]),
            "imports": numbers(history.imports[sl]),
            "theta": numbers(history.theta[sl]),
            "lp_status": [lp_status_name(s) for s in np.asarray(history.lp_status[sl])],
        },
    }
    return report, history


def plan_text(report: dict, f: RudraFile) -> str:
    """The human-readable form of `plan_report`."""
    hist = report["history"]
    rows = []
    for v, lam in enumerate(hist["lambda"]):
        crit = hist["sector_criteria"][v]
        chosen = [f"{c:.6g}" for c in crit if c is not None] if v else []
        rows.append(
            [
                str(v) if v else "0 (preliminary)",
                "-" if lam is None else f"{lam:.8g}",
                ", ".join(chosen) or "-",
                ", ".join("-" if x is None else f"{x:.6g}" for x in hist["targets"][v]),
                hist["lp_status"][v],
            ]
        )
    out = [text_table(["cycle", "lambda", "lambda_j of choosing sectors", "targets X", "central LP"], rows), ""]
    plan = report["plan"]
    out.append(f"status: {report['status']}" + (f" (period {report['period']})" if report["period"] else "") + f" after {report['cycles']} cycle(s), limit {report['cycle_limit']}")
    explain = {
        "base_infeasible": f"the central LP with the base-year coefficients is {plan['status']}: no plan to start the cycles from",
        "diverged": f"the central LP became {hist['lp_status'][-1]} at cycle {report['cycles']} with the sectors' new coefficients",
        "cycling": "the sectors' choices repeat without settling (§8 of Rudra's frame paper does not guarantee convergence)",
        "cycle_limit": "neither converged nor repeating within the cycle limit; try --cycles larger",
    }.get(report["status"])
    if explain:
        out.append(explain)
    if report["status"] in ("base_infeasible", "diverged"):
        return "\n".join(out)
    if plan["lambda"] is not None:
        out.append(f"capital-resources gap lambda = {plan['lambda']:.10g}")
        out.append("targets: " + ", ".join(f"{s}={x:.6g}" for s, x in zip(f.sectors, plan["targets"])))
        out.append("imports: " + ", ".join(f"{c}={x:.6g}" for c, x in zip(f.commodities, plan["imports"])))
        out.append("commodity values (d lambda / d target): " + ", ".join(f"{c}={x:.6g}" for c, x in zip(f.commodities, plan["commodity_values"])))
    for t in report["technology"]:
        weights = ", ".join(f"{p}: {w:.4f}" for p, w in zip(t["projects"], t["theta"]))
        c = t["coefficients"]
        out.append(f"{t['sector']}: {weights}  ->  k={c['capital']:.6g}, v={c['savings_rate']:.4g}, r={c['growth']:.6g}, inputs={', '.join(f'{x:.4g}' for x in c['inputs'])}")
    return "\n".join(out)


def sensitivity_report(f: RudraFile) -> dict:
    """∂λ*/∂(every parameter group) of the central LP, from its dual values."""
    plan = solve_central(f.economy)
    if int(plan.status) != 0:
        return {"plan": central_json(plan, f)}
    g = sensitivities(f.economy)
    return {
        "plan": central_json(plan, f),
        "lambda": number(plan.capital_gap),
        "d_lambda_d_final_demand": numbers(g.final_demand),
        "d_lambda_d_foreign_exchange": number(g.foreign_exchange),
        "d_lambda_d_inputs": numbers(g.inputs),
        "d_lambda_d_outputs": numbers(g.outputs),
        "d_lambda_d_capital": numbers(g.capital),
        "d_lambda_d_savings_rate": numbers(g.savings_rate),
        "d_lambda_d_growth": numbers(g.growth),
        "d_lambda_d_prices": numbers(g.prices),
    }


def sensitivity_text(rep: dict, f: RudraFile) -> str:
    """The human-readable form of `sensitivity_report`."""
    plan = rep["plan"]
    if "lambda" not in rep:
        return f"central LP: {plan['status']} (no sensitivities)"
    out = [f"lambda* = {rep['lambda']:.10g}  (central LP {plan['status']})", ""]
    out.append(text_table(
        ["commodity", "d lambda/d final_demand", "d lambda/d price"],
        [[c, f"{a:.6g}", f"{b:.6g}"] for c, a, b in zip(f.commodities, rep["d_lambda_d_final_demand"], rep["d_lambda_d_prices"])],
    ))
    out.append(f"\nd lambda / d foreign_exchange = {rep['d_lambda_d_foreign_exchange']:.6g}\n")
    out.append(text_table(
        ["sector", "d/d capital", "d/d savings_rate", "d/d growth"],
        [[s, f"{a:.6g}", f"{b:.6g}", f"{c:.6g}"] for s, a, b, c in zip(f.sectors, rep["d_lambda_d_capital"], rep["d_lambda_d_savings_rate"], rep["d_lambda_d_growth"])],
    ))
    out.append("\nd lambda / d inputs a_ij (rows commodities, columns sectors):")
    out.append(text_table(["", *f.sectors], [[c, *(f"{x:.6g}" for x in row)] for c, row in zip(f.commodities, rep["d_lambda_d_inputs"])]))
    out.append("\nDerivatives come from the LP's dual values (envelope theorem); they are exact where the optimal basis")
    out.append("is unique and non-degenerate, and one-sided at a kink (where the optimal basis changes).")
    return "\n".join(out)


def _trial_status(lam: float) -> str:
    return "infeasible" if np.isnan(lam) else "unbounded" if lam == -np.inf else "optimal"


def shortest_time_report(f: RudraFile, assistance: float, *, min_length: int, max_length: int) -> dict:
    """Run the shortest-time search on a loaded file (which must have a [time] table)."""
    res = shortest_time(f.economy, f.growth_path, assistance, min_length=min_length, max_length=max_length)
    return {
        "assistance": assistance,
        "status": res.status,
        "length": res.length,
        "lambda": None if res.gap is None else number(res.gap),
        # per trial: λ*(T) (null unless the central LP is optimal) and the LP's status
        "trials": [{"T": T, "lambda": number(lam), "lp": _trial_status(lam)} for T, lam in res.trials],
        "range": [min_length, max_length],
        "growth_assumptions": {
            "base_ratio": numbers(f.growth_path.base_ratio),
            "demand_growth": numbers(f.growth_path.demand_growth),
            "reference_length": number(f.growth_path.reference_length),
        },
    }


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path) -> None:
    from .._files import atomic_write

    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=130, bbox_inches="tight", format="png"), suffix=".png")


def plot_example(rep: dict, path) -> None:
    """λ₁ along sector 1's frontier, the two projects, the gradient path and the grid optimum."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    fr = rep["frontier"]
    ax.plot(fr["theta"], fr["lambda_1"], color="0.3", label="λ₁ along the frontier")
    for p in rep["projects"]:
        ax.scatter([p["theta"][1]], [p["lambda_1"]], s=50, zorder=3, label=f"{p['name']} ({p['lambda_1']:.1f})")
    ax.plot(rep["path_theta"], rep["path"], ".", ms=3, color="tab:red", alpha=0.5, label="projected-gradient iterates")
    opt = rep["optimal_technology"]
    ax.scatter([opt["theta"][1]], [opt["lambda_1"]], marker="*", s=160, color="tab:red", zorder=4, label=f"gradient search ({opt['lambda_1']:.2f})")
    ax.axhline(rep["lambda"], ls=":", color="0.5", label=f"preliminary λ ({rep['lambda']:.1f})")
    ax.set_xlabel("θ: weight on the minimum-fixed-capital project")
    ax.set_ylabel("λ₁ (capital-resources gap)")
    ax.set_title("Rudra, Appendix 2: sector 1's technology choice")
    ax.legend(fontsize=7)
    _save(fig, path)
    plt.close(fig)


def plot_cycles(report: dict, f: RudraFile, path) -> None:
    """λ and the targets per planning cycle."""
    fig = cycles_figure(report, f)
    _save(fig, path)
    _plt().close(fig)


def cycles_figure(report: dict, f: RudraFile):
    """The figure of `plot_cycles` (λ and the targets per planning cycle, whole-number cycle ticks)."""
    plt = _plt()
    hist = report["history"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.6))
    v = np.arange(len(hist["lambda"]))
    a1.plot(v, [np.nan if x is None else x for x in hist["lambda"]], "o-")
    a1.set_xlabel("cycle")
    a1.set_ylabel("λ (capital-resources gap)")
    targets = np.array([[np.nan if x is None else x for x in row] for row in hist["targets"]])
    for j, name in enumerate(f.sectors):
        a2.plot(v, targets[:, j], "o-", ms=3, label=name)
    a2.set_xlabel("cycle")
    a2.set_ylabel("target X_j")
    a2.legend(fontsize=7)
    from matplotlib.ticker import MaxNLocator

    for ax in (a1, a2):  # cycles are whole numbers
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(f"planning cycles: {report['status']}")
    return fig
