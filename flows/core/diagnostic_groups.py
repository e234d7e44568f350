r"""Diagnostics that share their work, and the recorder that evaluates a run's diagnostics.

Several diagnostics are often the same kernel sums read differently: for the MMD flow, MMD², the
energy $F = \frac12\mathrm{MMD}^2$ and the dissipation $\mathbb{E}_{\mu}\|\nabla f_{\mu,\nu}\|^2$ all
come from one pass over the pairs that gives the witness and its gradient at every particle.
A *group* (`AbstractDiagnosticGroup`) computes any subset of its named quantities together; its
members (`GroupedDiagnostic`, made by `group.member(name)`) are ordinary diagnostics
`(t, y, args) -> array`, usable alone. `DiagnosticRecorder` evaluates a mapping of diagnostics at
one state and calls each group once for all of its members in the mapping, so

    diagnostics = {**flow.diagnostics(), "w2": flows.diagnostics.Wasserstein2(target)}

still records the flow's own diagnostics from one pass. Members share a group when they are
members of the same group object (`flow.diagnostics()` makes one group per call).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import ClassVar

import equinox as eqx
from jaxtyping import Array, PyTree

from .flow import Diagnostic


class AbstractDiagnosticGroup(eqx.Module):
    """Named quantities computed together at one state (module docstring).

    A subclass lists its `quantities` and computes any subset of them in `__call__`, doing only
    the work that subset needs."""

    quantities: ClassVar[tuple[str, ...]]

    @abc.abstractmethod
    def __call__(self, t: Array, y: PyTree, args: PyTree, names: tuple[str, ...]) -> dict[str, Array]:
        """The quantities `names` (distinct members of `quantities`) at the state `y`, by name."""

    def member(self, name: str) -> GroupedDiagnostic:
        """The diagnostic `(t, y, args) -> quantity name`; raise a `ValueError` naming the group's
        quantities for an unknown name."""
        if name not in self.quantities:
            raise ValueError(f"`name` must be one of {self.quantities} for {type(self).__name__}, got {name!r}.")
        return GroupedDiagnostic(self, name)


class GroupedDiagnostic(eqx.Module):
    """One quantity of a diagnostic group, as a diagnostic `(t, y, args) -> array`; evaluated
    alone it computes only that quantity, recorded beside the group's other members it shares
    their pass (`DiagnosticRecorder`).

    **Fields:** the `group` and the quantity's `name`."""

    group: AbstractDiagnosticGroup
    name: str = eqx.field(static=True)

    def __call__(self, t: Array, y: PyTree, args: PyTree) -> Array:
        return self.group(t, y, args, (self.name,))[self.name]


class DiagnosticRecorder(eqx.Module):
    """A run's diagnostics as one function `(t, y, args) -> {name: array}`, each group called once
    for all of its members (`DiagnosticRecorder.of` builds it from a mapping).

    **Fields:** `functions` (groups and plain diagnostics, in the mapping's order of first
    appearance), `keys` (for each function, the names it is recorded under) and `quantities`
    (for a group, the quantity behind each of those names; None for a plain diagnostic)."""

    functions: tuple
    keys: tuple[tuple[str, ...], ...] = eqx.field(static=True)
    quantities: tuple[tuple[str, ...] | None, ...] = eqx.field(static=True)

    @classmethod
    def of(cls, diagnostics: Mapping[str, Diagnostic]) -> DiagnosticRecorder:
        """The recorder of `diagnostics` (name -> diagnostic): members of one group object are
        gathered into one call of the group."""
        functions, keys, quantities, slots = [], [], [], {}
        for key, fn in diagnostics.items():
            if isinstance(fn, GroupedDiagnostic):
                slot = slots.setdefault(id(fn.group), len(functions))
                if slot == len(functions):
                    functions.append(fn.group)
                    keys.append([])
                    quantities.append([])
                keys[slot].append(key)
                quantities[slot].append(fn.name)
            else:
                functions.append(fn)
                keys.append([key])
                quantities.append(None)
        return cls(
            tuple(functions),
            tuple(tuple(k) for k in keys),
            tuple(None if q is None else tuple(q) for q in quantities),
        )

    def __call__(self, t: Array, y: PyTree, args: PyTree) -> dict[str, Array]:
        recorded = {}
        for fn, keys, quantities in zip(self.functions, self.keys, self.quantities):
            if quantities is None:
                recorded[keys[0]] = fn(t, y, args)
                continue
            values = fn(t, y, args, tuple(dict.fromkeys(quantities)))
            recorded.update({key: values[name] for key, name in zip(keys, quantities)})
        return recorded
