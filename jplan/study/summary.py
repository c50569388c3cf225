"""Stage 4 of a study, the numbers: per scenario × procedure, the summary statistics of its runs
(`summarize`), gathered with the study's configuration into `summary.json` (`write_summary`), and the
machine-dependent timings merged into `timings.json`. Definitions are in `jplan.study.report`'s
docstring and `jplan.study.measures`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .._files import atomic_write_text
from .._json import number
from ..procedures import STATUS_NAMES
from ..procedures.base import FAILED, OUT_OF_DOMAIN
from ..solvers.status import BEST_KNOWN, NUMERICAL_FAILURE
from .config import StudyConfig
from .measures import EARLY, FEASIBLE_TOL, TOLERANCES, iterations_to, median, quantiles, tolerance_label, welfare_drops

__all__ = ["summarize", "study_summary", "write_summary", "merge_timings"]


def summarize(rec: dict) -> dict:
    """Summary statistics of one scenario × procedure over its in-domain runs (no wall-clock times: they
    live in timings.json, so summary.json is identical across reruns)."""
    status = rec["status"]
    runs = int(status.size)
    fractions = {name: float(np.mean(status == code)) for code, name in enumerate(STATUS_NAMES)}
    reference = rec["reference_status"]
    ok = (status != OUT_OF_DOMAIN) & (reference != NUMERICAL_FAILURE)
    out = {"runs": runs, "in_domain": int((status != OUT_OF_DOMAIN).sum()), "status_fractions": fractions,
           "reference": {"optimal": float(np.mean(reference == 0)), "best_known": float(np.mean(reference == BEST_KNOWN)),
                         "numerical_failure": float(np.mean(reference == NUMERICAL_FAILURE)),
                         "refined_by_procedure_plans": float(np.mean(rec["reference_refined"]))}}
    if not ok.any():
        return out
    gap = rec["gap"][ok]
    welfare = rec["welfare"][ok]
    infeas = rec["infeasibility"][ok]
    down, up = rec["messages_down"][ok], rec["messages_up"][ok]
    steps = rec["steps"][ok]
    total = np.cumsum(down + up, axis=1)
    drops = welfare_drops(welfare)
    stepped = steps > 0  # per-step rates over runs that took a step (a failed start has none)
    per_step = lambda x: median(x[stepped][:, 1:].sum(axis=1) / steps[stepped]) if stepped.any() else None
    out.update(
        final_gap={"median": median(gap[:, -1]), **quantiles(gap[:, -1])},
        final_infeasibility={"median": median(infeas[:, -1]), "max": number(np.max(infeas[:, -1]))},
        steps_taken={"median": median(steps), "max": int(np.max(steps))},
        fraction_feasible_every_iterate=float(np.mean(np.all(infeas <= FEASIBLE_TOL, axis=1))),
        fraction_monotone=float(np.mean(~np.any(drops, axis=1))),
        fraction_converged=fractions["converged"],
        fraction_diverged=fractions["diverged"],
        fraction_failed=float(np.mean(status[ok] == FAILED)),
        messages_per_step={"down": per_step(down), "up": per_step(up)},
        opening_messages=median(down[:, 0] + up[:, 0]),
        solves_per_step=per_step(rec["solves"][ok]),
        firm_work_per_step=per_step(rec["firm_work"][ok]),
        centre_flops_per_step=per_step(rec["centre_flops"][ok]),
        firm_flops_per_step=per_step(rec["firm_flops"][ok]),
        opening_firm_work=median(rec["firm_work"][ok][:, 0]),
        gap_after={str(k): (median(gap[:, k]) if gap.shape[1] > k else None) for k in EARLY},
    )
    reach = {}
    for tol in TOLERANCES:
        it = iterations_to(gap, tol)
        hit = np.isfinite(it)
        msgs = np.where(hit, total[np.arange(len(it)), np.where(hit, it, 0).astype(int)], np.nan)
        reach[tolerance_label(tol)] = {
            "fraction_reached": float(np.mean(hit)),
            "iterations_median": median(it),
            "iterations_q90": quantiles(it)["q90"],
            "messages_median": median(msgs),
        }
    out["reach"] = reach
    return out


def study_summary(config: StudyConfig, records: dict) -> dict:
    """The contents of summary.json: the configuration and `summarize` of every scenario × procedure."""
    scenarios: dict = {}
    for sc in config.scenarios:
        scenarios[sc.name] = {}
        for p in sc.procedures:
            s = summarize(records[(sc.name, p)])
            s["steps_budget"] = config.procedure(p).steps
            scenarios[sc.name][p] = s
    return {
        "study": config.name,
        "description": config.description,
        "seed": config.seed,
        "economies_per_scenario": config.batch,
        "scenarios_config": {sc.name: ({"economy": "divisions", **sc.sampler} if sc.kind == "divisions" else
                                       {"n": sc.n, "m": sc.m, **{k: v for k, v in sc.sampler.items() if k != "table_path"}})
                                      | ({} if sc.batch is None else {"economies": sc.batch})
                               for sc in config.scenarios},
        "procedures_config": {p.name: {"steps": p.steps, **p.options} for p in config.procedures},
        "scenarios": scenarios,
    }


def merge_timings(config: StudyConfig, out: Path, records: dict, timings: dict) -> dict:
    """timings.json: the previous runs' timings (a resumed study keeps them) updated with this run's and the
    median wall time per economy-step of every job; written to the folder and returned."""
    path = out / "timings.json"
    try:
        previous = json.loads(path.read_text()) if path.exists() else {}
    except (OSError, ValueError):
        previous = {}  # timings are informative only; a damaged file is rebuilt
    for job, t in timings.items():
        previous.setdefault(job, {}).update(t)
    for sc in config.scenarios:
        for p in sc.procedures:
            job = previous.setdefault(f"{sc.name}/{p}", {})
            job["wall_seconds_per_economy_step"] = median(records[(sc.name, p)]["seconds_per_economy_step"])
    atomic_write_text(path, json.dumps(previous, indent=2, allow_nan=False))
    return previous


def write_summary(config: StudyConfig, out: Path, records: dict) -> dict:
    """Write summary.json (identical across reruns: no wall-clock times) and return it."""
    summary = study_summary(config, records)
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2, allow_nan=False))
    return summary
