"""Typed collector configuration: a dataclass per collector, validated up front, printed redacted.

A collector declares its settings as a dataclass deriving from :class:`CollectorConfig` (the
runner's own settings — trailing window, backfill — are its fields too). :meth:`CollectorConfig.parse`
turns a JSON-like mapping (registry defaults, a deployment's overrides, an event's ``config``) into
an instance, reporting **every** bad field at once by name; :meth:`CollectorConfig.redacted` prints
it with secret fields masked (OpenCost's Validate/Sanitize).

>>> from dataclasses import dataclass, field
>>> @dataclass(frozen=True)
... class Demo(CollectorConfig):
...     regions: list[str] = field(default_factory=lambda: ["us-east-1"])
...     token: str | None = field(default=None, metadata={"secret": True})
>>> Demo.parse({"regions": ["eu-west-1"], "token": "abc"}).redacted()["token"]
'***'
>>> Demo.parse({"regionz": []})      # doctest: +ELLIPSIS
Traceback (most recent call last):
...
cloudtally.errors.ConfigError: invalid collector config: regionz: unknown setting (known: ...)
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal, Mapping, TypeVar, Union, get_args, get_origin, get_type_hints

from ..errors import ConfigError

T = TypeVar("T", bound="ConfigModel")
REDACTED = "***"


@dataclass(frozen=True)
class ConfigModel:
    """A typed settings object: parse with every error named, print redacted (nested models allowed)."""

    # ---------------------------------------------------------------- parsing
    @classmethod
    def parse(cls: type[T], data: Mapping[str, Any] | None = None) -> T:
        """An instance from ``data`` (missing keys take their defaults); raises :class:`ConfigError`
        with ``details = [{"field", "message"}]`` naming every bad setting."""
        data = dict(data or {})
        hints = _hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
        errors: list[dict[str, str]] = []
        values: dict[str, Any] = {}
        for k in data:
            if k not in fields:
                errors.append({"field": str(k)[:64], "message": "unknown setting (known: "
                               + ", ".join(sorted(fields)) + ")"})
        for name, f in fields.items():
            if name not in data:
                continue
            try:
                values[name] = _coerce(data[name], hints[name], name)
            except _Bad as e:
                errors.append({"field": e.path, "message": e.message})
        if not errors:
            try:
                inst = cls(**values)
            except (TypeError, ValueError) as e:
                errors.append({"field": "", "message": str(e)})
            else:
                errors.extend({"field": f, "message": m} for f, m in inst.check())
                if not errors:
                    return inst
        first = errors[0]
        raise ConfigError(f"invalid collector config: {first['field']}: {first['message']}"
                          + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""), details=errors)

    def check(self) -> list[tuple[str, str]]:
        """Cross-field rules of a subclass: ``[(field, message), ...]``; empty when valid."""
        return []

    def replace(self: T, **changes: Any) -> T:
        """A validated copy with ``changes`` applied."""
        return type(self).parse({**self.to_dict(), **changes})

    # ---------------------------------------------------------------- printing
    def to_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def redacted(self) -> dict[str, Any]:
        """:meth:`to_dict` with every field marked ``metadata={"secret": True}`` masked."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.metadata.get("secret") and v not in (None, ""):
                out[f.name] = REDACTED
            elif isinstance(v, ConfigModel):
                out[f.name] = v.redacted()
            elif isinstance(v, (list, tuple)):
                out[f.name] = [x.redacted() if isinstance(x, ConfigModel) else _plain(x) for x in v]
            else:
                out[f.name] = _plain(v)
        return out

    @classmethod
    def describe(cls) -> list[dict[str, Any]]:
        """Each setting: name, type, default, secret, help (``cloudtally collectors show``)."""
        hints = _hints(cls)
        out = []
        for f in dataclasses.fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else (
                f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
            out.append({"name": f.name, "type": _type_name(hints[f.name]), "default": _plain(default),
                        "secret": bool(f.metadata.get("secret")), "help": f.metadata.get("help", "")})
        return out

    def __repr__(self) -> str:  # never a secret
        return f"{type(self).__name__}({self.redacted()!r})"


@lru_cache(maxsize=None)
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


class _Bad(Exception):
    def __init__(self, path: str, message: str):
        self.path, self.message = path, message


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        return " | ".join(_type_name(a) for a in get_args(tp))
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin is not None:
        return f"{getattr(origin, '__name__', str(origin))}[{', '.join(_type_name(a) for a in get_args(tp))}]"
    return "null" if tp is type(None) else getattr(tp, "__name__", str(tp))


def _coerce(v: Any, tp: Any, path: str) -> Any:
    """Check (and normalise: tuples to lists, numbers to int where lossless) ``v`` against ``tp``."""
    origin = get_origin(tp)
    if tp is Any:
        return v
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if v is None and type(None) in args:
            return None
        problems = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(v, a, path)
            except _Bad as e:
                problems.append(e.message)
        raise _Bad(path, " or ".join(dict.fromkeys(problems)) or f"expected {_type_name(tp)}")
    if origin is Literal:
        if v not in get_args(tp):
            raise _Bad(path, f"expected {_type_name(tp)}, got {v!r}"[:200])
        return v
    if origin in (list, tuple, typing.List, typing.Sequence):
        if not isinstance(v, (list, tuple)):
            raise _Bad(path, f"expected a list, got {type(v).__name__}")
        (item,) = get_args(tp)[:1] or (Any,)
        return [_coerce(x, item, f"{path}[{i}]") for i, x in enumerate(v)]
    if origin in (dict, typing.Dict, Mapping):
        if not isinstance(v, Mapping):
            raise _Bad(path, f"expected an object, got {type(v).__name__}")
        kt, vt = (get_args(tp) + (Any, Any))[:2]
        return {_coerce(k, kt, path): _coerce(x, vt, f"{path}.{k}") for k, x in v.items()}
    if isinstance(tp, type) and issubclass(tp, ConfigModel):
        if isinstance(v, tp):
            return v
        if not isinstance(v, Mapping):
            raise _Bad(path, "expected an object")
        try:
            return tp.parse(v)
        except ConfigError as e:
            d = (e.details or [{"field": "", "message": e.message}])[0]
            raise _Bad(f"{path}.{d['field']}".rstrip("."), d["message"]) from None
    if tp is bool:
        if not isinstance(v, bool):
            raise _Bad(path, f"expected true or false, got {v!r}"[:200])
        return v
    if tp is int:
        if isinstance(v, bool) or not isinstance(v, (int, Decimal)) or int(v) != v:
            raise _Bad(path, f"expected an integer, got {v!r}"[:200])
        return int(v)
    if tp is float:   # durations and ratios, never money
        if isinstance(v, bool) or not isinstance(v, (int, float, Decimal)):
            raise _Bad(path, f"expected a number, got {v!r}"[:200])
        return float(v)
    if tp is Decimal:
        from ..money import MoneyError, parse_amount
        try:
            return parse_amount(v if not isinstance(v, float) else repr(v))
        except MoneyError as e:
            raise _Bad(path, str(e)) from None
    if tp is str:
        if not isinstance(v, str):
            raise _Bad(path, f"expected a string, got {type(v).__name__}")
        return v
    if isinstance(tp, type):
        if not isinstance(v, tp):
            raise _Bad(path, f"expected {_type_name(tp)}, got {type(v).__name__}")
        return v
    return v


def _plain(v: Any) -> Any:
    if isinstance(v, ConfigModel):
        return v.to_dict()
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return v


@dataclass(frozen=True)
class CollectorConfig(ConfigModel):
    """Settings every collector has (the runner reads them); a collector's config derives from it."""

    trailing_days: int = 3                           # days re-pulled each run (late billing data)
    initial_days: int = 3                            # first run without a cursor
    max_backfill_days: int = 35                      # a cursor older than this is clamped
    aggregate_tag_keys: list[str] | None = None      # tag keys today's provisional aggregates keep
                                                     # (default: CLOUDTALLY_ROLLUP_TAG_KEYS)

    def check(self) -> list[tuple[str, str]]:
        out = []
        for name in ("trailing_days", "initial_days", "max_backfill_days"):
            v = getattr(self, name)
            if not 0 <= v <= 400:
                out.append((name, "between 0 and 400 days"))
        return out
