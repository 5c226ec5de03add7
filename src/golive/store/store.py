"""The state store: where a release's state and evidence live between processes.

``Store.open(url)`` connects (SQLite by default, PostgreSQL for a team),
applies the Alembic migrations, and offers the few operations the engine and
the commands need. Rows come back as frozen dataclasses, never as live ORM
objects, so nothing changes the store by accident.

Round trips: on PostgreSQL each transaction costs a BEGIN and a COMMIT on
the wire, so single reads run outside a transaction (autocommit, one round
trip), the engine writes a whole pass (its steps, their events, the run's
status) with ``write``: one transaction, one ``executemany`` per shape, sent
with the BEGIN as one psycopg pipeline (one wait), then COMMIT (a second).
COMMIT stays out of the pipeline so that a dropped connection is still known
to have committed nothing. There is no pre-ping per checkout: a connection
the driver already knows is broken is replaced at checkout, and a
transaction that meets a dropped connection before its COMMIT was sent is
retried once on a fresh one (the server rolled the first attempt back; a
failure during COMMIT itself is never retried, its outcome is unknown).

Leases: one process at a time advances a run. ``acquire_lease`` is a single
atomic decision on both backends; on PostgreSQL it takes the lease row with
``SELECT ... FOR UPDATE SKIP LOCKED`` so a worker never queues behind
another that is taking the same lease, it moves on.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from golive.errors import LeaseHeld, RunInProgress, StoreError, StoreUnreachable, StoreUnusable
from golive.evidence import Evidence, Record, read
from golive.redact import scrub, scrub_data
from golive.store import outbox
from golive.store import tables as t
from golive.store.statuses import RUN_ACTIVE, STEP_OPEN, RunStatus, StepStatus
from golive.store.topics import topic_of

R = TypeVar("R", bound=Record)
T = TypeVar("T")

MIGRATIONS = Path(__file__).with_name("migrations")

STEP_FIELDS = frozenset({"status", "state", "due_at", "wait_reason", "attempts", "started_at", "ended_at", "result"})


@dataclass(frozen=True)
class Run:
    id: int
    release: str
    env: str
    kind: str
    status: str
    plan_digest: str
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    reason: str | None
    meta: dict[str, Any]

    @property
    def active(self) -> bool:
        return self.status in RUN_ACTIVE


@dataclass(frozen=True)
class StepSpec:
    """A frozen instruction, as the planner builds it."""

    key: str
    phase: str
    kind: str
    title: str
    group: str
    lane: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Step:
    id: int
    run_id: int
    seq: int
    key: str
    phase: str
    kind: str
    title: str
    group: str
    lane: str
    params: dict[str, Any]
    status: str
    state: dict[str, Any]
    due_at: datetime | None
    wait_reason: str | None
    attempts: int
    started_at: datetime | None
    ended_at: datetime | None
    result: dict[str, Any] | None

    @property
    def open(self) -> bool:
        return self.status in STEP_OPEN


@dataclass(frozen=True)
class Event:
    id: int
    run_id: int | None
    release: str
    env: str
    step_key: str | None
    at: datetime
    kind: str
    subject: str
    outcome: str | None
    data: dict[str, Any]


@dataclass(frozen=True)
class Approval:
    id: int
    release: str
    env: str
    gate: str
    by: str
    role: str | None
    note: str | None
    at: datetime
    rehearsal: bool


@dataclass(frozen=True)
class Incident:
    id: int
    release: str
    env: str | None
    severity: str
    title: str
    scope: str | None
    status: str
    opened_at: datetime
    resolved_at: datetime | None
    opened_by: str | None
    source: str | None


@dataclass(frozen=True)
class Lease:
    name: str
    holder: str
    expires_at: datetime


def _run(row: Any) -> Run:
    return Run(row.id, row.release, row.env, row.kind, row.status, row.plan_digest, row.created_at,
               row.updated_at, row.ended_at, row.reason, dict(row.meta or {}))


def _step(row: Any) -> Step:
    return Step(row.id, row.run_id, row.seq, row.key, row.phase, row.kind, row.title, row.grp, row.lane,
                dict(row.params or {}), row.status, dict(row.state or {}), row.due_at, row.wait_reason,
                row.attempts, row.started_at, row.ended_at, row.result)


def _event(row: Any) -> Event:
    return Event(row.id, row.run_id, row.release, row.env, row.step_key, row.at, row.kind, row.subject,
                 row.outcome, dict(row.data or {}))


def default_url(plan_path: Path) -> str:
    """``.golive/state.db`` beside the plan."""
    folder = plan_path.absolute().parent / ".golive"
    return f"sqlite:///{folder / 'state.db'}"


def _migrate(engine: Engine, safe_url: str) -> None:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    script = ScriptDirectory.from_config(cfg)
    head = script.get_current_head()
    with engine.begin() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
        if current == head:
            return
        known = {rev.revision for rev in script.walk_revisions()}
        if current is not None and current not in known:
            raise StoreUnusable(f"the store {safe_url} was written by a newer golive (schema {current}; this golive "
                                f"knows up to {head}): upgrade golive")
        if current is None:
            foreign = set(sa.inspect(conn).get_table_names()) - set(t.metadata.tables) - {"alembic_version"}
            if foreign:
                raise StoreUnusable(f"{safe_url} is a database but not a golive store (it holds "
                                    f"{', '.join(sorted(foreign)[:3])}): point --db at a golive store")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _sqlite_problem(safe_url: str, exc: sa.exc.DBAPIError) -> StoreError:
    reason = _first_line(exc)
    lowered = reason.lower()
    if "not a database" in lowered:
        return StoreUnusable(f"{safe_url} is not a database ({reason}): point --db at a golive store, "
                             "or move that file away")
    if "malformed" in lowered or "corrupt" in lowered:
        return StoreUnusable(f"the store {safe_url} is corrupt ({reason}): restore it from a backup, "
                             "or move it away to start a new store")
    if "unable to open" in lowered or "readonly" in lowered:
        return StoreUnusable(f"cannot open the store {safe_url} ({reason}): check the path and its permissions")
    return StoreError(f"cannot open the store {safe_url}: {reason}")


def _postgres_refused(reason: str) -> bool:
    """The server answered and said no: retrying will not help (the user must fix the URL)."""
    lowered = reason.lower()
    return "authentication failed" in lowered or "does not exist" in lowered or "no password" in lowered


CONNECT_ATTEMPTS = 3
CONNECT_PAUSE = 0.1


class Store:
    """Runs, steps, events, approvals, incidents and leases, on SQLite or PostgreSQL."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_postgres = engine.dialect.name == "postgresql"
        # Single reads need no transaction: on PostgreSQL that saves the BEGIN and COMMIT round trips.
        self._reader = engine.execution_options(isolation_level="AUTOCOMMIT") if self.is_postgres else engine
        self._run_writes: dict[int, int] = {}

    @classmethod
    def open(cls, url: str) -> Store:
        """Connect and migrate to head; a store golive cannot use is one clear error naming the masked URL."""
        safe = _safe_url(url)
        try:
            if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
                Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            if url.startswith("sqlite"):
                engine = sa.create_engine(url, connect_args={"timeout": 30})
                sa.event.listen(engine, "connect", _sqlite_pragmas)
            else:
                engine = sa.create_engine(url, json_serializer=_json_text, connect_args={"connect_timeout": 5})
                sa.event.listen(engine, "checkout", _known_broken)
        except sa.exc.ArgumentError as exc:
            raise StoreUnusable(f"bad store URL {safe}: {exc}") from None
        except ModuleNotFoundError as exc:
            raise StoreUnusable(f"no driver for the store {safe}: {exc}") from None
        except OSError as exc:
            raise StoreUnusable(f"cannot create the folder of the store {safe}: {exc.strerror}") from None
        for attempt in range(1, CONNECT_ATTEMPTS + 1):
            try:
                _migrate(engine, safe)
                return cls(engine)
            except sa.exc.DBAPIError as exc:
                engine.dispose()
                if engine.dialect.name == "sqlite":
                    if "already exists" in _first_line(exc) and attempt < CONNECT_ATTEMPTS:
                        # Another process is creating the same new store this moment: let it finish.
                        time.sleep(CONNECT_PAUSE * attempt)
                        continue
                    raise _sqlite_problem(safe, exc) from None
                reason = _first_line(exc)
                if not isinstance(exc, sa.exc.OperationalError) or _postgres_refused(reason):
                    raise StoreUnusable(f"cannot use the store {safe}: {reason}") from None
                if attempt == CONNECT_ATTEMPTS:
                    raise StoreUnreachable(f"cannot reach the store {safe} after {attempt} attempts ({reason}): "
                                           "start the database server, or point --db at another store") from None
                time.sleep(CONNECT_PAUSE * attempt)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        """A transaction for callers outside the store (it cannot be replayed, so it is not retried)."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except sa.exc.DBAPIError as exc:
            # Damage found past the first pages, or a server gone mid-command: the same one line as at open.
            problem = self._problem(exc)
            if problem is None:
                raise
            raise problem from None

    def _transact(self, work: Callable[[Connection], T], *, pipelined: bool = False) -> T:
        """``work`` in one transaction; retried once on a fresh connection if the first one was found dropped
        before COMMIT was sent (the server rolled that attempt back, so running it again cannot apply it twice).

        ``pipelined`` (PostgreSQL; for work that reads no rowcount): BEGIN and the work's statements go out as
        one pipeline, one wait for the server, then COMMIT on its own, so the retry rule above still holds.
        """
        for attempt in (1, 2):
            sent = _Commit()
            try:
                if pipelined and self.is_postgres:
                    return self._pipelined(work, sent)
                with self.engine.connect() as conn, conn.begin():
                    result = work(conn)
                    sent.committing = True
                return result
            except sa.exc.DBAPIError as exc:
                if attempt == 1 and not sent.committing and _dropped(exc):
                    continue
                problem = self._problem(exc)
                if problem is None:
                    raise
                raise problem from None
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _pipelined(self, work: Callable[[Connection], T], sent: _Commit) -> T:
        import psycopg  # the PostgreSQL driver: only this backend pipelines

        with self._reader.connect() as conn:  # autocommit: the BEGIN below is ours, inside the pipeline
            driver: psycopg.Connection[Any] = conn.connection.driver_connection  # type: ignore[assignment]
            try:
                with driver.pipeline():
                    conn.exec_driver_sql("BEGIN")
                    result = work(conn)
                sent.committing = True
                conn.exec_driver_sql("COMMIT")
                return result
            except psycopg.Error as exc:
                # Raised by the pipeline's closing sync, outside SQLAlchemy: given the shape of its errors.
                lost = conn.dialect.is_disconnect(exc, driver, None)  # type: ignore[arg-type]
                if lost:
                    conn.invalidate(exc)
                else:
                    driver.rollback()
                raise sa.exc.DBAPIError.instance(None, None, exc, psycopg.Error, connection_invalidated=lost,
                                                 dialect=conn.dialect) from exc
            except BaseException:
                if not conn.invalidated and driver.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    driver.rollback()
                raise

    def _read(self, work: Callable[[Connection], T]) -> T:
        """``work`` (reads only) outside a transaction; retried once on a dropped connection."""
        for attempt in (1, 2):
            try:
                with self._reader.connect() as conn:
                    return work(conn)
            except sa.exc.DBAPIError as exc:
                if attempt == 1 and _dropped(exc):
                    continue
                problem = self._problem(exc)
                if problem is None:
                    raise
                raise problem from None
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _problem(self, exc: sa.exc.DBAPIError) -> StoreError | None:
        safe = _safe_url(self.engine.url.render_as_string(hide_password=False))
        if not self.is_postgres:
            problem = _sqlite_problem(safe, exc)
            return problem if isinstance(problem, StoreUnusable) else None
        if isinstance(exc, sa.exc.OperationalError) and exc.connection_invalidated:
            return StoreUnreachable(f"lost the store {safe} ({_first_line(exc)}): the run is kept, "
                                    "run the same command again once the database server answers")
        return None

    # runs -----------------------------------------------------------------
    def create_run(self, release: str, env: str, kind: str, plan_digest: str, specs: Sequence[StepSpec],
                   now: datetime, meta: dict[str, Any] | None = None) -> Run:
        """A new pending run with its frozen steps; RunInProgress naming the active run if one exists already.

        The database decides (a partial unique index over the active runs), so two processes creating the same
        run at the same instant get one run between them, whatever either read before.
        """
        def work(conn: Connection) -> int:
            run_id = conn.execute(t.runs.insert().values(
                release=release, env=env, kind=kind, status=RunStatus.PENDING, plan_digest=plan_digest,
                created_at=now, updated_at=now, meta=meta or {},
            )).inserted_primary_key[0]  # type: ignore[index]
            if specs:
                conn.execute(t.steps.insert(), [
                    {"run_id": run_id, "seq": i, "key": s.key, "phase": s.phase, "kind": s.kind,
                     "title": s.title, "grp": s.group, "lane": s.lane, "params": s.params, "status": StepStatus.PENDING,
                     "state": {}, "attempts": 0}
                    for i, s in enumerate(specs)
                ])
            return int(run_id)

        try:
            run_id = self._transact(work)
        except sa.exc.IntegrityError:
            winner = self.active_run(release, env, kind)
            if winner is None:
                raise
            raise RunInProgress(winner.id, release, env, kind, winner.created_at) from None
        return self.get_run(run_id)

    def get_run(self, run_id: int) -> Run:
        row = self._read(lambda conn: conn.execute(sa.select(t.runs).where(t.runs.c.id == run_id)).first())
        if row is None:
            raise StoreError(f"no run {run_id} in the store")
        return _run(row)

    def run_writes(self, run_id: int) -> int:
        """How many times this store object changed the run: a cached copy read after the last change is current."""
        return self._run_writes.get(run_id, 0)

    def runs(self, release: str | None = None, env: str | None = None, kind: str | None = None) -> list[Run]:
        query = sa.select(t.runs).order_by(t.runs.c.id)
        if release is not None:
            query = query.where(t.runs.c.release == release)
        if env is not None:
            query = query.where(t.runs.c.env == env)
        if kind is not None:
            query = query.where(t.runs.c.kind == kind)
        return self._read(lambda conn: [_run(r) for r in conn.execute(query)])

    def latest_run(self, release: str, env: str, kind: str) -> Run | None:
        found = self.runs(release, env, kind)
        return found[-1] if found else None

    def active_run(self, release: str, env: str, kind: str) -> Run | None:
        for run in reversed(self.runs(release, env, kind)):
            if run.active:
                return run
        return None

    def set_run(self, run_id: int, now: datetime, *, status: str | None = None, reason: str | None = None,
                ended: bool = False, meta: dict[str, Any] | None = None) -> None:
        values = run_values(now, status=status, reason=reason, ended=ended, meta=meta)
        self._transact(lambda conn: conn.execute(t.runs.update().where(t.runs.c.id == run_id).values(**values)))
        self._run_writes[run_id] = self._run_writes.get(run_id, 0) + 1

    def refreeze(self, run_id: int, plan_digest: str, specs: Mapping[int, StepSpec], event: dict[str, Any]) -> None:
        """A changed plan accepted into a running run, in one transaction: the run's new digest, the new title and
        parameters of the steps in ``specs`` (by step id), and the event recording it (as ``event_row`` makes it)."""
        topic = topic_of(str(event["kind"]), event.get("outcome"), dict(event.get("data") or {}))

        def work(conn: Connection) -> None:
            conn.execute(t.runs.update().where(t.runs.c.id == run_id).values(plan_digest=plan_digest))
            for step_id, spec in specs.items():
                conn.execute(t.steps.update().where(t.steps.c.id == step_id).values(title=spec.title,
                                                                                     params=spec.params))
            inserted = conn.execute(t.events.insert().values(**event))
            if topic is not None:
                outbox.enqueue(conn, int(inserted.inserted_primary_key[0]), event, topic)  # type: ignore[index]

        self._transact(work)
        self._run_writes[run_id] = self._run_writes.get(run_id, 0) + 1

    # steps ----------------------------------------------------------------
    def steps(self, run_id: int) -> list[Step]:
        query = sa.select(t.steps).where(t.steps.c.run_id == run_id).order_by(t.steps.c.seq)
        return self._read(lambda conn: [_step(r) for r in conn.execute(query)])

    def update_step(self, step_id: int, **values: Any) -> None:
        unknown = set(values) - STEP_FIELDS
        if unknown:
            raise StoreError(f"cannot update step fields {sorted(unknown)}")
        self._transact(lambda conn: conn.execute(t.steps.update().where(t.steps.c.id == step_id).values(**values)))

    def update_step_and_event(self, step_id: int, values: dict[str, Any], event: dict[str, Any] | None) -> None:
        """One transaction: a step's new state and the evidence for it, so neither exists without the other."""
        self.write([{"id": step_id, **values}], [event] if event is not None else [])

    def write(self, steps: Sequence[dict[str, Any]], events: Sequence[dict[str, Any]] = (),
              run: tuple[int, dict[str, Any]] | None = None) -> None:
        """One transaction: steps' new values (each a dict with its ``id``), events (rows as ``event_row`` makes
        them, in order, each with its outbox row if it has a topic) and the run's new values (``run_values``).

        Steps with the same set of fields go in one ``executemany``, and so do consecutive events no outbox row
        needs the id of: a pass of the engine over every lane of a group is a handful of round trips, one commit.
        """
        shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for values in steps:
            fields = tuple(sorted(set(values) - {"id"}))
            unknown = set(fields) - STEP_FIELDS
            if unknown:
                raise StoreError(f"cannot update step fields {sorted(unknown)}")
            shapes.setdefault(fields, []).append({"b_id": values["id"], **{f"b_{k}": values[k] for k in fields}})

        topics = [topic_of(str(event["kind"]), event.get("outcome"), dict(event.get("data") or {}))
                  for event in events]

        def work(conn: Connection) -> None:
            for fields, rows in shapes.items():
                statement = t.steps.update().where(t.steps.c.id == sa.bindparam("b_id")).values(
                    {k: sa.bindparam(f"b_{k}") for k in fields})
                conn.execute(statement, rows)
            plain: list[dict[str, Any]] = []
            for event, topic in zip(events, topics, strict=True):
                if topic is None:
                    plain.append(event)
                    continue
                if plain:
                    conn.execute(t.events.insert().inline(), plain)
                    plain = []
                inserted = conn.execute(t.events.insert().values(**event))
                outbox.enqueue(conn, int(inserted.inserted_primary_key[0]), event, topic)  # type: ignore[index]
            if plain:
                conn.execute(t.events.insert().inline(), plain)  # no id back: a pipeline would hold it
            if run is not None:
                conn.execute(t.runs.update().where(t.runs.c.id == run[0]).values(**run[1]))

        # An outbox row needs its event's id back, which a pipeline holds until it ends.
        self._transact(work, pipelined=all(topic is None for topic in topics))
        if run is not None:
            self._run_writes[run[0]] = self._run_writes.get(run[0], 0) + 1

    # events ---------------------------------------------------------------
    @staticmethod
    def event_row(*, release: str, env: str, kind: str, subject: str, at: datetime,
                  data: dict[str, Any] | None = None, outcome: str | None = None, run_id: int | None = None,
                  step_key: str | None = None) -> dict[str, Any]:
        """An event as ``write`` stores it, its subject and data scrubbed of credential shapes."""
        return {"run_id": run_id, "release": release, "env": env, "step_key": step_key, "at": at, "kind": kind,
                "subject": scrub(subject), "outcome": outcome, "data": scrub_data(data or {})}

    def append_event(self, *, release: str, env: str, kind: str, subject: str, at: datetime,
                     data: dict[str, Any] | None = None, outcome: str | None = None, run_id: int | None = None,
                     step_key: str | None = None) -> int:
        row = self.event_row(release=release, env=env, kind=kind, subject=subject, at=at, data=data,
                             outcome=outcome, run_id=run_id, step_key=step_key)

        topic = topic_of(kind, outcome, data or {})

        def work(conn: Connection) -> int:
            event_id = int(conn.execute(t.events.insert().values(**row)).inserted_primary_key[0])  # type: ignore[index]
            if topic is not None:
                outbox.enqueue(conn, event_id, row, topic)
            return event_id

        return self._transact(work)

    def append_record(self, record: Record, *, release: str, env: str, at: datetime, run_id: int | None = None,
                      step_key: str | None = None) -> int:
        """Append a typed record as an event, in the shape its class stores."""
        return self.append_event(release=release, env=env, kind=record.stored_kind, subject=record.subject, at=at,
                                 data=record.to_data(), outcome=record.outcome, run_id=run_id, step_key=step_key)

    def records(self, of: type[R], *, run_id: int | None = None, release: str | None = None, env: str | None = None,
                kind: str | None = None, since: datetime | None = None) -> list[Evidence[R]]:
        """The stored events that are records of ``of``, typed."""
        return read(self.events(run_id=run_id, release=release, env=env, kind=kind or (of.kind or None),
                                since=since), of)

    def events(self, *, run_id: int | None = None, release: str | None = None, env: str | None = None,
               kind: str | None = None, since: datetime | None = None) -> list[Event]:
        query = sa.select(t.events).order_by(t.events.c.id)
        if run_id is not None:
            query = query.where(t.events.c.run_id == run_id)
        if release is not None:
            query = query.where(t.events.c.release == release)
        if env is not None:
            query = query.where(t.events.c.env == env)
        if kind is not None:
            query = query.where(t.events.c.kind == kind)
        if since is not None:
            query = query.where(t.events.c.at >= since)
        return self._read(lambda conn: [_event(r) for r in conn.execute(query)])

    # approvals ------------------------------------------------------------
    def add_approval(self, release: str, env: str, gate: str, by: str, role: str | None, note: str | None,
                     at: datetime, rehearsal: bool = False) -> int:
        statement = t.approvals.insert().values(release=release, env=env, gate=gate, by=by, role=role, note=note,
                                                at=at, rehearsal=rehearsal)
        return self._transact(lambda conn: int(conn.execute(statement).inserted_primary_key[0]))  # type: ignore[index]

    def approvals(self, release: str, env: str, gate: str | None = None) -> list[Approval]:
        query = sa.select(t.approvals).where(t.approvals.c.release == release, t.approvals.c.env == env)
        if gate is not None:
            query = query.where(t.approvals.c.gate == gate)
        return self._read(lambda conn: [
            Approval(r.id, r.release, r.env, r.gate, r.by, r.role, r.note, r.at, bool(r.rehearsal))
            for r in conn.execute(query.order_by(t.approvals.c.id))])

    # incidents ------------------------------------------------------------
    def open_incident(self, release: str, env: str | None, severity: str, title: str, at: datetime,
                      scope: str | None = None, opened_by: str | None = None, source: str | None = None) -> int:
        statement = t.incidents.insert().values(release=release, env=env, severity=severity, title=title,
                                                scope=scope, status="open", opened_at=at, opened_by=opened_by,
                                                source=source)
        return self._transact(lambda conn: int(conn.execute(statement).inserted_primary_key[0]))  # type: ignore[index]

    def resolve_incident(self, incident_id: int, at: datetime) -> bool:
        statement = t.incidents.update().where(t.incidents.c.id == incident_id, t.incidents.c.status == "open"
                                               ).values(status="resolved", resolved_at=at)
        return self._transact(lambda conn: bool(conn.execute(statement).rowcount))

    def incidents(self, release: str, *, open_only: bool = False) -> list[Incident]:
        query = sa.select(t.incidents).where(t.incidents.c.release == release).order_by(t.incidents.c.id)
        if open_only:
            query = query.where(t.incidents.c.status == "open")
        return self._read(lambda conn: [
            Incident(r.id, r.release, r.env, r.severity, r.title, r.scope, r.status, r.opened_at, r.resolved_at,
                     r.opened_by, r.source) for r in conn.execute(query)])

    # leases ---------------------------------------------------------------
    def acquire_lease(self, name: str, holder: str, ttl: timedelta, now: datetime) -> Lease:
        """Take or renew the lease; raises LeaseHeld naming the holder if another process has it."""
        expires = now + ttl

        def work(conn: Connection) -> Lease:
            query = sa.select(t.leases).where(t.leases.c.name == name)
            if self.is_postgres:
                query = query.with_for_update(skip_locked=True)
            row = conn.execute(query).first()
            if row is None:
                exists = conn.execute(sa.select(t.leases.c.holder, t.leases.c.expires_at)
                                      .where(t.leases.c.name == name)).first() if self.is_postgres else None
                if exists is not None:  # another worker holds the row lock this very moment
                    raise LeaseHeld(name, exists.holder, exists.expires_at)
                inserted = self._insert_lease(conn, name, holder, now, expires)
                if not inserted:
                    current = conn.execute(sa.select(t.leases).where(t.leases.c.name == name)).first()
                    if current is not None:
                        raise LeaseHeld(name, current.holder, current.expires_at)
                return Lease(name, holder, expires)
            if row.holder != holder and row.expires_at > now:
                raise LeaseHeld(name, row.holder, row.expires_at)
            updated = conn.execute(t.leases.update().where(
                t.leases.c.name == name,
                sa.or_(t.leases.c.holder == holder, t.leases.c.expires_at <= now),
            ).values(holder=holder, acquired_at=now, expires_at=expires))
            if updated.rowcount != 1:
                raise LeaseHeld(name, row.holder, row.expires_at)
            return Lease(name, holder, expires)

        return self._transact(work)

    def _insert_lease(self, conn: Connection, name: str, holder: str, now: datetime, expires: datetime) -> bool:
        values = {"name": name, "holder": holder, "acquired_at": now, "expires_at": expires}
        if self.is_postgres:
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            statement: Any = pg_insert(t.leases).values(**values).on_conflict_do_nothing()
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            statement = sqlite_insert(t.leases).values(**values).on_conflict_do_nothing()
        # RETURNING says whether this insert won; psycopg reports rowcount -1 for it, which reads as true.
        return conn.execute(statement.returning(t.leases.c.name)).first() is not None

    def release_lease(self, name: str, holder: str) -> None:
        statement = t.leases.delete().where(t.leases.c.name == name, t.leases.c.holder == holder)
        self._transact(lambda conn: conn.execute(statement))

    def lease(self, name: str) -> Lease | None:
        row = self._read(lambda conn: conn.execute(sa.select(t.leases).where(t.leases.c.name == name)).first())
        return Lease(row.name, row.holder, row.expires_at) if row else None


def run_values(now: datetime, *, status: str | None = None, reason: str | None = None, ended: bool = False,
               meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """A run's new column values, as ``set_run`` and ``write`` store them."""
    values: dict[str, Any] = {"updated_at": now}
    if status is not None:
        values["status"] = status
    if reason is not None:
        values["reason"] = reason
    if ended:
        values["ended_at"] = now
    if meta is not None:
        values["meta"] = meta
    return values


@dataclass
class _Commit:
    """Whether a transaction's COMMIT has been sent: after that its outcome is unknown, so it is not retried."""

    committing: bool = False


def _dropped(exc: sa.exc.DBAPIError) -> bool:
    """The connection was lost (the server restarted, a proxy cut it): a fresh one may well succeed."""
    return bool(exc.connection_invalidated)


def _known_broken(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    """At checkout, without a round trip: a connection the driver already knows is closed is replaced."""
    if getattr(dbapi_conn, "closed", False) or getattr(dbapi_conn, "broken", False):
        raise sa.exc.DisconnectionError("the pooled connection is closed")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def finite(value: Any) -> Any:
    """The value with every non-finite float as a string ("inf", "nan"): JSON has no Infinity, JSONB refuses it."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def _json_text(value: Any) -> str:
    return json.dumps(finite(value))


def _safe_url(url: str) -> str:
    """The URL without its password."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url.rsplit("@", maxsplit=1)[-1]


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
