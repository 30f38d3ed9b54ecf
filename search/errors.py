"""User-facing errors: the CLI prints them as one line and exits 2, never with a traceback."""

from __future__ import annotations

import reprlib
from typing import Any

MAX_SHOWN = 80
"""The most characters of a user's value that an error message echoes."""
MAX_MESSAGE = 400

_repr = reprlib.Repr()
_repr.maxlevel, _repr.maxdict, _repr.maxlist, _repr.maxtuple = 2, 4, 4, 4
_repr.maxstring = _repr.maxother = _repr.maxlong = 60


def shown(value: Any) -> str:
    """`value` as an error message echoes it: its repr, at most MAX_SHOWN characters.

    reprlib bounds the work too: a huge value is never rendered whole only to be cut.
    """
    text = _repr.repr(value)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."


def _capped(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 3] + "..."


class SearchError(Exception):
    """An error the user can fix: bad input, a missing study, an unreachable storage."""

    def __init__(self, message: str) -> None:
        super().__init__(_capped(" ".join(str(message).split())))


class ConfigError(SearchError):
    """A bad value in a config file, named by file and dotted key."""

    def __init__(self, source: str, key: str, message: str) -> None:
        self.source = source
        self.key = key
        self.message = message
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: {message}")
