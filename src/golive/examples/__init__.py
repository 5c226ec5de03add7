"""The plans golive ships: ``golive init --example NAME`` and ``golive rehearse`` with no plan."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from golive.errors import UnknownNameError

EXAMPLES = ("bbws",)


def example_path(name: str) -> Path:
    if name not in EXAMPLES:
        raise UnknownNameError("example", name, list(EXAMPLES))
    return Path(str(resources.files("golive.examples").joinpath(name, "golive.yaml")))


def example_plan(name: str) -> str:
    return example_path(name).read_text(encoding="utf-8")
