"""Bundled study configurations, installed as the data package `jplan.configs` (see pyproject.toml)."""
