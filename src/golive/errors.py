"""golive's exception tree, and the exit code each branch maps to.

Every module raises one of these instead of a library's own exception, so
the CLI boundary can turn any failure into one clear line and the exit code
DESIGN.md promises, never a traceback. A *measurement* that fails is data
(see ``golive.analysis``), not an exception: exceptions are for things that
stop an operation.

    GoliveError                      exit 1 unless its branch below says otherwise
    ├── UsageError                   exit 2: the user's input is wrong
    │   ├── PlanError                a plan file that does not load (file:line key: message)
    │   ├── UnknownNameError         a project, environment, gate or run the plan/store does not have
    │   └── ConfigError              a profile, token or setting that is missing or wrong
    ├── ExternalError                exit 3: an outside system did not answer after retries
    │   ├── AwsError                 an AWS call failed (call, region, endpoint named)
    │   │   └── AwsUnreachable
    │   ├── GitHubError              a GitHub REST call failed (method, path, status named)
    │   │   ├── GitHubUnreachable
    │   │   └── GitHubRateLimited
    │   ├── CommandError             a subprocess could not be started
    │   └── RetriesExhausted         still unreachable after the plan's retry budget (system, endpoint, step)
    ├── AwsRequestError              exit 1: AWS answered, and said no (AccessDenied, NotFound)
    ├── GitHubRequestError           exit 1: GitHub answered, and said no (404, 422)
    ├── StoreError                   exit 1: the state store is inconsistent or unreachable
    │   ├── LeaseHeld                another process advances this run
    │   ├── RunInProgress            another process started this release's run first (the run is named)
    │   ├── StoreUnusable            exit 2: not a database, corrupt, or written by a newer golive
    │   └── StoreUnreachable         exit 3: the store's server does not answer
    └── ReleaseStopped               exit 1: a release ended NO-GO, failed or rolled back

The exit code is read from this tree only, by ``exit_code_for`` (``isinstance``, never a class name), and
``unanswered`` says which errors mean "no answer" (the runner retries those; a command exits 3 after them).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime


class GoliveError(Exception):
    """Base of every error golive raises on purpose."""

    @property
    def exit_code(self) -> int:
        return exit_code_for(self)

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(GoliveError):
    """Bad plan, bad flag, bad name: the user can fix it by changing the input."""


class PlanError(UsageError):
    """A plan file that does not parse or validate; names file, line and key path."""

    def __init__(self, file: str, line: int | None, path: str, reason: str) -> None:
        # One line whatever the plan held: a value quoted in the reason may contain line breaks.
        path, reason = (text.replace("\r", "\\r").replace("\n", "\\n") for text in (path, reason))
        self.file = file
        self.line = line
        self.path = path
        self.reason = reason
        where = f"{file}:{line}" if line is not None else file
        key = f" {path}:" if path else ":"
        super().__init__(f"{where}{key} {reason}")


def closest(name: str, known: Iterable[object]) -> str | None:
    """The known name ``name`` most likely misspells or shortens (``order`` → ``order_lambda``), if one stands out."""
    import difflib

    names = [str(k) for k in known]
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    if close:
        return close[0]
    starting = [k for k in names if name and k.startswith(name)]
    return starting[0] if len(starting) == 1 else None


class PlanErrors(PlanError):
    """Several errors in one plan, found together: a count, then one line each (the first's file, line and key)."""

    def __init__(self, file: str, errors: list[PlanError]) -> None:
        first = errors[0]
        super().__init__(first.file, first.line, first.path, first.reason)
        self.errors = errors
        self.message = f"{file}: {len(errors)} errors\n" + "\n".join(f"  {e}" for e in errors)
        self.args = (self.message,)


class UnknownNameError(UsageError):
    """A name (project, environment, gate, run) that does not exist where it was looked up."""

    def __init__(self, kind: str, name: str, known: list[str] | None = None) -> None:
        self.kind = kind
        self.name = name
        close = closest(name, known or [])
        guess = f"did you mean '{close}'? " if close else ""
        hint = f" ({guess}known: {', '.join(sorted(known))})" if known else ""
        super().__init__(f"unknown {kind} '{name}'{hint}")


class ConfigError(UsageError):
    """A setting outside the plan (profile, token, environment variable) is missing or wrong."""


class ExternalError(GoliveError):
    """An outside system could not be reached after retries."""


class AwsError(ExternalError):
    """An AWS call that failed in a way retries did not fix."""

    def __init__(self, call: str, region: str, reason: str, endpoint: str | None = None) -> None:
        self.call = call
        self.region = region
        self.endpoint = endpoint
        self.reason = reason
        at = f" at {endpoint}" if endpoint else ""
        super().__init__(f"AWS {call} in {region}{at} failed: {reason}")


class AwsUnreachable(AwsError):
    """No answer from the AWS endpoint (connection refused, timeouts) after retries."""


class AwsRequestError(GoliveError):
    """AWS answered with an error code that retrying will not change."""

    def __init__(self, call: str, region: str, code: str, reason: str) -> None:
        self.call = call
        self.region = region
        self.code = code
        super().__init__(f"AWS {call} in {region}: {code}: {reason}")


class GitHubError(ExternalError):
    """A GitHub REST call that failed in a way retries did not fix."""

    def __init__(self, method: str, path: str, reason: str, status: int | None = None) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.reason = reason
        code = f" ({status})" if status is not None else ""
        super().__init__(f"GitHub {method} {path}{code}: {reason}")


class GitHubUnreachable(GitHubError):
    """No answer from the GitHub API after retries."""


class GitHubRateLimited(GitHubError):
    """The rate limit did not reset within the time golive is willing to wait."""


class GitHubRequestError(GoliveError):
    """GitHub answered 4xx: not found, not allowed, or not valid (422)."""

    def __init__(self, method: str, path: str, status: int, reason: str) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.reason = reason
        super().__init__(f"GitHub {method} {path} ({status}): {reason}")


class CommandError(ExternalError):
    """A command could not be started at all (not found, not executable)."""


class RetriesExhausted(ExternalError):
    """An outside system stayed unreachable through every attempt the plan's ``retry`` budget allows."""

    def __init__(self, system: str, endpoint: str, doing: str, attempts: int, reason: str) -> None:
        self.system = system
        self.endpoint = endpoint
        self.doing = doing
        self.attempts = attempts
        super().__init__(f"{system} unreachable at {endpoint} after {attempts} attempts while {doing}: {reason}; "
                         "the run is kept, run the same command to resume")


class StoreError(GoliveError):
    """The state store cannot be opened or holds something impossible."""


class RunInProgress(StoreError):
    """The database refused a second active run of one release, environment and kind; names the first."""

    def __init__(self, run_id: int, release: str, env: str, kind: str, started: datetime) -> None:
        self.run_id = run_id
        super().__init__(f"{kind} run {run_id} of {release} in {env} is already in progress "
                         f"(started {started:%Y-%m-%d %H:%M:%S}Z)")


class StoreUnusable(StoreError):
    """The store's URL names something golive cannot use: not a database, corrupt, or from a newer golive."""


class StoreUnreachable(StoreError):
    """The store's database server did not answer."""


class LeaseHeld(StoreError):
    """Another process holds the lease on this run."""

    def __init__(self, name: str, holder: str, expires_at: datetime) -> None:
        self.name = name
        self.holder = holder
        self.expires_at = expires_at
        super().__init__(f"{name} is being advanced by {holder} (lease until {expires_at:%Y-%m-%d %H:%M:%S}Z)")


class ReleaseStopped(GoliveError):
    """The release ended without success: NO-GO, a failed check, or a rollback."""


def unanswered(exc: BaseException) -> bool:
    """True when ``exc`` means an outside system (or the store's server) gave no answer: retry, then exit 3."""
    return isinstance(exc, ExternalError | StoreUnreachable)


def exit_code_for(exc: BaseException) -> int:
    """DESIGN §2's exit code for an error: 2 bad input, 3 no answer after retries, 1 anything else."""
    if isinstance(exc, UsageError | StoreUnusable):
        return 2
    if unanswered(exc):
        return 3
    return 1
