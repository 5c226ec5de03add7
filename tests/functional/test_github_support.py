"""Shared parts of the GitHub tests: the local GitHub, a client on it, and a transport that checks
every answer against the pinned OpenAPI excerpt (so the local GitHub cannot drift from GitHub's shapes).

The other ``test_github_*`` modules import their fixtures from here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

import httpx
import jsonschema
import pytest

from golive.clock import VirtualClock
from golive.providers.github import GitHub
from golive.redact import Redactor
from golive.sandbox.github_server import GitHubServer

__all__ = ["DEPLOY", "TOKEN", "Sleeps", "ValidatingTransport", "clock", "github", "redactor", "server", "sleeps",
           "transport"]

TOKEN = "ghp_" + "T0kenForTheLocalGitHub0123456789"
START = datetime(2026, 1, 8, 8, 0, tzinfo=UTC)
SPEC: dict[str, Any] = json.loads(resources.files("golive.sandbox").joinpath("github_openapi.json").read_text())


def _route(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    regex = "".join(
        (".+" if p in ("{path}", "{ref}") else "[^/]+") if p.startswith("{") else re.escape(p) for p in parts
    )
    return re.compile(f"^{regex}$")


ROUTES = sorted(((_route(t), t) for t in SPEC["paths"]), key=lambda rt: -len(rt[1].replace("{", "").split("}")[0]))


def schema_for(method: str, path: str, status: int) -> dict[str, Any] | None:
    """The documented schema of this answer; None for a documented answer without a body."""
    candidates = [t for rx, t in ROUTES if rx.match(path) and method.lower() in SPEC["paths"][t]]
    if not candidates:
        raise AssertionError(f"{method} {path} is not in the pinned OpenAPI excerpt")
    template = max(candidates, key=lambda t: len(re.sub(r"\{[^}]+\}", "", t)))
    responses = SPEC["paths"][template][method.lower()]["responses"]
    if str(status) not in responses:
        if status in (401, 403, 429) or status >= 500:
            return {"$ref": "#/components/schemas/basic-error"}
        raise AssertionError(f"{method} {template} answered {status}, which the excerpt does not document")
    content = responses[str(status)].get("content")
    return content["application/json"]["schema"] if content else None


def validate(method: str, path: str, status: int, body: bytes) -> None:
    schema = schema_for(method, path, status)
    if schema is None:
        assert body == b"", f"{method} {path} {status} must have no body"
        return
    document = {**schema, "components": SPEC["components"]}
    jsonschema.Draft202012Validator(document, format_checker=jsonschema.FormatChecker()).validate(json.loads(body))


class ValidatingTransport(httpx.BaseTransport):
    """Real HTTP, and every answer checked against the documented shape."""

    def __init__(self) -> None:
        self._inner = httpx.HTTPTransport()
        self.checked = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        body = response.read()
        validate(request.method, request.url.path, response.status_code, body)
        self.checked += 1
        return httpx.Response(response.status_code, headers=response.headers, content=body, request=request)

    def close(self) -> None:
        self._inner.close()


class Sleeps:
    """The client's injected sleep: records each wait and moves the virtual clock instead of waiting."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(timedelta(seconds=seconds))


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


@pytest.fixture
def server(clock: VirtualClock) -> Iterator[GitHubServer]:
    with GitHubServer(clock, token=TOKEN) as srv:
        yield srv


@pytest.fixture
def sleeps(clock: VirtualClock) -> Sleeps:
    return Sleeps(clock)


@pytest.fixture
def transport() -> ValidatingTransport:
    return ValidatingTransport()


@pytest.fixture
def redactor() -> Redactor:
    return Redactor()


@pytest.fixture
def github(server: GitHubServer, clock: VirtualClock, sleeps: Sleeps, transport: ValidatingTransport,
           redactor: Redactor) -> Iterator[GitHub]:
    client = GitHub(server.url, TOKEN, transport=transport, clock=clock, sleep=sleeps, redactor=redactor,
                    timeout=2.0, find_interval=5.0)
    yield client
    client.close()


DEPLOY = """\
name: Deploy to PROD
run-name: Deploy to PROD ${{ inputs.golive_id }}
on:
  workflow_dispatch:
    inputs:
      golive_id:
        description: correlation id
        required: false
jobs:
  deploy:
    name: Deploy
    runs-on: ubuntu-latest
    environment: prod
    steps:
      - uses: actions/checkout@v4
      - name: Configure AWS credentials
        uses: aws-actions/configure-aws-credentials@v4
        with:
          role-to-assume: ${{ secrets.AWS_ROLE_PROD }}
      - name: Terraform apply
        run: terraform apply -auto-approve
"""


# -- the support itself ------------------------------------------------------------------------------------


def test_the_validator_rejects_an_answer_missing_a_documented_field() -> None:
    run_without_status = {"id": 1, "node_id": "x"}
    with pytest.raises(jsonschema.ValidationError):
        validate("GET", "/repos/o/r/actions/runs/1", 200, json.dumps(run_without_status).encode())


def test_the_validator_matches_the_most_specific_route() -> None:
    assert schema_for("GET", "/repos/o/r/actions/secrets/public-key", 200) == {
        "$ref": "#/components/schemas/actions-public-key"
    }
    assert schema_for("GET", "/repos/o/r/contents/.github/workflows/x.yml", 200) == {
        "$ref": "#/components/schemas/content-file"
    }


def test_every_answer_of_a_session_is_documented(github: GitHub, server: GitHubServer,
                                                 transport: ValidatingTransport) -> None:
    server.add_repo("acme/app", {".github/workflows/deploy-prod.yml": DEPLOY}, {"AWS_ROLE_PROD"}, {"prod": {"X"}})
    github.get_repo("acme/app")
    github.get_workflow("acme/app", "deploy-prod.yml")
    github.get_file("acme/app", ".github/workflows/deploy-prod.yml")
    github.list_repo_secrets("acme/app")
    github.list_environment_secrets("acme/app", "prod")
    github.put_secret("acme/app", "NEW", "value-1234")
    sha = github.resolve_commit("acme/app", "main")
    github.create_annotated_tag("acme/app", "v1", sha, "release")
    d = github.dispatch_workflow("acme/app", "deploy-prod.yml", "v1", {"golive_id": "g-1"}, correlation="g-1")
    github.get_run("acme/app", d.run_id)
    github.list_run_jobs("acme/app", d.run_id)
    github.list_workflow_runs("acme/app", "deploy-prod.yml")
    github.cancel_run("acme/app", d.run_id)
    server.add_tag("acme/app", "v0.9")
    assert sorted(github.list_tags("acme/app")) == [("v0.9", sha), ("v1", sha)]
    assert transport.checked >= 16
