"""The data layer's one error: a dataset that cannot be used as given."""

from __future__ import annotations

from search.errors import SearchError


class DataError(SearchError):
    """A dataset that cannot be used as given; `key` names the data key to blame, if any."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key
