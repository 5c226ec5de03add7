"""Fault injection specs: what goes wrong in the sandbox, to what, and when.

Grammar (one ``--inject`` value each)::

    TARGET:error_rate=8%        (or 0.08)   TARGET:latency=6s (or 600ms, or 3x: every duration times 3)
    TARGET:throttles=5 (per minute)
    aws_down                    api_down    incident=P0@apis   (severity P0..P3)
    github:dispatch=lost|502    github:any=503|429|timeout    github:run=failure   (the local GitHub)
    PROJECT:terraform=replace|delete|update:RESOURCE   the project's Terraform plan does that to the resource
                                (a table or bucket name, or its address aws_dynamodb_table.tenants); no window
    any of the above + @WINDOW  (incident's @ names the affected group, which is also its anchor:
                                 incident=P0@apis+2m opens 2 minutes after the apis batch starts)
    TARGET:KIND=VALUE,version=canary|stable|all[@WINDOW]   which versions a targeted fault hurts

    WINDOW := [ANCHOR][+OFFSET][..[+]OFFSET]
      30h..31h            from 30 h to 31 h after the run started (anchor "run")
      deploy              from the instant the phase/batch "deploy" starts, open-ended
      deploy+3m..+6m      from 3 to 6 minutes after "deploy" starts (the end is relative to the same anchor)
      deploy..deploy+2m   the same anchor written again: the first 2 minutes of "deploy"

TARGET is a function name or a project name; ``Fault.resolve`` turns
projects into their functions with a mapping the caller gives. A window's
anchor is ``run`` (the run's start) or any other word, a phase or batch name
the caller resolves to an instant; until that instant is known the fault is
not scheduled (``resolve`` returns None).

Which versions a targeted fault hurts (``version=``; see
``golive.sandbox.traffic``): ``canary`` binds, when the fault is first
active, to the version the alias then routes most traffic to (the stable
one) and hurts the first newer version that takes traffic: the canary as soon
as it gets traffic, still after a full shift (it is still the bad build), never
after a rollback (the stable version was never bad), and not a later build
published after that rollback (another build). ``stable`` hurts only that
stable version; ``all`` hurts every version. The default follows the anchor:
a phase or batch anchor (``@deploy``, ``@apis+3m``) means the release's new
build, so ``canary``; the run anchor (``@30h..31h``) or no window means the
function as it runs, so ``all``. So ``product_lambda:error_rate=8%@deploy``
hits only the canary, and ``product_lambda:latency=6s@30h..31h`` during a
soak hits the whole function. A function without an alias has one version:
every fault hurts it. A site's project (its secret finds a CloudFront distribution by comment) takes an
``error_rate`` fault on its distributions' 5xx the same way (``golive.sandbox.site_traffic``): ``canary`` is
its staging distribution, ``stable`` the primary.

``check_faults`` holds faults against what a plan names (targets, anchors,
incident groups), so a typo is a usage error before the sandbox starts
rather than a fault that silently never fires.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, cast

from golive.errors import UsageError

FaultKind = Literal["error_rate", "latency", "throttles", "aws_down", "api_down", "incident", "github", "terraform"]
TARGETED: tuple[FaultKind, ...] = ("error_rate", "latency", "throttles")
VersionScope = Literal["canary", "stable", "all"]
VERSION_SCOPES: tuple[VersionScope, ...] = ("canary", "stable", "all")
SEVERITIES = ("P0", "P1", "P2", "P3")
# What the local GitHub can do wrong, by what it hits (see golive.sandbox.github_server).
GITHUB_MODES: dict[str, tuple[str, ...]] = {"dispatch": ("lost", "502"), "any": ("503", "429", "timeout"),
                                            "run": ("failure",)}
# What a project's Terraform plan in the sandbox may do to one of its resources (see sandbox/terraform_plans.py).
TERRAFORM_ACTIONS = ("replace", "delete", "update")

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")
_ANCHOR = re.compile(r"^([A-Za-z_][A-Za-z0-9_\-]*)?(?:\+(.+))?$")


def _bad(text: str, part: str, why: str) -> UsageError:
    return UsageError(f"bad fault '{text}': {why}: '{part}'")


def parse_duration(text: str, part: str) -> timedelta:
    match = _DURATION.match(part)
    if not match:
        raise _bad(text, part, "expected a duration like 90s, 3m, 30h")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


@dataclass(frozen=True)
class Window:
    """When a fault is active: ``anchor`` + ``start`` until ``anchor`` + ``end`` (None: open-ended)."""

    anchor: str = "run"
    start: timedelta = timedelta(0)
    end: timedelta | None = None

    def resolve(self, anchor_times: Mapping[str, datetime]) -> tuple[datetime, datetime | None] | None:
        """The absolute [start, end) of this window, or None while its anchor's instant is unknown."""
        base = anchor_times.get(self.anchor)
        if base is None:
            return None
        return base + self.start, (base + self.end if self.end is not None else None)


def parse_window(text: str, part: str) -> Window:
    head, sep, tail = part.partition("..")
    match = _ANCHOR.match(head)
    if not match or (not match.group(1) and not match.group(2)):
        # A bare offset ("30h") is run-relative.
        if head and _DURATION.match(head):
            anchor, start = "run", parse_duration(text, head)
        else:
            raise _bad(text, part, "expected a window like 30h..31h, deploy or deploy+3m..+6m")
    else:
        anchor = match.group(1) or "run"
        start = parse_duration(text, match.group(2)) if match.group(2) else timedelta(0)
    end: timedelta | None = None
    if sep:
        if not tail:
            end = None
        else:
            # "deploy..deploy+2m" names the anchor again: the same as "deploy..+2m".
            end = parse_duration(text, tail.removeprefix(f"{anchor}+").removeprefix("+"))
            if end <= start:
                raise _bad(text, part, "the window ends before it starts")
    return Window(anchor, start, end)


@dataclass(frozen=True)
class Fault:
    """One parsed fault. ``value``: error rate as a fraction, latency in seconds, throttles per minute.

    ``scale``: a ``latency=3x`` fault multiplies the function's durations (its ``value`` is then 0).
    """

    kind: FaultKind
    text: str
    target: str | None = None
    value: float = 0.0
    severity: str | None = None
    window: Window | None = None
    version: VersionScope | None = None
    scale: float | None = None
    resource: str | None = None  # a terraform fault's resource (its ``mode`` is the action)

    @property
    def versions(self) -> VersionScope:
        """The versions this fault hurts: as written, else ``canary`` for a phase/batch anchor, else ``all``."""
        if self.version is not None:
            return self.version
        return "canary" if self.window is not None and self.window.anchor != "run" else "all"
    mode: str | None = None

    def resolve(self, anchor_times: Mapping[str, datetime],
                projects: Mapping[str, Sequence[str]] | None = None) -> ResolvedFault | None:
        """Absolute times and function names; None while the window's anchor has no instant yet."""
        start: datetime | None = None
        end: datetime | None = None
        if self.window is not None:
            resolved = self.window.resolve(anchor_times)
            if resolved is None:
                return None
            start, end = resolved
        functions: tuple[str, ...] = ()
        if self.target is not None and self.kind in TARGETED:
            functions = tuple((projects or {}).get(self.target, (self.target,)))
        return ResolvedFault(self, functions, start, end)


@dataclass(frozen=True)
class ResolvedFault:
    """A fault with absolute times ([start, end), None = unbounded) and the functions it hits."""

    fault: Fault
    functions: tuple[str, ...]
    start: datetime | None
    end: datetime | None

    @property
    def kind(self) -> FaultKind:
        return self.fault.kind

    @property
    def value(self) -> float:
        return self.fault.value

    def active(self, at: datetime) -> bool:
        return (self.start is None or at >= self.start) and (self.end is None or at < self.end)


def _value(text: str, kind: str, raw: str) -> float:
    if kind == "error_rate":
        try:
            rate = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
        except ValueError:
            raise _bad(text, raw, "expected a rate like 8% or 0.08") from None
        if not 0 <= rate <= 1:
            raise _bad(text, raw, "an error rate is between 0% and 100%")
        return rate
    if kind == "latency":
        return parse_duration(text, raw).total_seconds()
    try:
        count = float(raw)
    except ValueError:
        raise _bad(text, raw, "expected a number of throttles per minute") from None
    if count < 0:
        raise _bad(text, raw, "throttles cannot be negative")
    return count


def parse_fault(text: str) -> Fault:
    """Parse one fault; a malformed one raises UsageError naming the bad part."""
    spec = text.strip()
    if not spec:
        raise UsageError("bad fault '': empty")
    if spec.startswith("incident="):
        severity, at, group = spec.removeprefix("incident=").partition("@")
        if severity not in SEVERITIES:
            raise _bad(text, severity, "expected a severity P0..P3")
        name = group.partition("+")[0]
        if not at or not _NAME.match(name):
            raise _bad(text, group, "expected incident=P0@GROUP or incident=P0@GROUP+OFFSET")
        # The group is also when: the incident opens as that batch (or phase) starts, plus the offset.
        return Fault("incident", text, target=name, severity=severity, window=parse_window(text, group))
    body, at, window_text = spec.partition("@")
    if at and not window_text:
        raise _bad(text, "@", "a window is missing after '@'")
    window = parse_window(text, window_text) if at else None
    if body in ("aws_down", "api_down"):
        return Fault(cast(FaultKind, body), text, window=window)
    target, colon, effect = body.partition(":")
    if target == "github" and colon:
        scope, _, mode = effect.partition("=")
        if mode not in GITHUB_MODES.get(scope, ()):
            known = ", ".join(f"github:{s}={m}" for s, modes in GITHUB_MODES.items() for m in modes)
            raise _bad(text, effect, f"no such GitHub fault (known: {known})")
        return Fault("github", text, target=scope, mode=mode, window=window)
    if not colon:
        raise _bad(text, body, "expected TARGET:KIND=VALUE, aws_down, api_down or incident=P0@GROUP")
    if not _NAME.match(target):
        raise _bad(text, target, "expected a function or project name")
    if effect.startswith("terraform="):
        return _terraform(text, target, effect.removeprefix("terraform="), at)
    effect, _, options = effect.partition(",")
    kind, eq, raw = effect.partition("=")
    if kind not in TARGETED:
        raise _bad(text, kind, f"unknown fault kind (known: {', '.join(TARGETED)})")
    if not eq or not raw:
        raise _bad(text, effect, f"expected {kind}=VALUE")
    if kind == "latency" and raw.endswith("x"):
        try:
            scale = float(raw[:-1])
        except ValueError:
            raise _bad(text, raw, "expected a factor like 3x") from None
        if not 0 < scale <= 1000:
            raise _bad(text, raw, "a latency factor is above 0x and at most 1000x")
        return Fault(kind, text, target=target, scale=scale, window=window,
                     version=_version(text, options) if options else None)
    return Fault(kind, text, target=target, value=_value(text, kind, raw), window=window,
                 version=_version(text, options) if options else None)


def _terraform(text: str, project: str, raw: str, windowed: str) -> Fault:
    """``PROJECT:terraform=ACTION:RESOURCE``: the project's next Terraform plan does ACTION to RESOURCE."""
    if windowed:
        raise _bad(text, "@", "a terraform fault has no window: it changes every plan the project makes")
    action, colon, resource = raw.partition(":")
    if action not in TERRAFORM_ACTIONS:
        raise _bad(text, action or raw, f"expected terraform=ACTION:RESOURCE with ACTION one of "
                                        f"{', '.join(TERRAFORM_ACTIONS)} (e.g. terraform=replace:tenants)")
    if not colon or not resource or not _NAME.match(resource):
        raise _bad(text, raw, "expected terraform=ACTION:RESOURCE, RESOURCE a table or bucket name or a resource "
                              "address (e.g. terraform=replace:tenants)")
    return Fault("terraform", text, target=project, mode=action, resource=resource)


def _version(text: str, options: str) -> VersionScope:
    name, _, value = options.partition("=")
    if name != "version" or value not in VERSION_SCOPES:
        raise _bad(text, options, f"expected version={'|'.join(VERSION_SCOPES)}")
    return value


def parse_faults(texts: Sequence[str]) -> list[Fault]:
    return [parse_fault(t) for t in texts]


@dataclass(frozen=True)
class PlanNames:
    """What a plan names that a fault may refer to."""

    projects: frozenset[str]
    functions: frozenset[str]
    anchors: frozenset[str]  # phases and batches (an incident's group too); ``run`` is always known
    # project -> the resources its sandbox Terraform plan has (names and addresses), for projects with terraform:
    terraform: Mapping[str, frozenset[str]] = field(default_factory=dict)


def check_faults(faults: Sequence[Fault], names: PlanNames) -> None:
    """Refuse a fault that names what the plan does not have: it would never fire.

    Faults of kinds checked elsewhere (``github:``) pass.
    """
    for fault in faults:
        if fault.text.strip().startswith("github:"):
            continue
        if fault.kind == "terraform":
            resources = names.terraform.get(fault.target or "")
            if resources is None:
                with_tf = ", ".join(sorted(names.terraform)) or "none"
                raise UsageError(f"bad fault '{fault.text}': project '{fault.target}' has no terraform: plan "
                                 f"(projects with one: {with_tf})")
            if fault.resource not in resources:
                shown = ", ".join(sorted(r for r in resources if "." not in r)) or "none"
                raise UsageError(f"bad fault '{fault.text}': {fault.target}'s plan has no resource "
                                 f"'{fault.resource}' (resources: {shown})")
            continue
        if fault.kind == "incident" and fault.target != "run" and fault.target not in names.anchors:
            raise UsageError(f"bad fault '{fault.text}': unknown group '{fault.target}' "
                             f"(phases and batches: {', '.join(sorted(names.anchors))})")
        if fault.kind in TARGETED and fault.target not in names.projects | names.functions:
            raise UsageError(f"bad fault '{fault.text}': unknown target '{fault.target}', not a project or function "
                             f"of the plan (projects: {', '.join(sorted(names.projects))})")
        anchor = fault.window.anchor if fault.window is not None else "run"
        if anchor != "run" and anchor not in names.anchors:
            raise UsageError(f"bad fault '{fault.text}': unknown anchor '@{anchor}' "
                             f"(phases and batches: {', '.join(sorted(names.anchors))})")


def github_faults_at(faults: Sequence[ResolvedFault], at: datetime) -> set[tuple[str, str]]:
    """The ``(scope, mode)`` of every GitHub fault active at ``at``: what the local GitHub does wrong now."""
    return {(f.fault.target or "", f.fault.mode or "") for f in faults if f.kind == "github" and f.active(at)}


def aws_down_at(faults: Sequence[ResolvedFault], at: datetime) -> bool:
    """Whether an ``aws_down`` fault is active at ``at``."""
    return any(f.kind == "aws_down" and f.active(at) for f in faults)
