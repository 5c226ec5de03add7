"""``golive hash-password``: an Argon2 hash of a password read on stdin, for ``serve --users``."""

from __future__ import annotations

import sys

import typer

from golive.cli.common import SERVE_MODULES, require_extra
from golive.errors import UsageError


def hash_password_cmd(ctx: typer.Context) -> None:
    """Read a password on stdin, print its Argon2 hash for the --users file."""
    require_extra("hash-password", "serve", SERVE_MODULES)
    from golive.serve.auth import hash_password

    password = sys.stdin.readline().rstrip("\n")
    if not password:
        raise UsageError("give the password on stdin")
    print(hash_password(password))


def register(app: typer.Typer) -> None:
    app.command("hash-password")(hash_password_cmd)
