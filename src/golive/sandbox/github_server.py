"""A local GitHub: the REST endpoints golive uses, over real HTTP on 127.0.0.1.

Tests and ``golive rehearse`` point golive's GitHub client here
(``GOLIVE_GITHUB_API``), so the same client code that talks to github.com
runs against it. Responses are shaped like GitHub's documented ones (the
tests validate them against ``github_openapi.json``) and errors carry
GitHub's own messages (``Workflow does not have 'workflow_dispatch'
trigger``), because golive's behaviour depends on them.

A dispatched run moves queued → in_progress → completed on the injected
clock (the sandbox's virtual clock), its jobs and steps come from the
workflow file, and a scripted failure names the job and step that fail.
When a run completes, ``on_completed`` is called so the sandbox can apply
the deploy's effect to its AWS.

A workflow given an artifact maker (``set_artifacts``: the sandbox's Terraform plan workflows) uploads
what it makes when a run succeeds; the run's artifacts are listed and downloaded as GitHub's API serves
them: the ``/zip`` endpoint answers 302 with a URL valid for a minute, which serves the zip archive without
the token (as storage would).

Test knobs are methods, not HTTP: answer dispatches with 204 (older API),
reject ``return_run_details`` (GitHub Enterprise Server), rate-limit the
next N requests, lose the answer to the next dispatch or tag ref after
doing the work, and count dispatches.

Faults with windows (``github:dispatch=lost@deploy``) come from a
``faults`` callable asked at each request for what is active at the
clock's now: ``dispatch=lost`` creates the run and drops the connection
without an answer, ``dispatch=502`` creates it and answers 502,
``any=503`` / ``any=429`` refuse every request (429 with ``retry-after``),
``any=timeout`` holds every answer past the client's timeout (a dispatch
is done first: the worst case), ``run=failure`` makes runs dispatched
meanwhile conclude failure. ``run-name`` is rendered with GitHub's
expression rules (``golive.sandbox.expressions``), not golive's.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import itertools
import json
import socket
import threading
import time
import zipfile
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from nacl.public import PrivateKey, SealedBox
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from golive.clock import Clock
from golive.providers.github_yaml import JobSpec, WorkflowFile, WorkflowFileError, parse_workflow
from golive.sandbox.expressions import ExpressionError, render

CompletedHook = Callable[[str, str, str, dict[str, str], str], None]
# What a successful run of a workflow uploads: (repo, ref, inputs) -> {artifact name: {file name: bytes}}.
ArtifactMaker = Callable[[str, str, dict[str, str]], dict[str, dict[str, bytes]]]
BLOBS = "/_blobs/"  # where an artifact's zip is fetched from (GitHub redirects to storage; a URL valid a minute)
BLOB_TTL = timedelta(minutes=1)
DispatchMode = Literal["details", "no_content", "reject_details"]
WORKFLOWS_DIR = ".github/workflows/"
DOCS = "https://docs.github.com/rest"
# A held answer ("timeout" fault) waits this many real seconds; the sandbox's own client gives up sooner.
HOLD_S = 4.0
SANDBOX_CLIENT_TIMEOUT = 3.0
RETRY_AFTER_S = 30
ActiveFaults = Callable[[datetime], Collection[tuple[str, str]]]


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _sha(*parts: str) -> str:
    return hashlib.sha1("\0".join(parts).encode(), usedforsecurity=False).hexdigest()


class AnswerLost(ConnectionAbortedError):
    """A fault dropped the connection instead of answering: werkzeug takes it for a dropped connection."""


class _QuietHandler(WSGIRequestHandler):
    """No access log: the server's own ``requests`` list is what tests read. A fault's lost answer is one log line
    (werkzeug would print a traceback for an application that returns without starting a response)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass

    def connection_dropped(self, error: BaseException, environ: dict[str, Any] | None = None) -> None:
        if isinstance(error, AnswerLost):
            self.log("warning", "%s", error)


class _ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass
class _Secret:
    created_at: datetime
    updated_at: datetime
    sealed: bytes


@dataclass
class _Repo:
    full_name: str
    id: int
    default_branch: str
    commits: dict[str, dict[str, str]] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tag_refs: dict[str, tuple[str, str]] = field(default_factory=dict)
    tag_objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    secrets: dict[str, _Secret] = field(default_factory=dict)
    env_secrets: dict[str, dict[str, _Secret]] = field(default_factory=dict)
    key: PrivateKey = field(default_factory=PrivateKey.generate)
    workflow_ids: dict[str, int] = field(default_factory=dict)
    workflow_states: dict[str, str] = field(default_factory=dict)
    created_at: str = "2024-01-01T00:00:00Z"

    @property
    def key_id(self) -> str:
        return str(int(_sha(self.full_name, "key")[:8], 16))


@dataclass
class _Run:
    id: int
    repo: str
    workflow_path: str
    workflow_id: int
    workflow_name: str
    display_title: str
    ref: str
    head_sha: str
    inputs: dict[str, str]
    run_number: int
    created_at: datetime
    queued_s: float
    running_s: float
    jobs: tuple[JobSpec, ...]
    failure: tuple[str, str] | None
    cancelled_at: datetime | None = None
    hook_fired: bool = False
    artifacts: list[_Artifact] = field(default_factory=list)


@dataclass
class _Artifact:
    id: int
    name: str
    archive: bytes
    created_at: datetime


@dataclass
class _Failure:
    job: str | None
    step: str | None


class GitHubServer:
    """GitHub's REST API for golive, in memory, on a free loopback port."""

    def __init__(self, clock: Clock, *, port: int = 0, token: str | None = None, login: str = "release-operator",
                 on_completed: CompletedHook | None = None, queued_s: float = 10.0, running_s: float = 60.0,
                 faults: ActiveFaults | None = None, hold_s: float = HOLD_S) -> None:
        self.clock = clock
        self.faults = faults
        self.hold_s = hold_s
        self.token = token
        self.login = login  # whose token it is: GET /user answers this login
        self.on_completed = on_completed
        self.queued_s = queued_s
        self.running_s = running_s
        self.dispatch_mode: DispatchMode = "details"
        self._port = port
        self._repos: dict[str, _Repo] = {}
        self._runs: dict[int, _Run] = {}
        self._run_ids = itertools.count(7_000_000_001)
        self._ids = itertools.count(100)
        self._durations: dict[tuple[str, str], float] = {}
        self._failures: dict[tuple[str, str], _Failure] = {}
        self._dispatches: dict[tuple[str, str], int] = {}
        self._artifact_makers: dict[tuple[str, str], ArtifactMaker] = {}
        self._artifact_ids = itertools.count(3_000_000_001)
        self._blobs: dict[str, tuple[int, datetime]] = {}  # token -> (artifact id, expires at)
        self._rate_limits: list[tuple[int, str, int]] = []
        self._lose: dict[str, tuple[float | None, int]] = {}
        self.requests: list[tuple[str, str, int]] = []
        self._lock = threading.RLock()
        # Held while hooks fire: a concurrent request answers "completed" only once the deploy's effects are applied.
        self._firing = threading.Lock()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._urls = Map([
            Rule("/user", endpoint="user", methods=["GET"]),
            Rule("/repos/<owner>/<name>", endpoint="repo", methods=["GET"]),
            Rule("/repos/<owner>/<name>/commits/<path:ref>", endpoint="commit", methods=["GET"]),
            Rule("/repos/<owner>/<name>/contents/<path:path>", endpoint="contents", methods=["GET"]),
            Rule("/repos/<owner>/<name>/actions/workflows", endpoint="workflows", methods=["GET"]),
            Rule("/repos/<owner>/<name>/actions/workflows/<wf>", endpoint="workflow", methods=["GET"]),
            Rule("/repos/<owner>/<name>/actions/workflows/<wf>/dispatches", endpoint="dispatch", methods=["POST"]),
            Rule("/repos/<owner>/<name>/actions/workflows/<wf>/runs", endpoint="runs", methods=["GET"]),
            Rule("/repos/<owner>/<name>/actions/runs/<int:run_id>", endpoint="run", methods=["GET"]),
            Rule("/repos/<owner>/<name>/actions/runs/<int:run_id>/jobs", endpoint="jobs", methods=["GET"]),
            Rule("/repos/<owner>/<name>/actions/runs/<int:run_id>/cancel", endpoint="cancel", methods=["POST"]),
            Rule("/repos/<owner>/<name>/actions/runs/<int:run_id>/artifacts", endpoint="artifacts", methods=["GET"]),
            Rule("/repos/<owner>/<name>/actions/artifacts/<int:artifact_id>/<archive_format>", endpoint="download",
                 methods=["GET"]),
            Rule("/repos/<owner>/<name>/actions/secrets", endpoint="secrets", methods=["GET"]),
            Rule("/repos/<owner>/<name>/actions/secrets/public-key", endpoint="public_key", methods=["GET"]),
            Rule("/repos/<owner>/<name>/actions/secrets/<secret>", endpoint="put_secret", methods=["PUT"]),
            Rule("/repos/<owner>/<name>/environments/<env>/secrets", endpoint="secrets", methods=["GET"]),
            Rule("/repos/<owner>/<name>/environments/<env>/secrets/public-key", endpoint="public_key", methods=["GET"]),
            Rule("/repos/<owner>/<name>/environments/<env>/secrets/<secret>", endpoint="put_secret", methods=["PUT"]),
            Rule("/repos/<owner>/<name>/tags", endpoint="list_tags", methods=["GET"]),
            Rule("/repos/<owner>/<name>/git/ref/<path:ref>", endpoint="get_ref", methods=["GET"]),
            Rule("/repos/<owner>/<name>/git/tags/<sha>", endpoint="get_tag", methods=["GET"]),
            Rule("/repos/<owner>/<name>/git/tags", endpoint="create_tag", methods=["POST"]),
            Rule("/repos/<owner>/<name>/git/refs", endpoint="create_ref", methods=["POST"]),
        ], strict_slashes=False)
        on_advance = getattr(clock, "on_advance", None)
        if callable(on_advance):
            on_advance(lambda _old, _new: self.tick())

    # -- lifecycle ------------------------------------------------------------------------------------

    def start(self) -> str:
        """Serve on 127.0.0.1 in a background thread; returns the base URL."""
        self._server = make_server("127.0.0.1", self._port, self._wsgi, threaded=True,
                                   request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="golive-github",
                                        daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the local GitHub is not started")
        return f"http://127.0.0.1:{self._server.server_port}"

    def __enter__(self) -> GitHubServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- seeding --------------------------------------------------------------------------------------

    def add_repo(self, full_name: str, files: dict[str, str] | None = None, secrets: set[str] | None = None,
                 env_secrets: dict[str, set[str]] | None = None, *, default_branch: str = "main") -> str:
        """A repository with one commit holding ``files`` on ``default_branch``; returns that commit's sha.

        Seeded secrets exist (names and dates) with the placeholder value ``seeded``.
        """
        with self._lock:
            repo = _Repo(full_name, next(self._ids), default_branch)
            self._repos[full_name.lower()] = repo
            now = self.clock.now()
            for name in secrets or set():
                repo.secrets[name] = _Secret(now, now, SealedBox(repo.key.public_key).encrypt(b"seeded"))
            for env, names in (env_secrets or {}).items():
                repo.env_secrets[env] = {
                    n: _Secret(now, now, SealedBox(repo.key.public_key).encrypt(b"seeded")) for n in names
                }
        return self.commit(full_name, files or {}, branch=default_branch, replace=True)

    def commit(self, full_name: str, files: dict[str, str], *, branch: str | None = None, replace: bool = False) -> str:
        """A new commit on ``branch`` (default branch if None) changing ``files``; returns its sha."""
        with self._lock:
            repo = self._repo_or_404(full_name)
            branch = branch or repo.default_branch
            parent = repo.branches.get(branch)
            tree = {} if replace or parent is None else dict(repo.commits[parent])
            tree.update(files)
            sha = _sha(full_name, str(next(self._ids)), json.dumps(tree, sort_keys=True))
            repo.commits[sha] = tree
            repo.branches[branch] = sha
            return sha

    def add_tag(self, full_name: str, tag: str, ref: str | None = None) -> str:
        """A lightweight tag on ``ref`` (default: the default branch's head), as an earlier release left it."""
        with self._lock:
            repo = self._repo_or_404(full_name)
            sha = self._resolve(repo, ref or repo.default_branch)
            if sha is None:
                raise KeyError(ref)
            repo.tag_refs[tag] = ("commit", sha)
            return sha

    def add_environment(self, full_name: str, environment: str) -> None:
        with self._lock:
            self._repo_or_404(full_name).env_secrets.setdefault(environment, {})

    # -- knobs -------------------------------------------------------------------------------------------

    def set_duration(self, full_name: str, workflow: str, seconds: float) -> None:
        """How long runs of this workflow stay in_progress."""
        self._durations[(full_name.lower(), workflow)] = seconds

    def script_failure(self, full_name: str, workflow: str, *, job: str | None = None, step: str | None = None) -> None:
        """Runs of this workflow dispatched from now on fail in ``job`` (default: the first) at ``step``."""
        self._failures[(full_name.lower(), workflow)] = _Failure(job, step)

    def set_artifacts(self, full_name: str, workflow: str, maker: ArtifactMaker) -> None:
        """Successful runs of this workflow upload what ``maker`` returns when they complete (zip archives)."""
        self._artifact_makers[(full_name.lower(), workflow)] = maker

    def clear_failure(self, full_name: str, workflow: str) -> None:
        self._failures.pop((full_name.lower(), workflow), None)

    def disable_workflow(self, full_name: str, workflow: str) -> None:
        with self._lock:
            self._repo_or_404(full_name).workflow_states[WORKFLOWS_DIR + workflow] = "disabled_manually"

    def rate_limit_next(self, count: int = 1, *, status: int = 429, kind: str = "retry_after", seconds: int = 30) -> None:
        """The next ``count`` requests are rate limited: ``kind`` is ``retry_after`` (a ``retry-after``
        header), ``primary`` (``x-ratelimit-remaining: 0`` and a reset ``seconds`` away) or ``secondary``
        (403 with neither header: the client must wait at least a minute)."""
        with self._lock:
            self._rate_limits.extend([(status, kind, seconds)] * count)

    def lose_next_answer(self, endpoint: Literal["dispatch", "ref"], *, delay: float | None = None, status: int = 502) -> None:
        """Do the next dispatch (or tag ref creation), then lose the answer: hold it ``delay`` real seconds
        (past the client's timeout) or answer ``status`` (a gateway error) instead of the real one."""
        self._lose[endpoint] = (delay, status)

    def dispatch_count(self, full_name: str, workflow: str) -> int:
        return self._dispatches.get((full_name.lower(), workflow), 0)

    def runs(self, full_name: str) -> list[dict[str, Any]]:
        with self._lock:
            return [self._run_json(r) for r in self._runs.values() if r.repo == full_name.lower()]

    def secret_names(self, full_name: str, environment: str | None = None) -> set[str]:
        repo = self._repo_or_404(full_name)
        return set(repo.env_secrets.get(environment, {}) if environment else repo.secrets)

    def decrypt_secret(self, full_name: str, name: str, environment: str | None = None) -> str:
        """The value a client wrote (tests only: proves the sealing used the right key)."""
        repo = self._repo_or_404(full_name)
        store = repo.env_secrets[environment] if environment else repo.secrets
        return SealedBox(repo.key).decrypt(store[name].sealed).decode("utf-8")

    def tag_commit(self, full_name: str, tag: str) -> str | None:
        repo = self._repo_or_404(full_name)
        found = repo.tag_refs.get(tag)
        if found is None:
            return None
        kind, sha = found
        return str(repo.tag_objects[sha]["object"]["sha"]) if kind == "tag" else sha

    # -- run lifecycle ------------------------------------------------------------------------------

    def tick(self) -> None:
        """Fire ``on_completed`` for every run that has completed by now (once each)."""
        due: list[tuple[_Run, str]] = []
        with self._firing:
            with self._lock:
                now = self.clock.now()
                for run in self._runs.values():
                    if not run.hook_fired:
                        status, conclusion = self._status(run, now)
                        if status == "completed":
                            run.hook_fired = True
                            due.append((run, conclusion or "success"))
            for run, conclusion in due:
                maker = self._artifact_makers.get((run.repo, run.workflow_path.removeprefix(WORKFLOWS_DIR)))
                if maker is not None and conclusion == "success":
                    made = maker(run.repo, run.ref, dict(run.inputs))
                    with self._lock:
                        run.artifacts = [_Artifact(next(self._artifact_ids), name, _zip(files), self.clock.now())
                                         for name, files in made.items()]
            if self.on_completed is not None:
                for run, conclusion in due:
                    self.on_completed(run.repo, run.workflow_path.removeprefix(WORKFLOWS_DIR), run.ref,
                                      dict(run.inputs), conclusion)

    def _status(self, run: _Run, now: datetime) -> tuple[str, str | None]:
        if run.cancelled_at is not None:
            return "completed", "cancelled"
        start = run.created_at + timedelta(seconds=run.queued_s)
        if now < start:
            return "queued", None
        if now < start + timedelta(seconds=run.running_s):
            return "in_progress", None
        return "completed", "failure" if run.failure else "success"

    # -- WSGI ------------------------------------------------------------------------------------------------

    def _active(self) -> Collection[tuple[str, str]]:
        return self.faults(self.clock.now()) if self.faults is not None else ()

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        if request.path.startswith(BLOBS):  # storage, not the API: the URL is its own authorization
            return self._blob(request.path.removeprefix(BLOBS))(environ, start_response)
        active = self._active()
        dispatching = request.method == "POST" and request.path.endswith("/dispatches")
        if ("any", "timeout") in active and not dispatching:
            time.sleep(self.hold_s)  # the client has given up by now; the answer below goes nowhere
        try:
            if ("any", "503") in active:
                raise _ApiError(503, "Service Unavailable")
            if ("any", "429") in active:
                raise _ApiError(429, "You have exceeded a secondary rate limit. Please wait a few minutes before "
                                     "you try again.", {"retry-after": str(RETRY_AFTER_S)})
            response = self._handle(request)
        except _ApiError as err:
            body = {"message": err.message, "documentation_url": DOCS, "status": str(err.status)}
            response = self._json(body, err.status)
            response.headers.update(err.headers)
        self.requests.append((request.method, request.path, response.status_code))
        self.tick()
        if dispatching and response.status_code in (200, 204):
            if ("dispatch", "lost") in active:
                self._drop(environ)
                raise AnswerLost(f"fault dispatch=lost: the answer to POST {request.path} was dropped "
                                 "(the run was created)")
            if ("dispatch", "502") in active:
                response = self._json({"message": "Server Error"}, 502)
            elif ("any", "timeout") in active:
                time.sleep(self.hold_s)
        return response(environ, start_response)

    @staticmethod
    def _drop(environ: dict[str, Any]) -> None:
        """Close the connection without an answer (the client sees the server disconnect)."""
        sock = environ.get("werkzeug.socket")
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _json(self, body: Any, status: int = 200) -> Response:
        response = Response(json.dumps(body), status=status, content_type="application/json; charset=utf-8")
        self._rate_headers(response, remaining=4999)
        return response

    def _rate_headers(self, response: Response, *, remaining: int, reset_in: int = 3600) -> None:
        reset = int((self.clock.now() + timedelta(seconds=reset_in)).timestamp())
        response.headers.update({
            "x-ratelimit-limit": "5000", "x-ratelimit-remaining": str(remaining), "x-ratelimit-reset": str(reset),
            "x-ratelimit-used": str(5000 - remaining), "x-ratelimit-resource": "core",
            "x-github-api-version-selected": "2026-03-10",
        })

    def _handle(self, request: Request) -> Response:
        if self.token is not None and request.headers.get("Authorization") not in (f"Bearer {self.token}",
                                                                                     f"token {self.token}"):
            raise _ApiError(401, "Bad credentials")
        with self._lock:
            limited = self._rate_limits.pop(0) if self._rate_limits else None
        if limited is not None:
            return self._rate_limited(*limited)
        adapter = self._urls.bind_to_environ(request.environ)
        try:
            endpoint, matched = adapter.match()
        except NotFound:
            raise _ApiError(404, "Not Found") from None
        except MethodNotAllowed:
            raise _ApiError(404, "Not Found") from None
        except HTTPException as exc:  # e.g. a redirect for a trailing slash
            raise _ApiError(exc.code or 400, exc.description or "Bad Request") from None
        body: Any = None
        if request.method in ("POST", "PUT", "PATCH") and request.get_data():
            try:
                body = json.loads(request.get_data())
            except ValueError:
                raise _ApiError(400, "Problems parsing JSON") from None
        if endpoint == "user":
            return self._ep_user()
        args = dict(matched)
        full_name = f"{args.pop('owner')}/{args.pop('name')}"
        handler: Callable[..., Response] = getattr(self, f"_ep_{endpoint}")
        with self._lock:
            repo = self._repo_or_404(full_name)
            return handler(request, repo, body, **args)

    def _rate_limited(self, status: int, kind: str, seconds: int) -> Response:
        if kind == "primary":
            body = {"message": "API rate limit exceeded for user ID 1.", "documentation_url": DOCS}
            response = self._json(body, status)
            self._rate_headers(response, remaining=0, reset_in=seconds)
            return response
        body = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                "documentation_url": DOCS}
        response = self._json(body, status)
        if kind == "retry_after":
            response.headers["retry-after"] = str(seconds)
        return response

    def _repo_or_404(self, full_name: str) -> _Repo:
        repo = self._repos.get(full_name.lower())
        if repo is None:
            raise _ApiError(404, "Not Found")
        return repo

    # -- helpers over the repository model ---------------------------------------------------------------

    def _resolve(self, repo: _Repo, ref: str) -> str | None:
        """The commit a ref names: sha, branch, tag, or their refs/ forms."""
        if ref in repo.commits:
            return ref
        for prefix in ("refs/heads/", "refs/tags/"):
            if ref.startswith(prefix):
                ref = ref.removeprefix(prefix)
        if ref in repo.branches:
            return repo.branches[ref]
        if ref in repo.tag_refs:
            kind, sha = repo.tag_refs[ref]
            return str(repo.tag_objects[sha]["object"]["sha"]) if kind == "tag" else sha
        return None

    def _workflow_path(self, repo: _Repo, wf: str) -> str:
        """The path of a workflow named by file name or id, if it is on the default branch."""
        head = repo.commits[repo.branches[repo.default_branch]]
        for path in head:
            if path.startswith(WORKFLOWS_DIR) and (wf == path.removeprefix(WORKFLOWS_DIR) or wf == str(self._wid(repo, path))):
                return path
        raise _ApiError(404, "Not Found")

    def _wid(self, repo: _Repo, path: str) -> int:
        if path not in repo.workflow_ids:
            repo.workflow_ids[path] = int(_sha(repo.full_name, path)[:7], 16)
        return repo.workflow_ids[path]

    def _base(self, repo: _Repo) -> str:
        return f"{self.url}/repos/{repo.full_name}"

    def _html(self, repo: _Repo) -> str:
        return f"{self.url}/{repo.full_name}"

    @staticmethod
    def _parse(text: str) -> WorkflowFile | None:
        try:
            return parse_workflow(text)
        except WorkflowFileError:
            return None

    # -- endpoints: the token's user, repository, contents, workflows -----------------------------------

    def _ep_user(self) -> Response:
        """``GET /user``: the user the token belongs to (GitHub's private-user shape)."""
        now = _iso(self.clock.now())
        return self._json({
            "login": self.login, "id": 583231, "node_id": "MDQ6VXNlcjU4MzIzMQ==", "type": "User", "site_admin": False,
            "avatar_url": "https://avatars.githubusercontent.com/u/583231", "url": f"{self.url}/users/{self.login}",
            "html_url": f"https://github.com/{self.login}", "name": None, "email": None,
            "created_at": "2020-01-01T00:00:00Z", "updated_at": now, "two_factor_authentication": True,
        })

    def _ep_repo(self, request: Request, repo: _Repo, body: Any) -> Response:
        owner, name = repo.full_name.split("/", 1)
        return self._json({
            "id": repo.id, "node_id": f"R_{repo.id}", "name": name, "full_name": repo.full_name, "private": True,
            "owner": {"login": owner, "id": 1, "type": "Organization"},
            "html_url": self._html(repo), "url": self._base(repo), "default_branch": repo.default_branch,
            "visibility": "private", "archived": False, "disabled": False,
            "created_at": repo.created_at, "updated_at": _iso(self.clock.now()), "pushed_at": _iso(self.clock.now()),
        })

    def _ep_commit(self, request: Request, repo: _Repo, body: Any, ref: str) -> Response:
        sha = self._resolve(repo, ref)
        if sha is None:
            raise _ApiError(422, f"No commit found for SHA: {ref}")
        return self._json({"sha": sha, "node_id": f"C_{sha[:12]}", "url": f"{self._base(repo)}/commits/{sha}",
                           "html_url": f"{self._html(repo)}/commit/{sha}",
                           "commit": {"message": "commit", "url": f"{self._base(repo)}/git/commits/{sha}"}})

    def _ep_contents(self, request: Request, repo: _Repo, body: Any, path: str) -> Response:
        ref = request.args.get("ref") or repo.default_branch
        sha = self._resolve(repo, ref)
        if sha is None:
            raise _ApiError(404, f"No commit found for the ref {ref}")
        text = repo.commits[sha].get(path)
        if text is None:
            raise _ApiError(404, "Not Found")
        raw = text.encode("utf-8")
        encoded = base64.encodebytes(raw).decode("ascii")  # GitHub wraps base64 at 60 columns with newlines
        blob = _sha("blob", text)
        url = f"{self._base(repo)}/contents/{path}?ref={ref}"
        return self._json({
            "type": "file", "encoding": "base64", "size": len(raw), "name": path.rsplit("/", 1)[-1], "path": path,
            "content": encoded, "sha": blob, "url": url, "git_url": f"{self._base(repo)}/git/blobs/{blob}",
            "html_url": f"{self._html(repo)}/blob/{ref}/{path}", "download_url": None,
            "_links": {"self": url, "git": f"{self._base(repo)}/git/blobs/{blob}",
                       "html": f"{self._html(repo)}/blob/{ref}/{path}"},
        })

    def _workflow_json(self, repo: _Repo, path: str) -> dict[str, Any]:
        head = repo.commits[repo.branches[repo.default_branch]]
        parsed = self._parse(head[path])
        wid = self._wid(repo, path)
        return {
            "id": wid, "node_id": f"W_{wid}", "name": (parsed.name if parsed and parsed.name else path),
            "path": path, "state": repo.workflow_states.get(path, "active"),
            "created_at": repo.created_at, "updated_at": repo.created_at,
            "url": f"{self._base(repo)}/actions/workflows/{wid}",
            "html_url": f"{self._html(repo)}/blob/{repo.default_branch}/{path}",
            "badge_url": f"{self._html(repo)}/workflows/{path.removeprefix(WORKFLOWS_DIR)}/badge.svg",
        }

    def _ep_workflows(self, request: Request, repo: _Repo, body: Any) -> Response:
        head = repo.commits[repo.branches[repo.default_branch]]
        paths = sorted(p for p in head if p.startswith(WORKFLOWS_DIR) and p.endswith((".yml", ".yaml")))
        return self._json({"total_count": len(paths), "workflows": [self._workflow_json(repo, p) for p in paths]})

    def _ep_workflow(self, request: Request, repo: _Repo, body: Any, wf: str) -> Response:
        return self._json(self._workflow_json(repo, self._workflow_path(repo, wf)))

    # -- endpoints: secrets --------------------------------------------------------------------------------

    def _store(self, repo: _Repo, env: str | None) -> dict[str, _Secret]:
        if env is None:
            return repo.secrets
        if env not in repo.env_secrets:
            raise _ApiError(404, "Not Found")
        return repo.env_secrets[env]

    def _ep_secrets(self, request: Request, repo: _Repo, body: Any, env: str | None = None) -> Response:
        store = self._store(repo, env)
        per_page = min(int(request.args.get("per_page", 30)), 100)
        page = max(int(request.args.get("page", 1)), 1)
        names = sorted(store)
        chunk = names[(page - 1) * per_page: page * per_page]
        return self._json({"total_count": len(names), "secrets": [
            {"name": n, "created_at": _iso(store[n].created_at), "updated_at": _iso(store[n].updated_at)} for n in chunk
        ]})

    def _ep_public_key(self, request: Request, repo: _Repo, body: Any, env: str | None = None) -> Response:
        self._store(repo, env)
        return self._json({"key_id": repo.key_id, "key": base64.b64encode(bytes(repo.key.public_key)).decode()})

    def _ep_put_secret(self, request: Request, repo: _Repo, body: Any, secret: str, env: str | None = None) -> Response:
        store = self._store(repo, env)
        if not isinstance(body, dict) or not isinstance(body.get("encrypted_value"), str) or body.get("key_id") != repo.key_id:
            raise _ApiError(422, "Invalid request.\n\n\"encrypted_value\" and a current \"key_id\" are required.")
        try:
            sealed = base64.b64decode(body["encrypted_value"], validate=True)
            SealedBox(repo.key).decrypt(sealed)
        except Exception:
            raise _ApiError(422, "Bad request: the secret could not be decrypted with the repository key") from None
        now = self.clock.now()
        old = store.get(secret)
        store[secret] = _Secret(old.created_at if old else now, now, sealed)
        return Response(status=204) if old else self._json({}, 201)

    # -- endpoints: refs and tags --------------------------------------------------------------------------

    def _ref_json(self, repo: _Repo, name: str, kind: str, sha: str) -> dict[str, Any]:
        return {"ref": f"refs/tags/{name}", "node_id": f"REF_{sha[:12]}", "url": f"{self._base(repo)}/git/refs/tags/{name}",
                "object": {"type": kind, "sha": sha,
                           "url": f"{self._base(repo)}/git/{'tags' if kind == 'tag' else 'commits'}/{sha}"}}

    def _ep_list_tags(self, request: Request, repo: _Repo, body: Any) -> Response:
        """``GET /repos/{owner}/{repo}/tags``: every tag with its commit, a page at a time (GitHub documents no
        order; this one answers names in reverse order, as github.com usually does)."""
        per_page = min(max(int(request.args.get("per_page", 30)), 1), 100)
        page = max(int(request.args.get("page", 1)), 1)
        names = sorted(repo.tag_refs, reverse=True)
        chunk = names[(page - 1) * per_page: page * per_page]
        tags = []
        for name in chunk:
            sha = self._resolve(repo, f"refs/tags/{name}") or ""
            tags.append({"name": name, "commit": {"sha": sha, "url": f"{self._base(repo)}/commits/{sha}"},
                         "zipball_url": f"{self._base(repo)}/zipball/refs/tags/{name}",
                         "tarball_url": f"{self._base(repo)}/tarball/refs/tags/{name}",
                         "node_id": f"REF_{_sha(repo.full_name, name)[:12]}"})
        response = self._json(tags)
        if page * per_page < len(names):
            url = f"{self._base(repo)}/tags?per_page={per_page}&page={page + 1}"
            response.headers["link"] = f'<{url}>; rel="next"'
        return response

    def _ep_get_ref(self, request: Request, repo: _Repo, body: Any, ref: str) -> Response:
        if ref.startswith("tags/") and ref.removeprefix("tags/") in repo.tag_refs:
            name = ref.removeprefix("tags/")
            return self._json(self._ref_json(repo, name, *repo.tag_refs[name]))
        if ref.startswith("heads/") and ref.removeprefix("heads/") in repo.branches:
            sha = repo.branches[ref.removeprefix("heads/")]
            d = self._ref_json(repo, "", "commit", sha)
            d["ref"] = f"refs/{ref}"
            d["url"] = f"{self._base(repo)}/git/refs/{ref}"
            return self._json(d)
        raise _ApiError(404, "Not Found")

    def _ep_get_tag(self, request: Request, repo: _Repo, body: Any, sha: str) -> Response:
        if sha not in repo.tag_objects:
            raise _ApiError(404, "Not Found")
        return self._json(repo.tag_objects[sha])

    def _ep_create_tag(self, request: Request, repo: _Repo, body: Any) -> Response:
        if not isinstance(body, dict) or not all(isinstance(body.get(k), str) for k in ("tag", "message", "object", "type")):
            raise _ApiError(422, "Invalid request.\n\n\"tag\", \"message\", \"object\" and \"type\" are required.")
        if body["object"] not in repo.commits:
            raise _ApiError(422, "Object does not exist")
        tagger = body.get("tagger") or {"name": "golive", "email": "golive@localhost"}
        tagger = {**tagger, "date": tagger.get("date") or _iso(self.clock.now())}
        sha = _sha("tag", body["tag"], body["object"], body["message"], str(next(self._ids)))
        obj = {"node_id": f"TAG_{sha[:12]}", "tag": body["tag"], "sha": sha, "url": f"{self._base(repo)}/git/tags/{sha}",
               "message": body["message"], "tagger": tagger,
               "object": {"type": "commit", "sha": body["object"], "url": f"{self._base(repo)}/git/commits/{body['object']}"},
               "verification": {"verified": False, "reason": "unsigned", "signature": None, "payload": None,
                                "verified_at": None}}
        repo.tag_objects[sha] = obj
        return self._json(obj, 201)

    def _ep_create_ref(self, request: Request, repo: _Repo, body: Any) -> Response:
        if not isinstance(body, dict) or not isinstance(body.get("ref"), str) or not isinstance(body.get("sha"), str):
            raise _ApiError(422, "Invalid request.\n\n\"ref\" and \"sha\" are required.")
        ref, sha = body["ref"], body["sha"]
        if not ref.startswith("refs/tags/"):
            raise _ApiError(422, "golive's local GitHub only creates tag refs")
        name = ref.removeprefix("refs/tags/")
        if name in repo.tag_refs:
            raise _ApiError(422, "Reference already exists")
        if sha in repo.tag_objects:
            repo.tag_refs[name] = ("tag", sha)
        elif sha in repo.commits:
            repo.tag_refs[name] = ("commit", sha)
        else:
            raise _ApiError(422, "Object does not exist")
        response = self._json(self._ref_json(repo, name, *repo.tag_refs[name]), 201)
        return self._maybe_lose("ref", response)

    def _maybe_lose(self, endpoint: str, response: Response) -> Response:
        lost = self._lose.pop(endpoint, None)
        if lost is None:
            return response
        delay, status = lost
        if delay is not None:
            self._lock.release()  # let other requests in while this answer is held back
            try:
                time.sleep(delay)
            finally:
                self._lock.acquire()
            return response
        return self._json({"message": "Server Error"}, status)

    # -- endpoints: workflow runs ----------------------------------------------------------------------------

    def _ep_dispatch(self, request: Request, repo: _Repo, body: Any, wf: str) -> Response:
        path = self._workflow_path(repo, wf)
        if not isinstance(body, dict) or not isinstance(body.get("ref"), str):
            raise _ApiError(422, "Invalid request.\n\nFor 'links/0/schema', nil is not an object.")
        if "return_run_details" in body and self.dispatch_mode == "reject_details":
            raise _ApiError(422, "Invalid request.\n\n\"return_run_details\" is not a permitted key.")
        if repo.workflow_states.get(path, "active") != "active":
            raise _ApiError(422, "Workflow is disabled")
        ref = str(body["ref"])
        sha = self._resolve(repo, ref)
        if sha is None:
            raise _ApiError(422, f"No ref found for: {ref}")
        text = repo.commits[sha].get(path)
        parsed = self._parse(text) if text is not None else None
        if parsed is None or not parsed.dispatchable:
            raise _ApiError(422, "Workflow does not have 'workflow_dispatch' trigger")
        inputs = body.get("inputs") or {}
        if not isinstance(inputs, dict):
            raise _ApiError(422, "Invalid request.\n\nFor 'properties/inputs', is not an object.")
        unexpected = sorted(set(inputs) - set(parsed.dispatch_inputs))
        if unexpected:
            raise _ApiError(422, f"Unexpected inputs provided: {json.dumps(unexpected)}")
        for name, spec in parsed.dispatch_inputs.items():
            if spec.get("required") and name not in inputs and spec.get("default") is None:
                raise _ApiError(422, f"Required input '{name}' not provided")
        values = {k: str(v) for k, v in inputs.items()}
        for name, spec in parsed.dispatch_inputs.items():
            if name not in values and spec.get("default") is not None:
                values[name] = str(spec["default"])
        key = (repo.full_name.lower(), path.removeprefix(WORKFLOWS_DIR))
        fail = self._failures.get(key) or (_Failure(None, None) if ("run", "failure") in self._active() else None)
        jobs = parsed.jobs or (JobSpec("build", "build", None, ()),)
        failure: tuple[str, str] | None = None
        if fail is not None:
            job = next((j for j in jobs if fail.job in (j.name, j.key)), jobs[0])
            step = fail.step or (job.steps[-1] if job.steps else "Set up job")
            failure = (job.name, step)
        name = parsed.name or path
        run = _Run(
            id=next(self._run_ids), repo=repo.full_name.lower(), workflow_path=path, workflow_id=self._wid(repo, path),
            workflow_name=name, display_title=self._run_name(parsed, repo, ref, values) or name,
            ref=ref.removeprefix("refs/heads/").removeprefix("refs/tags/"), head_sha=sha, inputs=values,
            run_number=1 + sum(1 for r in self._runs.values() if r.repo == repo.full_name.lower() and r.workflow_path == path),
            created_at=self.clock.now(), queued_s=self.queued_s, running_s=self._durations.get(key, self.running_s),
            jobs=jobs, failure=failure,
        )
        self._runs[run.id] = run
        self._dispatches[key] = self._dispatches.get(key, 0) + 1
        if self.dispatch_mode == "details" and body.get("return_run_details") is True:
            response = self._json({"workflow_run_id": run.id, "run_url": f"{self._base(repo)}/actions/runs/{run.id}",
                                   "html_url": f"{self._html(repo)}/actions/runs/{run.id}"})
        else:
            response = Response(status=204)
        return self._maybe_lose("dispatch", response)

    def _run_name(self, parsed: WorkflowFile, repo: _Repo, ref: str, values: dict[str, str]) -> str | None:
        """The run's title as GitHub renders ``run-name``; None (the workflow's name) when there is none."""
        if not parsed.run_name:
            return None
        inputs: dict[str, Any] = {}
        for key, value in values.items():
            boolean = parsed.dispatch_inputs.get(key, {}).get("type") == "boolean"
            inputs[key] = value.lower() == "true" if boolean else value
        short = ref.removeprefix("refs/heads/").removeprefix("refs/tags/")
        full = ref if ref.startswith("refs/") else (f"refs/tags/{ref}" if ref in repo.tag_refs else f"refs/heads/{ref}")
        github = {"ref": full, "ref_name": short, "ref_type": "tag" if full.startswith("refs/tags/") else "branch",
                  "event_name": "workflow_dispatch", "repository": repo.full_name, "actor": "golive",
                  "repository_owner": repo.full_name.split("/")[0], "event": {"inputs": inputs, "ref": full}}
        try:
            return render(parsed.run_name, {"github": github, "inputs": inputs})
        except ExpressionError:
            return None

    def _run_json(self, run: _Run) -> dict[str, Any]:
        repo = self._repos[run.repo]
        status, conclusion = self._status(run, self.clock.now())
        base, html = self._base(repo), self._html(repo)
        started = run.created_at + timedelta(seconds=run.queued_s)
        return {
            "id": run.id, "name": run.workflow_name, "node_id": f"WFR_{run.id}", "head_branch": run.ref,
            "head_sha": run.head_sha, "path": run.workflow_path, "display_title": run.display_title,
            "run_number": run.run_number, "run_attempt": 1, "event": "workflow_dispatch", "status": status,
            "conclusion": conclusion, "workflow_id": run.workflow_id, "check_suite_id": run.id + 1,
            "check_suite_node_id": f"CS_{run.id}", "url": f"{base}/actions/runs/{run.id}",
            "html_url": f"{html}/actions/runs/{run.id}", "pull_requests": [],
            "created_at": _iso(run.created_at), "updated_at": _iso(self.clock.now()),
            "run_started_at": _iso(started),
            "jobs_url": f"{base}/actions/runs/{run.id}/jobs", "logs_url": f"{base}/actions/runs/{run.id}/logs",
            "check_suite_url": f"{base}/check-suites/{run.id + 1}", "artifacts_url": f"{base}/actions/runs/{run.id}/artifacts",
            "cancel_url": f"{base}/actions/runs/{run.id}/cancel", "rerun_url": f"{base}/actions/runs/{run.id}/rerun",
            "workflow_url": f"{base}/actions/workflows/{run.workflow_id}",
            "head_commit": {"id": run.head_sha, "tree_id": _sha("tree", run.head_sha), "message": "release",
                            "timestamp": repo.created_at, "author": None, "committer": None},
            "repository": {"id": repo.id, "name": repo.full_name.split("/")[1], "full_name": repo.full_name},
            "head_repository": {"id": repo.id, "name": repo.full_name.split("/")[1], "full_name": repo.full_name},
        }

    def _ep_runs(self, request: Request, repo: _Repo, body: Any, wf: str) -> Response:
        path = self._workflow_path(repo, wf)
        event = request.args.get("event")
        branch = request.args.get("branch")
        created = request.args.get("created", "")
        since: datetime | None = None
        if created.startswith(">="):
            since = datetime.fromisoformat(created[2:].replace("Z", "+00:00"))
        runs = [r for r in self._runs.values() if r.repo == repo.full_name.lower() and r.workflow_path == path
                and (event in (None, "workflow_dispatch")) and (branch is None or r.ref == branch)
                and (since is None or r.created_at >= since)]
        runs.sort(key=lambda r: r.id, reverse=True)
        per_page = min(int(request.args.get("per_page", 30)), 100)
        return self._json({"total_count": len(runs), "workflow_runs": [self._run_json(r) for r in runs[:per_page]]})

    def _get_run(self, repo: _Repo, run_id: int) -> _Run:
        run = self._runs.get(run_id)
        if run is None or run.repo != repo.full_name.lower():
            raise _ApiError(404, "Not Found")
        return run

    def _ep_run(self, request: Request, repo: _Repo, body: Any, run_id: int) -> Response:
        return self._json(self._run_json(self._get_run(repo, run_id)))

    def _ep_cancel(self, request: Request, repo: _Repo, body: Any, run_id: int) -> Response:
        run = self._get_run(repo, run_id)
        if self._status(run, self.clock.now())[0] == "completed":
            raise _ApiError(409, "Cannot cancel a workflow run that is completed.")
        run.cancelled_at = self.clock.now()
        return self._json({}, 202)

    def _step_states(self, run: _Run, now: datetime) -> list[list[tuple[str, str, str | None]]]:
        """(name, status, conclusion) of every step of every job at ``now``."""
        status, _ = self._status(run, now)
        names = [["Set up job", *j.steps, "Complete job"] for j in run.jobs]
        flat = [(j, n) for j, steps in enumerate(names) for n in steps]
        start = run.created_at + timedelta(seconds=run.queued_s)
        until = run.cancelled_at if run.cancelled_at is not None else now
        elapsed = (until - start).total_seconds()
        done = len(flat) if status == "completed" and run.cancelled_at is None else \
            max(0, min(len(flat), int(len(flat) * elapsed / max(run.running_s, 1e-9))))
        fail_at = -1
        if run.failure is not None and status == "completed" and run.cancelled_at is None:
            job_index = next(j for j, spec in enumerate(run.jobs) if spec.name == run.failure[0])
            first = next(i for i, (j, _) in enumerate(flat) if j == job_index)
            step = run.failure[1] if run.failure[1] in names[job_index] else names[job_index][-2]
            fail_at = first + names[job_index].index(step)
        out: list[list[tuple[str, str, str | None]]] = [[] for _ in names]
        for i, (j, name) in enumerate(flat):
            state: tuple[str, str | None]
            if fail_at >= 0:
                same_job = j == flat[fail_at][0]
                if i < fail_at:
                    state = ("completed", "success")
                elif i == fail_at:
                    state = ("completed", "failure")
                elif same_job and name == "Complete job":
                    state = ("completed", "success")
                else:
                    state = ("completed", "skipped")
            elif run.cancelled_at is not None:
                state = ("completed", "success" if i < done else "cancelled" if i == done else "skipped")
            elif i < done:
                state = ("completed", "success")
            elif i == done and status == "in_progress":
                state = ("in_progress", None)
            else:
                state = ("queued", None)
            out[j].append((name, *state))
        return out

    def _ep_jobs(self, request: Request, repo: _Repo, body: Any, run_id: int) -> Response:
        run = self._get_run(repo, run_id)
        now = self.clock.now()
        start = run.created_at + timedelta(seconds=run.queued_s)
        jobs = []
        for index, (job, steps) in enumerate(zip(run.jobs, self._step_states(run, now), strict=True)):
            statuses = {s for _, s, _ in steps}
            conclusions = [c for _, _, c in steps]
            j_status = "completed" if statuses == {"completed"} else "queued" if statuses == {"queued"} else "in_progress"
            j_conc: str | None = None
            if j_status == "completed":
                j_conc = ("failure" if "failure" in conclusions else "cancelled" if "cancelled" in conclusions
                          else "skipped" if set(conclusions) == {"skipped"} else "success")
            job_id = run.id * 100 + index
            jobs.append({
                "id": job_id, "run_id": run.id, "run_url": f"{self._base(repo)}/actions/runs/{run.id}",
                "node_id": f"J_{job_id}", "head_sha": run.head_sha, "url": f"{self._base(repo)}/actions/jobs/{job_id}",
                "html_url": f"{self._html(repo)}/actions/runs/{run.id}/job/{job_id}", "status": j_status,
                "conclusion": j_conc, "created_at": _iso(run.created_at),
                "started_at": _iso(start) if j_status != "queued" else _iso(run.created_at),
                "completed_at": _iso(now) if j_status == "completed" else None, "name": job.name,
                "steps": [{"name": name, "status": st, "conclusion": conc, "number": number,
                           "started_at": _iso(start) if st != "queued" else None,
                           "completed_at": _iso(now) if st == "completed" else None}
                          for number, (name, st, conc) in enumerate(steps, start=1)],
                "check_run_url": f"{self._base(repo)}/check-runs/{job_id}", "labels": ["ubuntu-latest"],
                "runner_id": None, "runner_name": None, "runner_group_id": None, "runner_group_name": None,
                "run_attempt": 1, "workflow_name": run.workflow_name, "head_branch": run.ref,
            })
        return self._json({"total_count": len(jobs), "jobs": jobs})

    # -- endpoints: artifacts -----------------------------------------------------------------------------------

    def _artifact_json(self, repo: _Repo, run: _Run, artifact: _Artifact) -> dict[str, Any]:
        base = self._base(repo)
        return {
            "id": artifact.id, "node_id": f"MDg6QXJ0aWZhY3Q{artifact.id}", "name": artifact.name,
            "size_in_bytes": len(artifact.archive), "url": f"{base}/actions/artifacts/{artifact.id}",
            "archive_download_url": f"{base}/actions/artifacts/{artifact.id}/zip", "expired": False,
            "created_at": _iso(artifact.created_at), "expires_at": _iso(artifact.created_at + timedelta(days=90)),
            "updated_at": _iso(artifact.created_at),
            "digest": "sha256:" + hashlib.sha256(artifact.archive).hexdigest(),
            "workflow_run": {"id": run.id, "repository_id": repo.id, "head_repository_id": repo.id,
                             "head_branch": run.ref, "head_sha": run.head_sha},
        }

    def _ep_artifacts(self, request: Request, repo: _Repo, body: Any, run_id: int) -> Response:
        run = self._get_run(repo, run_id)
        name = request.args.get("name")
        found = [a for a in run.artifacts if name is None or a.name == name]
        per_page = min(int(request.args.get("per_page", 30)), 100)
        return self._json({"total_count": len(found),
                           "artifacts": [self._artifact_json(repo, run, a) for a in found[:per_page]]})

    def _ep_download(self, request: Request, repo: _Repo, body: Any, artifact_id: int,
                     archive_format: str) -> Response:
        if archive_format != "zip":
            raise _ApiError(422, "Invalid archive_format: the archive format must be zip")
        if not any(a.id == artifact_id for r in self._runs.values() if r.repo == repo.full_name.lower()
                   for a in r.artifacts):
            raise _ApiError(404, "Not Found")
        token = _sha(repo.full_name, str(artifact_id), str(next(self._ids)))
        self._blobs[token] = (artifact_id, self.clock.now() + BLOB_TTL)
        response = Response(status=302, headers={"Location": f"{self.url}{BLOBS}{token}"})
        self._rate_headers(response, remaining=4999)
        return response

    def _blob(self, token: str) -> Response:
        with self._lock:
            found = self._blobs.get(token)
            if found is None or found[1] < self.clock.now():
                return Response("AuthenticationFailed: the download URL expired or never existed", status=403,
                                content_type="text/plain")
            archive = next(a.archive for r in self._runs.values() for a in r.artifacts if a.id == found[0])
        self.requests.append(("GET", BLOBS + "...", 200))
        return Response(archive, status=200, content_type="application/zip")


def _zip(files: dict[str, bytes]) -> bytes:
    """A zip archive of ``files`` as upload-artifact makes one; fixed dates, so the same files give the same bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in sorted(files.items()):
            archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), content)
    return out.getvalue()
