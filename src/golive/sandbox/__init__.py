"""golive.sandbox."""
