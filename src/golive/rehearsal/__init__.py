"""Rehearsing a release against the sandbox: in one process (``local``) or against a sandbox daemon (``remote``).

``golive rehearse`` is the command; this package is what it calls. ``local`` builds the sandbox world in the
rehearsal's own process on a virtual clock; ``remote`` drives a running daemon's world, so the runner can be
killed and started again (``python -m golive.rehearsal``, the chaos test's runner).
"""
