"""Filling ``{name}`` placeholders into a JSON-like value: the one pass every plan string goes through.

It stands alone (no plan, no checks) because both the plan (``plan/variables.py``: which names an
environment has) and the checks (``CheckContext.expand``) fill placeholders, and neither may import
the other's package.
"""

from __future__ import annotations

import re
from typing import Any

_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


def expand(value: Any, vars_: dict[str, str]) -> Any:
    """Fill ``{name}`` placeholders in every string of a JSON-like value; unknown names stay as written.

    One pass: a filled-in value is never scanned again, so a value holding ``{env}`` stays as written.
    """
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: vars_.get(m.group(1), m.group(0)), value)
    if isinstance(value, dict):
        return {k: expand(v, vars_) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [expand(v, vars_) for v in value]
    return value
