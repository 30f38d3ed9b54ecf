"""Read a YAML file safely: plain data only, bounded, every error one line naming the file."""

from __future__ import annotations

from typing import Any

import yaml

from search.errors import ConfigError, SearchError

MAX_NODES = 100_000
"""The most YAML nodes a file may expand to: its aliases counted as many times as used."""


def read_yaml(path: str) -> Any:
    """The plain data of a YAML file (no Python tags), or a one-line error naming the file.

    Aliases may not expand a small file into a huge document (a "billion laughs" file).
    """
    try:
        with open(path, encoding="utf-8") as f:
            loader = yaml.SafeLoader(f)
            try:
                node = loader.get_single_node()
                if node is None:
                    return None
                if _expanded_size(node, {}) > MAX_NODES:
                    raise ConfigError(
                        path, "", f"expands to more than {MAX_NODES} YAML nodes (aliases?)"
                    )
                return loader.construct_document(node)
            finally:
                loader.dispose()
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(path, "", f"malformed YAML{where}: {problem}") from None
    except RecursionError:
        raise ConfigError(path, "", "malformed YAML: nested too deeply") from None
    except UnicodeDecodeError:
        raise ConfigError(path, "", "not UTF-8 text; save the file as UTF-8") from None
    except IsADirectoryError:
        raise SearchError(f"{path}: is a directory, not a YAML file") from None
    except OSError as err:
        raise SearchError(f"{path}: cannot read ({err.strerror})") from None


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """Nodes in the document once every alias is expanded; shared nodes are counted once each."""
    key = id(node)
    if key not in memo:
        memo[key] = 1  # a node met again while counting it (a recursive alias) counts once
        if isinstance(node, yaml.SequenceNode):
            memo[key] = 1 + sum(_expanded_size(child, memo) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            memo[key] = 1 + sum(
                _expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value
            )
    return memo[key]
