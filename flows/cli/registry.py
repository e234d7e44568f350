"""Registries: the names a run config (and `flows list`) may use, each with its builder and one line
saying what it is.

A registry maps a name to a builder `build(ctx, **params)`: `ctx` is the `RunContext` built so far
(the random key, the target, the kernel, the flow), `params` are the keys of the config table.
The builder's signature is the schema: a config key that is not one of its parameters, or a
missing required one, is an error that names the key and the valid choices, raised before
anything runs. To make a new flow, kernel, target or solver available from the command line,
add one entry:

    @FLOWS.register("sobolev", "kernel Sobolev descent (Mroueh et al. 2019)")
    def _sobolev(ctx, regularisation: float = 1e-3):
        return SobolevFlow(ctx.target_samples, ctx.kernel, regularisation)

The entries for what exists today are in `flows.registry_entries`.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import jax
import numpy as np


class ConfigError(ValueError):
    """A run config is invalid: the message names the key, the bad value and the valid choices."""


@dataclasses.dataclass
class ResolvedTarget:
    """What a target builder returns: samples of the target, and what else is known about it.

    **Fields:** `samples` (M, d); `mean`, `cov` when the target is Gaussian (for closed-form
    diagnostics); `centres` of the modes of a mixture (for mode coverage); `source`, the object a
    richer target module returned (e.g. one with a log-density), for flows that need it.
    """

    samples: np.ndarray
    mean: np.ndarray | None = None
    cov: np.ndarray | None = None
    centres: np.ndarray | None = None
    source: Any = None


@dataclasses.dataclass
class RunContext:
    """What the builders see: filled in order target -> initial state -> kernel -> flow."""

    key: jax.Array
    target: ResolvedTarget | None = None
    y0: Any = None
    kernel: Any = None
    flow: Any = None

    @property
    def target_samples(self) -> np.ndarray:
        return self.target.samples

    def subkey(self, purpose: int) -> jax.Array:
        """The key for one purpose: 0 target, 1 initial state, 2 the run, 3 diagnostics, 4+ free."""
        return jax.random.fold_in(self.key, purpose)


@dataclasses.dataclass(frozen=True)
class Entry:
    name: str
    build: Callable
    description: str

    def parameters(self) -> dict[str, inspect.Parameter]:
        """The builder's config parameters (all but `ctx`), by name."""
        return dict(list(inspect.signature(self.build).parameters.items())[1:])

    def signature_text(self) -> str:
        """`name(a, b=1.0)`: the keys this entry takes, with their defaults."""
        parts = [p if q.default is inspect.Parameter.empty else f"{p}={q.default!r}" for p, q in self.parameters().items()]
        return f"{self.name}({', '.join(parts)})"


class Registry:
    """Name -> builder for one kind of thing (kernel, flow, target, ...)."""

    def __init__(self, kind: str, description: str):
        self.kind = kind
        self.description = description
        self._entries: dict[str, Entry] = {}

    def register(self, name: str, description: str) -> Callable[[Callable], Callable]:
        """Decorator: register `build(ctx, **params)` under `name` with a one-line description."""

        def decorate(build: Callable) -> Callable:
            if name in self._entries:
                raise ValueError(f"a {self.kind} named {name!r} is already registered.")
            self._entries[name] = Entry(name, build, description)
            return build

        return decorate

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries[name] for name in self.names())

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def entry(self, name: Any, where: str) -> Entry:
        """The entry called `name`; `where` is the config key it came from (for the error)."""
        if not isinstance(name, str) or name not in self._entries:
            raise ConfigError(f"`{where}` = {name!r} is not a known {self.kind}; valid choices: {', '.join(self.names())}.")
        return self._entries[name]

    def build(self, ctx: RunContext, table: Mapping[str, Any], where: str) -> Any:
        """Build from a config table `{"kind": name, **params}` found at config key `where`."""
        if not isinstance(table, Mapping):
            raise ConfigError(f"`{where}` must be a table with a `kind` key, got {table!r}.")
        if "kind" not in table:
            raise ConfigError(f"`{where}.kind` is missing; valid choices: {', '.join(self.names())}.")
        entry = self.entry(table["kind"], f"{where}.kind")
        params = {k: v for k, v in table.items() if k != "kind"}
        expected = entry.parameters()
        for key in params:
            if key not in expected:
                valid = ", ".join(["kind", *expected]) or "kind"
                raise ConfigError(f"`{where}.{key}` is not a parameter of {self.kind} {entry.name!r}; valid keys: {valid}.")
        for key, parameter in expected.items():
            if parameter.default is inspect.Parameter.empty and key not in params:
                raise ConfigError(f"`{where}.{key}` is required for {self.kind} {entry.name!r} ({entry.signature_text()}).")
        try:
            return entry.build(ctx, **params)
        except ConfigError:
            raise
        except (ValueError, TypeError) as error:
            raise ConfigError(f"`{where}` ({self.kind} {entry.name!r}) is invalid: {error}") from error


TARGETS = Registry("target", "the distribution the particles flow to")
INITIALS = Registry("initial state", "where the particles (or a generator) start")
KERNELS = Registry("kernel", "the kernel of MMD-type flows and diagnostics")
FLOWS = Registry("flow", "the vector field that moves the state")
SOLVERS = Registry("solver", "how the flow is integrated (diffrax) or stepped (gradient descent, optax)")
DIAGNOSTICS = Registry("diagnostic", "recorded at every saved time, inside the compiled loop")

ALL: dict[str, Registry] = {
    "targets": TARGETS,
    "initial": INITIALS,
    "kernels": KERNELS,
    "flows": FLOWS,
    "solvers": SOLVERS,
    "diagnostics": DIAGNOSTICS,
}
