"""Every command a plan holds, and the two rules they all keep: placeholders resolve, and no undo loses data.

A command reaches the operating system as its argv, after ``{name}`` placeholders are filled
(``expansion.py``); a placeholder nothing fills would reach it as written (``-target={resource}``), so each
one must name a variable of every environment the command runs in (``plan/variables.py``; ``{project}``
too in ``rollback.full``, which is run per project). Only identifier-shaped braces count (``{env}``, not
``{"a": 1}``), and ``${NAME}`` and ``{{name}}`` are left to the shell or template that reads them.

A rollback or an undo runs when something already went wrong, often in a hurry: one that deletes resources
(``terraform destroy``, ``terraform apply -destroy``, a ``-target`` deletion, ``-replace``) deletes the tables
and buckets and the data in them. ``golive check`` refuses such a command unless its entry says
``allow_data_loss: {why: "..."}``. Deploy commands are not held to this: a deploy is reviewed as a change.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from golive.plan.model import CheckEntry, Plan
from golive.plan.variables import variables

PathKey = tuple[str | int, ...]
# What counts as a placeholder: {identifier}, not the shell's ${NAME} nor a template's doubled {{name}}.
_PLACEHOLDER = re.compile(r"(?<![${])\{([A-Za-z_][A-Za-z0-9_]*)\}(?!\})")
TERRAFORMS = frozenset({"terraform", "tofu", "terragrunt"})
_SEPARATORS = frozenset({"&&", "||", ";", "|", "&"})
# terragrunt's wrappers of a terraform command: the subcommand is the word after them.
_WRAPPERS = frozenset({"run-all", "run"})


@dataclass(frozen=True)
class Command:
    """One argv of the plan: where it is, the variables it is filled with beyond the environment's, and whether
    it undoes something (a rollback or an undo, held to the data-loss rule)."""

    path: PathKey  # the argv list's key path in the plan file
    argv: tuple[str, ...]
    envs: tuple[str, ...]
    extra: tuple[str, ...] = ()
    undoes: bool = False
    data_loss_why: str | None = None


def _check_commands(entries: list[CheckEntry], base: PathKey, envs: tuple[str, ...]) -> Iterator[Command]:
    for i, entry in enumerate(entries):
        if entry.kind != "command":
            continue
        params: Any = entry.params
        if isinstance(params, list):
            yield Command((*base, i, "command"), tuple(str(a) for a in params), envs)
        elif isinstance(params, dict) and isinstance(params.get("argv"), list):
            yield Command((*base, i, "command", "argv"), tuple(str(a) for a in params["argv"]), envs)


def commands(plan: Plan) -> Iterator[Command]:
    """Every command the plan holds, with where it is."""
    every = tuple(plan.environments)
    for name, project in plan.projects.items():
        where: PathKey = ("projects", name)
        if project.deploy.command:
            yield Command((*where, "deploy", "command"), tuple(project.deploy.command), every)
        for i, argv in enumerate(project.smoke):
            yield Command((*where, "smoke", i), tuple(argv), every)
        if project.undo is not None and project.undo.command:
            why = project.undo.allow_data_loss.why if project.undo.allow_data_loss else None
            yield Command((*where, "undo", "command"), tuple(project.undo.command), every, undoes=True,
                          data_loss_why=why)
        yield from _check_commands(project.verify, (*where, "verify"), every)
    full = plan.rollback.full
    if full is not None:
        yield Command(("rollback", "full", "command"), tuple(full.command), every, extra=("project",), undoes=True,
                      data_loss_why=full.allow_data_loss.why if full.allow_data_loss else None)
    yield from _check_commands(plan.preflight, ("preflight",), every)
    yield from _check_commands(plan.validation, ("validation",), every)
    for env, soak in plan.soak.items():
        if env in plan.environments:
            yield from _check_commands(soak.checks, ("soak", env, "checks"), (env,))


def _words(argv: tuple[str, ...]) -> list[str]:
    """The argv's words, a shell string among them (``bash -c "terraform destroy"``) split as a shell would."""
    out: list[str] = []
    for arg in argv:
        if any(c.isspace() for c in arg) or any(s in arg for s in (";", "&&", "||")):
            try:
                out += shlex.split(arg, posix=True)
            except ValueError:
                out += arg.split()
        else:
            out.append(arg)
    return out


def destroys(argv: tuple[str, ...] | list[str]) -> str | None:
    """What in ``argv`` deletes resources (``terraform destroy -target=x``), or None when nothing does."""
    words = _words(tuple(argv))
    for i, word in enumerate(words):
        if os.path.basename(word) not in TERRAFORMS:
            continue
        rest: list[str] = []
        for later in words[i + 1:]:
            if later in _SEPARATORS:
                break
            rest.append(later)
        subs = [w for w in rest if not w.startswith("-")]
        sub = subs[0] if subs else ""
        if sub in _WRAPPERS and len(subs) > 1:
            sub = subs[1]
        flags = [w for w in rest if w.startswith("-")]
        targets = [w for w in flags if w.lstrip("-").startswith("target")]
        shown = " ".join([os.path.basename(word), *rest])
        if sub == "destroy":
            return f"{shown} (a {'-target ' if targets else ''}deletion)"
        if sub == "apply" and any(f in ("-destroy", "--destroy") for f in flags):
            return f"{shown} (apply -destroy deletes what the configuration manages)"
        if sub == "apply" and any(f.lstrip("-").startswith("replace") for f in flags):
            return f"{shown} (-replace deletes the resource before creating it anew)"
    return None


def problems(plan: Plan) -> Iterator[tuple[PathKey, str]]:
    """Each command's unknown placeholders, and each undo that deletes data without saying why."""
    known = {env: variables(plan, env) for env in plan.environments}
    for command in commands(plan):
        for i, arg in enumerate(command.argv):
            for name in dict.fromkeys(_PLACEHOLDER.findall(arg)):
                if name in command.extra:
                    continue
                missing = [env for env in command.envs if name not in known[env]]
                if not missing:
                    continue
                env = missing[0]
                names = ", ".join(sorted({*known[env], *command.extra}))
                where = f" in {', '.join(missing)}" if len(missing) < len(command.envs) else ""
                yield (*command.path, i), f"unknown placeholder {{{name}}}{where} (the variables: {names})"
        if command.undoes and command.data_loss_why is None:
            found = destroys(command.argv)
            if found is not None:
                yield command.path, (f"{found}: an undo that deletes resources deletes their data; redeploy the "
                                     "previous release instead, or say allow_data_loss: {why: \"...\"}")
