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
"""

from __future__ import annotations

import argparse
import json
import math
import re
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
