"""golive: a production release runbook, executable, gated and resumable."""

__version__ = "0.1.0"
