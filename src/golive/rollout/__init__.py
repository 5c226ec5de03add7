"""golive.rollout."""
