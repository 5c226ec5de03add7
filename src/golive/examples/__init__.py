"""The plans golive ships: ``golive init --example NAME`` and ``golive rehearse`` with no plan.

An example is a folder: the plan and the files it names by relative path
(``scripts/`` its smoke tests, ``scenarios/`` its rehearsal faults). ``init``
writes all of it, since a plan without its scripts fails at the first smoke test.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from golive.errors import UnknownNameError, UsageError

EXAMPLES = ("bbws",)


def example_path(name: str) -> Path:
    if name not in EXAMPLES:
        raise UnknownNameError("example", name, list(EXAMPLES))
    return Path(str(resources.files("golive.examples").joinpath(name, "golive.yaml")))


def example_plan(name: str) -> str:
    return example_path(name).read_text(encoding="utf-8")


def _files(name: str) -> list[tuple[str, str]]:
    """(path relative to the example folder, text) for the plan and every file beside it, sorted."""
    root = resources.files("golive.examples").joinpath(name)
    found: list[tuple[str, str]] = []

    def walk(node: Traversable, prefix: str) -> None:
        for child in node.iterdir():
            if child.is_dir():
                if not child.name.startswith(("_", ".")):
                    walk(child, f"{prefix}{child.name}/")
            elif not child.name.endswith(".pyc"):
                found.append((prefix + child.name, child.read_text(encoding="utf-8")))

    walk(root, "")
    return sorted(found)


def write_example(name: str, plan_path: Path, *, force: bool = False) -> list[Path]:
    """The example's plan at ``plan_path`` and its other files beside it; refuses to overwrite without ``force``."""
    if name not in EXAMPLES:
        raise UnknownNameError("example", name, list(EXAMPLES))
    folder = plan_path.parent
    targets = [(plan_path if rel == "golive.yaml" else folder / rel, text) for rel, text in _files(name)]
    existing = [str(path) for path, _ in targets if path.exists()]
    if existing and not force:
        raise UsageError(f"{existing[0]} exists (use --force to overwrite)")
    for path, text in targets:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if path.suffix == ".sh":
            path.chmod(0o755)
    return [path for path, _ in targets]
