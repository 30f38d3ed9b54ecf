"""A small named registry for everything a YAML file can name (losses, schedulers, pruners, ...).

An unknown name is an error that lists the choices, never a silent None.
"""

from __future__ import annotations

import difflib
from typing import Generic, TypeVar

from search.errors import shown

T = TypeVar("T")


class UnknownNameError(KeyError):
    """Raised for a name that is not registered; its message lists the choices."""

    def __init__(self, kind: str, name: str, choices: list[str]) -> None:
        self.kind = kind
        self.name = name
        self.choices = choices
        hint = did_you_mean(name, choices)
        super().__init__(f"unknown {kind} {shown(name)}{hint}; choose from: {', '.join(choices)}")

    def __str__(self) -> str:
        return self.args[0]


def did_you_mean(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(str(name)[:100], choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


class Registry(Generic[T]):
    """Maps names to entries of one kind; `get` raises UnknownNameError with the choices."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str, entry: T) -> T:
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = entry
        return entry

    def __call__(self, name: str):
        """Decorator form of `register`."""

        def wrap(entry: T) -> T:
            return self.register(name, entry)

        return wrap

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise UnknownNameError(self.kind, name, self.names()) from None

    def names(self) -> list[str]:
        return list(self._entries)

    def entries(self) -> list[T]:
        return list(self._entries.values())
