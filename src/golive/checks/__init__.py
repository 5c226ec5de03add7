"""golive.checks."""
