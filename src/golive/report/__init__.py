"""golive.report."""
