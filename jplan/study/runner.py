"""`run_study`: a study as a pipeline with one direction.

    config (`config`) → jobs (`jobs`: what to run, the economies, chunked) → execution (`execution`: chunks
    to `storage`, resumable) → collection (`tables`: records to runs.parquet, series.parquet, traces)
    → summary (`summary`: summary.json, timings.json) → rendering (`report`: the table, report.md, figures)

Each stage imports only earlier stages, `storage` and `measures`; `run_study` is the one place that calls
them, in that order. `tests/test_architecture.py` checks that no module of jplan imports itself in a cycle.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import jax

from ..errors import ConfigError
from .config import StudyConfig
from .execution import check_part, compile_seconds, import_chunks, run_chunks
from .report import write_report
from .storage import load_records, open_study
from .summary import merge_timings, write_summary
from .tables import write_tables, write_traces

__all__ = ["run_study", "StudyResult"]


@dataclass(frozen=True)
class StudyResult:
    out: Path
    summary: dict
    table: str


def _marker(config: StudyConfig) -> dict:
    return {"name": config.name, "fingerprint": config.fingerprint(), "source": config.source,
            "jax_version": jax.__version__}


def run_study(config: StudyConfig, out: str | os.PathLike | None = None, *, fresh: bool = False,
              progress: bool = True, echo: Callable[[str], None] | None = None,
              part: tuple[int, int] | None = None, merge: tuple = ()) -> StudyResult:
    """Run a study end to end: chunks (resumable), then summary.json, traces, report.md and plots.

    Several machines: run `part=(k, m)` on machine k of m (k = 1 … m), each into its own folder (only its
    chunks, no summary), then on one machine `merge=(folder_1, …, folder_m)`: the parts' chunks are
    checked (same configuration, checksums) and copied in, any chunk still missing is computed, and the
    summary is written. The result is the single-machine study's, chunk for chunk.
    """
    if part is not None and not (len(part) == 2 and 1 <= part[0] <= part[1]):
        raise ConfigError(f"part: expected K/M with 1 <= K <= M, got {part!r}")
    if part is not None and merge:
        raise ConfigError("part and merge: a run either computes one part or merges the parts, not both")
    out = Path(out) if out is not None else Path("results") / config.name
    if jax.process_count() > 1:
        if part is not None or merge:
            raise ConfigError("part and merge: a multi-process (jax.distributed) study shares its chunks by process "
                              "index already; use them only without it")
        return _run_distributed(config, out, fresh=fresh, progress=progress, echo=echo)
    sources = [Path(m) for m in merge]
    for source in sources:
        check_part(config, source, out)
    with open_study(out, _marker(config), fresh):
        for source in sources:
            import_chunks(config, source, out)
        return _run_locked(config, out, progress, echo, part)


def _run_distributed(config: StudyConfig, out: Path, *, fresh: bool, progress: bool, echo) -> StudyResult:
    """One process of a multi-process study on JAX's own runtime (`jax.distributed.initialize` was called):
    process 0 checks, locks and prepares the folder (which every process must see: a shared file system);
    every process runs its share of the chunks (chunk c belongs to process c mod P) on its own devices;
    once all have finished, process 0 refines the references and writes the tables, the summary and the
    report, exactly as a single process would from the same chunks. The other processes then read the
    summary. Barriers are `multihost_utils.sync_global_devices`."""
    from jax.experimental import multihost_utils

    index, count = jax.process_index(), jax.process_count()
    sync = lambda name: multihost_utils.sync_global_devices(f"jplan-study-{config.fingerprint()}-{name}")
    if index == 0:
        started = time.perf_counter()
        with open_study(out, _marker(config), fresh):
            sync("opened")
            run_chunks(config, out, progress=progress, part=(1, count))
            sync("chunks")
            result = _run_locked(config, out, progress, echo, started=started)  # every chunk is there: refinement, outputs
        sync("written")
        return result
    sync("opened")
    run_chunks(config, out, progress=False, part=(index + 1, count))
    sync("chunks")
    sync("written")
    import json

    summary = json.loads((out / "summary.json").read_text())
    return StudyResult(out=out, summary=summary, table="")


def _run_locked(config, out, progress, echo, part=None, started: float | None = None) -> StudyResult:
    if echo:
        echo(
            f"jplan study '{config.name}': {len(config.scenarios)} scenario(s) x {config.economies_label} economies, "
            f"procedures {', '.join(p.name for p in config.procedures)}, on {jax.device_count()} "
            f"{jax.devices()[0].platform} device(s) -> {out}"
        )
        if config.note:
            echo(config.note)
    t0, compiled0 = (time.perf_counter() if started is None else started), compile_seconds()
    timings = run_chunks(config, out, progress=progress, part=part)
    if part is not None:
        if echo:
            echo(f"part {part[0]}/{part[1]} finished in {time.perf_counter() - t0:.1f} s; merge the parts with "
                 f"jplan study CONFIG --merge FOLDER... (this one: {out})")
        return StudyResult(out=out, summary={}, table="")
    procedures_s = sum(t.get("compile_seconds", 0.0) for t in timings.values())
    economy_steps = sum(t.get("economy_steps", 0) for t in timings.values())
    run_s = sum(t.get("run_seconds", 0.0) for t in timings.values())
    summary, table = _collect_summarise_render(config, out, timings)
    wall, compile_s = time.perf_counter() - t0, compile_seconds() - compiled0
    if echo:
        echo("")
        echo(table)
        echo("")
        echo(f"finished in {wall:.1f} s, of which tracing and compiling {compile_s:.1f} s ({100 * compile_s / max(wall, 1e-9):.0f}%; "
             f"the procedures' programs {procedures_s:.1f} s, each (procedure, shape) once; the rest samplers, references, "
             f"summaries)"
             + (f"; the procedures ran {economy_steps:.3g} economy-steps (economies x step budget) at "
                f"{economy_steps / run_s:.3g} economy-steps/s" if run_s > 0 else "")
             + "; summary.json, report.md" + (", figures" if config.plots else "") + f" in {out} ({_sizes(out)})")
    return StudyResult(out=out, summary=summary, table=table)


def _sizes(out: Path) -> str:
    """The study folder's size on disk, and its parts: the per-step store (series.parquet), the chunks kept
    for resuming, and the optional npz traces."""
    def size(path: Path) -> int:
        if path.is_file():
            return path.stat().st_size
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0

    mb = lambda b: f"{b / 1e6:.1f} MB"
    parts = [f"series.parquet {mb(size(out / 'series.parquet'))}", f"chunks {mb(size(out / 'chunks'))}"]
    if (out / "traces").is_dir():
        parts.append(f"traces {mb(size(out / 'traces'))}")
    return f"{mb(size(out))} on disk: " + ", ".join(parts)


def _collect_summarise_render(config: StudyConfig, out: Path, timings: dict) -> tuple[dict, str]:
    """Stages 3–5 on the finished chunks: tables and traces, summary.json and timings.json, report.md and
    figures; returns (summary, table)."""
    records = {(sc.name, p): load_records(config, out, sc.name, p) for sc in config.scenarios for p in sc.procedures}
    write_tables(config, records, out)
    write_traces(config, records, out)
    summary = write_summary(config, out, records)
    timings = merge_timings(config, out, records, timings)
    table = write_report(config, out, summary, timings, records)
    return summary, table
