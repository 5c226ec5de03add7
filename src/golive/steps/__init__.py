"""Step kinds as plug-ins: one module per kind, each a ``StepKind`` (typed params, run, describe, compensate)."""
