"""golive.engine."""
