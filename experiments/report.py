"""What every experiment script shares: its command line, where its outputs go, and the atomic
writes of its numbers (`experiments/results/NAME.json`) and of its section of `EXPERIMENTS.md`.

An experiment script looks like this::

    from report import Outputs, parse_args

    def main(quick: bool = False, root: Path | None = None) -> dict:
        out = Outputs("noise_injection", order=4, quick=quick, root=root)
        ...                                       # run, using only the public `flows` API
        figure.savefig(out.media("noise_injection.png"))   # (or flows.export.atomic_path)
        out.write_results(results)
        out.write_section("Noise injection", markdown)
        return results

    if __name__ == "__main__":
        args = parse_args(__doc__)
        main(quick=args.quick, root=args.root)

A full run writes into the repository (`media/`, `experiments/results/`, `EXPERIMENTS.md`); a
`--quick` run writes into `experiments/quick/` (ignored by git) unless `--root` says otherwise,
so a quick run never overwrites the published results. Each section of `EXPERIMENTS.md` sits
between two HTML comments naming the experiment, so a script rewrites only its own section and
the page keeps the experiments in their `order`.

**Numbers from the results file only.** A script that defines `render(document) -> str` (its
section) and, optionally, `readme(document) -> str` (its sentences in README.md) publishes with
`out.publish(results, title, render, readme)`: the results are written, read back from
`experiments/results/NAME.json`, and the page and README are rendered from what was read, so no
figure on either is typed by hand or taken from memory. `python experiments/report.py NAME...`
renders those experiments again from their results files (the README block of experiment NAME
sits between `<!-- numbers: NAME -->` and `<!-- end numbers: NAME -->`).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from flows.export import atomic_path

REPOSITORY = Path(__file__).resolve().parents[1]
QUICK_ROOT = REPOSITORY / "experiments" / "quick"
PAGE = "EXPERIMENTS.md"
PAGE_HEADER = """# Experiments

Each section below is written by a script in `experiments/` that uses only the public `flows`
API. `python experiments/NAME.py` reproduces the section, its figures and
`experiments/results/NAME.json`; `python experiments/NAME.py --quick` runs a small version in
seconds (the tests run every quick mode and check its claim) and writes into `experiments/quick/`.
"""
_SECTION = re.compile(r"<!-- experiment (\d+): ([\w-]+) -->\n(.*?)<!-- end: \2 -->\n", re.S)
README = "README.md"


def parse_args(description: str | None) -> argparse.Namespace:
    """The command line every experiment takes: `--quick` and `--root DIR`."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the small setting (seconds); writes to experiments/quick/")
    parser.add_argument("--root", type=Path, default=None,
                        help="folder that receives media/, experiments/results/ and EXPERIMENTS.md "
                             "(default: the repository, or experiments/quick/ with --quick)")
    return parser.parse_args()


def to_json(value: Any) -> Any:
    """`value` with NumPy/JAX scalars and arrays made plain Python, and NaN/inf made null."""
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if hasattr(value, "__array__") and not isinstance(value, (str, bytes)):
        array = np.asarray(value)
        return to_json(array.item() if array.ndim == 0 else array.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True)
class Outputs:
    """Where experiment `name` writes: `root/media/`, `root/experiments/results/name.json` and
    its section (number `order`) of `root/EXPERIMENTS.md`."""

    name: str
    order: int
    quick: bool = False
    root: Path | None = None

    def __post_init__(self):
        if not re.fullmatch(r"[\w-]+", self.name):
            raise ValueError(f"name must be letters, digits, '_' or '-'; got {self.name!r}")
        root = self.root if self.root is not None else (QUICK_ROOT if self.quick else REPOSITORY)
        object.__setattr__(self, "root", Path(root))

    def media(self, filename: str) -> Path:
        """Path of a figure or animation in `root/media/` (the folder is created)."""
        path = self.root / "media" / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def results_path(self) -> Path:
        return self.root / "experiments" / "results" / f"{self.name}.json"

    @property
    def page_path(self) -> Path:
        return self.root / PAGE

    def link(self, path: Path) -> str:
        """`path` relative to the page, for a Markdown link or image."""
        return Path(path).resolve().relative_to(self.root.resolve()).as_posix()

    def write_results(self, results: dict) -> Path:
        """Write `results` (plus `quick`) as JSON, atomically."""
        document = to_json({"experiment": self.name, "quick": self.quick, **results})
        with atomic_path(self.results_path) as tmp:
            tmp.write_text(json.dumps(document, indent=1, allow_nan=False) + "\n")
        return self.results_path

    def write_section(self, title: str, markdown: str) -> Path:
        """Replace this experiment's section of the page (or add it, in `order`), atomically."""
        page = self.page_path.read_text() if self.page_path.exists() else PAGE_HEADER
        sections = {m.group(2): (int(m.group(1)), m.group(3)) for m in _SECTION.finditer(page)}
        header = _SECTION.split(page)[0] if sections else page
        quick_note = "\n*(quick setting: a small version of the experiment)*\n" if self.quick else ""
        sections[self.name] = (self.order, f"## {self.order}. {title}\n{quick_note}\n{markdown.strip()}\n\n")
        body = "".join(
            f"<!-- experiment {order}: {name} -->\n{text}<!-- end: {name} -->\n"
            for name, (order, text) in sorted(sections.items(), key=lambda item: (item[1][0], item[0]))
        )
        with atomic_path(self.page_path) as tmp:
            tmp.write_text(header.rstrip("\n") + "\n\n" + body)
        return self.page_path

    def read_results(self) -> dict:
        """The results file as written (JSON: NaN and inf are null)."""
        return json.loads(self.results_path.read_text())

    @property
    def readme_path(self) -> Path:
        return self.root / README

    def write_readme_block(self, markdown: str) -> Path:
        """Replace the text between `<!-- numbers: NAME -->` and `<!-- end numbers: NAME -->` in
        `root/README.md`, atomically (a README without the markers gets the block appended; none
        at all, e.g. under a quick root, is created holding only the block)."""
        start, end = f"<!-- numbers: {self.name} -->", f"<!-- end numbers: {self.name} -->"
        block = f"{start}\n{markdown.strip()}\n{end}"
        text = self.readme_path.read_text() if self.readme_path.exists() else ""
        pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
        text = pattern.sub(lambda _: block, text) if pattern.search(text) else (text.rstrip("\n") + "\n\n" + block).lstrip("\n")
        with atomic_path(self.readme_path) as tmp:
            tmp.write_text(text.rstrip("\n") + "\n")
        return self.readme_path

    def publish(self, results: dict, title: str, render: Callable[[dict], str],
                readme: Callable[[dict], str] | None = None) -> dict:
        """Write `results`, read them back, and render this experiment's section (and README
        block) from what was read; return the document read."""
        self.write_results(results)
        document = self.read_results()
        self.write_section(title, render(document))
        if readme is not None:
            self.write_readme_block(readme(document))
        return document


def fmt(value: Any, digits: int = 2, none: str = "—") -> str:
    """A number for the page: `digits` significant digits (`none` for a missing value)."""
    if value is None:
        return none
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if value == 0:
        return "0"
    return f"{value:.{digits}g}"


def rerender(name: str, root: Path | None = None) -> Path:
    """Render experiment `name`'s section (and README block) again from its results file, with
    the script's `render` (and `readme`) and the title and order it declares (`TITLE`, `ORDER`)."""
    spec = importlib.util.spec_from_file_location(f"experiment_{name}", Path(__file__).parent / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(Path(__file__).parent))
    sys.modules[spec.name] = module  # dataclasses (equinox modules) look their module up while the class is made
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.pop(0)
        sys.modules.pop(spec.name, None)
    if not hasattr(module, "render"):
        raise ValueError(f"experiments/{name}.py defines no `render(document)`: its page is written by its run only.")
    out = Outputs(name, order=module.ORDER, root=root)
    document = out.read_results()
    out = Outputs(name, order=module.ORDER, quick=bool(document.get("quick")), root=out.root)
    out.write_section(module.TITLE, module.render(document))
    if hasattr(module, "readme"):
        out.write_readme_block(module.readme(document))
    return out.page_path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Render experiments' sections of EXPERIMENTS.md (and README numbers) from their results files.")
    parser.add_argument("names", nargs="+", help="experiment names (experiments/NAME.py with a `render`)")
    parser.add_argument("--root", type=Path, default=None, help="folder holding experiments/results/ and EXPERIMENTS.md")
    arguments = parser.parse_args()
    for experiment in arguments.names:
        print(rerender(experiment, arguments.root))
