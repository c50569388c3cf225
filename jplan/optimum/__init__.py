"""Reference optima: the exact centralised plans every procedure is measured against."""

from .production import Optimum, optimum

__all__ = ["Optimum", "optimum"]
