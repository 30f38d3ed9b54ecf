"""User-facing errors: the CLI prints them as one line and exits 2, never with a traceback."""

from __future__ import annotations


class SearchError(Exception):
    """An error the user can fix: bad input, a missing study, an unreachable storage."""


class ConfigError(SearchError):
    """A bad value in a config file, named by file and dotted key."""

    def __init__(self, source: str, key: str, message: str) -> None:
        self.source = source
        self.key = key
        self.message = message
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: {message}")
