"""Storage of a study folder: the marker, the lock, chunk records with checksums, and cleaning.

Layout of a study folder (everything jplan writes, and the only things `--fresh` removes):

    study.json          marker: {"jplan_study": 1, "name", "fingerprint", ...}
    chunks/<scenario>/<procedure>/<index>.npz   one finished chunk each, with a checksum
    traces/<scenario>__<procedure>.npz          all runs of one job (if traces are on)
    runs.parquet  series.parquet                tidy results (`jplan.study.tables`; series if traces are on)
    summary.json  timings.json  report.md  *.png

A chunk file that cannot be read or whose checksum does not match (a truncated or corrupt file, e.g.
after a full disk or a kill mid-write on a filesystem without atomic rename) counts as not done and is
recomputed. A lock file keeps two runners from working in one folder at the same time.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np

from .._files import OutputError, atomic_write, atomic_write_text
from ..errors import ConfigError

__all__ = [
    "MARKER",
    "chunk_path",
    "save_chunk",
    "load_chunk",
    "chunk_done",
    "StudyLock",
    "open_study",
    "save_arrays",
    "RECORD_FIELDS",
    "DIVISIONS_RECORD_FIELDS",
    "REFERENCE_FIELDS",
    "ECONOMY_COLUMNS",
    "record_fields",
    "reference_path",
    "load_records",
]

MARKER = "study.json"
_PRODUCTS = ("summary.json", "timings.json", "report.md", "gap_vs_iteration.png", "gap_vs_messages.png",
             "gap_vs_iteration_by_messages.png", "iterations_to_tolerance.png", "runs.parquet", "series.parquet")
_PRODUCT_DIRS = ("chunks", "traces")
_LOCK = ".jplan.lock"


def chunk_path(out: Path, scenario: str, procedure: str, index: int) -> Path:
    return out / "chunks" / scenario / procedure / f"{index:05d}.npz"


def _checksum(arrays: dict) -> str:
    h = hashlib.sha256()
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        h.update(key.encode())
        h.update(str(a.dtype).encode())
        h.update(repr(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save_arrays(path: Path, arrays: dict) -> None:
    """Write a compressed .npz atomically, with a checksum of its arrays."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = dict(arrays)
    payload["checksum"] = np.asarray(_checksum(arrays))
    atomic_write(path, lambda tmp: np.savez_compressed(tmp, **payload), suffix=".npz")


def _identity(path: Path, study: str) -> str:
    """What a chunk file is: the study configuration's fingerprint and the chunk's slot (scenario, procedure,
    index: the last three parts of its path). A chunk copied into another slot or from another study's folder
    carries another identity and is not accepted."""
    return hashlib.sha256(("/".join((study, *Path(path).parts[-3:]))).encode()).hexdigest()


def save_chunk(path: Path, *, study: str, **arrays) -> None:
    """Write a chunk atomically with a checksum and its identity (`study`: the config's fingerprint)."""
    save_arrays(path, {**arrays, "identity": np.asarray(_identity(path, study))})


def load_chunk(path: Path, fields, *, study: str) -> dict | None:
    """The arrays of a chunk file, or None if it is missing, unreadable, incomplete, fails its checksum, or
    belongs to another slot or another study configuration (`study`: this config's fingerprint). A symbolic
    link is never read: jplan reads and writes only inside the study folder."""
    if Path(path).is_symlink():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files if k != "checksum"}
            stored = str(data["checksum"]) if "checksum" in data.files else None
    except (OSError, ValueError, EOFError, KeyError, Exception):  # BadZipFile and friends
        return None
    if stored is None or stored != _checksum(arrays) or any(f not in arrays for f in fields):
        return None
    if str(arrays.pop("identity", "")) != _identity(path, study):
        return None
    return arrays


def chunk_done(path: Path, fields, *, study: str) -> bool:
    return load_chunk(path, fields, study=study) is not None


#: The economy's parameters, summarised per economy and recorded with every chunk when it is run (the runs
#: table reads them from there; nothing is sampled again after execution). NaN in block-angular scenarios.
ECONOMY_COLUMNS = ("returns_to_scale_mean", "returns_to_scale_min", "returns_to_scale_max", "elasticity_mean",
                   "elasticity_min", "elasticity_max", "welfare_elasticity", "tfp_mean", "intermediate_share_mean",
                   "density", "subsistence_mean", "setup_cost_mean", "technology_family", "welfare_family",
                   "returns_regime")
_COMMON_FIELDS = ("gap", "welfare", "infeasibility", "messages_down", "messages_up", "solves", "firm_work",
                  "centre_flops", "firm_flops", "status",
                  "steps", "residual", "optimal_welfare", "reference_status", "reference_refined",
                  *(f"economy_{c}" for c in ECONOMY_COLUMNS))
#: Per-run arrays stored for each chunk (and in the traces files) of a production scenario.
RECORD_FIELDS = _COMMON_FIELDS + ("plan_consumption", "plan_output", "plan_resource_use", "plan_intermediate_use")
#: The same for a block-angular scenario: the final plan is every division's activities.
DIVISIONS_RECORD_FIELDS = _COMMON_FIELDS + ("plan_activities",)
#: Per-economy arrays of a scenario's refined reference (`jplan.study.execution.refine_references`).
REFERENCE_FIELDS = ("optimal_welfare", "reference_status", "refined")


def record_fields(kind: str) -> tuple[str, ...]:
    """The per-run arrays stored for a scenario of this kind ("production" or "divisions")."""
    return DIVISIONS_RECORD_FIELDS if kind == "divisions" else RECORD_FIELDS


def reference_path(out: Path, scenario: str, index: int) -> Path:
    return out / "chunks" / scenario / "_reference" / f"{index:05d}.npz"


def load_records(config, out: Path, scenario: str, procedure: str) -> dict:
    """Concatenate every chunk of one scenario × procedure (plus per-chunk wall times)."""
    si = next(i for i, sc in enumerate(config.scenarios) if sc.name == scenario)
    n_chunks = -(-config.economies(si) // config.chunk)
    fields = record_fields(config.scenarios[si].kind)
    parts = []
    for c in range(n_chunks):
        part = load_chunk(chunk_path(out, scenario, procedure, c), fields, study=config.fingerprint())
        if part is None:
            raise ConfigError(f"{chunk_path(out, scenario, procedure, c)}: missing or corrupt chunk; run the study again to recompute it")
        parts.append(part)
    rec = {k: np.concatenate([p[k] for p in parts]) for k in fields}
    rec["seconds_per_economy_step"] = np.array(
        [float(p["wall_seconds"]) / (int(p["chunk_size"]) * int(p["steps_budget"])) for p in parts]
    )
    return rec


class StudyLock:
    """An exclusive, non-blocking lock on a study folder (released when the runner ends or dies)."""

    def __init__(self, out: Path):
        self.path = out / _LOCK
        self.fh = None

    def __enter__(self):
        import fcntl

        self.fh = open(self.path, "a+")
        try:
            fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            self.fh.close()
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise ConfigError(f"{self.path.parent}: another jplan study is running in this folder") from None
            raise
        return self

    def __exit__(self, *exc):
        import fcntl

        fcntl.flock(self.fh, fcntl.LOCK_UN)
        self.fh.close()
        return False


def _is_study_folder(out: Path) -> bool:
    try:
        return json.loads((out / MARKER).read_text()).get("jplan_study") == 1
    except (OSError, ValueError, AttributeError):
        return False


def _clean(out: Path) -> None:
    """Remove what jplan wrote in a study folder, and nothing else (never the folder itself)."""
    for d in _PRODUCT_DIRS:
        target = out / d
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
    for f in (*_PRODUCTS, MARKER):
        target = out / f
        if target.is_file() and not target.is_symlink():
            target.unlink()


def _refuse_links(out: Path) -> None:
    """jplan reads and writes only inside the study folder: a symbolic link where it keeps its own files (the
    lock, the marker, the products, anything under chunks/ or traces/) is refused, before any work, rather
    than followed (it could point at another study's chunks, or make jplan write outside --out)."""
    for name in (_LOCK, MARKER, *_PRODUCTS, *_PRODUCT_DIRS):
        if (out / name).is_symlink():
            raise OutputError(f"{out / name}: is a symbolic link; jplan reads and writes only inside the study folder")
    for d in _PRODUCT_DIRS:
        for root, dirs, files in os.walk(out / d):
            for name in dirs + files:
                if os.path.islink(os.path.join(root, name)):
                    raise OutputError(f"{os.path.join(root, name)}: is a symbolic link; jplan reads and writes "
                                      "only inside the study folder")


@contextlib.contextmanager
def open_study(out: Path, marker: dict, fresh: bool):
    """Check, lock and prepare the output folder before any work; yields while the study runs.

    A path that is not a folder is refused; so is a folder that exists, is not empty and is not a jplan
    study folder, and a study folder holding another configuration unless `fresh`. `fresh` removes only
    the files jplan wrote there (never the folder itself, never anything else in it).
    """
    if "\x00" in str(out):
        raise OutputError("output folder contains a NUL character")
    if os.path.lexists(out) and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a directory")
    if out.is_dir():
        _refuse_links(out)
    is_study = out.is_dir() and _is_study_folder(out)
    if out.is_dir() and not is_study and any(p.name != _LOCK for p in out.iterdir()):
        raise ConfigError(f"{out}: exists and is not a jplan study folder; choose another --out")
    if is_study and not fresh:
        previous = json.loads((out / MARKER).read_text())
        if previous.get("fingerprint") != marker["fingerprint"]:
            raise ConfigError(
                f"{out}: holds results of a different study configuration; pass --fresh to discard them "
                "or choose another --out"
            )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out}: cannot create the folder ({exc.strerror})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise OutputError(f"{out}: folder is not writable")
    with StudyLock(out):
        if is_study and fresh:
            _clean(out)
        atomic_write_text(out / MARKER, json.dumps({"jplan_study": 1, **marker}, indent=2))
        yield out
