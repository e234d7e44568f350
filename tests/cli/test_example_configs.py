"""Every example config in `experiments/configs/` runs through `flows run`, in its own dtype.

The test session runs in float64 (`conftest.py`), so the configs are run in subprocesses that
do not enable it, each running its float32 configs first, then its float64 ones (a float64
config turns JAX's float64 mode on for the rest of the process). The configs are split between
`PARTS` subprocesses (one test each, so test workers share them). Quick settings keep it cheap
without shortening what is simulated: each config keeps its whole time span (a solver that
fails late in a run is caught) but saves 3 times (one checkpoint chunk: most of the cost is
compiling each config's program, once) and draws 3 animation frames at 30 dpi.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

import flows
from flows.cli import config as config_module
from flows.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "experiments" / "configs").glob("*.toml"))
QUICK = {"saves": 3, "frames": 3, "dpi": 30}
PARTS = 2


def quick(config: dict) -> dict:
    """`config` with `QUICK`'s saves, frames and dpi; its time span unchanged."""
    config = json.loads(json.dumps(config))
    config["time"]["saves"] = QUICK["saves"]
    config["output"] = {**config.get("output", {}), "frames": QUICK["frames"], "dpi": QUICK["dpi"]}
    return config


def examples(part: int) -> list[Path]:
    """Part `part` of the example configs: every `PARTS`-th, by name."""
    return EXAMPLES[part::PARTS]


def run_examples(folder: Path, part: int) -> dict[str, dict]:
    """Run the examples of `part` (quick) with `flows run` into `folder/NAME`; return, by name, the
    exit status (or the exception that escaped), the tail of stderr, the dtype the config asks for
    and whether JAX's float64 mode was on during the run."""
    configs = {path.stem: config_module.load(path) for path in examples(part)}
    dtypes = {name: config_module.resolve(c)["dtype"] for name, c in configs.items()}
    results = {}
    for name in sorted(configs, key=lambda n: (dtypes[n] == "float64", n)):
        file = folder / f"{name}.json"  # `load` made data paths absolute, so the JSON runs from anywhere
        file.write_text(json.dumps(quick(configs[name])))
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            try:
                status = main(["run", str(file), "--out", str(folder / name), "--no-progress"])
            except Exception as error:  # noqa: BLE001 - reported per config by the test
                status = f"{type(error).__name__}: {error}"
        results[name] = {
            "status": status, "stderr": stderr.getvalue()[-3000:], "dtype": dtypes[name],
            "x64": bool(jax.config.jax_enable_x64),
        }
    return results


def test_the_parts_hold_every_example_once():
    assert sorted(path for part in range(PARTS) for path in examples(part)) == EXAMPLES and len(EXAMPLES) >= PARTS


@pytest.mark.parametrize("part", range(PARTS))
def test_every_example_config_runs_in_its_default_dtype(tmp_path, part):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    process = subprocess.run(
        [sys.executable, __file__, str(tmp_path), str(part)], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=900,
    )
    assert process.returncode == 0, process.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert sorted(results) == sorted(path.stem for path in examples(part))
    failed = {name: r for name, r in results.items() if r["status"] != 0}
    assert not failed, "\n\n".join(f"{name}: {r['status']}\n{r['stderr']}" for name, r in failed.items())
    for name, result in results.items():
        out = tmp_path / name
        resolved = json.loads((out / "config.json").read_text())
        assert result["x64"] == (result["dtype"] == "float64"), name  # float32 configs ran without float64 mode
        expected = ["config.json", "diagnostics.png", "final_state.png", "metrics.csv", "metrics.json",
                    "trajectory.npz"]
        if resolved["output"]["animation"]:
            expected.append(f"animation.{resolved['output']['animation']}")
        assert sorted(p.name for p in out.iterdir()) == sorted(expected), name
        trajectory = flows.Trajectory.load(out / "trajectory.npz")
        leaves = [trajectory.ys] if isinstance(trajectory.ys, np.ndarray) else list(trajectory.ys.values())
        assert {leaf.dtype for leaf in leaves if leaf.dtype.kind == "f"} == {np.dtype(result["dtype"])}, name
        assert len(trajectory) == QUICK["saves"] and np.isclose(trajectory.ts[-1], resolved["time"]["t1"]), name


if __name__ == "__main__":  # the subprocess: no float64 mode unless a config asks for it
    folder, part = Path(sys.argv[1]), int(sys.argv[2])
    (folder / "results.json").write_text(json.dumps(run_examples(folder, part)))
