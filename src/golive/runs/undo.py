"""``golive rollback PROJECT``: the project's undo (``plan/undo.py``), acted on once and recorded with who asked.

A project with a canary goes back through the one restore (``steps/rollback.rollback``). Any other project is
undone in a run of its own, of kind ``undo.PROJECT``: the undo step (``steps/undo.py``: the workflow
re-dispatched at the previous release tag, or the plan's undo command), then the project's own ``verify:``.
Being a run, it resumes where it stands after a crash or a Ctrl-C (the dispatch's intent and run id are in
the step), and it is undone once: asked again after it ended, and with no deploy of the project since, golive
says it already did and does nothing, unless asked ``--again`` with a reason (recorded). Who asked is an
``OperatorCommand`` (outcome ``rollback``) in the run it started, so every report shows it.

A project with ``terraform:`` applies a plan when it redeploys: the run makes the plan at that tag first and
the undo step refuses a data-losing one its approver has not approved (``steps/undo.py``).

The previous release tag is looked up when the rollback is asked (before the question, so the person sees
which tag), in the repository's tags (``GET /repos/{owner}/{repo}/tags``): the newest older than the
release's (``plan/undo.previous_tag``), or the plan's ``undo: {tag: ...}``. It is frozen in the run's step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from golive.engine.context import Services
from golive.errors import UsageError
from golive.evidence.canary import OperatorCommand
from golive.evidence.gates import Override
from golive.evidence.rollback import Undone
from golive.evidence.runs import DeployFinished
from golive.plan.undo import CommandUndo, NoUndo, ProjectUndo, RedeployUndo, RouterUndo, undo_of
from golive.runs.audit import record_overrides
from golive.runs.session import Driven, drive
from golive.steps import planner
from golive.steps.undo import run_kind, tag_of
from golive.store.statuses import RunStatus
from golive.store.store import Run, Store


@dataclass(frozen=True)
class Asked:
    """What ``golive rollback PROJECT`` will do, known before anyone is asked to confirm it."""

    project: str
    undo: ProjectUndo
    tag: str | None = None  # a redeploy: the tag it dispatches
    resumes: Run | None = None  # the project's unfinished undo run: resumed, with its frozen tag
    already: Run | None = None  # an undo run that ended after the project's last deploy: nothing to do
    approver: str | None = None  # a project with terraform: who approves a data-losing plan at ``tag``

    def changes(self) -> list[str]:
        """The lines the confirmation shows."""
        if self.resumes is not None:
            return [f"{self.project}: resume undo run {self.resumes.id} ({self.resumes.status}), dispatching nothing "
                    "it already dispatched"]
        if isinstance(self.undo, RedeployUndo):
            then = ", then its verify" if self.undo.verify else ""
            planned = f"its Terraform plan at {self.tag} (not applied if it deletes or replaces data without " \
                      f"{self.approver}'s approval of its hash), then " if self.approver else ""
            return [f"{self.project}: {planned}re-dispatch {self.undo.workflow} in {self.undo.repo} at {self.tag} "
                    f"(the release before {self.undo.release_tag}){then}"]
        return [f"{self.project}: {self.undo.line()}"]


def _last_deploy_at(store: Store, release: str, env: str, project: str) -> datetime | None:
    """When the project's latest successful deploy of this release ended, or None if none is recorded."""
    deploys = [e.at for e in store.records(DeployFinished, release=release, env=env)
               if e.record.outcome == "pass" and (e.record.project or e.record.subject) == project]
    return max(deploys, default=None)


def _undone_by_its_dependency(store: Store, release: str, env: str, project: str,
                              deployed: datetime | None) -> Run | None:
    """The release run that undid ``project`` itself (a project it depends on failed, ``rollback_dependents``)
    after its latest deploy: a ``golive rollback`` now would redeploy the same earlier tag a second time."""
    for found in reversed(store.records(Undone, release=release, env=env)):
        if found.record.project == project and found.record.outcome == "undone" and found.run_id is not None \
                and found.record.asked_by == "dependency":
            return store.get_run(found.run_id) if deployed is None or deployed <= found.at else None
    return None


def ask(services: Services, env: str, project: str, *, again: bool = False) -> Asked:
    """What rolling ``project`` back in ``env`` means now: its undo, the tag, a run to resume or one that already did."""
    plan, store = services.plan, services.store
    undo = undo_of(plan, env, project)
    if isinstance(undo, NoUndo):
        raise UsageError(f"{project} has no undo: {undo.why}")
    if isinstance(undo, RouterUndo):
        return Asked(project, undo)
    kind = run_kind(project)
    active = store.active_run(plan.release, env, kind)
    if active is not None:
        step = next(s for s in store.steps(active.id) if s.kind == "undo")
        return Asked(project, undo, tag=step.params.get("tag"), resumes=active)
    ended = store.latest_run(plan.release, env, kind)
    deployed = None if again else _last_deploy_at(store, plan.release, env, project)
    if ended is not None and not again and (ended.ended_at is None or deployed is None or deployed <= ended.ended_at):
        if ended.status != RunStatus.SUCCEEDED:
            raise UsageError(f"the undo of {project} in {env} ended {ended.status} (run {ended.id}: "
                             f"{ended.reason or 'no reason'}); golive rollback {project} --again --why \"...\" "
                             "undoes it anew")
        return Asked(project, undo, already=ended)
    by_dependency = None if again else _undone_by_its_dependency(store, plan.release, env, project, deployed)
    if by_dependency is not None:
        return Asked(project, undo, already=by_dependency)
    tf = plan.projects[project].terraform
    return Asked(project, undo, tag=tag_of(services, undo) if isinstance(undo, RedeployUndo) else None,
                 approver=tf.approver if tf is not None and isinstance(undo, RedeployUndo) else None)


def act(services: Services, env: str, asked: Asked, *, by: str | None, why: str, again: bool = False) -> Driven:
    """Start (or resume) the project's undo run and drive it to its end; who asked is recorded in the run."""
    plan = services.plan
    assert isinstance(asked.undo, RedeployUndo | CommandUndo) and asked.already is None
    how = asked.undo
    now = services.clock.now()

    def recorded(run: Run) -> None:
        if asked.resumes is not None:
            return
        store = services.store
        store.append_record(OperatorCommand(subject=asked.project, outcome="rollback", by=by, why=why),
                            release=plan.release, env=env, at=now, run_id=run.id)
        if again:
            record_overrides(store, run, [Override(subject="undo-again", why=why, by=by, project=asked.project)], now)

    return drive(services, env, run_kind(asked.project),
                 lambda: planner.build_undo(plan, env, asked.project, how, asked.tag),
                 restart=again and asked.resumes is None, on_start=recorded)
