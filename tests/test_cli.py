"""The `jplan` command: JSON contracts, human tables, and one-line errors with exit status 2."""

import json
import subprocess
import sys

import numpy as np
import pytest

from jplan.cli import main
from jplan.economies import load_economy

KEYS = {"welfare", "consumption", "output", "resource_use", "intermediate_use", "goods_prices",
        "resource_prices", "infeasibility", "steps", "status"}


@pytest.fixture
def economy_file(tmp_path):
    path = tmp_path / "e.toml"
    assert main(["sample", "--n", "4", "--m", "2", "--rho", "0.85", "--seed", "1", "--out", str(path)]) == 0
    return path


def test_sample_writes_a_valid_economy(economy_file, capsys):
    e, labels = load_economy(economy_file)
    assert e.n == 4 and e.m == 2 and np.allclose(e.returns_to_scale, 0.85)
    assert main(["sample", "--n", "3", "--m", "1", "--rho", "0.9:1.2", "--seed", "2"]) == 0
    assert 'kind = "production"' in capsys.readouterr().out


def test_optimum_json(economy_file, capsys):
    assert main(["optimum", str(economy_file), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert KEYS <= set(data) and data["status"] == "optimal"
    assert np.shape(data["resource_use"]) == (4, 2) and np.shape(data["intermediate_use"]) == (4, 4)


@pytest.mark.parametrize("procedure", ["arrow-hurwicz-adaptive", "heal", "heal-proportional"])
def test_solve_json_and_table(economy_file, procedure, capsys):
    assert main(["solve", str(economy_file), "--procedure", procedure, "--json", "--trace"]) == 0
    data = json.loads(capsys.readouterr().out)
    trace = data["trace"]
    assert len(trace["welfare"]) == data["steps"] + 1 == len(trace["gap"]) == len(trace["messages"])
    if procedure.startswith("heal"):  # feasible at every iterate and monotone, checkable without Python
        assert max(trace["infeasibility"]) <= 1e-9
        assert all(b >= a for a, b in zip(trace["welfare"], trace["welfare"][1:]))
    assert KEYS | {"procedure"} <= set(data)
    assert data["procedure"] == procedure and data["status"] == "converged" and data["gap"] <= 1e-4
    if procedure == "heal":
        assert data["goods_prices"] is None and data["resource_prices"] is None
    assert main(["solve", str(economy_file), "--procedure", procedure]) == 0
    out = capsys.readouterr().out
    for word in ("status", "welfare", "gap to optimum", "infeasibility", "steps"):
        assert word in out


def test_solve_malinvaud_worked_example(capsys):
    assert main(["solve", "examples/malinvaud_two_goods.toml", "--procedure", "malinvaud", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    np.testing.assert_allclose(data["goods_prices"], [6.67604722, 5.10673113], rtol=1e-8)


@pytest.mark.parametrize(
    "argv,message",
    [
        (["optimum", "missing.toml"], "economy file not found"),
        (["solve", "{file}", "--procedure", "malinvaud"], "malinvaud: needs exactly one resource"),
        (["solve", "{file}", "--procedure", "heal", "--steps", "0"], "--steps must be between 1 and"),
        (["solve", "{file}", "--procedure", "arrow-hurwicz", "--rule", "sideways"], "unknown arrow-hurwicz rule"),
        (["solve", "{file}", "--procedure", "heal", "--step-size", "-1"], "step size must be a finite number > 0"),
        (["sample", "--n", "0"], "--n must be between 1 and"),
        (["sample", "--rho", "abc"], "--rho: expected a number or LOW:HIGH"),
        (["sample", "--out", "/nonexistent/dir/e.toml"], "directory does not exist"),
    ],
)
def test_bad_input_is_one_line_exit_2(argv, message, economy_file, capsys):
    argv = [a.replace("{file}", str(economy_file)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_console_script_has_no_traceback(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('kind = "production"\n[resources]\nendowments = [1.0]\n')
    proc = subprocess.run([sys.executable, "-m", "jplan.cli", "optimum", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("jplan: error:") and "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_json_output_parses_when_welfare_is_not_finite(tmp_path, capsys):
    """Issue 32: --json raised a traceback on a welfare of NaN or −inf (JSON has neither); now null."""
    import json

    from jplan.cli import main

    sg = tmp_path / "sg.toml"
    assert main(["sample", "--n", "3", "--rho", "0.8", "--welfare", "stone-geary", "--subsistence", "0.99",
                 "--out", str(sg)]) == 0
    su = tmp_path / "su.toml"
    assert main(["sample", "--n", "4", "--rho", "0.8", "--setup", "0.3:0.4", "--seed", "2", "--out", str(su)]) == 0
    capsys.readouterr()
    for argv in (["solve", str(sg), "--procedure", "malinvaud-memory", "--json"],
                 ["solve", str(su), "--procedure", "heal", "--steps", "100", "--json"]):
        main(argv)
        out = capsys.readouterr().out
        doc = json.loads(out)  # parses: no NaN or Infinity tokens
        assert "NaN" not in out and "Infinity" not in out
        assert doc["welfare"] is None or isinstance(doc["welfare"], float)


def test_version_and_help_import_no_jax():
    """Issue 29: `jplan --version` and `--help` imported JAX (3.5 s of CPU). The package's names load on first
    use and the parser reads the procedure registry only when a command needs it (`jplan solve --help`, which
    lists the procedures, does)."""
    code = ("import sys, io, contextlib\n"
            "from jplan.cli import main\n"
            "for argv in (['--help'], ['--version'], ['study', '--help'], ['rudra', '--help'], ['table', '--help']):\n"
            "    try:\n"
            "        with contextlib.redirect_stdout(io.StringIO()): main(argv)\n"
            "    except SystemExit: pass\n"
            "assert 'jax' not in sys.modules, sorted(m for m in sys.modules if m.startswith('jax'))[:3]\n"
            "import jplan\n"
            "assert jplan.optimum.__name__ == 'optimum' and 'jax' in sys.modules\n")
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_common_error_paths_import_no_jax(tmp_path):
    """Issue 29 item 3: a missing or unreadable input file, a bad size or a folder given as a file ends in one
    line before JAX is imported (the checks run first; the float64 switch and the compile cache are set
    through JAX's environment variables until JAX is imported)."""
    code = ("import sys, io, contextlib\n"
            "from jplan.cli import main\n"
            "cases = [['solve', 'missing.toml', '--procedure', 'heal'], ['optimum', 'missing.toml'], ['sensitivity', '.'],\n"
            "         ['study', 'missing.toml'], ['sample', '--n', '0'], ['sample', '--seed', '-1'],\n"
            "         ['rudra', 'central', 'missing.toml'], ['rudra', 'plan', 'missing.toml']]\n"
            "for argv in cases:\n"
            "    err = io.StringIO()\n"
            "    with contextlib.redirect_stderr(err):\n"
            "        assert main(argv) == 2, argv\n"
            "    assert err.getvalue().startswith('jplan: error:') and err.getvalue().count('\\n') == 1, err.getvalue()\n"
            "assert 'jax' not in sys.modules, sorted(m for m in sys.modules if m.startswith('jax'))[:3]\n")
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr


def test_the_command_line_knows_every_built_in_procedure_without_the_registry():
    from jplan.cli import BUILTIN_PROCEDURES
    from jplan.procedures.registry import BUILTIN

    assert BUILTIN_PROCEDURES == tuple(cls.name for cls in BUILTIN)
