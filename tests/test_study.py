"""`jplan study`: the runner on a tiny config, the sharded multi-device path, resume after an
interruption, determinism and config validation."""

import json
import os
import shutil
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from jplan.cli import main
from jplan.errors import ConfigError
from jplan.study import load_config, parse_config, run_study
from jplan.study.measures import tolerance_label
from jplan.study import execution as execution_module
from jplan.study import jobs as jobs_module
from jplan.study import storage as storage_module

TINY = """
name = "tiny"
seed = 3
batch = 10
chunk = 4
[[scenarios]]
name = "dec"
n = 3
m = 2
returns_to_scale = [0.6, 0.9]
procedures = ["arrow-hurwicz", "heal-proportional"]
[[scenarios]]
name = "lab"
n = 3
m = 1
returns_to_scale = 1.0
procedures = ["malinvaud", "heal-proportional"]
[procedures.arrow-hurwicz]
steps = 400
[procedures.malinvaud]
steps = 10
[procedures.heal-proportional]
steps = 30
[outputs]
plots = false
traces = true
"""


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return load_config(str(path))


def traces(out: Path) -> dict:
    return {f.name: dict(np.load(f)) for f in sorted((out / "traces").glob("*.npz"))}


def without_timing(summary: dict) -> dict:
    s = json.loads(json.dumps(summary))
    for procs in s["scenarios"].values():
        for p in procs.values():
            p.pop("wall_seconds_per_economy_step", None)
            p.pop("compile_seconds", None)
    return s


def assert_same(a: Path, b: Path):
    ta, tb = traces(a), traces(b)
    assert ta.keys() == tb.keys() and ta
    for name in ta:
        for key in ta[name]:
            np.testing.assert_array_equal(ta[name][key], tb[name][key], err_msg=f"{name}:{key}")
    sa = json.loads((a / "summary.json").read_text())
    sb = json.loads((b / "summary.json").read_text())
    assert without_timing(sa) == without_timing(sb)


def test_tiny_study_outputs(tiny, tmp_path):
    res = run_study(tiny, tmp_path / "out", progress=False)
    out = res.out
    s = json.loads((out / "summary.json").read_text())
    dec = s["scenarios"]["dec"]
    assert dec["heal-proportional"]["fraction_converged"] == 1.0 and dec["heal-proportional"]["fraction_monotone"] == 1.0
    assert dec["heal-proportional"]["fraction_feasible_every_iterate"] == 1.0
    assert dec["arrow-hurwicz"]["fraction_feasible_every_iterate"] == 0.0
    assert s["scenarios"]["lab"]["malinvaud"]["reach"]["1e-6"]["fraction_reached"] == 1.0
    assert dec["heal-proportional"]["messages_per_step"] == {"down": 3 * 5, "up": 3 * 6}
    t = np.load(out / "traces" / "dec__heal-proportional.npz")
    assert t["gap"].shape == (10, 31)
    assert "| dec " in res.table and (out / "report.md").exists()


def test_plots_are_written(tiny, tmp_path):
    from dataclasses import replace

    res = run_study(replace(tiny, plots=True, batch=4, chunk=4), tmp_path / "p", progress=False)
    for f in ("gap_vs_iteration.png", "gap_vs_messages.png", "iterations_to_tolerance.png"):
        assert (res.out / f).stat().st_size > 10_000
        assert f in (res.out / "report.md").read_text()


FIGURES = """
name = "figures"
seed = 1
batch = 4
[[scenarios]]
name = "dec"
n = 3
m = 2
returns_to_scale = [0.6, 0.9]
procedures = ["arrow-hurwicz", "heal-proportional"]
[[scenarios]]
name = "crs"
n = 3
m = 1
returns_to_scale = 1.0
procedures = ["arrow-hurwicz", "malinvaud"]
[[scenarios]]
name = "blocks"
economy = "divisions"
divisions = 2
activities = 3
shared = 2
private = 2
procedures = ["dantzig-wolfe"]
[procedures.arrow-hurwicz]
steps = 20
[procedures.malinvaud]
steps = 5
[procedures.heal-proportional]
steps = 10
[procedures.dantzig-wolfe]
steps = 10
"""


def test_every_figure_accounts_for_every_procedure_of_every_scenario(tmp_path):
    """Issue 29, item 7: a procedure with no curve (here Arrow–Hurwicz, out of domain at constant returns)
    is noted in its panel instead of vanishing; each figure has one legend, outside the panels; the two
    kinds of gap are labelled apart."""
    import matplotlib

    matplotlib.use("Agg")
    from jplan.study import report
    from jplan.study.storage import load_records

    path = tmp_path / "f.toml"
    path.write_text(FIGURES)
    config = load_config(str(path))
    res = run_study(config, tmp_path / "o", progress=False)
    records = {(sc.name, p): load_records(config, res.out, sc.name, p) for sc in config.scenarios for p in sc.procedures}
    manifest = {}
    (tmp_path / "again").mkdir()
    files = report._plots(config, records, tmp_path / "again", manifest)
    assert files == ["gap_vs_iteration.png", "gap_vs_messages.png", "iterations_to_tolerance.png"]
    for f in files:
        assert (res.out / f).stat().st_size > 10_000  # the study drew them too
        for sc in config.scenarios:
            panel = manifest[f][sc.name]
            assert sorted(panel["drawn"] + panel["noted"]) == sorted(sc.procedures), (f, sc.name, panel)
        assert manifest[f]["crs"] == {"drawn": ["malinvaud"], "noted": ["arrow-hurwicz"]}
    assert report._gap_label(config.scenarios[2]) != report._gap_label(config.scenarios[0])


def test_deterministic(tiny, tmp_path):
    run_study(tiny, tmp_path / "a", progress=False)
    run_study(tiny, tmp_path / "b", progress=False)
    assert_same(tmp_path / "a", tmp_path / "b")


def test_parts_on_several_machines_merge_into_the_single_machine_study(tiny, tmp_path, capsys):
    """Machine k of m computes the chunks c ≡ k − 1 (mod m) into its own folder; merging the folders gives
    the single run's traces and summary exactly (economies keep their global indices). Wrong parts and
    wrong folders are one-line errors."""
    run_study(tiny, tmp_path / "single", progress=False)
    for k in (1, 2):
        res = run_study(tiny, tmp_path / f"part{k}", progress=False, part=(k, 2))
        assert res.summary == {} and not (tmp_path / f"part{k}" / "summary.json").exists()
    chunks = lambda folder: sorted(p.name for p in (folder / "chunks" / "dec" / "arrow-hurwicz").glob("*.npz"))  # noqa: E731
    assert chunks(tmp_path / "part1") == ["00000.npz", "00002.npz"] and chunks(tmp_path / "part2") == ["00001.npz"]
    run_study(tiny, tmp_path / "merged", progress=False, merge=(tmp_path / "part1", tmp_path / "part2"))
    assert_same(tmp_path / "single", tmp_path / "merged")
    # a missing part is computed by the merging run
    run_study(tiny, tmp_path / "half", progress=False, merge=(tmp_path / "part1",))
    assert_same(tmp_path / "single", tmp_path / "half")
    cfg = tmp_path / "tiny.toml"
    for argv, message in [
        (["--part", "3/2"], "--part: expected K/M"),
        (["--part", "1/2", "--merge", str(tmp_path / "part2")], "part and merge"),
        (["--merge", str(tmp_path / "nowhere")], "not a jplan study folder"),
    ]:
        assert main(["study", str(cfg), "--out", str(tmp_path / "x"), "--quiet", *argv]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
    other = tmp_path / "other.toml"
    other.write_text(TINY.replace("seed = 3", "seed = 4"))
    assert main(["study", str(other), "--out", str(tmp_path / "y"), "--quiet", "--merge", str(tmp_path / "part1")]) == 2
    assert "different study configuration" in capsys.readouterr().err


def test_resume_after_interruption_gives_identical_results(tiny, tmp_path, monkeypatch):
    run_study(tiny, tmp_path / "full", progress=False)
    real_save = execution_module.save_chunk
    calls = {"n": 0}

    def flaky(path, **arrays):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt  # as if Ctrl-C arrived mid-study
        real_save(path, **arrays)

    monkeypatch.setattr(execution_module, "save_chunk", flaky)
    with pytest.raises(KeyboardInterrupt):
        run_study(tiny, tmp_path / "resumed", progress=False)
    done = list((tmp_path / "resumed" / "chunks").rglob("*.npz"))
    assert len(done) == 3 and not list((tmp_path / "resumed").rglob("*.tmp*"))
    monkeypatch.setattr(execution_module, "save_chunk", real_save)
    run_study(tiny, tmp_path / "resumed", progress=False)
    assert_same(tmp_path / "full", tmp_path / "resumed")


def test_resume_refuses_a_different_config(tiny, tmp_path):
    from dataclasses import replace

    run_study(tiny, tmp_path / "o", progress=False)
    with pytest.raises(ConfigError, match="different study configuration"):
        run_study(replace(tiny, seed=4), tmp_path / "o", progress=False)
    run_study(replace(tiny, seed=4), tmp_path / "o", progress=False, fresh=True)


def test_sharded_multi_device_path_matches_single_device_and_resumes_on_another_count(tiny, tmp_path):
    run_study(tiny, tmp_path / "one", progress=False)
    code = (
        "import jax; jax.config.update('jax_enable_x64', True); assert jax.device_count() == 4;"
        "from jplan.study import load_config, run_study;"
        f"run_study(load_config({str(tiny.source)!r}), {str(tmp_path / 'four')!r}, progress=False)"
    )
    env = dict(os.environ, XLA_FLAGS=os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu")
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=Path(__file__).parents[1])
    a, b = traces(tmp_path / "one"), traces(tmp_path / "four")
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name]["status"], b[name]["status"])
        np.testing.assert_array_equal(a[name]["steps"], b[name]["steps"])
        np.testing.assert_allclose(a[name]["welfare"], b[name]["welfare"], rtol=1e-12)
        np.testing.assert_allclose(a[name]["gap"], b[name]["gap"], rtol=1e-6, atol=1e-13)
    # resume on another device count: half the chunks computed on 4 devices, the rest here on 1
    shutil.copytree(tmp_path / "four", tmp_path / "mixed")
    for chunk in sorted((tmp_path / "mixed" / "chunks").rglob("*.npz"))[::2]:
        chunk.unlink()  # as if interrupted; the rest was computed on 4 devices
    res = run_study(tiny, tmp_path / "mixed", progress=False)
    for procs in res.summary["scenarios"].values():
        for s in procs.values():
            assert s["runs"] == tiny.batch
    c = traces(tmp_path / "mixed")
    for name in a:
        np.testing.assert_array_equal(a[name]["status"], c[name]["status"])
        np.testing.assert_allclose(a[name]["welfare"], c[name]["welfare"], rtol=1e-12)


BAD_CONFIGS = [
    ("batch = 10", "batch = 0", "batch: must be at least 1"),
    ("batch = 10", 'batch = 10\nrequires = "tpu"', 'requires: "gpu" or absent'),
    ("batch = 10", "batch = 10\ncpu_batch = 4", 'cpu_batch: only with requires = "gpu"'),
    ("chunk = 4", 'chunk = "big"', "chunk: must be an integer"),
    ("batch = 10", "batch = 'ten'", "batch: must be an integer"),
    ("seed = 3", "seed = 3\ncolour = 1", "colour: unknown key"),
    ("n = 3\nm = 2", "n = 0\nm = 2", "scenarios[0].n: must be at least 1"),
    ("returns_to_scale = [0.6, 0.9]", "returns_to_scale = [0.9, 0.6]", "scenarios[0].returns_to_scale: low 0.9 is above high 0.6"),
    ("returns_to_scale = [0.6, 0.9]", "returns_to_scale = -1", "scenarios[0].returns_to_scale: must be > 0"),
    ("[procedures.heal-proportional]", "[procedures.gosplan]", "procedures.gosplan: unknown procedure"),
    ("[procedures.malinvaud]\nsteps = 10", "[procedures.malinvaud]\nsteps = 10\nstep_size = 1.0", "procedures.malinvaud.step_size: unknown option"),
    ("steps = 400", "steps = 400\nrule = 'sideways'", "procedures.arrow-hurwicz.rule: unknown rule"),
    ('procedures = ["malinvaud", "heal-proportional"]', 'procedures = ["malinvaud", "lange"]', "scenarios[1].procedures: 'lange' has no [procedures.lange] table"),
    ("plots = false", "plots = 'yes'", "outputs.plots: must be true or false"),
]


BLOCKS = """
name = "blocks"
seed = 1
batch = 6
chunk = 4
[[scenarios]]
name = "b"
economy = "divisions"
divisions = 3
activities = 2
shared = 2
private = 2
[[scenarios]]
name = "p"
n = 3
m = 1
procedures = ["heal-proportional"]
[procedures.dantzig-wolfe]
steps = 12
columns = 8
[procedures.kornai-liptak]
steps = 40
[procedures.heal-proportional]
steps = 10
[outputs]
plots = false
"""


BAD_BLOCKS = [
    ("divisions = 3\n", "", "scenarios[0].divisions: missing"),
    ('economy = "divisions"', 'economy = "firms"', 'scenarios[0].economy: must be "production", "divisions" or "table"'),
    ("private = 2\n", "private = 2\nreturns_to_scale = 0.9\n", "scenarios[0].returns_to_scale: not an option of block-angular scenarios"),
    ("private = 2\n", "private = 2\ntightness = 1.5\n", "scenarios[0].tightness: must lie in (0, 1]"),
    ("private = 2\n", 'private = 2\nprocedures = ["heal-proportional"]\n',
     "scenarios[0].procedures: 'heal-proportional' runs on production economies; this scenario draws divisions economies"),
    ('procedures = ["heal-proportional"]', 'procedures = ["dantzig-wolfe"]',
     "scenarios[1].procedures: 'dantzig-wolfe' runs on divisions economies; this scenario draws production economies"),
    ("m = 1\n", "m = 1\ndivisions = 2\n", 'scenarios[1].divisions: an option of block-angular scenarios'),
]


@pytest.mark.parametrize("base,old,new,message", [(TINY, *c) for c in BAD_CONFIGS] + [(BLOCKS, *c) for c in BAD_BLOCKS],
                         ids=[m for *_, m in BAD_CONFIGS + BAD_BLOCKS])
def test_config_errors_are_one_line(base, old, new, message, tmp_path, capsys):
    assert old in base
    path = tmp_path / "bad.toml"
    path.write_text(base.replace(old, new, 1))
    code = main(["study", str(path), "--out", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_a_gpu_sized_study_runs_reduced_or_refuses_without_a_gpu(capsys, tmp_path):
    """Issue 26: `requires = "gpu"` on a machine whose JAX has no GPU runs `cpu_batch` economies per scenario
    and says so first, or, without `cpu_batch`, refuses in one line (exit 2, nothing written); the bundled
    `configs/gpu.toml` (131,072 economies per scenario) resolves to its documented reduced size here.
    `chunk = "auto"` sizes chunks from the device's memory: the largest power of two within a quarter of
    it (and the 8 GiB cap), never above the batch."""
    import dataclasses

    import jax

    from jplan.study.config import AUTO_CHUNK_SHARE, MAX_CHUNK_BYTES, _auto_chunk, chunk_bytes, device_memory_bytes

    if jax.default_backend() == "gpu":
        pytest.skip("checks the behaviour without a GPU")
    import tomllib

    config = load_config("gpu")
    sized = tomllib.loads((Path(__file__).parents[1] / "configs" / "gpu.toml").read_text())["batch"]
    assert config.batch == 1024 and sized == 131072 >= 10**5
    assert "no GPU here" in config.note and "1,024 economies per scenario instead of 131,072" in config.note
    assert config.chunk == 1024  # the batch: far below a quarter of any machine's memory at n = 10
    path = tmp_path / "g.toml"
    path.write_text(TINY.replace("batch = 10", 'batch = 10\nrequires = "gpu"'))
    assert main(["study", str(path), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "sized for a GPU (10 economies per scenario)" in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()
    path.write_text(TINY.replace("batch = 10", 'batch = 10\nrequires = "gpu"\ncpu_batch = 6').replace("chunk = 4", 'chunk = "auto"'))
    small = load_config(str(path))
    assert small.batch == 6 and small.chunk == 4  # a power of two, at most the batch
    out = tmp_path / "r"
    assert main(["study", str(path), "--out", str(out), "--quiet"]) == 0
    assert "the reduced size, 6 economies per scenario instead of 10" in capsys.readouterr().out
    # the rule itself: a big scenario gets the largest power of two within the budget
    big = dataclasses.replace(small.scenarios[0], n=400)
    budget = min(MAX_CHUNK_BYTES, int(AUTO_CHUNK_SHARE * device_memory_bytes() * jax.local_device_count()))
    chunk, _ = _auto_chunk([big], small.procedures, 65536)
    steps = max(p.steps for p in small.procedures if p.name in big.procedures)
    assert chunk_bytes(big, steps, chunk) <= budget < chunk_bytes(big, steps, 2 * chunk) or chunk == 65536


def test_missing_config_and_bundled_default_parses(capsys, tmp_path):
    assert main(["study", str(tmp_path / "none.toml")]) == 2
    assert "study file not found" in capsys.readouterr().err
    config = load_config("default")
    assert config.name == "default" and len(config.scenarios) == 9
    # every bundled study parses, by name, and names the file it came from
    for path in sorted((Path(__file__).parents[1] / "configs").glob("*.toml")):
        assert load_config(path.stem).name == path.stem
    with pytest.raises(ConfigError, match="scenarios"):
        parse_config({"procedures": {"heal": {}}})


# -- faults (issue 12) ---------------------------------------------------------------------------------
def _subprocess_study(config, out, devices=1):
    code = (
        "import jax; jax.config.update('jax_enable_x64', True);"
        "from jplan.study import load_config, run_study;"
        f"run_study(load_config({str(config)!r}), {str(out)!r}, progress=False)"
    )
    env = dict(os.environ, XLA_FLAGS=os.environ.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={devices}", JAX_PLATFORMS="cpu")
    return subprocess.Popen([sys.executable, "-c", code], env=env, cwd=Path(__file__).parents[1])


def test_truncated_or_empty_chunks_are_detected_and_recomputed(tiny, tmp_path):
    run_study(tiny, tmp_path / "full", progress=False)
    run_study(tiny, tmp_path / "hurt", progress=False)
    chunks = sorted((tmp_path / "hurt" / "chunks").rglob("*.npz"))
    data = chunks[1].read_bytes()
    chunks[1].write_bytes(data[: len(data) // 2])
    chunks[2].write_bytes(b"")
    run_study(tiny, tmp_path / "hurt", progress=False)
    assert_same(tmp_path / "full", tmp_path / "hurt")
    assert (tmp_path / "full" / "summary.json").read_bytes() == (tmp_path / "hurt" / "summary.json").read_bytes()


def test_sigkill_mid_study_then_resume_gives_identical_results(tiny, tmp_path):
    import signal
    import time

    config = tmp_path / "long.toml"
    config.write_text(TINY.replace("batch = 10", "batch = 40"))
    run_study(load_config(str(config)), tmp_path / "full", progress=False)
    proc = _subprocess_study(config, tmp_path / "killed")
    deadline = time.time() + 120
    while time.time() < deadline and not list((tmp_path / "killed").rglob("chunks/*/*/*.npz")):
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = list((tmp_path / "killed").rglob("chunks/*/*/*.npz"))
    assert 0 < len(done) < 4 * 10  # it really was interrupted mid-study
    run_study(load_config(str(config)), tmp_path / "killed", progress=False)
    assert_same(tmp_path / "full", tmp_path / "killed")


def test_fresh_removes_only_what_jplan_wrote(tiny, tmp_path):
    out = tmp_path / "o"
    run_study(tiny, out, progress=False)
    (out / "my_notes.txt").write_text("keep me")
    run_study(tiny, out, progress=False, fresh=True)
    assert (out / "my_notes.txt").read_text() == "keep me"
    assert (out / "summary.json").exists()


def test_fresh_never_follows_a_symlinked_chunks_folder(tiny, tmp_path, capsys):
    """Issue 32: `--fresh` skipped a symlinked chunks/ and reused another seed's chunks (silent wrong results).
    A symbolic link where jplan keeps its files is refused in one line, before any work, nothing written."""
    run_study(tiny, tmp_path / "o", progress=False)
    scratch = tmp_path / "scratch"
    shutil.move(str(tmp_path / "o" / "chunks"), str(scratch))
    (tmp_path / "o" / "chunks").symlink_to(scratch)
    other = tmp_path / "t1.toml"
    other.write_text(TINY.replace("seed = 3", "seed = 4"))
    before = sorted(p.stat().st_mtime_ns for p in scratch.rglob("*.npz"))
    assert main(["study", str(other), "--out", str(tmp_path / "o"), "--quiet", "--fresh"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "symbolic link" in err, err
    assert sorted(p.stat().st_mtime_ns for p in scratch.rglob("*.npz")) == before


@pytest.mark.parametrize("name", [".jplan.lock", "traces", "summary.json"])
def test_symlinks_in_the_study_folder_are_refused(tiny, tmp_path, capsys, name):
    out = tmp_path / "o"
    run_study(tiny, out, progress=False)
    outside = tmp_path / "outside"
    outside.mkdir()
    target = out / name
    if target.is_dir():
        shutil.rmtree(target)
    elif target.exists():
        target.unlink()
    target.symlink_to(outside / name)
    assert main(["study", str(tmp_path / "tiny.toml"), "--out", str(out), "--quiet"]) == 2
    assert "symbolic link" in capsys.readouterr().err
    assert list(outside.iterdir()) == []


def test_a_chunk_in_another_slot_or_from_another_study_is_not_accepted(tiny, tmp_path):
    """A chunk copied over another's slot, or another study's chunks merged in with its study.json copied
    too, carry another identity: they are recomputed, and the results are this study's."""
    run_study(tiny, tmp_path / "full", progress=False)
    run_study(tiny, tmp_path / "hurt", progress=False)
    slot = tmp_path / "hurt" / "chunks" / "dec" / "arrow-hurwicz"
    shutil.copy(slot / "00001.npz", slot / "00000.npz")
    shutil.copy(tmp_path / "hurt" / "chunks" / "lab" / "malinvaud" / "00000.npz",
                tmp_path / "hurt" / "chunks" / "lab" / "heal-proportional" / "00000.npz")
    run_study(tiny, tmp_path / "hurt", progress=False)
    assert_same(tmp_path / "full", tmp_path / "hurt")
    # another study's chunks, its study.json replaced by this one's, offered as a part to merge
    other = tmp_path / "t1.toml"
    other.write_text(TINY.replace("seed = 3", "seed = 4"))
    run_study(load_config(str(other)), tmp_path / "seed4", progress=False)
    shutil.copy(tmp_path / "full" / "study.json", tmp_path / "seed4" / "study.json")
    run_study(tiny, tmp_path / "merged", progress=False, merge=(tmp_path / "seed4",))
    assert_same(tmp_path / "full", tmp_path / "merged")


def test_a_second_runner_in_the_same_folder_is_refused(tiny, tmp_path):
    from jplan.study.storage import StudyLock

    out = tmp_path / "o"
    run_study(tiny, out, progress=False)
    with StudyLock(out):
        with pytest.raises(ConfigError, match="another jplan study is running"):
            run_study(tiny, out, progress=False)


NONCONVEX = """
name = "nc"
seed = 5
batch = 6
chunk = 3
[[scenarios]]
name = "nc"
n = 3
m = 2
returns_to_scale = [1.05, 1.3]
welfare = "ces"
welfare_elasticity = [2.0, 3.0]
procedures = ["heal-proportional"]
[procedures.heal-proportional]
steps = 40
[outputs]
plots = false
traces = false
"""


def test_procedures_final_plans_refine_a_non_convex_reference(tmp_path, monkeypatch):
    # make the first multistart deliberately poor (its welfare 2% short, as if it had found a worse
    # local optimum); the procedures' own final plans must then restore the true one, and every gap
    # must be recomputed against it
    import equinox as eqx
    import jax

    from jplan.economies.production import welfare_index
    from jplan.procedures.base import relative_gap

    true_batch = jobs_module._reference_batch
    poor = lambda es, kind: eqx.tree_at(lambda o: o.welfare, o := true_batch(es, kind), o.welfare * 0.98)
    monkeypatch.setattr(jobs_module, "_reference_batch", poor)
    path = tmp_path / "nc.toml"
    path.write_text(NONCONVEX)
    config = load_config(str(path))
    out = tmp_path / "out"
    run_study(config, out, progress=False)
    rec = storage_module.load_records(config, out, "nc", "heal-proportional")
    assert rec["reference_refined"].all()
    economies, _ = jobs_module.sample_chunk(config, 0, 0, 6)
    truth = true_batch(economies, "optimum")
    np.testing.assert_allclose(rec["optimal_welfare"], np.asarray(truth.welfare), rtol=1e-10)
    expected = jax.vmap(relative_gap)(economies, rec["welfare"], truth.welfare)
    np.testing.assert_allclose(rec["gap"], np.asarray(expected), rtol=1e-9, atol=1e-14)
    assert not (np.asarray(jax.vmap(welfare_index)(economies, rec["welfare"][:, -1]))
                > np.asarray(jax.vmap(welfare_index)(economies, truth.welfare)) + 1e-12).any()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenarios"]["nc"]["heal-proportional"]["reference"]["refined_by_procedure_plans"] == 1.0
    # resuming does not refine twice: the marker files say the chunks are done
    monkeypatch.setattr(execution_module, "_optimum_from_plans", None)
    run_study(config, out, progress=False)


def test_tidy_tables_load_into_pandas_and_agree_with_the_summary(tiny, tmp_path):
    pd = pytest.importorskip("pandas")
    from jplan.study import load
    from jplan.study.measures import TOLERANCES

    out = tmp_path / "out"
    result = run_study(tiny, out, progress=False)
    runs = load(out)
    assert len(runs) == 2 * 2 * 10 and runs["economy"].between(0, 9).all()
    assert set(runs["status"]) <= {"converged", "not_converged", "diverged", "failed", "out_of_domain"}
    assert set(runs["reference_status"]) == {"optimal"}
    lab = runs[(runs["scenario"] == "lab") & (runs["procedure"] == "malinvaud")]
    assert lab["returns_to_scale_min"].eq(1.0).all() and lab["m"].eq(1).all()
    for (sc, p), group in runs.groupby(["scenario", "procedure"]):
        s = result.summary["scenarios"][sc][p]
        med = group["final_gap"].median()
        assert med == pytest.approx(s["final_gap"]["median"], rel=1e-12, abs=1e-300)
        for tol in TOLERANCES:
            it = group[f"iterations_to_{tolerance_label(tol)}"]
            expected = s["reach"][tolerance_label(tol)]
            assert it.notna().mean() == pytest.approx(expected["fraction_reached"])
            if expected["iterations_median"] is not None:
                assert it.median() == pytest.approx(expected["iterations_median"])
    series = load(out, "series")
    budgets = runs["procedure"].astype(str).map(lambda p: tiny.procedure(p).steps)
    assert len(series) == int((budgets + 1).sum())  # every iteration of every run
    last = series[~series["stopped"]].sort_values("iteration").groupby(["scenario", "procedure", "economy"]).tail(1)
    merged = last.merge(runs, on=["scenario", "procedure", "economy"])
    np.testing.assert_array_equal(merged["iteration"], merged["steps"])
    # issue 29: the median-gap curve computed the obvious way from `series` is the figure's curve
    from jplan.procedures.base import OUT_OF_DOMAIN
    from jplan.study.report import gap_quantiles
    from jplan.study.storage import load_records

    for (sc, p), group in series.groupby(["scenario", "procedure"]):
        in_domain = runs[(runs.scenario == sc) & (runs.procedure == p) & (runs.status != "out_of_domain")].economy
        rows = group[group.economy.isin(in_domain)]
        # the figure floors gaps at 1e-16 (a log axis) before taking quantiles
        naive = rows.assign(gap=np.maximum(rows["gap"], 1e-16)).groupby("iteration")["gap"].median().to_numpy()
        rec = load_records(tiny, out, sc, p)
        figure = gap_quantiles(rec["gap"][rec["status"] != OUT_OF_DOMAIN])[1]
        np.testing.assert_allclose(naive, figure, rtol=1e-12)
    # and without jplan: plain pandas reads the same file
    assert pd.read_parquet(out / "runs.parquet").shape == runs.shape
    # the README documents exactly these columns
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    table = readme.split("| `runs.parquet` column |", 1)[1].split("\n\n", 1)[0]
    documented = set()
    for line in table.splitlines()[2:]:
        names = re.findall(r"`([^`]+)`", line.split("|")[1])
        stem = names[0].rsplit("_", 1)[0]
        documented |= {stem + name if name.startswith("_") else name for name in names}
    assert documented == set(runs.columns)
    series_doc = readme.split("`series.parquet`: ", 1)[1].split(", one row", 1)[0]
    assert re.findall(r"`([^`]+)`", series_doc) == list(series.columns)
    # the README's regression example runs on this folder's table (heal-proportional reaches 1e-4 in every
    # "dec" economy, whose returns to scale vary)
    example = Path(__file__).parents[1] / "examples" / "regress_iterations.py"
    done = subprocess.run([sys.executable, str(example), str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    row = next(line.split() for line in done.stdout.splitlines() if line.split()[:2] == ["dec", "heal-proportional"])
    assert int(row[2]) == 10 and (row[-1] == "—" or 0.0 <= float(row[-1]) <= 1.0)


def test_a_registered_procedure_joins_studies_and_solve(tmp_path):
    import jax

    import jplan
    from jplan.procedures import DEFAULT_STEPS, PROCEDURES, HealProportional

    class Slower(HealProportional):
        name = "slower-heal"

    try:
        assert jplan.register_procedure(default_steps=50)(Slower) is Slower
        with pytest.raises(ValueError, match="taken"):
            class Clash(HealProportional):
                name = "heal"
            jplan.register_procedure(Clash)
        with pytest.raises(TypeError):
            jplan.register_procedure(int)
        config_text = TINY.replace('"heal-proportional"]', '"slower-heal"]').replace(
            "[procedures.heal-proportional]\nsteps = 30", "[procedures.slower-heal]\nsteps = 30\nstep_size = 0.25")
        path = tmp_path / "c.toml"
        path.write_text(config_text)
        config = load_config(str(path))
        assert config.procedure("slower-heal").options == {"step_size": 0.25}
        result = run_study(config, tmp_path / "out", progress=False)
        assert result.summary["scenarios"]["dec"]["slower-heal"]["runs"] == 10
        e = jplan.sample(jax.random.PRNGKey(0), 3, 2)
        solved = jplan.solve(jplan.make_procedure("slower-heal"), e)
        assert solved.steps_limit == 50 and solved.status in ("converged", "not_converged")
    finally:
        PROCEDURES.pop("slower-heal", None)
        DEFAULT_STEPS.pop("slower-heal", None)


def test_the_readme_custom_procedure_runs_through_a_study(tmp_path):
    import importlib.util

    from jplan.procedures import DEFAULT_STEPS, PROCEDURES

    spec = importlib.util.spec_from_file_location("momentum_example", Path(__file__).parents[1] / "examples" / "momentum_tatonnement.py")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)  # registers "momentum-tatonnement"
        text = module.STUDY.replace("batch = 32", "batch = 6").replace("chunk = 32", "chunk = 6").replace(
            "n = 8", "n = 4").replace("steps = 1500", "steps = 400")
        import tomllib

        result = run_study(parse_config(tomllib.loads(text)), tmp_path / "out", progress=False)
        s = result.summary["scenarios"]["cd-decreasing"]["momentum-tatonnement"]
        assert s["fraction_converged"] == 1.0 and s["final_gap"]["q90"] < 1e-6
    finally:
        PROCEDURES.pop("momentum-tatonnement", None)
        DEFAULT_STEPS.pop("momentum-tatonnement", None)



def test_block_angular_scenarios_run_resume_and_match_highs(tmp_path):
    """A block-angular scenario beside a production one: its procedures default to the configured ones of
    its kind, its references are the exact LP optima (checked here against HiGHS), Dantzig–Wolfe converges
    on every economy with feasible, monotone iterates, Kornai–Lipták's quotas stay feasible, the tidy
    table marks the rows, and a second run resumes to identical results."""
    from scipy.optimize import linprog as highs

    import pyarrow.parquet as pq
    from jplan.solvers.divisions import standard_form
    from jplan.study import scenario_economies

    path = tmp_path / "blocks.toml"
    path.write_text(BLOCKS)
    config = load_config(str(path))
    assert config.scenarios[0].kind == "divisions" and config.scenarios[0].procedures == ("dantzig-wolfe", "kornai-liptak")
    result = run_study(config, tmp_path / "out", progress=False)
    s = result.summary["scenarios"]["b"]
    dw, kl = s["dantzig-wolfe"], s["kornai-liptak"]
    assert dw["fraction_converged"] == 1.0 and dw["fraction_feasible_every_iterate"] == 1.0 and dw["fraction_monotone"] == 1.0
    assert dw["final_gap"]["q90"] <= 1e-9 and dw["reference"]["optimal"] == 1.0
    assert kl["fraction_feasible_every_iterate"] == 1.0 and kl["fraction_failed"] == 0.0
    economies = scenario_economies(config, "b")
    runs = pq.read_table(tmp_path / "out" / "runs.parquet").to_pydict()
    u_star = np.array([u for p, u in zip(runs["procedure"], runs["optimal_welfare"]) if p == "dantzig-wolfe"])
    for i in range(config.batch):
        e = jax_tree_index(economies, i)
        c, A, b, allowed = (np.asarray(x) for x in standard_form(e))
        ref = highs(c[allowed], A_eq=A[:, allowed], b_eq=b, bounds=(0, None), method="highs")
        assert abs(-ref.fun - u_star[i]) <= 1e-9 * max(1.0, abs(ref.fun)), i
    runs = pq.read_table(tmp_path / "out" / "runs.parquet").to_pydict()
    assert {k for k, sc in zip(runs["economy_kind"], runs["scenario"]) if sc == "b"} == {"divisions"}
    assert result.summary["scenarios_config"]["b"]["economy"] == "divisions"
    again = run_study(config, tmp_path / "out", progress=False)
    assert without_timing(again.summary) == without_timing(result.summary)


def jax_tree_index(tree, i):
    import jax

    return jax.tree_util.tree_map(lambda x: x[i], tree)


TABLE_STUDY = """
name = "around-a-table"
seed = 3
batch = 4
chunk = 4
[[scenarios]]
name = "t"
economy = "table"
table = "my_table.csv"
single_factor = true
perturbation = {sigma}
procedures = ["malinvaud", "heal"]
[procedures.malinvaud]
steps = 10
[procedures.heal]
steps = 200
"""


def test_table_scenarios_draw_around_the_calibrated_economy(tmp_path):
    """`economy = "table"`: the path is read relative to the config file, σ = 0 draws the calibrated economy
    itself (whose optimum is the table), the table's content (not its location) is in the fingerprint, and
    the study runs: Malinvaud's procedure converges on every perturbed economy, its references are optimal."""
    from jplan.economies.table import calibrate_table, read_table
    from jplan.study.jobs import sample_scenario

    here = Path(__file__).resolve().parents[1] / "examples" / "table_three_sectors.csv"
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        shutil.copy(here, tmp_path / folder / "my_table.csv")
        (tmp_path / folder / "study.toml").write_text(TABLE_STUDY.format(sigma=0.0))
    config = load_config(str(tmp_path / "a" / "study.toml"))
    assert config.fingerprint() == load_config(str(tmp_path / "b" / "study.toml")).fingerprint()
    sc = config.scenarios[0]
    assert (sc.n, sc.m, sc.kind) == (3, 1, "production")
    base, _ = calibrate_table(read_table(str(here)), single_factor=True)
    drawn = sample_scenario(config, 0)
    for field in ("tfp", "resource_shares", "input_shares", "welfare_weights", "endowments"):
        np.testing.assert_allclose(np.asarray(getattr(drawn, field))[2], np.asarray(getattr(base, field)), rtol=1e-14)
    (tmp_path / "b" / "my_table.csv").write_text(here.read_text().replace("agriculture,20,45,5,60,0,0,20",
                                                                         "agriculture,20,45,5,59,0,1,20"))
    assert load_config(str(tmp_path / "b" / "study.toml")).fingerprint() != config.fingerprint()
    (tmp_path / "a" / "study.toml").write_text(TABLE_STUDY.format(sigma=0.3))
    config = load_config(str(tmp_path / "a" / "study.toml"))
    result = run_study(config, tmp_path / "out", progress=False)
    s = result.summary["scenarios"]["t"]
    assert s["malinvaud"]["fraction_converged"] == 1.0 and s["malinvaud"]["reference"]["optimal"] == 1.0
    assert "table_path" not in result.summary["scenarios_config"]["t"]


@pytest.mark.parametrize("line, message", [
    ('table = "my_table.csv"', "scenarios[0].table: missing"),
    ("perturbation = 0.1", "scenarios[0].perturbation: must be a number in [0, 2]"),
])
def test_table_scenario_errors(tmp_path, line, message):
    shutil.copy(Path(__file__).resolve().parents[1] / "examples" / "table_three_sectors.csv", tmp_path / "my_table.csv")
    text = TABLE_STUDY.format(sigma=0.1)
    text = text.replace(line, "") if "table =" in line else text.replace(line, "perturbation = 5.0")
    (tmp_path / "s.toml").write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(str(tmp_path / "s.toml"))
    assert message in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="an option of table scenarios"):
        parse_config({"scenarios": [dict(name="p", n=3, m=1, perturbation=0.1)], "procedures": {"heal": {}}})


def test_a_change_of_outputs_only_resumes_the_same_study(tiny, tmp_path):
    """Issue 32: turning plots on for a finished study refused to resume ("a different configuration")."""
    out = tmp_path / "o"
    run_study(tiny, out, progress=False)
    stamps = {p: p.stat().st_mtime_ns for p in (out / "chunks").rglob("*.npz")}
    with_plots = tmp_path / "plots.toml"
    with_plots.write_text(TINY.replace("plots = false", "plots = true"))
    result = run_study(load_config(str(with_plots)), out, progress=False)
    assert (out / "gap_vs_iteration.png").exists() and result.summary
    assert {p: p.stat().st_mtime_ns for p in (out / "chunks").rglob("*.npz")} == stamps  # nothing recomputed


def test_a_two_process_jax_distributed_study_equals_the_single_process_one(tiny, tmp_path):
    """Issue 31 item 4: `jplan study --distributed` on JAX's own multi-process runtime (two CPU processes on
    localhost, gloo): every process runs its share of the chunks, process 0 writes the outputs, and the
    summary is the single-process study's byte for byte."""
    import socket

    run_study(tiny, tmp_path / "single", progress=False)
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "JPLAN_CACHE_DIR": "off"}
    command = lambda k: [sys.executable, "-m", "jplan.cli", "study", str(tmp_path / "tiny.toml"), "--out",
                         str(tmp_path / "multi"), "--quiet", "--distributed", "--coordinator", f"localhost:{port}",
                         "--num-processes", "2", "--process-id", str(k)]
    procs = [subprocess.Popen(command(k), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for k in (0, 1)]
    outputs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, err[-2000:]
    assert (tmp_path / "single" / "summary.json").read_bytes() == (tmp_path / "multi" / "summary.json").read_bytes()
    assert "finished in" in outputs[0][0] and "finished in" not in outputs[1][0]  # process 0 reports
    # process 1 ran its chunks (the odd ones): process 0's final pass found every chunk done, so it ran none
    # (its first pass, the even chunks, is not in timings.json; a chunk run in the final pass would be)
    timings = json.loads((tmp_path / "multi" / "timings.json").read_text())
    assert not any("economy_steps" in t for t in timings.values()), timings


def test_the_config_reference_page_covers_every_key_and_is_generated():
    """docs/config.md is `python -m jplan.study.reference`'s output, and it documents exactly the keys the
    parser accepts in every section (a key added to the parser without a row fails here)."""
    from jplan.study.reference import keys_of, parser_keys, reference_markdown

    for section, keys in parser_keys().items():
        assert keys_of(section) == keys, (section, keys ^ keys_of(section))
    page = Path(__file__).resolve().parents[1] / "docs" / "config.md"
    assert page.read_text() == reference_markdown()


def test_a_scenario_draws_its_own_batch(tiny, tmp_path):
    """`batch` in a scenario overrides the study's (a scaling study draws fewer economies where n is large):
    the runs table holds that many runs of it, in chunks of the study's size, and economy i is
    split(fold_in(PRNGKey(seed), s), batch_s)[i] as documented; the study's fingerprint without it is as
    before (its results resume)."""
    import jax

    from jplan.study import load, scenario_economies

    path = tmp_path / "own.toml"
    path.write_text(TINY.replace('name = "lab"', 'name = "lab"\nbatch = 5'))
    config = load_config(str(path))
    assert [config.economies(i) for i in range(2)] == [10, 5] and config.economies_label == "5–10"
    assert tiny.fingerprint() != config.fingerprint() and tiny.scenarios[0].batch is None
    result = run_study(config, tmp_path / "out", progress=False)
    runs = load(result.out, "runs")
    assert runs.groupby("scenario").size().to_dict() == {"dec": 20, "lab": 10}
    summary = json.loads((result.out / "summary.json").read_text())
    assert summary["scenarios_config"]["lab"]["economies"] == 5 and "economies" not in summary["scenarios_config"]["dec"]
    assert all(s["runs"] == 5 for s in summary["scenarios"]["lab"].values())
    economies = scenario_economies(config, "lab")
    key = jax.random.fold_in(jax.random.PRNGKey(3), 1)
    from jplan.economies import sample

    one = sample(jax.random.split(key, 5)[4], 3, 1, returns_to_scale=1.0)
    np.testing.assert_array_equal(np.asarray(economies.input_shares[4]), np.asarray(one.input_shares))


def test_column_quantiles_equal_numpys_nanquantile():
    """The figures' vectorised quantiles (issue 29 item 8: NumPy's nanquantile loops per column) against
    NumPy's own, on ragged NaN patterns, all-NaN columns and single runs."""
    import warnings

    from jplan.study.report import column_quantiles

    rng = np.random.default_rng(0)
    for _ in range(60):
        x = rng.lognormal(size=(int(rng.integers(1, 70)), int(rng.integers(1, 40))))
        x[rng.random(x.shape) < 0.3] = np.nan
        x[:, 0] = np.nan
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = np.nanquantile(x, [0.25, 0.5, 0.75], axis=0)
        np.testing.assert_allclose(column_quantiles(x, (0.25, 0.5, 0.75)), expected, rtol=1e-14, atol=0)


def test_a_second_run_loads_its_programs_and_records_the_same_numbers(tiny, tmp_path, monkeypatch):
    """With a program store (beside the compilation cache), the first run stores every program it compiles
    (samplers, references, procedures) and a second process loads them all, tracing none, with the same
    records bit for bit."""
    import jax

    import jplan._programs as programs

    def fresh_process():
        for module, table in ((programs, "_PROGRAMS"), (execution_module, "_COMPILED"), (jobs_module, "_REFERENCES")):
            monkeypatch.setattr(module, table, {})
        jax.clear_caches()

    store = tmp_path / "store"
    monkeypatch.setattr(programs, "store_folder", lambda: store)
    fresh_process()
    run_study(tiny, tmp_path / "first", progress=False)
    stored = sorted(p.name for p in store.glob("*.bin"))
    # per scenario: the sampler and the reference for chunks of 4 and of 2 economies, and its 2 procedures
    assert len(stored) == 12, stored
    fresh_process()
    monkeypatch.setattr(jax.export, "export", lambda *a, **k: pytest.fail("a stored program was exported again"))
    run_study(tiny, tmp_path / "second", progress=False)
    assert sorted(p.name for p in store.glob("*.bin")) == stored
    for procedure, scenario in (("arrow-hurwicz", "dec"), ("heal-proportional", "dec"), ("malinvaud", "lab")):
        first = storage_module.load_records(tiny, tmp_path / "first", scenario, procedure)
        second = storage_module.load_records(tiny, tmp_path / "second", scenario, procedure)
        for field in first:
            if not field.startswith("seconds"):  # wall times differ from run to run
                np.testing.assert_array_equal(first[field], second[field], err_msg=field)
