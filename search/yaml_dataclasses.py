"""Read YAML safely and map it onto frozen dataclasses, strictly.

Unknown keys fail with a did-you-mean, each value must match its field's type, and a
dataclass's `__post_init__` may raise `FieldError` to reject a value; every error names the
source file and the dotted key.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

import yaml

from search.errors import ConfigError, SearchError, shown
from search.registry import did_you_mean

T = TypeVar("T")


class FieldError(ValueError):
    """Raised by `__post_init__` to reject one field; the loader adds file and key."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


MAX_INT = 2**63
MAX_NODES = 100_000
"""The most YAML nodes a file may expand to: its aliases counted as many times as used."""


def check_seed(field: str, seed: int | None) -> None:
    """Seeds feed numpy and torch generators, which take 0 <= seed < 2**32."""
    if seed is not None and not 0 <= seed < 2**32:
        raise FieldError(field, f"must be >= 0 and < 2**32, got {shown(seed)}")


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


def load(cls: type[T], path: str) -> T:
    """A YAML file as the frozen dataclass `cls`; an empty file is an error, not all defaults."""
    data = read_yaml(path)
    if not data:
        raise ConfigError(path, "", f"is empty; expected a mapping of {cls.__name__} keys")
    return from_mapping(cls, data, source=path)


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if tp is type(None):
        return "null"
    if origin is not None:
        return getattr(origin, "__name__", str(origin))
    return getattr(tp, "__name__", str(tp))


def _describe(value: Any) -> str:
    return f"{shown(value)} ({type(value).__name__})"


def coerce(tp: Any, value: Any, source: str, key: str) -> Any:
    """Check `value` against the annotation `tp`, converting only int->float."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        non_null = [a for a in args if a is not type(None)]
        if len(non_null) == 1:  # Optional[X]: X's own message is the clearest
            return coerce(non_null[0], value, source, key)
        for arg in args:
            if arg is type(None):
                continue
            try:
                return coerce(arg, value, source, key)
            except ConfigError:
                continue
        raise ConfigError(source, key, f"expected {_type_name(tp)}, got {_describe(value)}")
    if origin is typing.Literal:
        choices = typing.get_args(tp)
        if value not in choices:
            listed = ", ".join(str(c) for c in choices)
            raise ConfigError(source, key, f"{shown(value)} is not allowed; choose from: {listed}")
        return value
    if dataclasses.is_dataclass(tp):
        return from_mapping(tp, value, source=source, prefix=key)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(source, key, f"expected a list, got {_describe(value)}")
        (item_tp, *_) = typing.get_args(tp) or (Any,)
        items = [coerce(item_tp, v, source, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(source, key, f"expected a mapping, got {_describe(value)}")
        _, val_tp = typing.get_args(tp) or (str, Any)
        return {str(k): coerce(val_tp, v, source, _join(key, str(k))) for k, v in value.items()}
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(source, key, f"expected a number, got {_describe(value)}")
        if not (isinstance(value, float) or abs(value) < MAX_INT) or not math.isfinite(value):
            raise ConfigError(source, key, f"must be a finite number, got {shown(value)}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(source, key, f"expected an integer, got {_describe(value)}")
        if not -MAX_INT < value < MAX_INT:
            raise ConfigError(source, key, f"must be between -2**63 and 2**63, got {shown(value)}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(source, key, f"expected true or false, got {_describe(value)}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(source, key, f"expected a string, got {_describe(value)}")
        return value
    raise TypeError(f"unsupported annotation {tp!r} for {key}")


_GIVEN = "_given_keys"
"""The attribute `from_mapping` leaves on what it builds: which keys the file gave."""


def from_mapping(cls: type[T], data: Any, *, source: str, prefix: str = "") -> T:
    """Build the frozen dataclass `cls` from `data`, naming `source` and the key in any error."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(
            source, prefix or "(top level)", f"expected a mapping, got {_describe(data)}"
        )
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    kwargs: dict[str, Any] = {}
    for raw_key, value in data.items():
        key = str(raw_key)
        if key not in fields:
            names = list(fields)
            raise ConfigError(
                source,
                _join(prefix, key),
                f"unknown key{did_you_mean(key, names)}; allowed keys: {', '.join(names)}",
            )
        kwargs[key] = coerce(hints[key], value, source, _join(prefix, key))
    missing = [
        name
        for name, f in fields.items()
        if name not in kwargs
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(source, _join(prefix, missing[0]), "is required")
    try:
        obj = cls(**kwargs)
    except FieldError as err:
        raise ConfigError(source, _join(prefix, err.field), err.message) from None
    object.__setattr__(obj, _GIVEN, frozenset(kwargs))
    return obj


def given_keys(obj: Any) -> frozenset[str] | None:
    """The keys the file gave for `obj`, a default spelled out included; None when `obj` was
    built in code, not read by `from_mapping`."""
    return getattr(obj, _GIVEN, None)


def replace(obj: T, **changes: Any) -> T:
    """`dataclasses.replace` that keeps `given_keys`, the changed keys added."""
    new = dataclasses.replace(obj, **changes)
    given = given_keys(obj)
    if given is not None:
        object.__setattr__(new, _GIVEN, given | frozenset(changes))
    return new


def to_mapping(obj: Any) -> Any:
    """Plain-data form of a dataclass tree, for YAML and JSON."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_mapping(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_mapping(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_mapping(v) for k, v in obj.items()}
    return obj
