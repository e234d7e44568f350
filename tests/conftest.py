"""Test configuration: float64 everywhere a reference is compared, CPU only; `tests/` (with the
NumPy reference) importable from every test folder."""

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)


import importlib.util  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

TESTS = Path(__file__).resolve().parent
EXPERIMENTS = TESTS.parent / "experiments"
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))  # the shared NumPy reference (numpy_reference.py)


@pytest.fixture
def load_experiment(monkeypatch):
    """Import `experiments/NAME.py` as a module (with `experiments/` importable, as when run)."""
    monkeypatch.syspath_prepend(str(EXPERIMENTS))

    def load(name: str):
        spec = importlib.util.spec_from_file_location(f"experiment_{name}", EXPERIMENTS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, spec.name, module)
        spec.loader.exec_module(module)
        return module

    return load


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    """Drop JAX's compiled programs after each test module. Each one holds a few memory mappings,
    and a worker that compiles ~20,000 programs reaches Linux's default limit of 65,530 mappings
    per process, where XLA's compiler crashes (segfault or abort) in whatever test comes next."""
    yield
    jax.clear_caches()
