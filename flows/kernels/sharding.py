r"""Particles sharded across devices with `jax.sharding`.

`shard_particles(x)` places the rows of a particle cloud across devices (a one-axis mesh named
`"particles"`); targets stay replicated. With dense sums XLA's SPMD partitioner then splits the
work by rows by itself; `ShardedSums(inner)` does it explicitly with `jax.shard_map` for any
backend (the blocked one included, whose loops XLA would not split): each device computes the
sums for its own rows against all columns (the target, and the particles gathered from the
other devices). The trajectory equals the one-device trajectory (tested with 4 CPU devices via
`XLA_FLAGS=--xla_force_host_platform_device_count=4`). Past one host, the same mesh spans
processes under `jax.distributed`.
"""

from __future__ import annotations

from collections.abc import Sequence

import equinox as eqx
import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from jaxtyping import Array, ArrayLike, Float

from .._checks import check_points
from .backends import AbstractSumBackend, Backend, resolve_backend


def particle_sharding(devices: Sequence[jax.Device] | None = None) -> NamedSharding:
    """Rows split across `devices` (default: all devices), columns whole."""
    devices = jax.devices() if devices is None else list(devices)
    if not devices:
        raise ValueError("`devices` must hold at least one device.")
    return NamedSharding(Mesh(np.asarray(devices), ("particles",)), PartitionSpec("particles", None))


def shard_particles(x: Float[ArrayLike, "n d"], devices: Sequence[jax.Device] | None = None) -> Float[Array, "n d"]:
    """`x` with its rows split evenly across `devices` (default: all devices).

    **Raises:** `ValueError` unless the number of particles is a multiple of the device count.
    """
    x = check_points("x", x)
    sharding = particle_sharding(devices)
    count = sharding.mesh.size
    if x.shape[0] % count:
        raise ValueError(f"`x` must have a multiple of {count} particles (one share per device), got {x.shape[0]}.")
    return jax.device_put(x, sharding)


class ShardedSums(AbstractSumBackend):
    """Kernel sums with the rows $x_i$ split across devices (`jax.shard_map`): each device runs
    the `inner` backend on its own rows against all columns (replicated, e.g. the target and
    the gathered particles). Exact when `inner` is; rows not divisible by the device count fall
    back to `inner` on every device.

    **Arguments:**
    - `inner`: the backend each device runs (default `"auto"`).
    - `devices`: the devices (default all).
    """

    inner: AbstractSumBackend
    mesh: Mesh = eqx.field(static=True)

    def __init__(self, inner: Backend = "auto", devices: Sequence[jax.Device] | None = None):
        self.inner = resolve_backend(inner)
        self.mesh = particle_sharding(devices).mesh

    def _split(self, method: str, kernel, x, y, columns):
        inner = getattr(self.inner, method)
        if x.shape[0] % self.mesh.size:
            return inner(kernel, x, y, columns)
        rows = PartitionSpec("particles")
        return jax.shard_map(
            lambda xs, ys, cs: inner(kernel, xs, ys, cs),
            mesh=self.mesh,
            in_specs=(rows, PartitionSpec(), PartitionSpec()),
            out_specs=rows,
        )(x, y, columns)

    def kernel_sum(self, kernel, x, y, weights):
        return self._split("kernel_sum", kernel, x, y, weights)

    def kernel_grad_sum(self, kernel, x, y, weights):
        return self._split("kernel_grad_sum", kernel, x, y, weights)

    def kernel_hessian_sum(self, kernel, x, y, vectors):
        return self._split("kernel_hessian_sum", kernel, x, y, vectors)

    def kernel_value_grad_sum(self, kernel, x, y, weights):
        return self._split("kernel_value_grad_sum", kernel, x, y, weights)
