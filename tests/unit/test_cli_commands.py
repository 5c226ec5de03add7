"""The command list: every command of ``commands_dict`` is registered and listed, and command modules stand alone."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import typer

import golive.cli.commands as commands
from golive.cli.commands import commands_dict
from golive.cli.main import app

COMMANDS_DIR = Path(commands.__file__).parent
GOLIVE = str(Path(sys.executable).with_name("golive"))


def test_the_app_has_exactly_the_commands_of_commands_dict() -> None:
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    registered = group.list_commands(typer.Context(group))
    is_group = {name: isinstance(group.commands[name], typer.core.TyperGroup) for name in registered}
    # commands_dict's order, commands before groups (as typer lists them in --help)
    assert registered == sorted(commands_dict, key=lambda name: is_group.get(name, False))


def test_golive_help_lists_every_command() -> None:
    done = subprocess.run([GOLIVE, "--help"], capture_output=True, text=True, timeout=120, check=True,
                          env={"COLUMNS": "200", "PATH": ""})
    listed = [line.split()[1] for line in done.stdout.splitlines()
              if line.startswith("│ ") and len(line.split()) > 1 and not line.split()[1].startswith("-")]
    assert sorted(listed) == sorted(commands_dict)


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # a relative import inside the commands package
                base = "golive.cli.commands" + (f".{base}" if base else "")
            names += [base] + [f"{base}.{alias.name}" for alias in node.names]
    return names


def test_no_command_module_imports_another_command_module_or_the_app() -> None:
    modules = sorted(p for p in COMMANDS_DIR.glob("*.py") if p.name != "__init__.py")
    assert {p.stem for p in modules} == set(commands_dict.values())
    for path in modules:
        bad = [name for name in _imports(path)
               if name.startswith(("golive.cli.commands", "golive.cli.main"))]
        assert not bad, f"{path.name} imports {bad}"


def test_every_command_module_registers_itself() -> None:
    for module in commands.command_modules():
        assert callable(getattr(module, "register", None)), module
