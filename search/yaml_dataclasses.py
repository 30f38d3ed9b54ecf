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

from search.errors import ConfigError, shown
from search.registry import did_you_mean
from search.yaml_read import read_yaml

T = TypeVar("T")


class FieldError(ValueError):
    """Raised by `__post_init__` to reject one field; the loader adds file and key."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


MAX_INT = 2**63


def check_seed(field: str, seed: int | None) -> None:
    """Seeds feed numpy and torch generators, which take 0 <= seed < 2**32."""
    if seed is not None and not 0 <= seed < 2**32:
        raise FieldError(field, f"must be >= 0 and < 2**32, got {shown(seed)}")


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


GIVEN_KEYS = "given_keys"
"""A dataclass field that `from_mapping` fills with the keys the file gave (a default spelled
out included), where the class declares it with `given_keys_field()`. No file sets it."""


def given_keys_field() -> Any:
    return dataclasses.field(default=None, compare=False, repr=False, metadata={"yaml": False})


def _from_file(f: dataclasses.Field) -> bool:
    return f.init and f.metadata.get("yaml", True)


def from_mapping(cls: type[T], data: Any, *, source: str, prefix: str = "") -> T:
    """Build the frozen dataclass `cls` from `data`, naming `source` and the key in any error."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(
            source, prefix or "(top level)", f"expected a mapping, got {_describe(data)}"
        )
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if _from_file(f)}
    records_given = any(f.name == GIVEN_KEYS for f in dataclasses.fields(cls))
    kwargs: dict[str, Any] = {}
    for raw_key, value in data.items():
        key = str(raw_key)
        if key not in fields:
            renamed = getattr(cls, "RENAMED", {}).get(key)
            if renamed is not None:
                raise ConfigError(
                    source,
                    _join(prefix, key),
                    f"unknown key (did you mean {renamed!r}? it is named as timm's train.py "
                    "names it)",
                )
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
    given = {GIVEN_KEYS: frozenset(kwargs)} if records_given else {}
    try:
        return cls(**kwargs, **given)
    except FieldError as err:
        raise ConfigError(source, _join(prefix, err.field), err.message) from None


def given_keys(obj: Any) -> frozenset[str] | None:
    """The keys the file gave for `obj`, a default spelled out included; None when `obj` was
    built in code, not read by `from_mapping`."""
    return getattr(obj, GIVEN_KEYS, None)


def replace(obj: T, **changes: Any) -> T:
    """`dataclasses.replace` that keeps `given_keys`, the changed keys added."""
    given = given_keys(obj)
    if given is not None:
        changes[GIVEN_KEYS] = given | frozenset(changes)
    return dataclasses.replace(obj, **changes)


def to_mapping(obj: Any) -> Any:
    """Plain-data form of a dataclass tree, for YAML and JSON."""
    if dataclasses.is_dataclass(obj):
        return {
            f.name: to_mapping(getattr(obj, f.name))
            for f in dataclasses.fields(obj)
            if f.metadata.get("yaml", True)
        }
    if isinstance(obj, (list, tuple)):
        return [to_mapping(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_mapping(v) for k, v in obj.items()}
    return obj
