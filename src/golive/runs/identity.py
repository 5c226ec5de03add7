"""Who is at the command line, verified: the plan's ``identity`` says how, and ``--by`` must match it.

``github``: the login of the GitHub token in use (``GET /user``). ``aws``: the caller ARN of the environment's
credentials (``sts GetCallerIdentity``); ``--by`` may give the ARN or its last part (a role session name, a
user name). ``none``: ``--by`` is recorded as given. A ``--by`` naming someone else is refused: an approval,
an override or a hand on a canary is recorded under the identity that made it.
"""

from __future__ import annotations

from golive.engine.context import Services
from golive.errors import UsageError


def verified(services: Services, env: str) -> str | None:
    """The verified identity of whoever runs this command, or None when the plan verifies none."""
    how = services.plan.identity
    if how == "github":
        return services.require_github().authenticated_login()
    if how == "aws":
        return services.aws(env).caller_arn()
    return None


def _matches(by: str, found: str) -> bool:
    return by == found or (found.startswith("arn:") and by == found.rsplit("/", 1)[-1])


def acting(services: Services, env: str, by: str | None, *, required: bool = True) -> str | None:
    """Who acts: the verified identity (``--by`` must name it), or ``--by`` as given when the plan verifies none."""
    found = verified(services, env)
    if found is None:
        if by is None and required:
            raise UsageError("--by WHO is needed (the plan's identity is none: --by is recorded as given)")
        return by
    if by is not None and not _matches(by, found):
        source = "GitHub token in use" if services.plan.identity == "github" else "AWS credentials in use"
        raise UsageError(f"refused: --by {by}, but the {source} belong to {found} (identity: {services.plan.identity})")
    return found
