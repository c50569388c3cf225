"""`jplan rudra …` and the `kind = "rudra"` file format: JSON contracts, exit codes, one-line errors."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from jplan.cli import main
from jplan.economies import load_economy, load_rudra, loads_rudra
from jplan.errors import EconomyFileError
from jplan.rudra.appendix2 import APPENDIX2_TOML

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
FIVE = str(EXAMPLES / "rudra_five_sectors.toml")


def test_example_json_has_the_contract_keys(tmp_path, capsys):
    png, toml = tmp_path / "f.png", tmp_path / "a.toml"
    assert main(["rudra", "example", "--json", "--plot", str(png), "--save", str(toml)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"targets", "imports", "lambda", "projects", "optimal_technology"} <= set(data)
    assert [round(x, 1) for x in data["targets"]] == [307.7, 284.6]
    assert all({"coefficients", "lambda_1"} <= set(p) for p in data["projects"])
    assert {"theta", "coefficients", "lambda_1"} <= set(data["optimal_technology"])
    assert png.stat().st_size > 10_000
    assert toml.read_text(encoding="utf-8") == APPENDIX2_TOML


def test_example_text(capsys):
    assert main(["rudra", "example"]) == 0
    out = capsys.readouterr().out
    for word in ("307.7, 284.6", "1372.00", "gradient search", "grid search", "converged"):
        assert word in out


def test_plan_converges_on_five_sectors(capsys):
    assert main(["rudra", "plan", FIVE, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "converged"
    assert len(data["plan"]["targets"]) == 5 and len(data["technology"]) == 3
    lam = data["history"]["lambda"]
    assert lam[-1] <= lam[0]  # choosing technology never raised the gap here
    for t in data["technology"]:
        assert sum(t["theta"]) == pytest.approx(1.0) and min(t["theta"]) >= 0


def test_plan_reports_cycling_with_exit_1(tmp_path, capsys):
    png = tmp_path / "c.png"
    assert main(["rudra", "plan", str(EXAMPLES / "rudra_scale_cycling.toml"), "--plot", str(png)]) == 1
    out = capsys.readouterr().out
    assert "status: cycling (period 2)" in out and png.exists()


def test_cycle_axes_have_whole_number_ticks():
    """Issue 29 item 7: the cycles figure showed fractional cycles (0.5, 1.5, ...)."""
    from jplan.economies.rudra_io import load_rudra
    from jplan.rudra.report import cycles_figure, plan_report

    f = load_rudra(EXAMPLES / "rudra_scale_cycling.toml")
    fig = cycles_figure(plan_report(f, cycles=6, steps=200)[0], f)
    fig.canvas.draw()
    for ax in fig.axes:
        ticks = ax.get_xticks()
        assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks), ticks


def test_shortest_time_and_sensitivity_json(capsys):
    assert main(["rudra", "shortest-time", FIVE, "--assistance", "1000", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "found" and data["lambda"] <= 1000
    assert [t["T"] for t in data["trials"]][0] == 15
    assert main(["rudra", "sensitivity", FIVE, "--json"]) == 0
    sens = json.loads(capsys.readouterr().out)
    assert np.shape(sens["d_lambda_d_inputs"]) == (5, 5)
    assert sens["d_lambda_d_final_demand"] == pytest.approx(sens["plan"]["commodity_values"])
    assert sens["d_lambda_d_capital"] == pytest.approx(sens["plan"]["targets"])


def test_shortest_time_not_reached_exits_1(capsys):
    assert main(["rudra", "shortest-time", FIVE, "--assistance=-1e7", "--max-length", "30"]) == 1
    assert "not reached" in capsys.readouterr().out


ONE_SECTOR_FREE_DISPOSAL = """kind = "rudra"
[commodities]
final_demand = [100.0]
importable = [true]
[sectors]
inputs = [[0.35]]
outputs = [[1.0]]
capital = [1.2]
savings_rate = [0.2]
growth = [5.0]
[foreign_exchange]
available = 0.0
[constraints]
balances = "at-least"
imports = "at-most"
[time]
base_ratio = [0.4]
reference_length = 10.0
demand_growth = 0.01
"""


def test_shortest_time_unbounded_lp_is_reported_not_found(tmp_path, capsys):
    path = tmp_path / "one.toml"
    path.write_text(ONE_SECTOR_FREE_DISPOSAL)
    args = ["rudra", "shortest-time", str(path), "--assistance=-1e9", "--max-length", "60"]
    assert main(args) == 1
    text = capsys.readouterr().out
    assert "unbounded: the central LP has no finite minimum at T = 60" in text and "shortest plan length" not in text
    assert main(args + ["--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "unbounded" and data["length"] is None and data["lambda"] is None
    assert data["trials"][-1] == {"T": 60, "lambda": None, "lp": "unbounded"}


BAD = [
    (("final_demand = [100.0, 100.0]", "final_demand = [100.0, -1.0]"), "commodities.final_demand: must be >= 0"),
    (("savings_rate = [0.2, 0.1]", "savings_rate = [0.2, 1.5]"), "sectors.savings_rate: must be in [0, 1]"),
    (("capital = [2.4, 1.6]", "capital = [2.4]"), "sectors.capital: expected shape [2]"),
    (('sector = "sector 1"', 'sector = "sector 9"'), "technology[1].sector: unknown sector"),
    (('balances = "equality"', 'balances = "exact"'), "constraints.balances: must be"),
    (("importable = [true, false]", "importable = [1, 0]"), "commodities.importable: must be a list of 2 booleans"),
    (("available = 20.0", "avail = 20.0"), "foreign_exchange.avail: unknown key"),
    (("growth = 3.2 }", "growth = 3.2, scale_elasticity = -0.5, colour = 1 }"), "projects[1].colour: unknown key"),
]


@pytest.mark.parametrize("edit,message", BAD)
def test_file_errors_name_the_field(edit, message):
    text = APPENDIX2_TOML.replace(*edit, 1)
    assert text != APPENDIX2_TOML
    with pytest.raises(EconomyFileError) as err:
        loads_rudra(text)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_scale_elasticity_needs_a_reference_level():
    text = APPENDIX2_TOML.replace("growth = 3.2 }", "growth = 3.2, scale_elasticity = -0.5 }").replace("reference_level = 307.7\n", "")
    with pytest.raises(EconomyFileError, match="reference_level: required"):
        loads_rudra(text)


def test_production_loader_points_rudra_files_to_the_rudra_commands():
    with pytest.raises(EconomyFileError, match="jplan rudra"):
        load_economy(EXAMPLES / "rudra_appendix2.toml")


def test_every_shipped_rudra_example_loads():
    from jplan.economies import load_rudra_full

    for path in EXAMPLES.glob("rudra_*.toml"):
        if 'kind = "rudra-full"' in path.read_text():
            assert load_rudra_full(path).economy.N >= 1
            with pytest.raises(EconomyFileError, match="jplan rudra central"):
                load_rudra(path)
            continue
        f = load_rudra(path)
        assert f.economy.N >= 1 and f.technologies is not None


def test_cli_errors_are_one_line_exit_2(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(APPENDIX2_TOML.replace("capital = [2.4, 1.6]", "capital = [2.4, -1.6]"), encoding="utf-8")
    cases = [
        ["rudra", "plan", str(bad)],
        ["rudra", "plan", str(tmp_path / "missing.toml")],
        ["rudra", "shortest-time", str(EXAMPLES / "rudra_appendix2.toml"), "--assistance", "1000"],  # no [time]
        ["rudra", "plan", FIVE, "--cycles", "0"],
        ["rudra", "plan", FIVE, "--plot", str(tmp_path / "missing" / "c.png")],
        ["rudra", "example", "--plot", str(tmp_path / "missing" / "f.png")],
    ]
    for argv in cases:
        proc = subprocess.run([sys.executable, "-m", "jplan.cli", *argv], capture_output=True, text=True)
        assert proc.returncode == 2, (argv, proc.stderr)
        assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("jplan: error:"), proc.stderr
        assert "Traceback" not in proc.stderr
