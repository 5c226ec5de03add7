"""Typed evidence: every record the engine writes, as a frozen class with a kind and a schema version.

``to_data()`` writes the dict an event stores, ``from_data()`` reads it back;
``read(events, of=Class)`` gives the records of a class. Importing this
package registers every record class.
"""

from golive.evidence import canary, checks, dependencies, gates, plan_change, rollback, runs, terraform
from golive.evidence.base import Record, UnknownRecord
from golive.evidence.read import Evidence, read, select, typed
from golive.evidence.registry import classes, from_event

__all__ = ["Evidence", "Record", "UnknownRecord", "canary", "checks", "classes", "dependencies", "from_event", "gates",
           "plan_change", "read", "rollback", "runs", "select", "terraform", "typed"]
