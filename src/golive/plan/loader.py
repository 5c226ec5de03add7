"""Reading a plan file into plain data while remembering where each key was.

PyYAML forgets line numbers once it has built Python objects, and a plan
error without a line is a plan error nobody can find. This module composes
the YAML node tree itself, builds the data, and keeps a map from every key
path (``("projects", "order_lambda", "rollout", ...)``) to its line, so that
validation errors can say ``golive.yaml:41 projects.order_lambda...: ...``.
Duplicate keys, which YAML silently lets win, are errors here.

A plan is also input from whoever wrote it, so reading one is bounded: the
file's size, the nesting depth, and how far YAML aliases may expand (a few
hundred bytes of anchors can otherwise stand for gigabytes) are capped, and
anything that is not a readable regular file is refused before it is opened.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor

from golive.errors import PlanError
from golive.textinput import TextRefused, check_characters

PathKey = tuple[str | int, ...]

MAX_PLAN_BYTES = 1024 * 1024
MAX_DEPTH = 64
MAX_VALUES = 100_000
MAX_EXPANDED_CHARS = 8 * MAX_PLAN_BYTES


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


class _DepthError(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's composer recurses once per level; stop at MAX_DEPTH instead of at Python's stack."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0

    def fetch_flow_collection_start(self, token_class: Any) -> None:
        # The scanner reads ahead of the composer, slowly for unclosed brackets: stop it at the same depth.
        if self.flow_level >= MAX_DEPTH:
            raise _DepthError(self.get_mark().line + 1)
        super().fetch_flow_collection_start(token_class)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _DepthError(self.peek_event().start_mark.line + 1)  # type: ignore[no-untyped-call]
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _expanded_size(node: yaml.Node, memo: dict[int, tuple[int, int]]) -> tuple[int, int]:
    """(values, characters) the node stands for once its aliases are expanded; each shared node is sized once."""
    known = memo.get(id(node))
    if known is not None:
        return known
    values, chars = 1, 0
    if isinstance(node, yaml.ScalarNode):
        chars = len(str(node.value))
    else:
        children = node.value if isinstance(node, yaml.SequenceNode) else [part for pair in node.value for part in pair]
        for child in children:
            child_values, child_chars = _expanded_size(child, memo)
            values, chars = values + child_values, chars + child_chars
    memo[id(node)] = (values, chars)
    return values, chars


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
            value = self.scalars.construct_object(node, deep=True)
        except ConstructorError as exc:
            raise PlanError(self.file, node.start_mark.line + 1, format_path(path), str(exc.problem)) from None
        return self.checked(value, node, path) if isinstance(value, str) else value

    def build_scalar_key(self, node: yaml.Node, path: PathKey) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise PlanError(self.file, node.start_mark.line + 1, format_path(path), "a key must be a plain value")
        value = self.scalars.construct_object(node)
        # YAML 1.1 reads `on:` / `yes:` as booleans; a plan key is always a name.
        key = str(node.value) if isinstance(value, bool) else str(value)
        return self.checked(key, node, path, multiline=False)

    def checked(self, text: str, node: yaml.Node, path: PathKey, *, multiline: bool = True) -> str:
        """A string of the plan with no NUL or control character (a ``"\\0"`` or ``"\\e"`` escape makes one)."""
        try:
            return check_characters("text", text, multiline=multiline)
        except TextRefused as exc:
            reason = exc.reason if multiline else f"a key {exc.reason}"
            raise PlanError(self.file, node.start_mark.line + 1, format_path(path), reason) from None


def load_text(text: str, file: str) -> Located:
    """Parse YAML text; syntax errors become a PlanError with the line."""
    try:
        loader = _BoundedLoader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except _DepthError as exc:
        raise PlanError(file, exc.line, "", f"the plan nests deeper than {MAX_DEPTH} levels") from None
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
    values, chars = _expanded_size(node, {})
    if values > MAX_VALUES or chars > MAX_EXPANDED_CHARS:
        raise PlanError(file, None, "", f"the plan expands to more than {MAX_VALUES} values or"
                        f" {MAX_EXPANDED_CHARS // 1024 // 1024} MB of text (YAML aliases repeated too often?)")
    builder = _Builder(file)
    data = builder.build(node, ())
    if not isinstance(data, dict):
        raise PlanError(file, node.start_mark.line + 1, "", "a plan must be a mapping of keys (release:, projects:, ...)")
    return Located(file=file, data=data, lines=builder.lines)


def _read(path: Path) -> str:
    """The file's text, or a PlanError: a plan is a regular UTF-8 file of at most MAX_PLAN_BYTES."""
    file = str(path)
    limit = f"{MAX_PLAN_BYTES // 1024 // 1024} MB"
    try:
        # Opened non-blocking so a FIFO is refused instead of waiting for a writer.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise PlanError(file, None, "", "no such plan file (use -f PATH, or golive init)") from None
    except OSError as exc:
        raise PlanError(file, None, "", f"cannot read the plan: {exc.strerror or exc}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
        raise PlanError(file, None, "", f"cannot read the plan: {kind}")
    with os.fdopen(fd, "rb") as handle:
        try:
            raw = handle.read(MAX_PLAN_BYTES + 1)
        except OSError as exc:
            raise PlanError(file, None, "", f"cannot read the plan: {exc.strerror or exc}") from None
    if len(raw) > MAX_PLAN_BYTES:
        raise PlanError(file, None, "", f"the plan is larger than the {limit} limit")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PlanError(file, None, "", f"cannot read the plan: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def load_file(path: Path) -> Located:
    """Read and parse a plan file; anything unreadable or oversized is a usage error naming it."""
    return load_text(_read(path), str(path))
