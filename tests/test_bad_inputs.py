"""The error contract, through the real `jplan` executable (issue 12).

Every case runs `jplan` inside a fresh folder holding only its input files and asserts: the documented
exit code, exactly one line on stderr naming the problem, no traceback, and no new or changed files. A
sample of the cases (one or more per command, `THROUGH_THE_EXECUTABLE`) runs the installed `jplan`
executable in a subprocess, as a user would; the rest call `jplan.cli.main` in this process (same
argument parsing, same error handling, no interpreter start-up: ~90 cases in seconds rather than minutes),
where any exception that escapes `main` is recorded as a traceback.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import contextlib
import io
import traceback
import warnings
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from pathlib import Path

import pytest

GOOD = """kind = "production"
[resources]
endowments = [10.0, 5.0]
[goods]
welfare_weights = [0.5, 0.5]
[technology]
family = "cobb-douglas"
tfp = [1.0, 1.0]
returns_to_scale = [0.9, 0.9]
resource_shares = [[0.5, 0.3], [0.6, 0.3]]
input_shares = [[0.0, 0.2], [0.1, 0.0]]
"""

STUDY = """name = "s"
batch = 4
[[scenarios]]
name = "a"
n = 3
m = 2
returns_to_scale = [0.6, 0.9]
[procedures.heal-proportional]
steps = 5
"""


#: A small file whose divisions, padded to the widest, make a dense LP of 10^9 entries (issue 32: 7.45 GiB).
WIDE_DIVISIONS = "\n".join(
    ['kind = "divisions"', "[centre]", "resources = [1.0]"]
    + ["[[division]]\nobjective = [1.0]\nshared_use = [[1.0]]\nconstraints = [[1.0]]\nlimits = [1.0]"] * 999
    + ["[[division]]", "objective = [" + ", ".join(["1.0"] * 1000) + "]",
       "shared_use = [[" + ", ".join(["1.0"] * 1000) + "]]", "constraints = [[" + ", ".join(["1.0"] * 1000) + "]]",
       "limits = [1.0]"])


def econ(old: str, new: str) -> str:
    assert old in GOOD, old
    return GOOD.replace(old, new)


RUDRA_FULL = (Path(__file__).resolve().parents[1] / "examples" / "rudra_full.toml").read_text(encoding="utf-8")


def _rudra_full(old: str, new: str) -> str:
    """The shipped Rudra-full example with one edit."""
    assert old in RUDRA_FULL, old
    return RUDRA_FULL.replace(old, new, 1)


def study(old: str, new: str) -> str:
    assert old in STUDY, old
    return STUDY.replace(old, new)


# (id, argv, files {name: text}, exit code, substring of the one stderr line)
CASES = [
    # economy files (through `jplan optimum`)
    ("missing-file", ["optimum", "nope.toml"], {}, 2, "economy file not found"),
    ("directory-as-file", ["optimum", "d"], {"d/x": ""}, 2, "is a directory"),
    ("not-toml", ["optimum", "e.toml"], {"e.toml": "kind = = 1"}, 2, "not valid TOML"),
    ("empty-file", ["optimum", "e.toml"], {"e.toml": ""}, 2, "kind: missing"),
    ("unknown-kind", ["optimum", "e.toml"], {"e.toml": econ('kind = "production"', 'kind = "market"')}, 2, "unknown kind"),
    ("rudra-kind", ["optimum", "e.toml"], {"e.toml": econ('kind = "production"', 'kind = "rudra"')}, 2, "jplan rudra"),
    ("unknown-key", ["optimum", "e.toml"], {"e.toml": GOOD + "colour = 1\n"}, 2, "colour: unknown key"),
    ("missing-section", ["optimum", "e.toml"], {"e.toml": GOOD.split("[technology]")[0]}, 2, "[technology]: missing"),
    ("unknown-family", ["optimum", "e.toml"], {"e.toml": econ('"cobb-douglas"', '"translog"')}, 2, "unknown family"),
    ("leontief-decreasing-returns", ["optimum", "e.toml"], {"e.toml": econ('"cobb-douglas"', '"leontief"')}, 2, 'family "leontief" has constant returns'),
    ("leontief-elasticity", ["optimum", "e.toml"], {"e.toml": econ('"cobb-douglas"', '"leontief"\nelasticity = [0.5, 0.5]')}, 2, 'only for family "ces"'),
    ("ces-no-elasticity", ["optimum", "e.toml"], {"e.toml": econ('"cobb-douglas"', '"ces"')}, 2, "technology.elasticity: missing"),
    ("elasticity-zero", ["optimum", "e.toml"], {"e.toml": econ('"cobb-douglas"', '"ces"\nelasticity = [0.0, 1.0]')}, 2, "technology.elasticity"),
    ("elasticity-nan", ["optimum", "e.toml"], {"e.toml": econ('"cobb-douglas"', '"ces"\nelasticity = [nan, 1.0]')}, 2, "NaN"),
    ("elasticity-string", ["optimum", "e.toml"], {"e.toml": econ('"cobb-douglas"', '"ces"\nelasticity = ["2", 1.0]')}, 2, "not numbers"),
    ("tfp-string", ["optimum", "e.toml"], {"e.toml": econ("tfp = [1.0, 1.0]", 'tfp = ["1", 1.0]')}, 2, "technology.tfp"),
    ("tfp-boolean", ["optimum", "e.toml"], {"e.toml": econ("tfp = [1.0, 1.0]", "tfp = [true, 1.0]")}, 2, "technology.tfp"),
    ("tfp-negative", ["optimum", "e.toml"], {"e.toml": econ("tfp = [1.0, 1.0]", "tfp = [-1.0, 1.0]")}, 2, "technology.tfp"),
    ("tfp-tiny", ["optimum", "e.toml"], {"e.toml": econ("tfp = [1.0, 1.0]", "tfp = [1e-300, 1.0]")}, 2, "supported range"),
    ("tfp-huge", ["optimum", "e.toml"], {"e.toml": econ("tfp = [1.0, 1.0]", "tfp = [1e300, 1.0]")}, 2, "supported range"),
    ("tfp-inf", ["optimum", "e.toml"], {"e.toml": econ("tfp = [1.0, 1.0]", "tfp = [inf, 1.0]")}, 2, "NaN or infinity"),
    ("endowment-zero", ["optimum", "e.toml"], {"e.toml": econ("[10.0, 5.0]", "[0.0, 5.0]")}, 2, "resources.endowments"),
    ("endowment-nan", ["optimum", "e.toml"], {"e.toml": econ("[10.0, 5.0]", "[nan, 5.0]")}, 2, "resources.endowments"),
    ("rho-inf", ["optimum", "e.toml"], {"e.toml": econ("[0.9, 0.9]", "[inf, 0.9]")}, 2, "returns_to_scale"),
    ("rho-zero", ["optimum", "e.toml"], {"e.toml": econ("[0.9, 0.9]", "[0.0, 0.9]")}, 2, "returns_to_scale"),
    ("rho-large", ["optimum", "e.toml"], {"e.toml": econ("[0.9, 0.9]", "[50.0, 0.9]")}, 2, "supported range"),
    ("shares-sum", ["optimum", "e.toml"], {"e.toml": econ("[[0.5, 0.3]", "[[0.6, 0.3]")}, 2, "sums to"),
    ("share-negative", ["optimum", "e.toml"], {"e.toml": econ("[[0.0, 0.2]", "[[-0.1, 0.3]")}, 2, "must be >= 0"),
    ("tfp-shape", ["optimum", "e.toml"], {"e.toml": econ("tfp = [1.0, 1.0]", "tfp = [1.0]")}, 2, "expected shape"),
    ("ragged-shares", ["optimum", "e.toml"], {"e.toml": econ("[[0.5, 0.3], [0.6, 0.3]]", "[[0.5, 0.3], [0.6]]")}, 2, "resource_shares"),
    ("no-resource", ["optimum", "e.toml"], {"e.toml": econ("[[0.5, 0.3], [0.6, 0.3]]", "[[0.0, 0.0], [0.6, 0.3]]").replace("[[0.0, 0.2]", "[[0.0, 1.0]")}, 2, "every firm needs a resource"),
    ("not-productive", ["optimum", "e.toml"], {"e.toml": econ("[[0.5, 0.3], [0.6, 0.3]]", "[[0.01, 0.0], [0.01, 0.0]]").replace("[[0.0, 0.2], [0.1, 0.0]]", "[[0.0, 0.99], [0.99, 0.0]]").replace("[0.9, 0.9]", "[1.2, 1.2]")}, 2, "not productive"),
    ("nearly-unproductive", ["optimum", "e.toml"], {"e.toml": econ("[[0.5, 0.3], [0.6, 0.3]]", "[[0.005, 0.0], [0.005, 0.0]]").replace("[[0.0, 0.2], [0.1, 0.0]]", "[[0.0, 0.995], [0.995, 0.0]]").replace("[0.9, 0.9]", "[1.0, 1.0]")}, 2, "above the supported"),
    ("weights-zero", ["optimum", "e.toml"], {"e.toml": econ("[0.5, 0.5]", "[0.0, 0.0]")}, 2, "must not all be 0"),
    ("welfare-family", ["optimum", "e.toml"], {"e.toml": GOOD + '[welfare]\nfamily = "rawls"\n'}, 2, "welfare.family"),
    ("welfare-ces-eta", ["optimum", "e.toml"], {"e.toml": GOOD + '[welfare]\nfamily = "ces"\n'}, 2, "welfare.elasticity: missing"),
    ("welfare-eta-zero", ["optimum", "e.toml"], {"e.toml": GOOD + '[welfare]\nfamily = "ces"\nelasticity = 0.0\n'}, 2, "welfare.elasticity"),
    ("sg-no-subsistence", ["optimum", "e.toml"], {"e.toml": GOOD + '[welfare]\nfamily = "stone-geary"\n'}, 2, "welfare.subsistence: missing"),
    ("sg-negative", ["optimum", "e.toml"], {"e.toml": GOOD + '[welfare]\nfamily = "stone-geary"\nsubsistence = [-1.0, 0.0]\n'}, 2, "welfare.subsistence"),
    ("names-count", ["optimum", "e.toml"], {"e.toml": econ("[goods]\n", '[goods]\nnames = ["a"]\n')}, 2, "goods.names"),
    ("names-type", ["optimum", "e.toml"], {"e.toml": econ("[goods]\n", "[goods]\nnames = [1, 2]\n")}, 2, "goods.names"),
    ("ces-zero-weight", ["optimum", "e.toml"], {"e.toml": econ("[0.5, 0.5]", "[1.0, 0.0]").replace('"cobb-douglas"', '"ces"\nelasticity = [0.5, 0.5]')}, 2, "every weight > 0"),
    ("unreachable-subsistence", ["optimum", "e.toml"], {"e.toml": GOOD + '[welfare]\nfamily = "stone-geary"\nsubsistence = [1e6, 1e6]\n'}, 2, "welfare.subsistence: no feasible plan can feed it"),
    ("unreachable-subsistence-solve", ["solve", "e.toml", "--procedure", "heal"], {"e.toml": GOOD + '[welfare]\nfamily = "stone-geary"\nsubsistence = [1e6, 1e6]\n'}, 2, "e.toml: welfare.subsistence: no feasible plan can feed it"),
    # solve
    ("unknown-procedure", ["solve", "e.toml", "--procedure", "gosplan"], {"e.toml": GOOD}, 2, "invalid choice"),
    ("steps-zero", ["solve", "e.toml", "--procedure", "heal", "--steps", "0"], {"e.toml": GOOD}, 2, "--steps must be between"),
    ("steps-float", ["solve", "e.toml", "--procedure", "heal", "--steps", "1e9"], {"e.toml": GOOD}, 2, "invalid int value"),
    ("steps-huge", ["solve", "e.toml", "--procedure", "heal", "--steps", "1000000000"], {"e.toml": GOOD}, 2, "--steps must be between"),
    ("step-size-negative", ["solve", "e.toml", "--procedure", "heal", "--step-size", "-1"], {"e.toml": GOOD}, 2, "step size"),
    ("step-size-inf", ["solve", "e.toml", "--procedure", "heal", "--step-size", "inf"], {"e.toml": GOOD}, 2, "step size"),
    ("tolerance-inf", ["solve", "e.toml", "--procedure", "heal", "--tolerance", "inf"], {"e.toml": GOOD}, 2, "tolerance"),
    ("tolerance-zero", ["solve", "e.toml", "--procedure", "heal", "--tolerance", "0"], {"e.toml": GOOD}, 2, "tolerance"),
    ("bad-rule", ["solve", "e.toml", "--procedure", "arrow-hurwicz", "--rule", "sideways"], {"e.toml": GOOD}, 2, "unknown arrow-hurwicz rule"),
    ("rule-for-heal", ["solve", "e.toml", "--procedure", "heal", "--rule", "additive"], {"e.toml": GOOD}, 2, "applies to arrow-hurwicz"),
    ("malinvaud-domain", ["solve", "e.toml", "--procedure", "malinvaud"], {"e.toml": GOOD}, 2, "malinvaud: needs"),
    ("ah-domain", ["solve", "e.toml", "--procedure", "arrow-hurwicz"], {"e.toml": econ("[0.9, 0.9]", "[1.2, 0.9]")}, 2, "arrow-hurwicz: needs decreasing"),
    ("decomposition-on-production", ["solve", "e.toml", "--procedure", "dantzig-wolfe"], {"e.toml": GOOD}, 2, 'dantzig-wolfe runs on kind = "divisions"'),
    ("divisions-infeasible", ["optimum", "d.toml"], {"d.toml": 'kind = "divisions"\n[centre]\nresources = [-1.0]\n[[division]]\nobjective = [1.0]\nshared_use = [[1.0]]\nconstraints = [[1.0]]\nlimits = [1.0]\n'}, 2, "the economy's LP is infeasible"),
    ("divisions-shape", ["solve", "d.toml", "--procedure", "kornai-liptak"], {"d.toml": 'kind = "divisions"\n[centre]\nresources = [1.0]\n[[division]]\nobjective = [1.0]\nshared_use = [[1.0, 2.0]]\nconstraints = [[1.0]]\nlimits = [1.0]\n'}, 2, "division[0].shared_use: expected shape"),
    # sample
    ("sample-n-zero", ["sample", "--n", "0"], {}, 2, "--n must be between"),
    ("sample-n-huge", ["sample", "--n", "100000"], {}, 2, "--n must be between"),
    ("sample-rho-nan", ["sample", "--rho", "nan"], {}, 2, "--rho: must be finite"),
    ("sample-rho-text", ["sample", "--rho", "abc"], {}, 2, "--rho: expected a number"),
    ("sample-rho-order", ["sample", "--rho", "2:1"], {}, 2, "LOW <= HIGH"),
    ("sample-seed-huge", ["sample", "--seed", str(2**70)], {}, 2, "--seed must be between"),
    ("sample-density", ["sample", "--density", "2"], {}, 2, "--density"),
    ("sample-out-missing-dir", ["sample", "--out", "nodir/e.toml"], {}, 2, "directory does not exist"),
    ("sample-out-directory", ["sample", "--out", "d"], {"d/x": ""}, 2, "is a directory"),
    ("sample-out-device", ["sample", "--out", "/dev/null"], {}, 2, "not a regular file"),
    ("input-device", ["optimum", "/dev/zero"], {}, 2, "not a regular file"),
    # sensitivity
    ("plot-extension", ["sensitivity", "e.toml", "--plot", "p.xyz"], {"e.toml": GOOD}, 2, "ending in .png"),
    ("sensitivity-zero-weight", ["sensitivity", "e.toml"], {"e.toml": econ("[0.5, 0.5]", "[1.0, 0.0]")}, 2, "numerical_failure"),
    ("plot-missing-dir", ["sensitivity", "e.toml", "--plot", "nodir/p.png"], {"e.toml": GOOD}, 2, "directory does not exist"),
    # study
    ("study-missing", ["study", "nope.toml"], {}, 2, "not found"),
    ("study-name-dotdot", ["study", "s.toml"], {"s.toml": study('name = "s"', 'name = ".."')}, 2, "name: must be"),
    ("study-name-dot", ["study", "s.toml"], {"s.toml": study('name = "s"', 'name = "."')}, 2, "name: must be"),
    ("scenario-traversal", ["study", "s.toml"], {"s.toml": study('name = "a"', 'name = "../x"')}, 2, "scenarios[0].name"),
    ("study-steps-float", ["study", "s.toml"], {"s.toml": study("steps = 5", "steps = 1e9")}, 2, "must be an integer"),
    ("study-steps-huge", ["study", "s.toml"], {"s.toml": study("steps = 5", "steps = 1000000000")}, 2, "at most"),
    ("study-batch-huge", ["study", "s.toml"], {"s.toml": study("batch = 4", "batch = 10000000000")}, 2, "at most"),
    ("study-rho-inf", ["study", "s.toml"], {"s.toml": study("[0.6, 0.9]", "[0.6, inf]")}, 2, "finite"),
    ("study-n-huge", ["study", "s.toml"], {"s.toml": study("n = 3", "n = 100000")}, 2, "at most"),
    ("study-unknown-procedure", ["study", "s.toml"], {"s.toml": study("heal-proportional", "gosplan")}, 2, "unknown procedure"),
    ("study-elasticity-range", ["study", "s.toml"], {"s.toml": study("m = 2", 'm = 2\ntechnology = "ces"\nelasticity = [0.0001, 2.0]')}, 2, "elasticity: must lie"),
    ("study-technology", ["study", "s.toml"], {"s.toml": study("m = 2", 'm = 2\ntechnology = "translog"')}, 2, "unknown family"),
    ("study-substitutes-irs", ["study", "s.toml"], {"s.toml": study("[0.6, 0.9]", '[1.1, 1.2]\ntechnology = "ces"\nelasticity = 2.0')}, 2, "cannot be combined"),
    ("study-option-string", ["study", "s.toml"], {"s.toml": study("steps = 5", 'steps = 5\nstep_size = "0.1"')}, 2, "step_size"),
    ("study-out-file", ["study", "s.toml", "--out", "f"], {"s.toml": STUDY, "f": "x"}, 2, "not a directory"),
    ("study-out-foreign", ["study", "s.toml", "--out", "d"], {"s.toml": STUDY, "d/keep.txt": "mine"}, 2, "not a jplan study folder"),
    # rudra
    ("rudra-missing", ["rudra", "plan", "nope.toml"], {}, 2, "not found"),
    ("rudra-cycles-zero", ["rudra", "plan", "nope.toml", "--cycles", "0"], {}, 2, "--cycles must be between 1"),
    # issue 32: unbounded work refused before any (the README's limit is 100,000 steps)
    ("rudra-steps-huge", ["rudra", "plan", "nope.toml", "--steps", "1000000000"], {}, 2, "--steps must be between 1 and 100,000"),
    ("rudra-steps-limit", ["rudra", "plan", "nope.toml", "--steps", "100001"], {}, 2, "--steps must be between"),
    ("rudra-cycles-huge", ["rudra", "plan", "nope.toml", "--cycles", "100000000"], {}, 2, "--cycles must be between"),
    ("rudra-rounds-huge", ["rudra", "central", "nope.toml", "--rounds", "1000000000"], {}, 2, "--rounds must be between"),
    ("rudra-cycles-times-steps", ["rudra", "central", "nope.toml", "--cycles", "1000", "--steps", "100000"], {}, 2, "--cycles x --steps"),
    ("rudra-one-cycle-huge-steps", ["rudra", "central", "nope.toml", "--cycles", "1", "--steps", "1000000000"], {}, 2, "--steps must be between"),
    # issue 32: sizes that cannot fit, refused before allocating
    ("study-chunk-memory", ["study", "s.toml"], {"s.toml": study("batch = 4", "batch = 1000000\nchunk = 65536").replace("n = 3", "n = 500")}, 2, "GiB at once"),
    ("study-divisions-limits", ["study", "s.toml"], {"s.toml": 'name = "s"\nbatch = 256\n[[scenarios]]\nname = "d"\neconomy = "divisions"\ndivisions = 200\nactivities = 200\nshared = 50\nprivate = 200\n[procedures.dantzig-wolfe]\nsteps = 5\n'}, 2, "GiB at once"),
    ("divisions-padded-lp", ["solve", "d.toml", "--procedure", "dantzig-wolfe"], {"d.toml": WIDE_DIVISIONS}, 2, "dense simplex supports"),
    ("toml-nested-deep", ["solve", "e.toml", "--procedure", "heal"], {"e.toml": "a = " + "[" * 100000 + "]" * 100000}, 2, "nested too deeply"),
    ("study-nested-deep", ["study", "s.toml"], {"s.toml": "a = " + "[" * 100000 + "]" * 100000}, 2, "nested too deeply"),
    ("rudra-plot-extension", ["rudra", "example", "--plot", "p.xyz"], {}, 2, "ending in .png"),
    ("rudra-not-rudra", ["rudra", "plan", "e.toml"], {"e.toml": GOOD}, 2, "kind"),
    ("no-command", [], {}, 2, "required"),
]


# ------------------------------------------------------------------ prepared folders (issue 32's kinds)
# A sixth element {"setup": callable(folder)} prepares the case folder (a finished study, symbolic links,
# a plugin) before the snapshot; the case then runs and is checked like every other.

SEEDED = STUDY.replace('name = "s"', 'name = "s"\nseed = 0') + "[outputs]\nplots = false\n"
REGISTERED: list[str] = []


def _finished_study(folder: Path) -> None:
    """folder/o: a finished study of SEEDED (run once, in the catalogue's root, then copied)."""
    from jplan.cli import main

    template = folder.parent / "_template"
    if not (template / "o" / "summary.json").exists():
        template.mkdir(exist_ok=True)
        (template / "s.toml").write_text(SEEDED)
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            assert main(["study", str(template / "s.toml"), "--out", str(template / "o"), "--quiet"]) == 0
    shutil.copytree(template / "o", folder / "o", symlinks=True)


def _symlinked(name: str):
    """A finished study whose `name` (jplan's own file or folder) is a symbolic link to outside --out."""
    def setup(folder: Path) -> None:
        _finished_study(folder)
        (folder / "outside").mkdir()
        target = folder / "o" / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        target.symlink_to(folder / "outside" / name)
    return setup


def _fresh_over_symlinked_chunks(folder: Path) -> None:
    """Issue 32's silent wrong result: chunks/ moved aside and linked back, then `--fresh` with another seed."""
    _finished_study(folder)
    shutil.move(str(folder / "o" / "chunks"), str(folder / "scratch"))
    (folder / "o" / "chunks").symlink_to(Path("..") / "scratch")


def _plugin(kind: str):
    """Register a procedure plugin whose step raises, or whose plan has the wrong shape."""
    def setup(folder: Path) -> None:
        import jax
        import jax.numpy as jnp

        import jplan
        from jplan.procedures import HealProportional

        if kind == "nan":
            class Plugin(HealProportional):
                name = "nan-plugin"

                def observe(self, economy, state):
                    obs = super().observe(economy, state)
                    plan = jax.tree_util.tree_map(lambda x: x * jnp.nan, obs.plan)
                    return obs.__class__(**{**vars(obs), "plan": plan})
        elif kind == "raises":
            class Plugin(HealProportional):
                name = "raising-plugin"

                def step(self, economy, state):
                    raise RuntimeError("the plugin's own bug\nsecond line")
        else:
            class Plugin(HealProportional):
                name = "scalar-plugin"

                def observe(self, economy, state):
                    obs = super().observe(economy, state)
                    plan = obs.plan.__class__(consumption=jnp.sum(obs.plan.consumption), output=obs.plan.output,
                                              resource_use=obs.plan.resource_use, intermediate_use=obs.plan.intermediate_use)
                    return jax.tree_util.tree_map(lambda x: x, obs.__class__(**{**vars(obs), "plan": plan}))
        jplan.register_procedure(default_steps=5)(Plugin)
        REGISTERED.append(Plugin.name)
    return setup


def _unregister_plugins() -> None:
    from jplan.procedures import DEFAULT_STEPS, PROCEDURES

    for name in REGISTERED:
        PROCEDURES.pop(name, None)
        DEFAULT_STEPS.pop(name, None)
    REGISTERED.clear()


PREPARED = [
    ("study-fresh-over-symlinked-chunks", ["study", "t1.toml", "--out", "o", "--fresh", "--quiet"],
     {"s.toml": SEEDED, "t1.toml": SEEDED.replace("seed = 0", "seed = 1")}, 2, "symbolic link",
     {"setup": _fresh_over_symlinked_chunks}),
    ("study-symlinked-lock", ["study", "s.toml", "--out", "o", "--quiet"], {"s.toml": SEEDED}, 2, "symbolic link",
     {"setup": _symlinked(".jplan.lock")}),
    ("study-symlinked-traces", ["study", "s.toml", "--out", "o", "--quiet"], {"s.toml": SEEDED}, 2, "symbolic link",
     {"setup": _symlinked("traces")}),
    ("study-symlinked-chunks", ["study", "s.toml", "--out", "o", "--quiet"], {"s.toml": SEEDED}, 2, "symbolic link",
     {"setup": _symlinked("chunks")}),
    ("study-symlinked-summary", ["study", "s.toml", "--out", "o", "--quiet"], {"s.toml": SEEDED}, 2, "symbolic link",
     {"setup": _symlinked("summary.json")}),
    ("plugin-raises", ["solve", "e.toml", "--procedure", "raising-plugin"], {"e.toml": GOOD}, 2,
     "procedure 'raising-plugin'", {"setup": _plugin("raises")}),
    ("plugin-wrong-shape", ["solve", "e.toml", "--procedure", "scalar-plugin"], {"e.toml": GOOD}, 2,
     "consumption has shape", {"setup": _plugin("scalar")}),
    ("rudra-save-missing-dir", ["rudra", "example", "--save", "full/a.toml"], {}, 2, "full: directory does not exist"),
    # issue 31, second catalogue: --part / --merge, Rudra-full files, extreme family parameters
    ("study-part-out-of-range", ["study", "s.toml", "--out", "o", "--part", "3/2"], {"s.toml": STUDY}, 2, "--part: expected K/M"),
    ("study-part-zero", ["study", "s.toml", "--out", "o", "--part", "0/2"], {"s.toml": STUDY}, 2, "--part: expected K/M"),
    ("study-part-text", ["study", "s.toml", "--out", "o", "--part", "a/b"], {"s.toml": STUDY}, 2, "--part: expected K/M"),
    ("study-part-and-merge", ["study", "s.toml", "--out", "o", "--part", "1/2", "--merge", "x"], {"s.toml": STUDY}, 2,
     "a run either computes one part or merges the parts"),
    ("study-merge-missing", ["study", "s.toml", "--out", "o", "--merge", "nope"], {"s.toml": STUDY}, 2,
     "nope: not a jplan study folder"),
    ("study-merge-a-file", ["study", "s.toml", "--out", "o", "--merge", "s.toml"], {"s.toml": STUDY}, 2,
     "s.toml: not a jplan study folder"),
    ("rudra-full-negative-input", ["rudra", "central", "r.toml"], {"r.toml": _rudra_full("[0.10, 0.05, 0.00, 0.00],", "[-0.10, 0.05, 0.00, 0.00],")},
     2, "sectors.inputs: must be >= 0 (entry [1, 1] is -0.1)"),
    ("rudra-full-budget-shares", ["rudra", "central", "r.toml"], {"r.toml": _rudra_full("budget_shares = [0.35, 0.25, 0.2, 0.2]", "budget_shares = [0.35, 0.25, 0.2, 0.3]")},
     2, "budget_shares: must sum to 1 (the linear expenditure system), got 1.1"),
    ("rudra-full-ragged", ["rudra", "central", "r.toml"], {"r.toml": _rudra_full("[0.10, 0.05, 0.00, 0.00],", "[0.10, 0.05, 0.00],")},
     2, "sectors.inputs: must be a list of lists"),
    ("rudra-full-lorenz-above-base", ["rudra", "central", "r.toml"], {"r.toml": _rudra_full("lorenz_target = 0.30", "lorenz_target = 0.40")},
     2, "economy.lorenz_target: must be in (0, lorenz_base"),
    ("rudra-full-negative-population", ["rudra", "central", "r.toml"], {"r.toml": _rudra_full("population = 600.0", "population = -600.0")},
     2, "economy.population: must be >= 0"),
    ("rudra-full-nan", ["rudra", "central", "r.toml"], {"r.toml": _rudra_full("exports = [40.0, 120.0, 30.0, 10.0]", "exports = [40.0, nan, 30.0, 10.0]")},
     2, "commodities.exports: contains NaN or infinity"),
    ("elasticity-tiny", ["optimum", "e.toml"], {"e.toml": econ('family = "cobb-douglas"', 'family = "ces"\nelasticity = [1e-6, 1e-6]')},
     2, "technology.elasticity: entry 1 is 1e-06, outside the supported range"),
    ("elasticity-huge", ["solve", "e.toml", "--procedure", "heal"], {"e.toml": econ('family = "cobb-douglas"', 'family = "ces"\nelasticity = [1e6, 1e6]')},
     2, "technology.elasticity: entry 1 is 1000000.0, outside the supported range"),
]
CASES += PREPARED


#: Cases that run the real executable in a subprocess (every command, and argument-parsing failures)
THROUGH_THE_EXECUTABLE = ("missing-file", "not-toml", "tfp-tiny", "unreachable-subsistence-solve", "unknown-procedure",
                          "steps-float", "study-out-foreign", "study-unknown-procedure", "rudra-missing",
                          "rudra-plot-extension", "sample-out-device", "sample-rho-text", "no-command")


def _jplan() -> list[str]:
    exe = shutil.which("jplan")
    return [exe] if exe else [sys.executable, "-m", "jplan.cli"]


def _snapshot(folder: Path) -> dict:
    """Every path under folder (symbolic links as links, not followed) with its size and mtime."""
    out = {}
    for p in folder.rglob("*"):
        st = p.lstat()
        out[str(p.relative_to(folder))] = (st.st_size, st.st_mtime_ns)
    return out


def _prepare(case, root: Path) -> Path:
    name, _, files, _, _ = case[:5]
    folder = root / name
    folder.mkdir()
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    if len(case) > 5 and "setup" in case[5]:
        case[5]["setup"](folder)
    return folder


def _run(case, root: Path):
    folder = _prepare(case, root)
    before = _snapshot(folder)
    env = dict(os.environ, PYTHONWARNINGS="ignore", JAX_PLATFORMS="cpu")
    proc = subprocess.run(_jplan() + case[1], cwd=folder, capture_output=True, text=True, timeout=300, env=env)
    return proc, before, _snapshot(folder)


def _run_in_process(case, root: Path, folder: Path | None = None):
    """Run a case in this process, in its prepared folder (or in `folder`, prepared by the caller)."""
    from jplan.cli import main

    folder = _prepare(case, root) if folder is None else folder
    before = _snapshot(folder)
    err, out, here = io.StringIO(), io.StringIO(), os.getcwd()
    os.chdir(folder)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                code = main(list(case[1]))
            except SystemExit as exc:  # argparse's own exits
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:  # escaped main: what the executable would print as a traceback
                traceback.print_exc()
                code = 1
    finally:
        os.chdir(here)
    return SimpleNamespace(stderr=err.getvalue(), stdout=out.getvalue(), returncode=code), before, _snapshot(folder)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("catalogue")
    external = [c for c in CASES if c[0] in THROUGH_THE_EXECUTABLE]
    try:
        with ThreadPoolExecutor(max_workers=3) as pool:  # subprocesses, started while this process works
            pending = pool.map(lambda c: _run(c, root), external)
            outcomes = {c[0]: _run_in_process(c, root) for c in CASES if c[0] not in THROUGH_THE_EXECUTABLE}
            outcomes.update(zip((c[0] for c in external), pending))
    finally:
        _unregister_plugins()
    return outcomes


def test_some_cases_run_the_real_executable():
    assert set(THROUGH_THE_EXECUTABLE) <= {c[0] for c in CASES}
    assert {c[1][0] if c[1] else "" for c in CASES if c[0] in THROUGH_THE_EXECUTABLE} >= {
        "optimum", "solve", "study", "rudra", "sample", ""}


def test_the_catalogue_covers_at_least_80_kinds():
    assert len({c[0] for c in CASES}) == len(CASES) >= 80


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_with_the_documented_exit_and_nothing_written(case, results):
    name, _, _, code, message = case[:5]
    proc, before, after = results[name]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert "Traceback" not in proc.stderr, proc.stderr
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("jplan: error:") and message in lines[0], lines[0]
    assert proc.returncode == code, (proc.returncode, lines[0])
    assert after == before, set(after) ^ set(before)


def _full_disk(limit: int = 4096):
    """In the child: writes past `limit` bytes fail with EFBIG (SIGXFSZ ignored), as a full disk fails them with ENOSPC."""
    import resource
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_a_write_failing_midway_is_one_line_and_leaves_nothing_half_written(tmp_path):
    """A file write that fails part-way (here the kernel's file-size limit; a full disk fails the same
    write call) gives one line and exit 2, leaves no partial or temporary file, and a study so interrupted
    resumes to completion once writes succeed again."""
    env = dict(os.environ, PYTHONWARNINGS="ignore", JAX_PLATFORMS="cpu")
    run = lambda argv, **kw: subprocess.run(_jplan() + argv, cwd=tmp_path, capture_output=True, text=True,
                                            timeout=300, env=env, **kw)
    proc = run(["sample", "--n", "60", "--m", "5", "--out", "e.toml"], preexec_fn=_full_disk)
    assert proc.returncode == 2 and proc.stderr.splitlines() == ["jplan: error: e.toml: cannot write (File too large)"]
    assert list(tmp_path.iterdir()) == []
    # issue 32: `rudra example --save` on a full disk left a 0-byte file and did not name it
    (tmp_path / "full").mkdir()
    proc = run(["rudra", "example", "--save", "full/a.toml"], preexec_fn=lambda: _full_disk(512))
    assert proc.returncode == 2 and proc.stderr.splitlines() == ["jplan: error: full/a.toml: cannot write (File too large)"], proc.stderr
    assert list((tmp_path / "full").iterdir()) == []
    (tmp_path / "full").rmdir()

    (tmp_path / "s.toml").write_text(STUDY.replace("batch = 4", "batch = 64").replace("steps = 5", "steps = 50"))
    proc = run(["study", "s.toml", "--out", "out"], preexec_fn=_full_disk)
    lines = [line for line in proc.stderr.splitlines() if line.strip() and "study:" not in line]  # tqdm's bar aside
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("jplan: error:") and "File too large" in lines[0], proc.stderr
    leftovers = [p.name for p in (tmp_path / "out").rglob("*") if ".tmp" in p.name]
    assert leftovers == []
    assert not (tmp_path / "out" / "summary.json").exists()
    proc = run(["study", "s.toml", "--out", "out"])
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "summary.json").is_file()


# ------------------------------------------------- hostile but valid: no traceback, and never a wrong result
# Issue 32's kinds that are not refusals: jplan must run them to completion (exit 0, or 1 where a procedure
# does not converge) with no traceback, strict JSON where --json is asked, and the study a clean run gives.

def _strict_json(text: str):
    def refuse(name):
        raise ValueError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def _sampled(*argv):
    def setup(folder: Path) -> None:
        from jplan.cli import main

        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            assert main(["sample", *argv, "--out", str(folder / "e.toml")]) == 0
    return setup


def _swap_chunks(folder: Path) -> None:
    """A chunk copied over another's slot, and another procedure's chunk over a third."""
    _finished_study(folder)
    slot = folder / "o" / "chunks" / "a" / "heal-proportional"
    chunks = sorted(slot.glob("*.npz"))
    assert chunks, "the study has chunks"
    other = folder / "_other"
    other.mkdir()
    (other / "t1.toml").write_text(SEEDED.replace("seed = 0", "seed = 1"))
    from jplan.cli import main

    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        assert main(["study", str(other / "t1.toml"), "--out", str(other / "o"), "--quiet"]) == 0
    for c in chunks:  # another seed's chunks in this study's slots
        shutil.copy(other / "o" / "chunks" / "a" / "heal-proportional" / c.name, c)


def _foreign_part(folder: Path) -> None:
    """Another study's folder (seed 1) with this study's study.json copied in, offered to --merge."""
    from jplan.cli import main

    (folder / "t1.toml").write_text(SEEDED.replace("seed = 0", "seed = 1"))
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        assert main(["study", str(folder / "t1.toml"), "--out", str(folder / "part"), "--quiet"]) == 0
    _finished_study(folder)
    shutil.copy(folder / "o" / "study.json", folder / "part" / "study.json")


def _same_study_as_clean(folder: Path, out: str) -> None:
    clean = json.loads((folder.parent / "_template" / "o" / "summary.json").read_text())
    got = json.loads((folder / out / "summary.json").read_text())
    for s in (clean, got):
        for procs in s["scenarios"].values():
            for p in procs.values():
                p.pop("wall_seconds_per_economy_step", None)
                p.pop("compile_seconds", None)
    assert got == clean


def _never_converged(out: str) -> None:
    """A plugin whose plans are NaN: reported (strict JSON), never `converged`, no plan of NaN shown as a result."""
    result = _strict_json(out)
    assert result["status"] == "diverged", result["status"]


def _corrupted_part(folder: Path) -> None:
    """A finished part whose chunk files are truncated (a copy cut short), offered to --merge."""
    _finished_study(folder)
    chunks = sorted((folder / "o" / "chunks").rglob("*.npz"))
    assert chunks
    for c in chunks:
        data = c.read_bytes()
        c.write_bytes(data[: len(data) // 2])


def _plots_only_change(folder: Path) -> None:
    _finished_study(folder)
    (folder / "p.toml").write_text(SEEDED.replace("plots = false", "plots = false\ntraces = true"))
    folder.joinpath("mtimes.json").write_text(json.dumps(
        {str(p): p.stat().st_mtime_ns for p in (folder / "o" / "chunks").rglob("*.npz")}))


def _chunks_untouched(folder: Path) -> None:
    before = json.loads((folder / "mtimes.json").read_text())
    assert before and {p: Path(p).stat().st_mtime_ns for p in before} == before


# (id, argv, files, setup, exit codes allowed, check(folder, stdout))
RUNS = [
    ("json-nan-welfare", ["solve", "e.toml", "--procedure", "malinvaud-memory", "--steps", "20", "--json"], {},
     _sampled("--n", "3", "--rho", "0.8", "--welfare", "stone-geary", "--subsistence", "0.99"), (0, 1),
     lambda folder, out: _strict_json(out)),
    ("json-neginf-welfare", ["solve", "e.toml", "--procedure", "heal", "--steps", "100", "--json"], {},
     _sampled("--n", "4", "--rho", "0.8", "--setup", "0.3:0.4", "--seed", "2"), (0, 1), lambda folder, out: _strict_json(out)),
    ("study-another-seeds-chunks-in-its-slots", ["study", "s.toml", "--out", "o", "--quiet"], {"s.toml": SEEDED},
     _swap_chunks, (0,), lambda folder, out: _same_study_as_clean(folder, "o")),
    ("study-merge-another-studys-chunks", ["study", "s.toml", "--out", "m", "--merge", "part", "--quiet"], {"s.toml": SEEDED},
     _foreign_part, (0,), lambda folder, out: _same_study_as_clean(folder, "m")),
    ("plugin-returns-nan", ["solve", "e.toml", "--procedure", "nan-plugin", "--json"], {"e.toml": GOOD}, _plugin("nan"),
     (1,), lambda folder, out: _never_converged(out)),
    ("study-merge-corrupted-part", ["study", "s.toml", "--out", "m", "--merge", "o", "--quiet"], {"s.toml": SEEDED},
     _corrupted_part, (0,), lambda folder, out: _same_study_as_clean(folder, "m")),
    ("study-outputs-only-change-resumes", ["study", "p.toml", "--out", "o", "--quiet"], {"s.toml": SEEDED},
     _plots_only_change, (0,), lambda folder, out: _chunks_untouched(folder)),
]


@pytest.mark.parametrize("case", RUNS, ids=[c[0] for c in RUNS])
def test_hostile_but_valid_runs_complete_with_the_right_result(case, tmp_path_factory):
    name, argv, files, setup, codes, check = case
    root = tmp_path_factory.getbasetemp() / "runs"
    root.mkdir(exist_ok=True)
    try:
        proc, _, _ = _run_in_process((name, argv, files, 0, "", {"setup": setup}), root)
    finally:
        _unregister_plugins()
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode in codes, proc.stderr
    check(root / name, proc.stdout)


def test_a_world_writable_compile_cache_is_not_used(tmp_path):
    """Issue 32: swapped cache entries make JAX load the wrong program. The cache is trusted code: a folder
    other users can write is ignored (nothing is written to or read from it), and the command still works."""
    cache = tmp_path / "cache"
    cache.mkdir()
    cache.chmod(0o777)
    (tmp_path / "e.toml").write_text(GOOD)
    env = dict(os.environ, PYTHONWARNINGS="ignore", JAX_PLATFORMS="cpu", JPLAN_CACHE_DIR=str(cache))
    proc = subprocess.run(_jplan() + ["optimum", "e.toml", "--json"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, env=env)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    _strict_json(proc.stdout)
    assert list(cache.iterdir()) == []


def test_a_closed_pipe_is_quiet(tmp_path):
    """Issue 32: `jplan optimum ... --json | true` printed "Broken pipe" and exited 2."""
    (tmp_path / "e.toml").write_text(GOOD)
    env = dict(os.environ, PYTHONWARNINGS="ignore", JAX_PLATFORMS="cpu")
    cmd = " ".join(_jplan()) + " optimum e.toml --json | true; exit ${PIPESTATUS[0]}"
    proc = subprocess.run(["bash", "-c", cmd], cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
    assert proc.stderr == "", proc.stderr
    assert proc.returncode in (0, 141), proc.returncode  # quiet: success, or the shell's SIGPIPE status


def test_library_kinds_sparse_solves_never_converge_on_a_negative_or_out_of_range_economy():
    """Issue 32, item 8 (library only: sparse economies have no command): an unproductive economy or an
    out-of-range input index is never `converged`."""
    import jax

    from jplan.economies import sample_sparse
    from jplan.solvers import labour_values, leontief_quantities

    e = sample_sparse(jax.random.PRNGKey(1), 300)
    unproductive = type(e)(inputs=e.inputs, coefficients=e.coefficients * 3.0, labour=e.labour, final_demand=e.final_demand)
    assert not bool(leontief_quantities(unproductive).converged)
    bad = type(e)(inputs=e.inputs.at[0, 0].set(10_000), coefficients=e.coefficients, labour=e.labour,
                  final_demand=e.final_demand)
    assert not bool(leontief_quantities(bad).converged) and not bool(labour_values(bad).converged)


def test_the_catalogue_covers_every_kind_of_issue_32():
    """Every item of issue 32 has a case here: refusals in CASES, valid-but-hostile runs in RUNS, and the
    cache, pipe and sparse tests above."""
    ids = {c[0] for c in CASES} | {c[0] for c in RUNS}
    wanted = {"study-fresh-over-symlinked-chunks", "study-symlinked-lock", "study-symlinked-traces", "study-symlinked-chunks",
              "study-another-seeds-chunks-in-its-slots", "study-merge-another-studys-chunks", "json-nan-welfare",
              "json-neginf-welfare", "rudra-steps-huge", "rudra-steps-limit", "rudra-cycles-huge", "rudra-rounds-huge",
              "rudra-cycles-times-steps", "rudra-one-cycle-huge-steps", "study-chunk-memory", "study-divisions-limits",
              "divisions-padded-lp", "toml-nested-deep", "rudra-save-missing-dir", "plugin-raises", "plugin-wrong-shape",
              "study-outputs-only-change-resumes"}
    assert wanted <= ids, wanted - ids


# ------------------------------------------ issue 31, item 5: concurrency, read-only outputs, the cache
@contextlib.contextmanager
def _read_only(*paths: Path):
    """Make `paths` (recursively) refuse writes, enforced by the kernel: permission bits for a normal user;
    for root, whom permission bits do not stop, the immutable attribute (`chattr +i`, on ext4, xfs, btrfs)."""
    if os.geteuid() != 0:
        everything = [q for p in paths for q in [p, *p.rglob("*")]]
        modes = {q: q.stat().st_mode for q in everything}
        for q in everything:
            q.chmod(0o555 if q.is_dir() else 0o444)
        try:
            yield
        finally:
            for q, mode in modes.items():
                q.chmod(mode)
        return
    chattr = shutil.which("chattr")
    made = chattr is not None and subprocess.run([chattr, "-R", "+i", *map(str, paths)], capture_output=True).returncode == 0
    if not made:
        pytest.skip("root on a file system without chattr +i: no way here to make a folder read-only to root")
    try:
        yield
    finally:
        subprocess.run([chattr, "-R", "-i", *map(str, paths)], capture_output=True)


READ_ONLY = [
    # (id, argv, message): every writer of the command line, into a read-only folder
    ("read-only-sample", ["sample", "--n", "3", "--out", "ro/e.toml"], "ro: directory is not writable"),
    ("read-only-study-new", ["study", "s.toml", "--out", "ro/o", "--quiet"], "ro/o: cannot create the folder"),
    ("read-only-study-finished", ["study", "s.toml", "--out", "o", "--quiet"], "o: folder is not writable"),
    ("read-only-study-fresh", ["study", "s.toml", "--out", "o", "--fresh", "--quiet"], "o: folder is not writable"),
    ("read-only-examples", ["examples", "--out", "ro/x"], "ro/x: cannot write the examples"),
    ("read-only-sensitivity-plot", ["sensitivity", "e.toml", "--plot", "ro/h.png"], "ro: directory is not writable"),
    ("read-only-rudra-save", ["rudra", "example", "--save", "ro/a.toml"], "ro: directory is not writable"),
    ("read-only-table-economy", ["table", "economy", "t.csv", "--out", "ro/e.toml"], "ro: directory is not writable"),
]


@pytest.mark.parametrize("case", READ_ONLY, ids=[c[0] for c in READ_ONLY])
def test_read_only_outputs_are_one_line_and_change_nothing(case, tmp_path):
    name, argv, message = case
    (tmp_path / "e.toml").write_text(GOOD)
    (tmp_path / "t.csv").write_text((Path(__file__).resolve().parents[1] / "configs" / "table_three_sectors.csv").read_text())
    (tmp_path / "ro").mkdir()
    _finished_study(tmp_path)  # tmp_path/o, a finished study of s.toml
    (tmp_path / "s.toml").write_text(SEEDED)
    with _read_only(tmp_path / "ro", tmp_path / "o"):
        proc, before, after = _run_in_process((name, argv, {}, 2, message), tmp_path.parent / f"_{name}", folder=tmp_path)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert "Traceback" not in proc.stderr and len(lines) == 1, proc.stderr
    assert lines[0].startswith("jplan: error:") and message in lines[0], lines[0]
    assert proc.returncode == 2 and after == before


def _locked_by_another_process(lock: Path) -> bool:
    import fcntl

    try:
        with open(lock, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(fh, fcntl.LOCK_UN)
        return False
    except BlockingIOError:
        return True
    except OSError:
        return False


def test_two_concurrent_studies_in_one_folder_one_refuses_nothing_lost(tmp_path):
    """Two `jplan study` runs into one folder at the same time: the second (started while the first holds the
    folder) refuses in one line with exit 2 and writes nothing; the first finishes with the results a lone
    run gives."""
    import time

    (tmp_path / "s.toml").write_text(SEEDED.replace("batch = 4", "batch = 32").replace("steps = 5", "steps = 60"))
    env = dict(os.environ, PYTHONWARNINGS="ignore", JAX_PLATFORMS="cpu", JPLAN_CACHE_DIR="off")
    first = subprocess.Popen(_jplan() + ["study", "s.toml", "--out", "o", "--quiet"], cwd=tmp_path, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        while not _locked_by_another_process(tmp_path / "o" / ".jplan.lock"):
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first study never locked its folder"
            time.sleep(0.02)
        before = _snapshot(tmp_path / "o")
        proc, _, _ = _run_in_process(("second", ["study", "s.toml", "--out", "o", "--quiet"], {}, 2, ""), tmp_path.parent,
                                     folder=tmp_path)
        still_running = first.poll() is None
    finally:
        out, err = first.communicate(timeout=600)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1 and "another jplan study is running in this folder" in lines[0], proc.stderr
    assert still_running, "the first study ended before the second started: the test saw no concurrency"
    assert first.returncode == 0 and "Traceback" not in err, err
    assert before  # the folder held the first study's lock while the second was refused
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["scenarios"]["a"]["heal-proportional"]["runs"] == 32
    assert not [p for p in (tmp_path / "o").rglob("*") if ".tmp" in p.name]


def _cache_truncated(cache: Path) -> None:
    for f in cache.iterdir():
        f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])


def _cache_garbage(cache: Path) -> None:
    for f in cache.iterdir():
        f.write_bytes(os.urandom(max(f.stat().st_size, 16)))


def _cache_flipped(cache: Path) -> None:
    """Bytes flipped inside each entry (its header intact)."""
    for f in cache.iterdir():
        data = bytearray(f.read_bytes())
        for i in range(len(data) // 3, len(data), 97):
            data[i] ^= 0xFF
        f.write_bytes(bytes(data))


CACHES = [("cache-truncated-entries", _cache_truncated), ("cache-garbage-entries", _cache_garbage),
          ("cache-flipped-bytes", _cache_flipped), ("cache-path-is-a-file", None), ("cache-read-only", "read-only")]


@pytest.fixture(scope="module")
def cache_reference(tmp_path_factory):
    """A filled compile cache of `jplan solve` on GOOD and the command's output without a cache."""
    root = tmp_path_factory.mktemp("cache")
    (root / "e.toml").write_text(GOOD)
    argv = _jplan() + ["solve", "e.toml", "--procedure", "heal", "--json"]
    env = dict(os.environ, PYTHONWARNINGS="ignore", JAX_PLATFORMS="cpu")
    plain = subprocess.run(argv, cwd=root, capture_output=True, text=True, timeout=300, env=dict(env, JPLAN_CACHE_DIR="off"))
    filled = subprocess.run(argv, cwd=root, capture_output=True, text=True, timeout=300, env=dict(env, JPLAN_CACHE_DIR=str(root / "cache")))
    assert plain.returncode == filled.returncode == 0 and plain.stdout == filled.stdout
    assert any((root / "cache").iterdir())
    return root, argv, env, plain.stdout


@pytest.mark.parametrize("case", CACHES, ids=[c[0] for c in CACHES])
def test_an_unusable_compile_cache_is_skipped_and_the_answer_is_unchanged(case, cache_reference, tmp_path):
    """The compile cache only saves time: corrupted entries (truncated, garbage, flipped bytes), a file where
    the folder should be, or a read-only folder never change an answer, print anything or fail a command."""
    name, spoil = case
    root, argv, env, expected = cache_reference
    cache = tmp_path / "cache"
    if spoil is None:
        cache.write_text("not a folder")
    else:
        shutil.copytree(root / "cache", cache)
        cache.chmod(0o700)
        if callable(spoil):
            spoil(cache)
    (tmp_path / "e.toml").write_text(GOOD)
    guard = _read_only(cache) if spoil == "read-only" else contextlib.nullcontext()
    with guard:
        proc = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=300,
                              env=dict(env, JPLAN_CACHE_DIR=str(cache)))
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert proc.stdout == expected


def test_the_catalogue_covers_every_kind_of_issue_31_item_5():
    """Issue 31, item 5's list, each kind named by a case of this file (refusals, hostile runs, the tests above)."""
    ids = ({c[0] for c in CASES} | {c[0] for c in RUNS} | {c[0] for c in READ_ONLY} | {c[0] for c in CACHES}
)
    wanted = {
        "rudra-full-negative-input", "rudra-full-nan", "divisions-infeasible", "divisions-shape",  # files
        "study-part-out-of-range", "study-merge-missing", "study-merge-another-studys-chunks",
        "study-merge-corrupted-part",  # --part / --merge
        "plugin-raises", "plugin-wrong-shape", "plugin-returns-nan",  # plugins
        "cache-truncated-entries", "cache-garbage-entries", "cache-path-is-a-file", "cache-read-only",  # the cache
        "elasticity-tiny", "elasticity-huge", "unreachable-subsistence", "weights-zero", "ces-zero-weight",  # families
        "read-only-study-new", "read-only-sample", "read-only-study-finished",  # the file system (concurrency, disk full: above)
        "study-batch-huge", "sample-n-huge", "study-chunk-memory",  # huge sizes, refused before allocating
    }
    assert wanted <= ids, wanted - ids
