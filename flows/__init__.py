"""flows: gradient flows of probability distributions, the dynamics behind MMD GANs.

A flow is a vector field on a state (a particle cloud, or a generator's parameters); `simulate`
integrates it with a diffrax solver or steps it with the gradient descent GAN training runs, and
returns a `Trajectory` with diagnostics computed along the way.

The top level holds what every script needs; the rest lives in one namespace per layer:

| namespace | what |
|---|---|
| `flows.kernels` | kernels, bandwidths, kernel sums and their backends (dense, blocked, sliced, features, sharded) |
| `flows.discrepancies` | MMD, energy distance, Gaussian closed forms, KSD, sliced W₂, Sinkhorn / W₂ |
| `flows.targets` | the distributions the flows are asked to reach |
| `flows.particle` | flows of particle clouds: MMD, noisy MMD, Sobolev, Langevin, SVGD, KSD, sliced W, Sinkhorn |
| `flows.parametric` | generators and the flows of their parameters: parametric MMD flow, PKGF |
| `flows.games` | GAN games as discrete solvers: MMD GAN, WGAN-GP, JS-GAN |
| `flows.diagnostics` | in-loop diagnostics |
| `flows.analysis` | rates, dissipation checks, landscapes, stability, two-sample tests |
| `flows.export` | animations, plots, tables (imported on first use) |
| `flows.cli` | the command line (imported on first use) |
"""

import importlib

from . import (
    analysis,
    diagnostics,
    discrepancies,
    games,
    kernels,
    parametric,
    particle,
    targets,
)
from .core import (
    AbstractDiscreteSolver,
    AbstractFlow,
    AbstractGradientFlow,
    Checkpoint,
    FlowDivergedError,
    GradientDescent,
    Trajectory,
    drift_evaluations,
    simulate,
)

__version__ = "0.1.0"

_LAZY = ("export", "cli")


def __getattr__(name: str):
    """`flows.export` and `flows.cli` load matplotlib and the registry: imported on first use."""
    if name in _LAZY:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'flows' has no attribute {name!r}")


__all__ = [
    "AbstractDiscreteSolver",
    "AbstractFlow",
    "AbstractGradientFlow",
    "Checkpoint",
    "FlowDivergedError",
    "GradientDescent",
    "Trajectory",
    "analysis",
    "cli",
    "diagnostics",
    "discrepancies",
    "drift_evaluations",
    "export",
    "games",
    "kernels",
    "parametric",
    "particle",
    "simulate",
    "targets",
]
