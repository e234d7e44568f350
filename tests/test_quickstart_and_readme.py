"""The main job (the quickstart) and every Python example in the README run as written."""

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quickstart_writes_its_outputs_and_converges(tmp_path):
    spec = importlib.util.spec_from_file_location("quickstart", ROOT / "experiments" / "quickstart.py")
    quickstart = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(quickstart)
    result = quickstart.main(tmp_path / "media", tmp_path / "runs", progress=False)
    assert result["reduction"] > 100
    assert result["dissipation_relative_residual"] < 1e-2
    for name in ("media/quickstart.gif", "media/quickstart_convergence.png", "runs/quickstart_flow.npz"):
        assert (tmp_path / name).stat().st_size > 0


def test_readme_python_examples_run(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    assert blocks, "the README has no Python example"
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {"__name__": "readme"})
