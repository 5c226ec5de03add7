"""Issue 27: ``golive verify`` runs each deployed project's own ``verify:`` and fails naming what is not deployed.

With only ``dynamodb_schemas`` deployed (by hand, past the gate), verify used to end ``succeeded`` on the
environment's validation alone, while ``s3_schemas``' own checks (the templates bucket and its objects) were
never run. A real sandbox, real ``golive`` processes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from cli_user import UserSandbox, sandbox_down, sandbox_up

pytestmark = pytest.mark.xdist_group("verify_projects")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UserSandbox]:
    folder = tmp_path_factory.mktemp("user")
    box: UserSandbox | None = None
    try:
        box = sandbox_up(folder, "--github-run-seconds", "1")
        yield box
    finally:
        if box is not None:
            sandbox_down(box)
        else:
            UserSandbox(folder / "golive.yaml").golive("sandbox", "down")


def test_a_partial_deploy_fails_verify_naming_the_projects_not_deployed(sandbox: UserSandbox) -> None:
    for ran in (sandbox.golive("tag", "--yes", "--env", "prod"),
                sandbox.golive("deploy", "--yes", "--env", "prod", "--project", "dynamodb_schemas",
                               "--skip-gate", "--why", "only the tables tonight")):
        assert ran.code == 0, ran.explain()

    ran = sandbox.golive("verify", "--env", "prod")
    assert ran.code == 1, ran.explain()
    last = ran.out.strip().splitlines()[-1]
    assert last.startswith("verify prod: failed") and "s3_schemas" in last, ran.out
    assert "dynamodb_schemas" not in last.split("not verified:")[1]
    assert "skipped (not deployed" in ran.out and "s3_schemas" in ran.out

    data = json.loads(sandbox.golive("verify", "--env", "prod", "--json").out)
    assert "s3_schemas" in data["not_deployed"] and "dynamodb_schemas" not in data["not_deployed"]
    # dynamodb_schemas' own verify: ran beside the validation; s3_schemas' did not (its bucket does not exist).
    targets = " ".join(str(c.get("target")) for c in data["checks"])
    checks = {c.get("check") for c in data["checks"]}
    assert "dynamodb_tables" in checks, data["checks"]
    assert "templates" not in targets
