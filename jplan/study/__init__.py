"""Monte Carlo studies: configs, the chunked/sharded/resumable runner, summaries, reports and plots."""

from .config import ProcedureSpec, Scenario, StudyConfig, find_config, load_config, parse_config
from .report import TOLERANCES, iterations_to, summarize
from .runner import StudyResult, run_study
from .tables import load, scenario_economies

__all__ = [
    "ProcedureSpec",
    "Scenario",
    "StudyConfig",
    "StudyResult",
    "TOLERANCES",
    "find_config",
    "iterations_to",
    "load",
    "load_config",
    "parse_config",
    "run_study",
    "scenario_economies",
    "summarize",
]
