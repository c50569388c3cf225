"""Stage 3 of a study, collection: the records of every chunk into tidy tables, `runs.parquet` (one row
per scenario × procedure × economy) and `series.parquet` (one row per scenario × procedure × economy ×
iteration), and `load` to read them back. The economy parameters come from the records (written when each
chunk ran); nothing is sampled again.

Why Parquet (through pyarrow): a study is a few thousand runs with a few dozen scalar columns and, per
run, a few thousand iterations; Parquet stores both as compressed typed columns that pandas
(`pd.read_parquet`), polars (`pl.read_parquet`), DuckDB and Arrow read directly, with no jplan
installed, and keeps string columns (scenario, procedure, status names) dictionary-encoded. netCDF/zarr
via xarray would suit the per-step arrays but not the per-run table, and would add xarray, netCDF4 and
pandas to the runtime.

Schema of `runs.parquet` (NaN where a number does not exist; see the README's *Study results*):

    scenario, procedure            str      the config's names
    scenario_index, economy, seed  int      economy `economy` of scenario `scenario_index` is drawn from
                                            jax.random.split(fold_in(PRNGKey(seed), scenario_index), batch)
                                            [economy] (`scenario_economies` rebuilds the whole batch)
    economy_kind                   str      production, or divisions (block-angular)
    n, m                           int      goods and resources (block-angular: divisions N and shared
                                            resources m0)
    returns_to_scale_mean, _min, _max, elasticity_mean, _min, _max, welfare_elasticity, tfp_mean,
    intermediate_share_mean (mean Σ_k β_ik), density (share of non-zero β_ik), subsistence_mean (mean γ_k),
    setup_cost_mean (mean κ_i)
                                   float    the economy's parameters, summarised (NaN in block-angular rows)
    status                         str      converged, not_converged, diverged, failed, out_of_domain
    reference_status               str      optimal, best_known, numerical_failure, infeasible
    reference_refined              bool     the reference came from a procedure's own plan (non-convex)
    steps                          int      steps taken
    final_gap                      float    gap at the last iterate (NaN out of domain or without reference)
    final_infeasibility            float    largest relative excess demand at the last iterate
    feasible_every_iterate, monotone  bool  as in the table
    iterations_to_1e-2, _1e-4, _1e-6  float first iteration from which the gap stays ≤ tol (NaN: never)
    floats_to_1e-2, _1e-4, _1e-6      float floats exchanged until then, opening rounds included
    centre_flops_per_step, firm_flops_per_step
                                   float    the centre's and the firms' floating-point operations per step,
                                            the run's mean over its steps (`jplan.procedures.work`)
    optimal_welfare, final_welfare float    U* and U at the last iterate

`series.parquet`: scenario, procedure, economy, iteration, stopped, gap, welfare, infeasibility, messages_down,
messages_up, solves, firm_work, centre_flops, firm_flops — every iteration 0 … step budget of every run; after
a run stopped (`stopped` true) its final iterate is carried forward with zero messages and work, so
per-iteration medians over `series` are over all runs (what the figures show), never over survivors only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..procedures import STATUS_NAMES
from ..procedures.base import OUT_OF_DOMAIN
from ..solvers.status import NUMERICAL_FAILURE, OPTIMUM_STATUS
from .measures import FEASIBLE_TOL, TOLERANCES, iterations_to, tolerance_label, welfare_drops
from .storage import ECONOMY_COLUMNS, record_fields, save_arrays

__all__ = ["runs_table", "series_table", "write_tables", "write_traces", "load", "TABLES"]

TABLES = ("runs", "series")
_SERIES = ("gap", "welfare", "infeasibility", "messages_down", "messages_up", "solves", "firm_work", "centre_flops",
           "firm_flops")


def runs_table(config, records: dict) -> dict:
    """The columns of `runs.parquet` (a dict of equal-length numpy arrays) from the loaded records."""
    columns: dict[str, list] = {}
    for si, sc in enumerate(config.scenarios):
        for p in sc.procedures:
            rec = records[(sc.name, p)]
            params = {c: rec[f"economy_{c}"] for c in ECONOMY_COLUMNS}  # recorded when the chunk ran
            status = rec["status"]
            k = status.size
            usable = (status != OUT_OF_DOMAIN) & (rec["reference_status"] != NUMERICAL_FAILURE)
            gap = np.where(usable[:, None], rec["gap"], np.nan)
            welfare = rec["welfare"]
            total = np.cumsum(rec["messages_down"] + rec["messages_up"], axis=1)
            work = {side: np.cumsum(rec[f"{side}_flops"], axis=1) for side in ("centre", "firm")}
            drops = welfare_drops(welfare)
            row = {
                "scenario": [sc.name] * k, "procedure": [p] * k,
                "scenario_index": np.full(k, si), "economy": np.arange(k), "seed": np.full(k, config.seed),
                "economy_kind": [sc.kind] * k, "n": np.full(k, sc.n), "m": np.full(k, sc.m),
                **params,
                "status": [STATUS_NAMES[int(s)] for s in status],
                "reference_status": [OPTIMUM_STATUS[int(s)] for s in rec["reference_status"]],
                "reference_refined": rec["reference_refined"].astype(bool),
                "steps": rec["steps"].astype(np.int64),
                "final_gap": gap[:, -1],
                "final_infeasibility": rec["infeasibility"][:, -1],
                "feasible_every_iterate": np.all(rec["infeasibility"] <= FEASIBLE_TOL, axis=1) & usable,
                "monotone": ~np.any(drops, axis=1) & usable,
            }
            for tol in TOLERANCES:
                it = iterations_to(np.nan_to_num(gap, nan=np.inf), tol)
                hit = np.isfinite(it)
                row[f"iterations_to_{tolerance_label(tol)}"] = it
                at = np.where(hit, it, 0).astype(int)
                row[f"floats_to_{tolerance_label(tol)}"] = np.where(hit, total[np.arange(k), at], np.nan)
                for side in ("centre", "firm"):
                    row[f"{side}_flops_to_{tolerance_label(tol)}"] = np.where(hit, work[side][np.arange(k), at], np.nan)
            steps = rec["steps"]
            taken = np.maximum(steps, 1)
            for side in ("centre", "firm"):  # the run's own mean over the steps it took (NaN: none taken)
                row[f"{side}_flops_per_step"] = np.where(steps > 0, rec[f"{side}_flops"][:, 1:].sum(axis=1) / taken, np.nan)
            row["optimal_welfare"] = rec["optimal_welfare"]
            row["final_welfare"] = welfare[:, -1]
            for key, value in row.items():
                columns.setdefault(key, []).extend(list(value))
    return {k: np.asarray(v) for k, v in columns.items()}


def series_table(config, records: dict) -> dict:
    """The columns of `series.parquet`: every iteration of every run, 0 to the step budget. A run that
    stopped (converged, diverged, failed) carries its final iterate forward with zero messages and work, as
    the study's figures do, and `stopped` says so; a median over runs at an iteration is then over every
    run, not over the survivors."""
    parts: dict[str, list] = {k: [] for k in ("scenario", "procedure", "economy", "iteration", "stopped", *_SERIES)}
    for sc in config.scenarios:
        for p in sc.procedures:
            rec = records[(sc.name, p)]
            k, T = rec["gap"].shape
            econ, it = np.divmod(np.arange(k * T), T)
            parts["scenario"].append(np.full(econ.size, sc.name, dtype=object))
            parts["procedure"].append(np.full(econ.size, p, dtype=object))
            parts["economy"].append(econ)
            parts["iteration"].append(it)
            parts["stopped"].append(it > rec["steps"][econ])
            for f in _SERIES:
                parts[f].append(rec[f].reshape(-1))
    return {k: np.concatenate(v) if v else np.zeros(0) for k, v in parts.items()}


def _arrow_table(columns: dict):
    import pyarrow as pa

    arrays = {}
    for key, value in columns.items():
        if value.dtype == object or value.dtype.kind == "U":
            arrays[key] = pa.array(value.astype(str)).dictionary_encode()
        else:
            arrays[key] = pa.array(value)
    return pa.table(arrays)


def write_tables(config, records: dict, out: Path) -> list[str]:
    """Write runs.parquet (and series.parquet unless the config turns `series` off) atomically; returns the names."""
    import pyarrow.parquet as pq

    from .._files import atomic_write

    written = []
    tables = {"runs": runs_table(config, records)}
    if config.series:
        tables["series"] = series_table(config, records)
    for name, columns in tables.items():
        table = _arrow_table(columns)
        atomic_write(out / f"{name}.parquet", lambda tmp, t=table: pq.write_table(t, tmp, compression="zstd"),
                     suffix=".parquet")
        written.append(f"{name}.parquet")
    return written


def write_traces(config, records: dict, out: Path) -> list[str]:
    """traces/<scenario>__<procedure>.npz: every run's per-step records of one job (if the config asks)."""
    if not config.traces:
        return []
    names = []
    for sc in config.scenarios:
        for p in sc.procedures:
            rec = records[(sc.name, p)]
            names.append(f"traces/{sc.name}__{p}.npz")
            save_arrays(out / names[-1], {k: rec[k] for k in record_fields(sc.kind)})
    return names


def load(folder, table: str = "runs"):
    """A finished study's tidy results as a pandas DataFrame: `table` is "runs" (one row per scenario ×
    procedure × economy) or "series" (one row per iteration). Needs pandas (`pip install pandas`);
    without jplan, `pandas.read_parquet(folder / "runs.parquet")` reads the same file."""
    from ..errors import JplanInputError

    if table not in TABLES:
        raise JplanInputError(f"table must be one of {', '.join(TABLES)}, got {table!r}")
    path = Path(folder) / f"{table}.parquet"
    if not path.is_file():
        hint = " (the study keeps no per-step series: set series = true under [outputs])" if table == "series" else ""
        raise JplanInputError(f"{path}: no such file; run the study first{hint}")
    try:
        import pandas as pd
    except ImportError:
        raise JplanInputError("jplan.study.load needs pandas: pip install pandas") from None
    return pd.read_parquet(path)
