"""A wheel built from this tree installs and works outside the repository: bundled studies, version,
py.typed, and the `jplan` command."""

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    dist = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
                           "-q", "-w", str(dist)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"building the wheel failed: {done.stderr[-2000:]}")
    (path,) = dist.glob("jplan-*.whl")
    return path


def test_the_wheel_ships_configs_and_py_typed(wheel):
    import jplan

    names = zipfile.ZipFile(wheel).namelist()
    assert "jplan/py.typed" in names
    assert {"jplan/configs/default.toml", "jplan/configs/full.toml"} <= set(names)
    # the examples the README's commands use (issue 29: they needed a clone)
    assert {"jplan/examples/rudra_full.toml", "jplan/examples/cockshott_toy/flows.csv",
            "jplan/examples/divisions_trick.toml", "jplan/examples/table_three_sectors.csv"} <= set(names)
    assert "jplan/solvers/production.py" in names and not any(n.startswith("jplan/optimum/") for n in names)
    assert wheel.name.startswith(f"jplan-{jplan.__version__}-")


def test_the_installed_command_works_outside_the_repository(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    # system site packages provide jax & co. (no network needed); the wheel itself is installed normally
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True)
    work = tmp_path / "elsewhere"
    work.mkdir()
    import os

    env = {**os.environ, "PYTHONPATH": str(target), "JPLAN_CACHE_DIR": "off"}
    probe = ("import jplan, jplan.solvers.production, sys; from jplan.study import find_config, load_config; "
             "assert jplan.__file__.startswith(sys.argv[1]), jplan.__file__; "
             "c = load_config(str(find_config('default'))); print(jplan.__version__, c.name, len(c.scenarios))")
    done = subprocess.run([str(python), "-c", probe, str(target)], cwd=work, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    import jplan

    assert done.stdout.split() == [jplan.__version__, "default", "9"]
    cli = [str(python), "-c", "import sys; from jplan.cli import main; sys.exit(main())"]
    version = subprocess.run(cli + ["--version"], cwd=work, env=env, capture_output=True, text=True)
    assert version.stdout.strip() == f"jplan {jplan.__version__}"
    as_module = subprocess.run([str(python), "-m", "jplan", "--version"], cwd=work, env=env, capture_output=True, text=True)
    assert as_module.stdout.strip() == f"jplan {jplan.__version__}", as_module.stderr[-500:]
    sample = subprocess.run(cli + ["sample", "--n", "3", "--m", "1", "--rho", "1.0"], cwd=work, env=env,
                            capture_output=True, text=True)
    assert sample.returncode == 0 and 'kind = "production"' in sample.stdout, sample.stderr
    copied = subprocess.run(cli + ["examples", "--out", "ex"], cwd=work, env=env, capture_output=True, text=True)
    assert copied.returncode == 0, copied.stderr
    central = subprocess.run(cli + ["rudra", "central", "ex/rudra_full.toml", "--json"], cwd=work, env=env,
                             capture_output=True, text=True)
    assert central.returncode == 0 and '"lambda"' in central.stdout, central.stderr[-500:]


def test_an_installed_plugin_procedure_is_found_by_the_command(tmp_path):
    # a package that declares a procedure under the entry-point group "jplan.procedures"
    site = tmp_path / "site"
    (site / "demo_plugin-0.1.dist-info").mkdir(parents=True)
    (site / "demo_plugin-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: demo-plugin\nVersion: 0.1\n")
    (site / "demo_plugin-0.1.dist-info" / "entry_points.txt").write_text("[jplan.procedures]\ndemo-heal = demo_plugin:DemoHeal\n")
    (site / "demo_plugin.py").write_text(
        "import jplan\n\nclass DemoHeal(jplan.HealProportional):\n    name = 'demo-heal'\n    default_steps = 77\n")
    economy = tmp_path / "e.toml"
    import os

    cli = [sys.executable, "-c", "import sys; from jplan.cli import main; sys.exit(main())"]
    env = {**os.environ, "PYTHONPATH": str(site)}
    subprocess.run(cli + ["sample", "--n", "3", "--m", "2", "--rho", "0.9", "--out", str(economy)], env=env, check=True)
    done = subprocess.run(cli + ["solve", str(economy), "--procedure", "demo-heal", "--json"], env=env,
                          capture_output=True, text=True)
    assert done.returncode in (0, 1), done.stderr
    import json

    out = json.loads(done.stdout)
    assert out["procedure"] == "demo-heal" and out["steps"] <= 77
    # without the plugin on the path the name is refused in one line
    env.pop("PYTHONPATH")
    refused = subprocess.run(cli + ["solve", str(economy), "--procedure", "demo-heal"], env=env, capture_output=True, text=True)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1


def test_no_public_name_is_both_a_module_and_something_else():
    import importlib
    import pkgutil
    import types

    import jplan

    clashes = []
    for info in pkgutil.walk_packages(jplan.__path__, "jplan."):
        parent, _, leaf = info.name.rpartition(".")
        importlib.import_module(info.name)
        if not isinstance(getattr(importlib.import_module(parent), leaf, None), types.ModuleType):
            clashes.append(info.name)  # `import jplan.x.y` and `jplan.x.y` would name different things
    assert not clashes
