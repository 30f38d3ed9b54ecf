"""How any entry point of `search` ends: a user's error in one line with exit code 2, an
interrupt as 130 or 143 with the trials kept, a bug with its traceback.

The command line and each worker process of `search run --workers N` end through `exit_code`.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable

from search.env import DEBUG_ENV
from search.errors import SearchError

EXIT_USAGE = 2


class ExitCode(Exception):
    """End with this code, saying nothing more (what went wrong has been said already)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def environment_error(err: Exception) -> str | None:
    """One line for a failure of the world around `search` (a file, the database), else None.

    Only these are told in one line; anything else is a bug and keeps its traceback.
    """
    if isinstance(err, OSError):
        where = f": {err.filename}" if err.filename else ""
        return f"{err.strerror or err}{where}"
    if type(err).__module__.split(".")[0] == "sqlalchemy":
        detail = " ".join(str(getattr(err, "orig", None) or err).split())
        return f"the storage failed: {type(err).__name__}: {detail[:200]}"
    return None


def _raise_interrupt_on_sigterm() -> dict[str, int]:
    received = {"signal": 0}

    def handler(signum: int, frame: object) -> None:
        received["signal"] = signum
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
    return received


def exit_code(func: Callable[[], int]) -> int:
    """`func()`'s exit code, with every way it can fail told as the command line tells it."""
    received = _raise_interrupt_on_sigterm()
    try:
        return func()
    except ExitCode as err:
        return err.code
    except SearchError as err:
        sys.stderr.write(f"search: error: {err}\n")
        return EXIT_USAGE
    except BrokenPipeError:  # `search trials | head`: the reader left, which is no error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except Exception as err:
        message = environment_error(err)
        if message is None or os.environ.get(DEBUG_ENV):
            raise
        sys.stderr.write(f"search: error: {message}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        signum = received["signal"] or signal.SIGINT
        sys.stderr.write(
            f"search: interrupted ({signal.Signals(signum).name}); "
            "finished trials are kept, rerun to continue\n"
        )
        return 128 + signum
