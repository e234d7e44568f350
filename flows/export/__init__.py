"""Exporters, on the NumPy side of a finished `Trajectory`: GIF/MP4 animations (one run, or
several side by side), convergence and diagnostic plots, 2-D views (coordinates, PCA, grand
tours), CSV/JSON tables, and the atomic file writes they all use. Imported on first use:
`import flows` does not load matplotlib."""

from .._io import atomic_path
from .animation import animate_particles
from .comparison_animation import animate_comparison
from .grand_tour import grand_tour
from .plots import plot_convergence, plot_diagnostics, plot_final_state
from .projection import Projection
from .tables import diagnostics_table, write_csv, write_json

__all__ = [
    "Projection",
    "animate_comparison",
    "animate_particles",
    "atomic_path",
    "diagnostics_table",
    "grand_tour",
    "plot_convergence",
    "plot_diagnostics",
    "plot_final_state",
    "write_csv",
    "write_json",
]
