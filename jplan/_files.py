"""Safe file output shared by every writer in jplan (economy files, study records, figures, reports).

Every write goes to a *unique* temporary file in the target's own folder and is then renamed over the
target, so a reader never sees a half-written file and two writers never share a temporary name. A
target that exists but is not a regular file (a directory, a symlink, a device node, a FIFO) is refused
with a one-line `JplanInputError` instead of being replaced.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Callable

from .errors import JplanInputError

__all__ = ["atomic_write", "atomic_write_text", "check_input_file", "check_writable_target", "OutputError", "MAX_FILE_BYTES"]


class OutputError(JplanInputError):
    """An output location that cannot be written (missing folder, not a regular file, permissions, full disk)."""


#: Input files (economies, studies) larger than this are refused before reading.
MAX_FILE_BYTES = 64 * 2**20


def check_input_file(path: str | os.PathLike, what: str = "file") -> Path:
    """`path` as a Path if it is a regular file jplan may read as `what`; else a one-line `EconomyFileError`
    (missing, a directory, a device, pipe or socket, larger than `MAX_FILE_BYTES`). JAX-free, so the command
    line checks its input files before importing JAX."""
    from .errors import EconomyFileError

    path = Path(path)
    if not path.exists():
        raise EconomyFileError(f"{path}: {what} not found")
    if path.is_dir():
        raise EconomyFileError(f"{path}: is a directory, not {'an' if what[:1] in 'aeiou' else 'a'} {what}")
    if not path.is_file():
        raise EconomyFileError(f"{path}: not a regular file (a device, pipe or socket cannot be read as the {what})")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise EconomyFileError(f"{path}: larger than {MAX_FILE_BYTES // 2**20} MiB, too large for a {what}")
    return path


def check_writable_target(path: str | os.PathLike) -> Path:
    """Check, before any work is done, that `path` can be created or replaced as a regular file.

    Raises `OutputError` (one line) if its folder is missing or not writable, or if `path` exists and is
    not a regular file.
    """
    path = Path(path)
    if "\x00" in str(path):
        raise OutputError("output path contains a NUL character")
    folder = path.parent
    if not folder.is_dir():
        raise OutputError(f"{folder}: directory does not exist")
    if os.path.lexists(path):
        mode = os.lstat(path).st_mode
        if not stat.S_ISREG(mode):
            kind = "a directory" if stat.S_ISDIR(mode) else "a symbolic link" if stat.S_ISLNK(mode) else "not a regular file"
            raise OutputError(f"{path}: is {kind}; refusing to replace it")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{folder}: directory is not writable")
    return path


def _umask() -> int:
    """The process's umask (read by setting and restoring it: the only portable way)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, write: Callable[[str], None], *, suffix: str = "") -> None:
    """Write `path` atomically: `write(tmp_name)` fills a unique temporary file that then replaces `path`.

    `suffix` keeps the extension some writers need (matplotlib and NumPy choose formats by it).
    """
    path = check_writable_target(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        # mkstemp creates the file 0600; give it the mode an ordinary open() would (0666 less the umask), so
        # that collaborators and web servers can read results as they can the user's other files
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror or exc.__class__.__name__})") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write a UTF-8 text file atomically (see `atomic_write`)."""

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)

    atomic_write(path, write)
