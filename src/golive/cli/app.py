"""Placeholder for the CLI (being written)."""


def main() -> None:
    """Entry point."""
