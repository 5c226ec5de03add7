"""The world's in-process Lambda writes leave moto as the same calls over HTTP would."""

from __future__ import annotations

from typing import Any

from golive.providers.aws import Aws
from golive.sandbox.accounts import sandbox_aws
from golive.sandbox.github_seed import DeployEffects
from golive.sandbox.moto_lambda import LambdaWriter
from golive.sandbox.moto_server import SandboxServer
from golive.sandbox.provision import provision
from golive.sandbox.spec import FunctionSpec, SandboxSpec

REGION = "eu-west-1"
FUNCTIONS = (FunctionSpec("writer_api", versions=2, project="writer", tags=(("team", "web"),)),
             FunctionSpec("writer_jobs", versions=1, project="writer"))


def _seen(aws: Aws) -> list[Any]:
    lam = aws.client("lambda")
    out: list[Any] = []
    for f in FUNCTIONS:
        config = lam.get_function(FunctionName=f.name)
        versions = lam.list_versions_by_function(FunctionName=f.name)["Versions"]
        alias = lam.get_alias(FunctionName=f.name, Name=f.alias)
        out.append((config["Configuration"]["State"], config["Configuration"]["Handler"], config.get("Tags"),
                    # CodeSha256 is left out: the package's zip entry is stamped with the wall clock's time.
                    [(v["Version"], v["CodeSize"], v.get("Description")) for v in versions],
                    alias["FunctionVersion"], alias.get("RoutingConfig")))
    return out


def test_provisioned_and_published_in_process_as_over_http(server: SandboxServer) -> None:
    seen = []
    for account, in_process in (("210000000091", False), ("210000000092", True)):
        aws = sandbox_aws(server.endpoint, account, REGION)
        writer = LambdaWriter(account, REGION)
        spec = SandboxSpec("prod", account, REGION, functions=FUNCTIONS)
        provision(aws, spec, lambdas=writer if in_process else None)
        provision(aws, spec, lambdas=writer if in_process else None)  # idempotent either way
        before = _seen(aws)
        for f in FUNCTIONS:
            if in_process:
                writer.publish_next(f.name)
            else:
                DeployEffects._publish(aws, f.name)
        seen.append((before, _seen(aws)))
    assert seen[0] == seen[1]
    (before, after) = seen[1]
    assert [len(fn[3]) for fn in before] == [3, 2]  # $LATEST and the versions asked for
    assert after[0][3][-1][0] == "3" and after[0][3][-1][2] == "release v3"
