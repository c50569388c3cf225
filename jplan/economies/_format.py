"""The one small helper every economy file format shares: reading TOML with one-line errors, validating
numeric fields, and writing numbers back exactly. Each kind's module (`io` for production economies,
`divisions`, `rudra_io`, `rudra_full`, `multiyear`) builds its format on these; `files.load_any` dispatches
a file on its `kind`.
"""

from __future__ import annotations

import math
import os
import tomllib
from typing import Any

import numpy as np

from .._files import MAX_FILE_BYTES, check_input_file
from ..errors import EconomyFileError

__all__ = ["MAX_FILE_BYTES", "read_toml", "parse_toml"]


def read_toml(path: str | os.PathLike, what: str = "file") -> dict:
    """Parse a TOML file, turning every I/O or syntax problem into a one-line `EconomyFileError`."""
    path = check_input_file(path, what)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EconomyFileError(f"{path}: cannot read ({exc.__class__.__name__})")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise EconomyFileError(f"{path}: not valid TOML ({exc})")
    except RecursionError:
        raise EconomyFileError(f"{path}: not valid TOML (arrays or tables nested too deeply)") from None


def parse_toml(text: str) -> dict:
    """TOML text as a dict, a syntax error as a one-line `EconomyFileError`."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise EconomyFileError(f"not valid TOML ({exc})")
    except RecursionError:
        raise EconomyFileError("not valid TOML (arrays or tables nested too deeply)") from None


def _array(value: Any, field: str, ndim: int) -> np.ndarray:
    """A finite float64 array of rank `ndim` (0: a number, 1: a non-empty list, 2: a rectangular table)."""
    def numeric(x) -> bool:
        if isinstance(x, list):
            return all(numeric(y) for y in x)
        return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))

    if not isinstance(value, np.ndarray) and not numeric(value):
        raise EconomyFileError(f"{field}: must be {['a number', 'a list of numbers', 'a list of lists of numbers'][ndim]} (strings and booleans are not numbers)")
    if isinstance(value, np.ndarray) and value.dtype.kind not in "iuf":
        raise EconomyFileError(f"{field}: must be numeric, got an array of {value.dtype}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise EconomyFileError(f"{field}: must be {['a number', 'a list of numbers', 'a list of lists of numbers'][ndim]}")
    if arr.ndim != ndim or (ndim > 0 and arr.size == 0):
        raise EconomyFileError(f"{field}: must be {['a number', 'a non-empty list of numbers', 'a rectangular list of lists of numbers'][ndim]}")
    if not np.all(np.isfinite(arr)):
        raise EconomyFileError(f"{field}: contains NaN or infinity")
    return arr


def _shape(arr: np.ndarray, field: str, shape: tuple[int, ...], meaning: str) -> None:
    if arr.shape != shape:
        raise EconomyFileError(f"{field}: expected shape {list(shape)} ({meaning}), got {list(arr.shape)}")


def _fmt(x: float) -> str:
    return repr(float(x)) if math.isfinite(x) else "nan"


def _vec(xs) -> str:
    return "[" + ", ".join(_fmt(x) for x in np.asarray(xs).ravel()) + "]"


def _mat(xs) -> str:
    return "[" + ", ".join(_vec(row) for row in np.asarray(xs)) + "]"


def _strs(xs) -> str:
    return "[" + ", ".join('"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"' for s in xs) + "]"


