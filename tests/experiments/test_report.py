"""The experiments' shared outputs: JSON that loads back, and a results page whose sections each
script rewrites on its own, kept in order."""

import json
import math

import numpy as np


def test_results_json_is_plain_and_null_for_nonfinite(tmp_path, load_experiment):
    report = load_experiment("report")
    out = report.Outputs("demo", order=2, quick=True, root=tmp_path)
    path = out.write_results({"x": np.float32(1.5), "ys": np.arange(3), "bad": math.nan, "nested": {"inf": np.inf}})
    document = json.loads(path.read_text())
    assert document == {"experiment": "demo", "quick": True, "x": 1.5, "ys": [0, 1, 2], "bad": None,
                         "nested": {"inf": None}}
    assert path == tmp_path / "experiments" / "results" / "demo.json"


def test_sections_are_replaced_in_place_and_kept_in_order(tmp_path, load_experiment):
    report = load_experiment("report")
    second = report.Outputs("second", order=2, root=tmp_path)
    first = report.Outputs("first", order=1, root=tmp_path)
    second.write_section("Second", "old text")
    first.write_section("First", f"see ![figure]({first.link(first.media('a.png'))})")
    second.write_section("Second", "new text")
    page = (tmp_path / "EXPERIMENTS.md").read_text()
    assert page.startswith("# Experiments")
    assert "old text" not in page and page.count("new text") == 1
    assert page.index("## 1. First") < page.index("## 2. Second")
    assert "![figure](media/a.png)" in page
    assert "quick setting" not in page


def test_quick_runs_default_to_the_ignored_quick_folder(load_experiment):
    report = load_experiment("report")
    assert report.Outputs("demo", order=1, quick=True).root == report.QUICK_ROOT
    assert report.Outputs("demo", order=1).root == report.REPOSITORY
