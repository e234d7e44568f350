"""The experiments' shared outputs: JSON that loads back, and a results page whose sections each
script rewrites on its own, kept in order."""

import json
import math
import re
import shutil

import numpy as np
import pytest


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


def test_publish_renders_the_page_and_readme_from_the_file_written(tmp_path, load_experiment):
    """The section and the README block are rendered from the JSON read back (NaN written as null
    reaches the renderer as None), a README block is replaced in place, and text around it is kept."""
    report = load_experiment("report")
    (tmp_path / "README.md").write_text("intro\n<!-- numbers: demo -->\nold\n<!-- end numbers: demo -->\noutro\n")
    out = report.Outputs("demo", order=3, root=tmp_path)
    seen = []

    def render(document):
        seen.append(document)
        return f"value {report.fmt(document['x'], 3)}, missing {report.fmt(document['y'])}"

    document = out.publish({"x": np.float64(0.123456), "y": math.nan}, "Demo", render, lambda d: f"README x = {d['x']:.2f}")
    assert seen == [document] and document["y"] is None and document == out.read_results()
    assert "value 0.123, missing —" in (tmp_path / "EXPERIMENTS.md").read_text()
    assert (tmp_path / "README.md").read_text() == "intro\n<!-- numbers: demo -->\nREADME x = 0.12\n<!-- end numbers: demo -->\noutro\n"
    out.write_readme_block("second")
    assert (tmp_path / "README.md").read_text().count("<!-- numbers: demo -->") == 1


def test_readme_block_is_created_where_there_is_no_readme(tmp_path, load_experiment):
    report = load_experiment("report")
    report.Outputs("demo", order=1, root=tmp_path).write_readme_block("text")
    assert (tmp_path / "README.md").read_text() == "<!-- numbers: demo -->\ntext\n<!-- end numbers: demo -->\n"


def test_fmt_gives_significant_digits_and_names_missing_values(load_experiment):
    fmt = load_experiment("report").fmt
    assert [fmt(0.012345), fmt(12345.0, 3), fmt(None), fmt(True), fmt(7), fmt(0.0)] == ["0.012", "1.23e+04", "—", "yes", "7", "0"]


@pytest.mark.parametrize("name", ["benign_landscape", "pkgf_vs_gan"])
def test_the_published_section_and_readme_block_are_the_results_file_rendered(tmp_path, load_experiment, name):
    """`report.py NAME` on a copy of the committed results file reproduces the committed section of
    EXPERIMENTS.md and the README block character for character (the script is loaded afresh, so
    classes defined in it, e.g. equinox modules, must find their module while it loads)."""
    report = load_experiment("report")
    results = report.REPOSITORY / "experiments" / "results" / f"{name}.json"
    (tmp_path / "experiments" / "results").mkdir(parents=True)
    shutil.copy(results, tmp_path / "experiments" / "results" / results.name)
    report.rerender(name, tmp_path)
    section = re.compile(rf"<!-- experiment \d+: {name} -->\n.*?<!-- end: {name} -->\n", re.S)
    block = re.compile(rf"<!-- numbers: {name} -->\n.*?<!-- end numbers: {name} -->", re.S)
    for page, pattern in (("EXPERIMENTS.md", section), ("README.md", block)):
        published = pattern.search((report.REPOSITORY / page).read_text())
        assert published is not None, page
        assert pattern.search((tmp_path / page).read_text()).group(0) == published.group(0), page
