"""Shared by the benchmark scripts: print a markdown report and write it to `--out`."""

from __future__ import annotations

from pathlib import Path


def emit(lines: list[str], out: str | None) -> str:
    """Print the report (one markdown document from `lines`) and write it to `out` when given."""
    text = "\n".join(lines) + "\n"
    print(text)
    if out:
        Path(out).write_text(text)
    return text
