"""golive.store."""
