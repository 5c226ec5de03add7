"""golive.cli."""
