"""The study-config reference (`docs/config.md`), generated from the keys `jplan.study.config` accepts.

    python -m jplan.study.reference > docs/config.md

Every key the parser accepts has one row here; `tests/test_study.py` checks that the two sets agree and
that `docs/config.md` is this module's output, so the page cannot drift from the code.
"""

from __future__ import annotations

from .config import _DIVISIONS_SCENARIO, _OUTPUTS, _SCENARIO, _TABLE_SCENARIO, _TOP, LIMITS

__all__ = ["REFERENCE", "reference_markdown"]

_RANGE = "a number, or [low, high] (each economy draws uniformly)"

#: (section, key, value, default, meaning); sections: top level, production / divisions / table scenarios,
#: procedures, outputs.
REFERENCE = [
    ("top", "name", "a folder-safe name", "the file's stem", "the study's name; its results go to `results/<name>/` unless `--out` is given"),
    ("top", "description", "a string", '""', "free text, printed at the top of `report.md`"),
    ("top", "seed", f"an integer in [0, {LIMITS['seed']}]", "0", "the PRNG seed every economy is drawn from (the same seed, the same economies)"),
    ("top", "batch", f"an integer in [1, {LIMITS['batch']:,}]", "256", "economies per scenario"),
    ("top", "chunk", f"an integer in [1, {LIMITS['chunk']:,}], or \"auto\"", "min(batch, 128)", "economies per chunk: the unit of progress, memory and resumption (a chunk whose arrays would exceed 8 GiB is refused); \"auto\": the largest power of two whose arrays take at most a quarter of the device's memory (an accelerator's, else the host's), so the chunks, and with them the study's fingerprint, depend on the machine"),
    ("top", "requires", '"gpu"', "absent", "the study is sized for a GPU: where JAX sees none it runs `cpu_batch` economies per scenario instead (and says so first), or refuses in one line without `cpu_batch`"),
    ("top", "cpu_batch", f"an integer in [1, {LIMITS['batch']:,}]", "absent", "with `requires = \"gpu\"`: the reduced economies per scenario to run where there is no GPU (scenario batches are capped at it too)"),
    ("top", "scenarios", "an array of tables `[[scenarios]]`", "required", "the economies to draw; each names its kind with `economy`"),
    ("top", "procedures", "tables `[procedures.<name>]`", "required", "the procedures to run and their options"),
    ("top", "outputs", "a table `[outputs]`", "all true", "which optional outputs to write"),
    ("production", "name", "a folder-safe name", "scenario1, …", "the scenario's name (unique in the study)"),
    ("production", "economy", '"production"', '"production"', "the economy kind: random production economies (`jplan.economies.sample`)"),
    ("production", "n", f"an integer in [1, {LIMITS['n']}]", "required", "goods (one firm each)"),
    ("production", "m", f"an integer in [1, {LIMITS['m']}]", "required", "primary resources"),
    ("production", "returns_to_scale", _RANGE + ", in [0.001, 10]", "0.9", "each firm's returns to scale ρ (below 1: decreasing)"),
    ("production", "intermediate_share", _RANGE + ", in [0, 0.99]", "[0.1, 0.5]", "each firm's total intermediate-input share (capped so that the economy is productive)"),
    ("production", "density", "a number in [0, 1]", "1", "the probability that a firm uses a given good as input"),
    ("production", "tfp", _RANGE + ", in [1e-12, 1e12]", "[0.8, 1.2]", "total factor productivity"),
    ("production", "endowments", _RANGE + ", in [1e-9, 1e12]", "[50, 150]", "the resource endowments"),
    ("production", "weight_concentration", "a number > 0", "1", "the Dirichlet concentration of the welfare weights (small: a few goods dominate)"),
    ("production", "technology", '"cobb-douglas" or "ces"', '"cobb-douglas"', "the firms' family"),
    ("production", "elasticity", _RANGE + ", in [0.05, 20]", "1", "the firms' elasticity of substitution σ (for `technology = \"ces\"`; a range draws log-uniformly)"),
    ("production", "welfare", '"log", "ces" or "stone-geary"', '"log"', "the welfare family"),
    ("production", "welfare_elasticity", _RANGE + ", in [0.05, 20]", "1", "the welfare elasticity η (for `welfare = \"ces\"`)"),
    ("production", "subsistence", _RANGE + ", in [0, 0.99]", "0.5", "Stone–Geary subsistence as a share of a feasible plan's consumption (for `welfare = \"stone-geary\"`)"),
    ("production", "setup", _RANGE + ", in [0, 0.5]", "0", "a set-up cost per firm (a minimum efficient scale: non-convex), as a share of the input aggregate it gets in a feasible plan"),
    ("production", "procedures", "a list of procedure names", "every configured production procedure", "the procedures this scenario runs (each needs a `[procedures.<name>]` table)"),
    ("production", "batch", f"an integer in [1, {LIMITS['batch']:,}]", "the study's `batch`", "economies drawn for this scenario (fewer where the size forbids many; any scenario kind takes it)"),
    ("divisions", "name", "a folder-safe name", "scenario1, …", "the scenario's name"),
    ("divisions", "economy", '"divisions"', "—", "block-angular economies (`jplan.economies.sample_divisions`) for the decomposition procedures"),
    ("divisions", "divisions", f"an integer in [1, {LIMITS['divisions']}]", "required", "N, the divisions"),
    ("divisions", "activities", f"an integer in [1, {LIMITS['activities']}]", "required", "activities per division"),
    ("divisions", "shared", f"an integer in [1, {LIMITS['shared']}]", "required", "m₀, the shared resources the centre holds"),
    ("divisions", "private", f"an integer in [1, {LIMITS['private']}]", "required", "private constraint rows per division"),
    ("divisions", "tightness", _RANGE + ", in (0, 1]", "[0.3, 0.8]", "the shared resources as a share of the divisions' unconstrained use"),
    ("divisions", "density", "a number in [0, 1]", "0.8", "the share of activities using each shared resource"),
    ("divisions", "procedures", "a list of procedure names", "every configured divisions procedure", "the procedures this scenario runs"),
    ("divisions", "batch", f"an integer in [1, {LIMITS['batch']:,}]", "the study's `batch`", "economies drawn for this scenario"),
    ("table", "name", "a folder-safe name", "scenario1, …", "the scenario's name"),
    ("table", "economy", '"table"', "—", "economies drawn around one calibrated from an input–output table (`calibrate_table`, `perturb_calibrated`)"),
    ("table", "table", "a CSV path (relative to the config) or a shipped table's name", "required", "the table (e.g. `\"us-bea-2021-15\"`); its content hash enters the study's fingerprint"),
    ("table", "perturbation", "a number in [0, 2]", "0.1", "σ of the log-normal shocks to shares, weights and tfp"),
    ("table", "returns_to_scale", "a number in (0, 1]", "1", "every firm's returns (below 1 enters Arrow–Hurwicz's domain and no longer replicates the table)"),
    ("table", "single_factor", "true or false", "false", "value added as one primary factor (Malinvaud's domain)"),
    ("table", "technology", '"cobb-douglas", "ces" or "leontief"', '"cobb-douglas"', "the calibration's firm family (`leontief` needs `single_factor = true`)"),
    ("table", "elasticity", "a number in [0.05, 20], not 1", "—", "σ for `technology = \"ces\"`"),
    ("table", "welfare", '"log", "ces" or "stone-geary"', '"log"', "the calibration's welfare family"),
    ("table", "welfare_elasticity", "a number in [0.05, 20], not 1", "—", "η for `welfare = \"ces\"`"),
    ("table", "subsistence", "a number in [0, 1)", "0.5", "subsistence as a share of final demand (for `welfare = \"stone-geary\"`)"),
    ("table", "procedures", "a list of procedure names", "every configured production procedure", "the procedures this scenario runs"),
    ("table", "batch", f"an integer in [1, {LIMITS['batch']:,}]", "the study's `batch`", "economies drawn for this scenario"),
    ("procedure", "steps", f"an integer in [1, {LIMITS['steps']:,}]", "100", "the step budget (a run stops earlier at its tolerance)"),
    ("procedure", "rule", '"additive", "multiplicative" or "adaptive"', "the procedure's", "Arrow–Hurwicz's price rule"),
    ("procedure", "<hyperparameter>", "a finite number > 0", "the procedure's", "any field of the procedure's class (`step_size`, `tolerance`, `memory`, …; docs/procedures.md lists each procedure's)"),
    ("outputs", "plots", "true or false", "true", "PNG figures in `figures/`"),
    ("outputs", "series", "true or false", "true", "`series.parquet`: every iteration of every run, the study's one store of per-step data"),
    ("outputs", "traces", "true or false", "false", "the same per-step records again as npz in `traces/` (one file per scenario × procedure), for NumPy users"),
]

_TITLES = {
    "top": ("Top level", ""),
    "production": ("`[[scenarios]]`: random production economies", "The default kind (`economy` omitted or `\"production\"`)."),
    "divisions": ("`[[scenarios]]` with `economy = \"divisions\"`", "Block-angular economies for Dantzig–Wolfe and Kornai–Lipták."),
    "table": ("`[[scenarios]]` with `economy = \"table\"`", "Economies around a real input–output table."),
    "procedure": ("`[procedures.<name>]`", "One table per procedure the study runs; its options, checked against the procedure's fields."),
    "outputs": ("`[outputs]`", ""),
}


def keys_of(section: str) -> set[str]:
    return {key for s, key, *_ in REFERENCE if s == section}


def parser_keys() -> dict[str, set[str]]:
    """The keys `parse_config` accepts, by section."""
    return {"top": set(_TOP), "production": set(_SCENARIO) - ({"table", "perturbation", "single_factor"}
                                                                  | (_DIVISIONS_SCENARIO - {"name", "economy", "density", "procedures", "batch"})),
            "divisions": set(_DIVISIONS_SCENARIO), "table": set(_TABLE_SCENARIO), "outputs": set(_OUTPUTS)}


def reference_markdown() -> str:
    """The page: one table per section, every key with its value, default and meaning."""
    out = ["# Study configuration reference", "",
           "<!-- generated by `python -m jplan.study.reference > docs/config.md`; tests/test_study.py checks it -->", "",
           "A study is one TOML file (`configs/*.toml`, or any path given to `jplan study`). Unknown keys, values out",
           "of range and inconsistent combinations are refused in one line naming the key (exit 2). Ranges written",
           "`[low, high]` draw each economy's value uniformly between the two.", ""]
    for section, (title, intro) in _TITLES.items():
        out += [f"## {title}", ""]
        if intro:
            out += [intro, ""]
        out += ["| key | value | default | meaning |", "|---|---|---|---|"]
        for s, key, value, default, meaning in REFERENCE:
            if s == section:
                out.append(f"| `{key}` | {value} | {default} | {meaning} |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(reference_markdown(), end="")
