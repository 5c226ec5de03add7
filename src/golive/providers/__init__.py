"""golive.providers."""
