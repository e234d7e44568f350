"""The main job (the quickstart) and every Python example in the README run as written."""

import importlib.util
import re
from pathlib import Path

import jax
import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_quickstart_writes_its_outputs_and_converges(tmp_path):
    """As `python experiments/quickstart.py` runs it (float32), with a 12-frame animation."""
    spec = importlib.util.spec_from_file_location("quickstart", ROOT / "experiments" / "quickstart.py")
    quickstart = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(quickstart)
    with jax.enable_x64(False):
        result = quickstart.main(tmp_path / "media", tmp_path / "runs", progress=False, frames=12)
    assert result["reduction"] > 100
    assert result["dissipation_relative_residual"] < 1e-2
    for name in ("media/quickstart.gif", "media/quickstart_convergence.png", "runs/quickstart_flow.npz"):
        assert (tmp_path / name).stat().st_size > 0


README_BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


def test_the_readme_has_python_examples():
    assert README_BLOCKS, "the README has no Python example"


@pytest.mark.parametrize("block", range(len(README_BLOCKS)), ids=lambda i: f"example{i}")
def test_readme_python_example_runs(block, tmp_path, monkeypatch):
    """Each example as a reader runs it: JAX's default float32 (the suite's float64 switched off)
    unless the example itself switches float64 on, one test per example so the workers share them."""
    monkeypatch.chdir(tmp_path)
    with jax.enable_x64('jax.config.update("jax_enable_x64", True)' in README_BLOCKS[block]):
        exec(compile(README_BLOCKS[block], "README.md", "exec"), {"__name__": "readme"})
