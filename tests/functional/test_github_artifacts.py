"""A workflow run's artifacts through GitHub's REST artifacts API, as the local GitHub serves them.

Every API answer is checked against the pinned OpenAPI excerpt (``ValidatingTransport``): the run's artifact
list, and the download's 302 with a short-lived ``Location``, whose zip archive is fetched without the token.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from test_github_support import *  # noqa: F403  (the shared fixtures)
from test_github_support import SPEC, TOKEN, ValidatingTransport, schema_for

from golive.clock import VirtualClock
from golive.errors import GitHubRequestError
from golive.providers.github import GitHub
from golive.sandbox.github_server import GitHubServer

PLAN_WORKFLOW = """\
name: Terraform Plan
run-name: plan ${{ inputs.golive_id }}
on:
  workflow_dispatch:
    inputs:
      golive_id:
        required: false
jobs:
  plan:
    runs-on: ubuntu-latest
    steps:
      - run: terraform plan -out=tfplan && terraform show -json tfplan > tfplan.json
      - uses: actions/upload-artifact@v4
        with: {name: tfplan-json, path: tfplan.json}
"""
PLAN_JSON = b'{"format_version":"1.2","resource_changes":[]}'


def _completed_run(github: GitHub, server: GitHubServer, clock: VirtualClock) -> int:
    server.add_repo("acme/schemas", {".github/workflows/plan.yml": PLAN_WORKFLOW})
    made: list[tuple[str, str, dict[str, str]]] = []

    def maker(repo: str, ref: str, inputs: dict[str, str]) -> dict[str, dict[str, bytes]]:
        made.append((repo, ref, inputs))
        return {"tfplan-json": {"tfplan": b"binary", "tfplan.json": PLAN_JSON}}

    server.set_artifacts("acme/schemas", "plan.yml", maker)
    run_id = github.dispatch_workflow("acme/schemas", "plan.yml", "main", {"golive_id": "g-1"}, correlation="g-1").run_id
    assert github.list_run_artifacts("acme/schemas", run_id) == []  # nothing is uploaded while the run is going
    clock.advance(timedelta(minutes=5))
    assert github.get_run("acme/schemas", run_id).conclusion == "success"
    assert made == [("acme/schemas", "main", {"golive_id": "g-1"})]
    return run_id


def test_a_runs_artifact_is_listed_and_downloaded_as_the_documented_zip(
        github: GitHub, server: GitHubServer, clock: VirtualClock, transport: ValidatingTransport) -> None:
    run_id = _completed_run(github, server, clock)
    (artifact,) = github.list_run_artifacts("acme/schemas", run_id, "tfplan-json")
    assert artifact.name == "tfplan-json" and not artifact.expired
    assert artifact.archive_download_url.endswith(f"/actions/artifacts/{artifact.id}/zip")
    assert github.list_run_artifacts("acme/schemas", run_id, "other") == []
    archive = github.download_artifact("acme/schemas", artifact.id)
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        assert sorted(opened.namelist()) == ["tfplan", "tfplan.json"]
        assert opened.read("tfplan.json") == PLAN_JSON
    assert artifact.size_in_bytes == len(archive)
    paths = [(m, p, s) for m, p, s in server.requests if "artifacts" in p or p.startswith("/_blobs/")]
    assert [(m, s) for m, _, s in paths][-2:] == [("GET", 302), ("GET", 200)]  # the redirect, then storage
    assert transport.checked >= 5


def test_the_excerpt_documents_both_artifact_paths_as_githubs_description_does() -> None:
    listing = schema_for("GET", "/repos/o/r/actions/runs/1/artifacts", 200)
    assert listing is not None and listing["properties"]["artifacts"]["items"] == {"$ref": "#/components/schemas/artifact"}
    assert schema_for("GET", "/repos/o/r/actions/artifacts/5/zip", 302) is None  # no body: a Location header
    download = SPEC["paths"]["/repos/{owner}/{repo}/actions/artifacts/{artifact_id}/{archive_format}"]["get"]
    assert "Location" in download["responses"]["302"]["headers"]
    assert "410" in download["responses"]
    artifact = SPEC["components"]["schemas"]["artifact"]
    assert {"id", "name", "size_in_bytes", "archive_download_url", "expired"} <= set(artifact["required"])


def test_the_download_url_is_storage_valid_a_minute_and_needs_no_token(
        github: GitHub, server: GitHubServer, clock: VirtualClock) -> None:
    import httpx

    run_id = _completed_run(github, server, clock)
    (artifact,) = github.list_run_artifacts("acme/schemas", run_id)
    plain = httpx.Client(base_url=server.url)
    redirect = plain.get(f"/repos/acme/schemas/actions/artifacts/{artifact.id}/zip",
                         headers={"Authorization": f"Bearer {TOKEN}"})
    assert redirect.status_code == 302
    location = redirect.headers["location"]
    assert plain.get(location).status_code == 200  # no Authorization header: the URL is its own
    clock.advance(timedelta(minutes=2))
    assert plain.get(location).status_code == 403  # expired, as GitHub's URL does after a minute
    assert plain.get(f"/repos/acme/schemas/actions/artifacts/{artifact.id}/zip").status_code == 401
    plain.close()


def test_an_unknown_artifact_and_a_format_other_than_zip_are_githubs_errors(
        github: GitHub, server: GitHubServer, clock: VirtualClock) -> None:
    import httpx

    run_id = _completed_run(github, server, clock)
    with pytest.raises(GitHubRequestError) as caught:
        github.download_artifact("acme/schemas", 999)
    assert caught.value.status == 404
    (artifact,) = github.list_run_artifacts("acme/schemas", run_id)
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}) as plain:
        answer = plain.get(f"/repos/acme/schemas/actions/artifacts/{artifact.id}/tar")
    assert answer.status_code == 422 and "zip" in json.loads(answer.content)["message"]
