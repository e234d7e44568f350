"""Registries: the names a run config (and `flows list`) may use, each naming a callable of the
Python API (a class, a classmethod, an optax function) whose signature is the config schema.

An entry's config keys are its callable's parameters with the callable's own defaults, except
- the parameters the run supplies (`FromRun`: the target's samples or density, the kernel, the
  initial state, a random key), filled from the `RunContext` and never config keys;
- the parameters with a `Converter`: a named config-only convenience for what the value may be in
  a config (a bandwidth `"median"`, a noise schedule table, a kernel table), with any config-only
  keys it reads (a Gaussian's `std`);
- the parameters whose default is not a plain config value (a function, an object), left to
  Python's default.

A config key that is not one of these, or a missing required one, is an error that names the key
and the valid choices, raised before anything runs. To make a class available from the command
line, add one line (in `flows.cli.entries`):

    FLOWS.add("sobolev", KernelSobolevFlow, "kernel Sobolev descent (Mroueh et al. 2019)")

and a parameter the class gains later (say `backend=`) is a config key at once, with its default.
"""

from __future__ import annotations

import dataclasses
import inspect
import numbers
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import jax
import numpy as np

from .._checks import check_bool

REQUIRED = inspect.Parameter.empty
"""The default of a key that must be given."""


class ConfigError(ValueError):
    """A run config is invalid: the message names the key, the bad value and the valid choices."""


@dataclasses.dataclass
class ResolvedTarget:
    """What a target entry returns: samples of the target, and what else is known about it.

    **Fields:** `samples` (M, d); `mean`, `cov` when the target is Gaussian (for closed-form
    diagnostics and population mode); `centres` of the modes of a mixture (for mode coverage);
    `source`, the `flows.targets` object sampled (its score for the flows that need one).
    """

    samples: np.ndarray
    mean: np.ndarray | None = None
    cov: np.ndarray | None = None
    centres: np.ndarray | None = None
    source: Any = None


@dataclasses.dataclass
class RunContext:
    """What the entries see: filled in order target -> initial state -> kernel -> flow."""

    key: jax.Array
    target: ResolvedTarget | None = None
    y0: Any = None
    kernel: Any = None
    flow: Any = None

    @property
    def target_samples(self) -> np.ndarray:
        return self.target.samples

    def subkey(self, purpose: int) -> jax.Array:
        """The key for one purpose: 0 target, 1 initial state, 2 the run, 3 diagnostics, 4 flow,
        5 solver, 6 display latents, 7 kernel-sum backends."""
        return jax.random.fold_in(self.key, purpose)


def is_plain(value: Any) -> bool:
    """Whether `value` can be written in a config: None, a bool, number or string, or a tuple or
    list of them."""
    if isinstance(value, (tuple, list)):
        return all(is_plain(v) for v in value)
    return value is None or isinstance(value, (bool, numbers.Real, str))


def sibling(where: str, name: str) -> str:
    """The path of key `name` in the table holding the key at `where` (`"target.std"` beside
    `"target.covariance"`)."""
    return f"{where.rpartition('.')[0]}.{name}".lstrip(".")


@dataclasses.dataclass(frozen=True)
class FromRun:
    """A parameter the run supplies: `supply(ctx, table, where)` (`table` the entry's config
    table, `where` its path, for errors); `keys` are config-only keys it reads from the table,
    with their defaults."""

    supply: Callable[[RunContext, Mapping[str, Any], str], Any]
    keys: Mapping[str, Any] = dataclasses.field(default_factory=dict)


def from_run(supply: Callable[[RunContext], Any]) -> FromRun:
    """A parameter filled by `supply(ctx)`, reading no config key."""
    return FromRun(lambda ctx, table, where: supply(ctx))


@dataclasses.dataclass(frozen=True)
class Converter:
    """A named config-only convenience for one parameter.

    **Fields:**
    - `name`: what it is called (in errors and docs).
    - `accepts`: what a config value may be, in words.
    - `convert(ctx, value, table, where)`: the argument for config value `value` (`table` the
      entry's table, `where` the key's path).
    - `keys`: config-only keys it reads from the same table, with their defaults.
    - `unset`: for a parameter Python requires that the run can supply: the config default is
      then None, and `convert(ctx, None, ...)` supplies what `unset` says.
    - `tables`: the registry whose tables the value may be (so `resolve` fills their defaults);
      `many`: the value may be a list of such tables.
    """

    name: str
    accepts: str
    convert: Callable[[RunContext, Any, Mapping[str, Any], str], Any]
    keys: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    unset: str | None = None
    tables: Registry | None = None
    many: bool = False


@dataclasses.dataclass(frozen=True)
class Key:
    """One config key of an entry: `default` (`REQUIRED` when it must be given); `source`, the
    callable whose parameter it is (None for a config-only key); `converter`, if any; `reader`,
    the `FromRun` or `Converter` that reads a config-only key."""

    name: str
    default: Any
    source: Callable | None = None
    converter: Converter | None = None
    reader: FromRun | Converter | None = None

    def takes_bool(self) -> bool:
        """Whether the key may be true or false: its default is a bool, or its Python parameter's
        annotation names one."""
        if isinstance(self.default, bool):
            return True
        if self.source is None:
            return False
        return "bool" in str(inspect.signature(self.source).parameters[self.name].annotation)

    def takes_number(self) -> bool:
        """Whether the key takes only numbers: no converter reads it, and its default is a number
        (not a bool), or, when it has none, its Python parameter's annotation names `float` or
        `int` and not `str`."""
        if self.converter is not None or self.reader is not None:
            return False
        if isinstance(self.default, numbers.Real) and not isinstance(self.default, bool):
            return True
        if self.default is not REQUIRED or self.source is None:
            return False
        annotation = str(inspect.signature(self.source).parameters[self.name].annotation)
        return ("float" in annotation or "int" in annotation) and "str" not in annotation


def _config_only(keys: Mapping[str, Any], reader) -> dict[str, Key]:
    return {name: Key(name, default, reader=reader) for name, default in keys.items()}


@dataclasses.dataclass(frozen=True)
class Call:
    """One callable of the Python API whose parameters are config keys.

    **Fields:** `make`; `context`: parameter -> `FromRun`; `converters`: parameter -> `Converter`;
    `parts`: parameter -> `Call` whose keys join the same table and whose result is the argument
    (`optimizer` of `GradientDescent` made by `optax.sgd`); `bound`: parameters the entry passes
    itself (`self` of a method); `only`: when given, the only parameters taken.
    """

    make: Callable
    context: Mapping[str, FromRun] = dataclasses.field(default_factory=dict)
    converters: Mapping[str, Converter] = dataclasses.field(default_factory=dict)
    parts: Mapping[str, Call] = dataclasses.field(default_factory=dict)
    bound: tuple[str, ...] = ()
    only: tuple[str, ...] | None = None

    def _parameters(self) -> dict[str, inspect.Parameter]:
        taken = {}
        for name, parameter in inspect.signature(self.make).parameters.items():
            if name in self.bound or parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                continue
            if self.only is None or name in self.only:
                taken[name] = parameter
        return taken

    def keys(self) -> dict[str, Key]:
        """The config keys, in signature order (with each converter's or supplier's own keys)."""
        keys: dict[str, Key] = {}

        def add(new: Mapping[str, Key]) -> None:
            for name in new:
                if name in keys:
                    raise ValueError(f"config key {name!r} of {self.make.__qualname__} is defined twice.")
            keys.update(new)

        for name, parameter in self._parameters().items():
            if name in self.context:
                add(_config_only(self.context[name].keys, self.context[name]))
            elif name in self.parts:
                add(self.parts[name].keys())
            elif name in self.converters:
                converter = self.converters[name]
                default = None if parameter.default is REQUIRED and converter.unset else parameter.default
                add({name: Key(name, default, self.make, converter)})
                add(_config_only(converter.keys, converter))
            elif parameter.default is REQUIRED or is_plain(parameter.default):
                add({name: Key(name, parameter.default, self.make)})
        return keys

    def arguments(
        self, ctx: RunContext, table: Mapping[str, Any], where: str, given: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """The keyword arguments for `make`: `given` (the `bound` parameters), the run's, and the
        config's (converted); a key the table leaves out is left to Python's default."""
        keys = self.keys()
        given = given or {}
        arguments = dict(given)
        for name in self._parameters():
            if name in given:
                continue
            if name in self.context:
                arguments[name] = self.context[name].supply(ctx, table, where)
            elif name in self.parts:
                arguments[name] = self.parts[name](ctx, table, where)
            elif name in keys:
                key, path = keys[name], f"{where}.{name}"
                converter = key.converter
                if converter is not None and (name in table or converter.unset or converter.keys):
                    arguments[name] = converter.convert(ctx, table.get(name), table, path)
                elif name in table:
                    value = table[name]  # a config array for a tuple-valued parameter is a tuple
                    arguments[name] = (
                        tuple(value) if isinstance(key.default, tuple) and isinstance(value, list) else value
                    )
        return arguments

    def __call__(
        self, ctx: RunContext, table: Mapping[str, Any], where: str, given: Mapping[str, Any] | None = None
    ) -> Any:
        return self.make(**self.arguments(ctx, table, where, given))


def owner(make: Callable) -> Callable:
    """What an entry makes: the class of a classmethod, else `make` itself (a class or function)."""
    return make.__self__ if inspect.ismethod(make) and inspect.isclass(make.__self__) else make


@dataclasses.dataclass(frozen=True)
class Entry:
    """A registered name: `call` makes the object; `also` are further calls whose keys join the
    same table (a target's `sample`, `simulate`'s `dt0`); `finish(ctx, made, table, where)` turns
    the made object into what the registry returns (default: the object)."""

    name: str
    description: str
    call: Call
    also: tuple[Call, ...] = ()
    finish: Callable[[RunContext, Any, Mapping[str, Any], str], Any] | None = None

    def keys(self) -> dict[str, Key]:
        """The config keys of this entry (all but `kind`), by name."""
        keys = self.call.keys()
        for call in self.also:
            for name, key in call.keys().items():
                if name in keys:
                    raise ValueError(f"config key {name!r} of {self.name!r} is defined twice.")
                keys[name] = key
        return keys

    def signature_text(self) -> str:
        """`name(a, b=1.0)`: the keys this entry takes, with their defaults."""
        parts = [k if key.default is REQUIRED else f"{k}={key.default!r}" for k, key in self.keys().items()]
        return f"{self.name}({', '.join(parts)})"

    def build(self, ctx: RunContext, table: Mapping[str, Any], where: str) -> Any:
        made = self.call(ctx, table, where)
        return made if self.finish is None else self.finish(ctx, made, table, where)


def _check_type(path: str, value: Any, key: Key) -> None:
    """The config type checks a key's Python parameter implies: a bool where its default is one,
    no bool where it takes none (booleans are not numbers), and a number, not a string, where it
    takes only numbers (`Key.takes_number`); any other value is the Python API's to check."""
    if isinstance(key.default, bool):
        try:
            check_bool(path, value)
        except ValueError as error:
            raise ConfigError(str(error)) from None
    elif isinstance(value, bool) and not key.takes_bool():
        raise ConfigError(f"`{path}` must not be true or false (booleans are not numbers), got {value!r}.")
    elif isinstance(value, str) and key.takes_number():
        raise ConfigError(f"`{path}` must be a number, got the string {value!r}: write it without quotes.")


class Registry:
    """Name -> entry for one kind of thing (kernel, flow, target, ...).

    `context` and `converters` (by parameter name) apply to every entry of the registry whose
    callable has that parameter, unless the entry gives its own."""

    def __init__(
        self,
        kind: str,
        description: str,
        *,
        context: Mapping[str, FromRun] | None = None,
        converters: Mapping[str, Converter] | None = None,
    ):
        self.kind = kind
        self.description = description
        self.context = dict(context or {})
        self.converters = dict(converters or {})
        self._entries: dict[str, Entry] = {}

    def call(
        self,
        make: Callable,
        *,
        context: Mapping[str, FromRun] | None = None,
        converters: Mapping[str, Converter] | None = None,
        parts: Mapping[str, Callable] | None = None,
        bound: tuple[str, ...] = (),
        only: tuple[str, ...] | None = None,
    ) -> Call:
        """A `Call` of `make` with this registry's context and converters under the given ones."""
        return Call(
            make,
            context={**self.context, **(context or {})},
            converters={**self.converters, **(converters or {})},
            parts={name: self.call(part) for name, part in (parts or {}).items()},
            bound=bound,
            only=only,
        )

    def add(
        self,
        name: str,
        make: Callable,
        description: str,
        *,
        also: tuple[Call, ...] = (),
        finish: Callable | None = None,
        **call_options,
    ) -> Entry:
        """Register `make` under `name` (keyword options as for `call`)."""
        if name in self._entries:
            raise ValueError(f"a {self.kind} named {name!r} is already registered.")
        entry = Entry(name, description, self.call(make, **call_options), also, finish)
        entry.keys()  # a clash of keys is a mistake in the registry: found at import
        self._entries[name] = entry
        return entry

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries[name] for name in self.names())

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def entry(self, name: Any, where: str) -> Entry:
        """The entry called `name`; `where` is the config key it came from (for the error)."""
        if not isinstance(name, str) or name not in self._entries:
            raise ConfigError(
                f"`{where}` = {name!r} is not a known {self.kind}; valid choices: {', '.join(self.names())}."
            )
        return self._entries[name]

    def fill_defaults(self, table: Any) -> None:
        """Add the default of every key the table leaves out, in nested tables too (an invalid
        table is left for `build` to report)."""
        if not isinstance(table, dict) or not isinstance(table.get("kind"), str) or table["kind"] not in self:
            return
        for name, key in self._entries[table["kind"]].keys().items():
            if name not in table and key.default is not REQUIRED:
                table[name] = list(key.default) if isinstance(key.default, tuple) else key.default
            nested = key.converter.tables if key.converter is not None else None
            if nested is not None:
                for value in (
                    table[name] if key.converter.many and isinstance(table.get(name), list) else [table.get(name)]
                ):
                    nested.fill_defaults(value)

    def build(self, ctx: RunContext, table: Any, where: str) -> Any:
        """Build from a config table `{"kind": name, **keys}` found at config key `where`."""
        if not isinstance(table, Mapping):
            raise ConfigError(f"`{where}` must be a table with a `kind` key, got {table!r}.")
        if "kind" not in table:
            raise ConfigError(f"`{where}.kind` is missing; valid choices: {', '.join(self.names())}.")
        entry = self.entry(table["kind"], f"{where}.kind")
        params = {k: v for k, v in table.items() if k != "kind"}
        expected = entry.keys()
        for name in params:
            if name not in expected:
                valid = ", ".join(["kind", *expected])
                raise ConfigError(
                    f"`{where}.{name}` is not a parameter of {self.kind} {entry.name!r}; valid keys: {valid}."
                )
        for name, key in expected.items():
            if key.default is REQUIRED and name not in params:
                raise ConfigError(
                    f"`{where}.{name}` is required for {self.kind} {entry.name!r} ({entry.signature_text()})."
                )
            if name in params:
                _check_type(f"{where}.{name}", params[name], key)
        try:
            return entry.build(ctx, params, where)
        except ConfigError:
            raise
        except (ValueError, TypeError) as error:
            raise ConfigError(f"`{where}` ({self.kind} {entry.name!r}) is invalid: {error}") from error
