"""Monte Carlo studies: a pipeline config → jobs → execution → collection → summary → rendering (see
`jplan.study.runner`), chunked, sharded over devices and resumable."""

from .config import ProcedureSpec, Scenario, StudyConfig, find_config, load_config, parse_config
from .jobs import scenario_economies
from .measures import TOLERANCES, iterations_to
from .runner import StudyResult, run_study
from .summary import summarize
from .tables import load

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
