"""golive.plan."""
