"""Errors a user can cause by their input. The CLI prints them as one line and exits with status 2."""


class JplanInputError(ValueError):
    """Bad user input (a file, a field, an option); the message names the problem in one line."""


class EconomyFileError(JplanInputError):
    """An economy file or array set that does not describe a valid economy."""


class ConfigError(JplanInputError):
    """A study configuration that cannot be run."""


class DomainError(JplanInputError):
    """An economy outside the domain of the chosen procedure (e.g. increasing returns for Arrow–Hurwicz)."""
