"""Every ``golive`` command, by name, and the module under this package that registers it.

The pattern of pip's ``commands_dict`` (``pip/_internal/commands/__init__.py``): one module per top-level
command or command group, each with ``register(app)``; ``cli/main.py`` imports them once, in this order
(the order ``golive --help`` lists them). To add a command: write ``commands/<name>.py`` with a
``register(app: typer.Typer) -> None`` and add its line here. A command module imports ``cli.common`` and
``cli.output`` for what commands share, never another command module.
"""

from __future__ import annotations

import importlib
from typing import Protocol, cast

import typer

commands_dict: dict[str, str] = {
    "check": "check",
    "schema": "schema",
    "plan": "plan",
    "status": "status",
    "init": "init",
    "approve": "approve",
    "preflight": "preflight",
    "run": "run",
    "gate": "gate",
    "tag": "tag",
    "deploy": "deploy",
    "abort": "abort",
    "promote": "promote",
    "rollback": "rollback",
    "verify": "verify",
    "rehearse": "rehearse",
    "report": "report",
    "serve": "serve",
    "worker": "worker",
    "hash-password": "hash_password",
    "notify": "notify",
    "soak": "soak",
    "incident": "incident",
    "secrets": "secrets",
    "sandbox": "sandbox",
    "completion": "completion",
}


class CommandModule(Protocol):
    """A module of this package: it adds its command (or group) to the app."""

    def register(self, app: typer.Typer) -> None: ...


def command_modules() -> list[CommandModule]:
    """The command modules, imported, in ``commands_dict``'s order (a module named twice comes once)."""
    return [cast(CommandModule, importlib.import_module(f"{__name__}.{module}"))
            for module in dict.fromkeys(commands_dict.values())]
