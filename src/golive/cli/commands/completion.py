"""``golive completion bash|zsh|fish``: the shell's completion script for golive, printed to stdout.

Completion itself is typer's: the script calls golive back with ``_GOLIVE_COMPLETE`` set, and golive answers
with the commands and options that fit (``cli/main.py`` runs the app, which handles that variable first).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from typer._completion_classes import completion_init
from typer._completion_shared import get_completion_script

COMPLETE_VAR = "_GOLIVE_COMPLETE"


class Shell(StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


def completion(shell: Annotated[Shell, typer.Argument(help="bash, zsh or fish")]) -> None:
    """Print the completion script: eval "$(golive completion bash)" (in ~/.bashrc), or the zsh or fish one."""
    typer.echo(get_completion_script(prog_name="golive", complete_var=COMPLETE_VAR, shell=shell.value))


def register(app: typer.Typer) -> None:
    completion_init()  # typer's bash/zsh/fish answerers, which add_completion=False leaves unregistered
    app.command()(completion)
