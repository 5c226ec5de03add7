"""golive.analysis."""
