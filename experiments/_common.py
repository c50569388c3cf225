"""Shared set-up for the experiment scripts: float64, argument parsing, running a bundled study."""

import argparse
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

from jplan.study import load_config, run_study  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def run_named_study(name: str, description: str):
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--out", default=str(ROOT / "results" / name), help="output folder")
    ap.add_argument("--fresh", action="store_true", help="discard earlier results in the folder")
    args = ap.parse_args()
    config = load_config(str(ROOT / "configs" / f"{name}.toml"))
    return run_study(config, args.out, fresh=args.fresh, echo=print)
