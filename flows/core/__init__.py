"""The core: what a flow is (`AbstractFlow`, `AbstractGradientFlow`, the SDE terms), the discrete
solvers (`GradientDescent`), the two engines behind `simulate` (diffrax for ODEs and SDEs, a
compiled `lax.scan` for the discrete schemes), `Trajectory`, `Checkpoint`, and the diagnostic
groups that let several diagnostics share one pass (`AbstractDiagnosticGroup`).

The names a script needs are also at the top of the package (`flows.simulate`, ...).
"""

from .checkpoint import Checkpoint
from .diagnostic_groups import AbstractDiagnosticGroup, GroupedDiagnostic
from .flow import AbstractFlow, AbstractGradientFlow, Diagnostic
from .sde import AbstractAdditiveNoiseFlow
from .simulate import FlowDivergedError, simulate
from .solver_cost import drift_evaluations
from .solvers import AbstractDiscreteSolver, GradientDescent
from .trajectory import Trajectory

__all__ = [
    "AbstractAdditiveNoiseFlow",
    "AbstractDiagnosticGroup",
    "AbstractDiscreteSolver",
    "AbstractFlow",
    "AbstractGradientFlow",
    "Checkpoint",
    "Diagnostic",
    "FlowDivergedError",
    "GradientDescent",
    "GroupedDiagnostic",
    "Trajectory",
    "drift_evaluations",
    "simulate",
]
