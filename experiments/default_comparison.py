"""Experiment (a): the default comparison of Arrow–Hurwicz, Malinvaud (LSM) and Heal (seed 001 §6).

    python experiments/default_comparison.py [--out DIR] [--fresh] [--readme]

Writes summary.json, report.md, the tidy tables and figures to results/default (the same as `jplan study`).
With --readme it also puts the printed table into README.md (between the `study-table` markers) and copies
the figures to docs/figures/default_*.png: the command that keeps the README's numbers what the code prints.
"""

import shutil
import sys

from _common import ROOT, run_named_study

START, END = "<!-- study-table:start -->", "<!-- study-table:end -->"
FIGURES = ("gap_vs_iteration.png", "gap_vs_messages.png", "iterations_to_tolerance.png")


def update_readme(result) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text()
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{result.table}\n{END}{tail}")
    for name in FIGURES:
        shutil.copyfile(result.out / name, ROOT / "docs" / "figures" / f"default_{name}")
    print(f"README.md table and docs/figures/default_*.png updated from {result.out}")


if __name__ == "__main__":
    readme = "--readme" in sys.argv
    if readme:
        sys.argv.remove("--readme")
    result = run_named_study("default", __doc__)
    if readme:
        update_readme(result)
