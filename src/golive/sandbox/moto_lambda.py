"""The world's own writes to moto's Lambda backend, in process: provisioning functions, a deploy's new version.

A rehearsal of 200 functions in three places provisions 600 functions (a
create, a code update and a publish per version, an alias) and publishes a
version of each at every deploy: over HTTP that is some thirty requests a
function, each paid twice (boto3 and moto's server), before golive has made
a call of its own. Those writes are the world's (the account as it stood
before the release, what a deploy workflow does), not golive's, so the world
makes them directly on moto's backend in its own process, with the same
arguments moto's HTTP handlers would pass: the functions, versions and
aliases are the same. golive's own calls still go through boto3 over HTTP.
"""

from __future__ import annotations

import base64
from typing import Any

from golive.sandbox.spec import FunctionSpec


class LambdaWriter:
    """moto's Lambda backend of one account and region."""

    def __init__(self, account_id: str, region: str) -> None:
        self.account_id = account_id
        self.region = region

    def _backend(self) -> Any:
        from moto.awslambda.models import lambda_backends

        return lambda_backends[self.account_id][self.region]

    def ensure_function(self, function: FunctionSpec, role_arn: str) -> None:
        """What ``provision`` does for a function over the API: create it, publish its versions, add its alias."""
        from moto.awslambda.exceptions import UnknownAliasException, UnknownFunctionException

        from golive.sandbox.provision import function_zip

        backend = self._backend()
        try:
            backend.get_function(function.name, None)
        except UnknownFunctionException:
            backend.create_function({
                "FunctionName": function.name, "Runtime": function.runtime, "Role": role_arn,
                "Handler": "index.handler", "Code": {"ZipFile": _b64(function_zip(function.name, 0))},
                "Tags": dict(function.tags) | ({"project": function.project} if function.project else {}),
            })
        published = self._published(function.name)
        for number in range(len(published) + 1, function.versions + 1):
            self._new_code(function.name, number)
            published.append(int(backend.publish_version(function.name, None).version))
        try:
            backend.get_alias(function.alias, function.name)
        except UnknownAliasException:
            target = str(max(published)) if published else "$LATEST"
            backend.create_alias(name=function.alias, function_name=function.name, function_version=target,
                                 description="", routing_config=None)

    def publish_next(self, name: str) -> None:
        """A deploy's new build: the next version number's code, published as ``release vN``."""
        number = 1 + max(self._published(name), default=0)
        self._new_code(name, number)
        self._backend().publish_version(name, f"release v{number}")

    def point_alias_at_newest(self, name: str, alias: str) -> None:
        """What SAM's ``AutoPublishAlias`` does after a publish: the alias on the newest version, routing cleared."""
        self._backend().update_alias(alias, name, str(max(self._published(name))), "", None)

    def _published(self, name: str) -> list[int]:
        return sorted(int(v.version) for v in self._backend().list_versions_by_function(name) if v.version != "$LATEST")

    def _new_code(self, name: str, number: int) -> None:
        from golive.sandbox.provision import function_zip

        self._backend().update_function_code(name, None, body={"ZipFile": _b64(function_zip(name, number))})


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
