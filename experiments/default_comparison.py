"""Experiment (a): the default comparison of Arrow–Hurwicz, Malinvaud (LSM) and Heal (seed 001 §6).

    python experiments/default_comparison.py [--out DIR]

Writes summary.json, report.md, traces and figures to results/default (the same as `jplan study`).
"""

from _common import run_named_study

if __name__ == "__main__":
    run_named_study("default", __doc__)
