"""The example files (economies, tables, Cockshott's toy plan, scripts), installed as the data package
`jplan.examples`; `jplan examples --out DIR` copies them out of an install (see pyproject.toml)."""
