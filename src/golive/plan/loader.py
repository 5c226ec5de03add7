"""Reading a plan file into plain data while remembering where each key was.

PyYAML forgets line numbers once it has built Python objects, and a plan
error without a line is a plan error nobody can find. This module composes
the YAML node tree itself, builds the data, and keeps a map from every key
path (``("projects", "order_lambda", "rollout", ...)``) to its line, so that
validation errors can say ``golive.yaml:41 projects.order_lambda...: ...``.
Duplicate keys, which YAML silently lets win, are errors here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor

from golive.errors import PlanError

PathKey = tuple[str | int, ...]


@dataclass
class Located:
    """Plan data plus the line of each key path, for error messages."""

    file: str
    data: Any
    lines: dict[PathKey, int] = field(default_factory=dict)

    def line_of(self, path: PathKey) -> int | None:
        """The line of the longest prefix of ``path`` that was in the file."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None


def format_path(path: PathKey) -> str:
    """``projects.order_lambda.steps[1].weight``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.lines: dict[PathKey, int] = {}
        self.scalars = SafeConstructor()

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise PlanError(self.file, key_node.start_mark.line + 1, format_path(path),
                                    "YAML merge keys (<<) are not supported in a plan")
                key = self.build_scalar_key(key_node, path)
                if key in out:
                    raise PlanError(self.file, key_node.start_mark.line + 1, format_path((*path, key)),
                                    "duplicate key")
                child = (*path, key)
                self.lines[child] = key_node.start_mark.line + 1
                out[key] = self.build(value_node, child)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        try:
            return self.scalars.construct_object(node, deep=True)
        except ConstructorError as exc:
            raise PlanError(self.file, node.start_mark.line + 1, format_path(path), str(exc.problem)) from None

    def build_scalar_key(self, node: yaml.Node, path: PathKey) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise PlanError(self.file, node.start_mark.line + 1, format_path(path), "a key must be a plain value")
        value = self.scalars.construct_object(node)
        # YAML 1.1 reads `on:` / `yes:` as booleans; a plan key is always a name.
        return str(node.value) if isinstance(value, bool) else str(value)


def load_text(text: str, file: str) -> Located:
    """Parse YAML text; syntax errors become a PlanError with the line."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        reason = exc.problem or exc.context or "invalid YAML"
        raise PlanError(file, line, "", f"YAML syntax: {reason}") from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise PlanError(file, line, "", f"YAML syntax: character #x{exc.character:04x} is not allowed") from None
    except yaml.YAMLError as exc:
        raise PlanError(file, None, "", f"YAML syntax: {' '.join(str(exc).split())}") from None
    if node is None:
        raise PlanError(file, 1, "", "the plan is empty")
    builder = _Builder(file)
    data = builder.build(node, ())
    if not isinstance(data, dict):
        raise PlanError(file, node.start_mark.line + 1, "", "a plan must be a mapping of keys (release:, projects:, ...)")
    return Located(file=file, data=data, lines=builder.lines)


def load_file(path: Path) -> Located:
    """Read and parse a plan file; a missing file is a usage error naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanError(str(path), None, "", "no such plan file (use -f PATH, or golive init)") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise PlanError(str(path), None, "", f"cannot read the plan: {exc}") from None
    return load_text(text, str(path))
