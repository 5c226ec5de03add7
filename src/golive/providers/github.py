"""The only door to GitHub: a small REST client over httpx.

golive needs about twenty GitHub endpoints (repository, workflow, file
contents, secrets and their public key, refs and tags, workflow dispatch,
runs, jobs, cancel, a run's artifacts and their zip archives). This module calls them and owns the parts that are
easy to get wrong:

- **Rate limits.** ``retry-after`` is obeyed; ``x-ratelimit-remaining: 0``
  waits until ``x-ratelimit-reset``; a secondary limit without either waits
  at least 60 s. Waiting goes through the injected ``sleep`` (by default
  the injected clock), so tests never really wait. A wait longer than
  ``max_wait`` raises ``GitHubRateLimited`` instead.
- **No blind POST retries.** A dispatch or a tag whose answer was lost
  (timeout, dropped connection, 502/504) may have happened. The client
  first looks for what it would have created (the run, by its correlation
  input; the tag ref). A tag ref is posted again only if nothing is there;
  a dispatch never is: when its run does not show up, ``DispatchInDoubt``
  hands the doubt to the caller, who holds the intent
  (``golive.steps.workflow``).
- **Dispatch with a run id.** ``return_run_details: true`` gets 200 with
  the run id on github.com; a 204 (older API) is answered by listing the
  workflow's dispatch runs since the call; a server that rejects the
  parameter (GitHub Enterprise Server) gets the call again without it.
- **Secrets stay secret.** The token and every secret value written go to
  the ``Redactor``; values are sealed with the repository's public key
  (libsodium sealed box) and never logged or put in an exception.

Errors become golive's tree: 4xx is ``GitHubRequestError`` with the API's
own message, no answer after retries is ``GitHubUnreachable``.
"""

from __future__ import annotations

import base64
import logging
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
from nacl.public import PublicKey as _NaclPublicKey
from nacl.public import SealedBox

from golive.clock import Clock, parse_instant
from golive.errors import ConfigError, GitHubRateLimited, GitHubRequestError, GitHubUnreachable
from golive.redact import Redactor, body_line

log = logging.getLogger(__name__)

DEFAULT_API = "https://api.github.com"
API_VERSION = "2026-03-10"
SECONDARY_LIMIT_WAIT = 60.0
CLOCK_SKEW = timedelta(minutes=2)  # how far GitHub's clock may be behind ours when listing runs "created since"
_AMBIGUOUS_STATUS = frozenset({502, 504})
ARTIFACT_MAX_BYTES = 100_000_000  # an artifact archive larger than this is not downloaded
_RETRYABLE_STATUS = frozenset({500, 502, 503, 504})


class TagConflict(GitHubRequestError):
    """The release tag already exists on another commit."""

    def __init__(self, repo: str, tag: str, existing: str, wanted: str) -> None:
        self.existing = existing
        self.wanted = wanted
        super().__init__(
            "POST", f"/repos/{repo}/git/refs", 422,
            f"tag {tag} already exists on commit {existing}, not on the wanted commit {wanted}",
        )


@dataclass(frozen=True)
class Repo:
    full_name: str
    default_branch: str
    html_url: str


@dataclass(frozen=True)
class Workflow:
    id: int
    name: str
    path: str
    state: str
    html_url: str


@dataclass(frozen=True)
class PublicKey:
    key_id: str
    key: str


@dataclass(frozen=True)
class Tag:
    """A tag ref; ``tag_sha`` is the annotated tag object (None for a lightweight tag)."""

    name: str
    commit: str
    tag_sha: str | None
    message: str | None


@dataclass(frozen=True)
class TagResult:
    tag: Tag
    created: bool


@dataclass(frozen=True)
class Dispatch:
    """A dispatched run; ``how`` says how its id was learnt (returned, listed, found after a lost answer)."""

    run_id: int
    html_url: str | None
    how: str


@dataclass(frozen=True)
class Run:
    id: int
    name: str | None
    display_title: str
    status: str
    conclusion: str | None
    html_url: str
    head_branch: str | None
    head_sha: str
    event: str
    created_at: datetime

    @staticmethod
    def from_api(d: Mapping[str, Any]) -> Run:
        return Run(
            id=int(d["id"]), name=d.get("name"), display_title=str(d.get("display_title") or ""),
            status=str(d["status"]), conclusion=d.get("conclusion"), html_url=str(d["html_url"]),
            head_branch=d.get("head_branch"), head_sha=str(d["head_sha"]), event=str(d["event"]),
            created_at=parse_instant(str(d["created_at"]).replace("Z", "+00:00")),
        )


@dataclass(frozen=True)
class Step:
    number: int
    name: str
    status: str
    conclusion: str | None


@dataclass(frozen=True)
class Job:
    id: int
    name: str
    status: str
    conclusion: str | None
    html_url: str | None
    steps: tuple[Step, ...]

    @staticmethod
    def from_api(d: Mapping[str, Any]) -> Job:
        steps = tuple(
            Step(int(s["number"]), str(s["name"]), str(s["status"]), s.get("conclusion")) for s in d.get("steps") or []
        )
        return Job(int(d["id"]), str(d["name"]), str(d["status"]), d.get("conclusion"), d.get("html_url"), steps)


@dataclass(frozen=True)
class Artifact:
    """A workflow run's artifact as ``GET /repos/{owner}/{repo}/actions/runs/{run_id}/artifacts`` lists it."""

    id: int
    name: str
    size_in_bytes: int
    expired: bool
    archive_download_url: str

    @staticmethod
    def from_api(d: Mapping[str, Any]) -> Artifact:
        return Artifact(int(d["id"]), str(d["name"]), int(d.get("size_in_bytes") or 0), bool(d.get("expired")),
                        str(d.get("archive_download_url") or ""))


class DispatchInDoubt(GitHubUnreachable):
    """A dispatch whose answer was lost and whose run could not be seen yet: it may exist; do not post again."""


class _LostAnswer(Exception):
    """A POST whose answer never came back: it may or may not have taken effect."""


def token_from_env(environ: Mapping[str, str] | None = None) -> str | None:
    """``GITHUB_TOKEN``, else ``GH_TOKEN``, else ``gh auth token`` when the gh CLI is on PATH; never printed."""
    env = os.environ if environ is None else environ
    for name in ("GITHUB_TOKEN", "GH_TOKEN"):
        if env.get(name):
            return env[name]
    gh = shutil.which("gh", path=env.get("PATH"))
    if gh is None:
        return None
    try:
        out = subprocess.run([gh, "auth", "token"], capture_output=True, text=True, timeout=10, check=False,
                             env=dict(env))
    except (OSError, subprocess.TimeoutExpired):
        return None
    token = out.stdout.strip()
    return token if out.returncode == 0 and token else None


def api_base_from_env(environ: Mapping[str, str] | None = None) -> str:
    """The REST base URL: ``GOLIVE_GITHUB_API`` (the local GitHub, any server), else ``GITHUB_API_URL`` (as
    GitHub Actions sets it), else ``GH_HOST`` as gh reads it (``https://HOST/api/v3``), else api.github.com."""
    env = os.environ if environ is None else environ
    if env.get("GOLIVE_GITHUB_API"):
        return env["GOLIVE_GITHUB_API"].rstrip("/")
    if env.get("GITHUB_API_URL"):
        return env["GITHUB_API_URL"].rstrip("/")
    host = env.get("GH_HOST", "").strip().removeprefix("https://").rstrip("/")
    if host and host != "github.com":
        return f"https://{host}/api/v3"
    return DEFAULT_API.rstrip("/")


def _repo_path(repo: str) -> str:
    owner, sep, name = repo.partition("/")
    if not sep or not owner or not name or "/" in name:
        raise ConfigError(f"a GitHub repository is 'owner/name', not '{repo}'")
    return f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return body_line(None, response.text, response.reason_phrase)
    if not isinstance(body, dict):
        return response.reason_phrase
    message = str(body.get("message") or response.reason_phrase)
    errors = body.get("errors")
    if isinstance(errors, list) and errors:
        details = "; ".join(str(e.get("message") or e.get("code") or e) if isinstance(e, dict) else str(e) for e in errors)
        message = f"{message} ({details})"
    return message


class GitHub:
    """GitHub REST calls golive makes, with rate-limit waits and golive's errors."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Clock,
        sleep: Callable[[float], None] | None = None,
        api_version: str = API_VERSION,
        redactor: Redactor | None = None,
        timeout: float = 15.0,
        max_attempts: int = 3,
        max_wait: float = 900.0,
        find_attempts: int = 6,
        find_interval: float = 5.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.clock = clock
        self.redact = redactor if redactor is not None else Redactor()
        self.redact.add(token)
        self._sleep = sleep if sleep is not None else self._clock_sleep
        self.max_attempts = max_attempts
        self.max_wait = max_wait
        self.find_attempts = find_attempts
        self.find_interval = find_interval
        self._blocked_until: datetime | None = None
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": api_version,
                   "User-Agent": "golive"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(base_url=self.base_url, headers=headers, transport=transport, timeout=timeout)

    @classmethod
    def from_env(cls, *, clock: Clock, redactor: Redactor | None = None, environ: Mapping[str, str] | None = None,
                 transport: httpx.BaseTransport | None = None) -> GitHub:
        return cls(api_base_from_env(environ), token_from_env(environ), clock=clock, redactor=redactor,
                   transport=transport)

    def close(self) -> None:
        self._http.close()

    def _clock_sleep(self, seconds: float) -> None:
        self.clock.sleep_until(self.clock.now() + timedelta(seconds=seconds))

    # -- the one request loop ------------------------------------------------------------------

    def _rate_limit_wait(self, response: httpx.Response) -> float | None:
        """Seconds to wait before trying again, or None when the response is not a rate limit."""
        if response.status_code not in (403, 429):
            return None
        retry_after = response.headers.get("retry-after")
        if retry_after is not None:
            try:
                return max(float(retry_after), 0.0)
            except ValueError:
                return SECONDARY_LIMIT_WAIT
        if response.headers.get("x-ratelimit-remaining") == "0" and response.headers.get("x-ratelimit-reset"):
            reset = datetime.fromtimestamp(int(response.headers["x-ratelimit-reset"]), UTC)
            return max((reset - self.clock.now()).total_seconds(), 0.0) + 1.0
        if response.status_code == 429 or "rate limit" in _message(response).lower():
            return SECONDARY_LIMIT_WAIT
        return None

    def _request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                 json: Any = None, ok: tuple[int, ...] = (200,), unsafe: bool = False) -> httpx.Response:
        """One call; ``unsafe`` (a POST that creates something) raises ``_LostAnswer`` instead of retrying."""
        attempt = 0
        waits = 0
        while True:
            if self._blocked_until is not None and self._blocked_until > self.clock.now():
                self._wait((self._blocked_until - self.clock.now()).total_seconds(), method, path)
            attempt += 1
            try:
                response = self._http.request(method, path, params=params, json=json)
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                if unsafe and not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
                    raise _LostAnswer(type(exc).__name__) from None
                if attempt >= self.max_attempts:
                    raise GitHubUnreachable(method, path, self.redact(f"{type(exc).__name__}: {exc}")) from None
                self._sleep(min(2.0 ** attempt, 30.0))
                continue
            if response.headers.get("x-ratelimit-remaining") == "0" and response.headers.get("x-ratelimit-reset"):
                self._blocked_until = datetime.fromtimestamp(int(response.headers["x-ratelimit-reset"]), UTC)
            wait = self._rate_limit_wait(response)
            if wait is not None:
                waits += 1
                if waits > self.max_attempts + 2:
                    raise GitHubRateLimited(method, path, "still rate limited after waiting", response.status_code)
                self._wait(wait, method, path, response.status_code)
                continue
            if response.status_code in ok:
                return response
            if response.status_code >= 500:
                if unsafe and response.status_code in _AMBIGUOUS_STATUS:
                    raise _LostAnswer(f"HTTP {response.status_code}")
                if not unsafe and response.status_code in _RETRYABLE_STATUS and attempt < self.max_attempts:
                    self._sleep(min(2.0 ** attempt, 30.0))
                    continue
                raise GitHubUnreachable(method, path, self.redact(_message(response)), response.status_code)
            raise GitHubRequestError(method, path, response.status_code, self.redact(_message(response)))

    def _wait(self, seconds: float, method: str, path: str, status: int | None = None) -> None:
        if seconds > self.max_wait:
            raise GitHubRateLimited(method, path, f"rate limited for {seconds:.0f} s, more than the {self.max_wait:.0f} s"
                                    " golive waits", status)
        log.info("GitHub rate limit on %s %s: waiting %.0f s", method, path, seconds)
        self._sleep(seconds)
        self._blocked_until = None

    def _download(self, url: str, what: str) -> bytes:
        """The bytes at a short-lived download URL the API redirected to: never sent the token (the URL is its own
        authorization, and may be another host), network failures retried, at most ``ARTIFACT_MAX_BYTES``."""
        for attempt in range(1, self.max_attempts + 1):
            try:
                with httpx.Client(timeout=self._http.timeout, follow_redirects=True) as plain, \
                        plain.stream("GET", url) as response:
                    if response.status_code >= 500 and attempt < self.max_attempts:
                        self._sleep(min(2.0 ** attempt, 30.0))
                        continue
                    if response.status_code != 200:
                        raise GitHubRequestError("GET", what, response.status_code,
                                                 f"the download answered {response.status_code}")
                    body = bytearray()
                    for chunk in response.iter_bytes():
                        body += chunk
                        if len(body) > ARTIFACT_MAX_BYTES:
                            raise GitHubRequestError("GET", what, 413, f"the archive is larger than "
                                                                       f"{ARTIFACT_MAX_BYTES} bytes")
                    return bytes(body)
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                if attempt >= self.max_attempts:
                    raise GitHubUnreachable("GET", what, self.redact(f"{type(exc).__name__}: {exc}")) from None
                self._sleep(min(2.0 ** attempt, 30.0))
        raise GitHubUnreachable("GET", what, "no answer")

    def _get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self._request("GET", path, params=params).json()

    # -- repository, workflow, files --------------------------------------------------------------

    def authenticated_login(self) -> str:
        """The login of the user the token belongs to (``GET /user``)."""
        return str(self._get("/user")["login"])

    def get_repo(self, repo: str) -> Repo:
        d = self._get(_repo_path(repo))
        return Repo(str(d["full_name"]), str(d["default_branch"]), str(d["html_url"]))

    def list_workflows(self, repo: str) -> list[Workflow]:
        """The workflows GitHub knows: those whose file is on the default branch."""
        d = self._get(f"{_repo_path(repo)}/actions/workflows", {"per_page": 100})
        return [Workflow(int(w["id"]), str(w["name"]), str(w["path"]), str(w["state"]), str(w["html_url"]))
                for w in d.get("workflows", [])]

    def get_workflow(self, repo: str, workflow: str | int) -> Workflow:
        """A workflow by file name (``deploy-prod.yml``) or id; 404 when it is not on the default branch."""
        d = self._get(f"{_repo_path(repo)}/actions/workflows/{quote(str(workflow), safe='')}")
        return Workflow(int(d["id"]), str(d["name"]), str(d["path"]), str(d["state"]), str(d["html_url"]))

    def get_file(self, repo: str, path: str, ref: str | None = None) -> str:
        params = {"ref": ref} if ref else None
        d = self._get(f"{_repo_path(repo)}/contents/{quote(path.lstrip('/'), safe='/')}", params)
        if not isinstance(d, dict) or d.get("type") != "file":
            raise GitHubRequestError("GET", f"{_repo_path(repo)}/contents/{path}", 422, f"{path} is not a file")
        return base64.b64decode(str(d["content"])).decode("utf-8")

    # -- secrets ------------------------------------------------------------------------------------

    def _secret_names(self, path: str) -> set[str]:
        names: set[str] = set()
        page = 1
        while True:
            d = self._get(path, {"per_page": 100, "page": page})
            batch = [str(s["name"]) for s in d.get("secrets", [])]
            names.update(batch)
            if len(names) >= int(d.get("total_count", 0)) or len(batch) < 100:
                return names
            page += 1

    def list_repo_secrets(self, repo: str) -> set[str]:
        return self._secret_names(f"{_repo_path(repo)}/actions/secrets")

    def list_environment_secrets(self, repo: str, environment: str) -> set[str]:
        return self._secret_names(f"{_repo_path(repo)}/environments/{quote(environment, safe='')}/secrets")

    def _secrets_base(self, repo: str, environment: str | None) -> str:
        if environment:
            return f"{_repo_path(repo)}/environments/{quote(environment, safe='')}/secrets"
        return f"{_repo_path(repo)}/actions/secrets"

    def get_public_key(self, repo: str, environment: str | None = None) -> PublicKey:
        d = self._get(f"{self._secrets_base(repo, environment)}/public-key")
        return PublicKey(str(d["key_id"]), str(d["key"]))

    def put_secret(self, repo: str, name: str, value: str, *, environment: str | None = None) -> bool:
        """Create or update a secret, sealed with the repository's key; True when it was created."""
        self.redact.add(value)
        key = self.get_public_key(repo, environment)
        sealed = SealedBox(_NaclPublicKey(base64.b64decode(key.key))).encrypt(value.encode("utf-8"))
        body = {"encrypted_value": base64.b64encode(sealed).decode("ascii"), "key_id": key.key_id}
        response = self._request("PUT", f"{self._secrets_base(repo, environment)}/{quote(name, safe='')}",
                                 json=body, ok=(201, 204))
        log.info("GitHub secret %s %s in %s%s", name, "created" if response.status_code == 201 else "updated", repo,
                 f" (environment {environment})" if environment else "")
        return response.status_code == 201

    # -- refs and tags ---------------------------------------------------------------------------------

    def get_ref(self, repo: str, ref: str) -> tuple[str, str] | None:
        """``(object type, sha)`` for ``tags/NAME`` or ``heads/NAME``; None when it does not exist."""
        try:
            d = self._get(f"{_repo_path(repo)}/git/ref/{quote(ref, safe='/')}")
        except GitHubRequestError as exc:
            if exc.status == 404:
                return None
            raise
        if isinstance(d, list):  # an old API answered a prefix match with a list
            d = next((r for r in d if r.get("ref") == f"refs/{ref}"), None)
            if d is None:
                return None
        return str(d["object"]["type"]), str(d["object"]["sha"])

    def get_tag(self, repo: str, tag: str) -> Tag | None:
        found = self.get_ref(repo, f"tags/{tag}")
        if found is None:
            return None
        kind, sha = found
        if kind != "tag":
            return Tag(tag, sha, None, None)
        d = self._get(f"{_repo_path(repo)}/git/tags/{sha}")
        return Tag(tag, str(d["object"]["sha"]), sha, d.get("message"))

    def list_tags(self, repo: str, *, max_pages: int = 50) -> list[tuple[str, str]]:
        """Every tag of ``repo`` as ``(name, commit sha)`` (``GET /repos/{owner}/{repo}/tags``, all pages: GitHub
        documents no order, so the caller orders them)."""
        out: list[tuple[str, str]] = []
        for page in range(1, max_pages + 1):
            response = self._request("GET", f"{_repo_path(repo)}/tags", params={"per_page": 100, "page": page})
            batch = response.json()
            out += [(str(t["name"]), str(t["commit"]["sha"])) for t in batch]
            if len(batch) < 100 or 'rel="next"' not in response.headers.get("link", ""):
                return out
        raise GitHubRequestError("GET", f"{_repo_path(repo)}/tags", 422,
                                 f"more than {max_pages * 100} tags: name the undo's tag in the plan (undo: {{tag: ...}})")

    def resolve_commit(self, repo: str, ref: str) -> str:
        """The commit sha a branch, tag or sha names."""
        d = self._get(f"{_repo_path(repo)}/commits/{quote(ref, safe='')}")
        return str(d["sha"])

    def create_annotated_tag(self, repo: str, tag: str, sha: str, message: str,
                             tagger: Mapping[str, str] | None = None) -> TagResult:
        """The release tag on ``sha``: created, or already there on it; ``TagConflict`` when it is on another commit."""
        existing = self.get_tag(repo, tag)
        if existing is not None:
            if existing.commit != sha:
                raise TagConflict(repo, tag, existing.commit, sha)
            return TagResult(existing, created=False)
        body: dict[str, Any] = {"tag": tag, "message": message, "object": sha, "type": "commit"}
        if tagger:
            body["tagger"] = {**tagger, "date": self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")}
        for _ in range(2):
            try:
                # A lost answer here leaves at most an unreferenced tag object, which nothing sees.
                obj = self._request("POST", f"{_repo_path(repo)}/git/tags", json=body, ok=(201,), unsafe=True).json()
            except _LostAnswer:
                continue
            break
        else:
            raise GitHubUnreachable("POST", f"{_repo_path(repo)}/git/tags", "no answer twice")
        ref_body = {"ref": f"refs/tags/{tag}", "sha": obj["sha"]}
        for _ in range(self.max_attempts):
            try:
                self._request("POST", f"{_repo_path(repo)}/git/refs", json=ref_body, ok=(201,), unsafe=True)
            except _LostAnswer:
                pass
            except GitHubRequestError as exc:
                if exc.status != 422:
                    raise
            now = self.get_tag(repo, tag)  # created by us, by the lost call, or by someone racing us
            if now is not None:
                if now.commit != sha:
                    raise TagConflict(repo, tag, now.commit, sha)
                return TagResult(now, created=now.tag_sha == obj["sha"])
        raise GitHubUnreachable("POST", f"{_repo_path(repo)}/git/refs", f"could not create tag {tag}")

    # -- workflow runs ------------------------------------------------------------------------------------

    def dispatch_workflow(self, repo: str, workflow: str | int, ref: str, inputs: Mapping[str, str] | None = None,
                          *, correlation: str | None = None, since: datetime | None = None) -> Dispatch:
        """Start a ``workflow_dispatch`` run and learn its id.

        ``correlation`` is a value among ``inputs`` that the workflow echoes in its run name; it is how the
        run is found when the API does not return its id, and after a lost answer (then nothing is posted
        again if the run exists). Without it, a lost answer is not retried.
        """
        path = f"{_repo_path(repo)}/actions/workflows/{quote(str(workflow), safe='')}/dispatches"
        since = since or self.clock.now()
        body: dict[str, Any] = {"ref": ref, "inputs": dict(inputs or {}), "return_run_details": True}
        for _ in range(2):  # the second time only without return_run_details, which the server refused
            try:
                response = self._request("POST", path, json=body, ok=(200, 204), unsafe=True)
            except _LostAnswer as lost:
                found = None
                if correlation is not None:
                    found = self.find_dispatched_run(repo, workflow, since=since, correlation=correlation, wait=True)
                if found is not None:
                    return Dispatch(found.id, found.html_url, "found-after-lost-answer")
                raise DispatchInDoubt("POST", path, f"{lost}: the run may exist, so golive does not dispatch again "
                                      "before it has looked for it") from None
            except GitHubRequestError as exc:
                if exc.status in (400, 422) and "return_run_details" in exc.reason and "return_run_details" in body:
                    body = {k: v for k, v in body.items() if k != "return_run_details"}
                    continue
                raise
            if response.status_code == 200 and response.content:
                d = response.json()
                if d.get("workflow_run_id") is not None:
                    return Dispatch(int(d["workflow_run_id"]), d.get("html_url"), "returned")
            if correlation is None:
                raise DispatchInDoubt("POST", path, "dispatched, but the API did not return the run id and no "
                                      "correlation input was given")
            found = self.find_dispatched_run(repo, workflow, since=since, correlation=correlation, wait=True)
            if found is None:
                raise DispatchInDoubt("POST", path, f"dispatched, but no run named with {correlation} appeared")
            return Dispatch(found.id, found.html_url, "listed")
        raise GitHubRequestError("POST", path, 422, "the dispatch was refused with and without return_run_details")

    def list_workflow_runs(self, repo: str, workflow: str | int, *, since: datetime | None = None,
                           event: str | None = "workflow_dispatch", branch: str | None = None) -> list[Run]:
        params: dict[str, Any] = {"per_page": 100}
        if event:
            params["event"] = event
        if branch:
            params["branch"] = branch
        if since is not None:
            # A little earlier than asked: the server's clock and ours may differ.
            params["created"] = ">=" + (since - CLOCK_SKEW).strftime("%Y-%m-%dT%H:%M:%SZ")
        d = self._get(f"{_repo_path(repo)}/actions/workflows/{quote(str(workflow), safe='')}/runs", params)
        return [Run.from_api(r) for r in d.get("workflow_runs", [])]

    def find_dispatched_run(self, repo: str, workflow: str | int, *, since: datetime, correlation: str,
                            wait: bool = False, branch: str | None = None) -> Run | None:
        """The dispatch run whose name shows ``correlation``; with ``wait``, looks a few times (runs appear late)."""
        for attempt in range(self.find_attempts if wait else 1):
            if attempt:
                self._sleep(self.find_interval)
            for run in self.list_workflow_runs(repo, workflow, since=since, branch=branch):
                if correlation in run.display_title or correlation in (run.name or ""):
                    return run
        return None

    def get_run(self, repo: str, run_id: int) -> Run:
        return Run.from_api(self._get(f"{_repo_path(repo)}/actions/runs/{int(run_id)}"))

    def list_run_jobs(self, repo: str, run_id: int) -> list[Job]:
        d = self._get(f"{_repo_path(repo)}/actions/runs/{int(run_id)}/jobs", {"per_page": 100})
        return [Job.from_api(j) for j in d.get("jobs", [])]

    def list_run_artifacts(self, repo: str, run_id: int, name: str | None = None) -> list[Artifact]:
        """A run's artifacts (``GET .../actions/runs/{run_id}/artifacts``), only those called ``name`` if given."""
        params: dict[str, Any] = {"per_page": 100}
        if name is not None:
            params["name"] = name
        d = self._get(f"{_repo_path(repo)}/actions/runs/{int(run_id)}/artifacts", params)
        return [Artifact.from_api(a) for a in d.get("artifacts", [])]

    def download_artifact(self, repo: str, artifact_id: int) -> bytes:
        """An artifact's zip archive: ``GET .../actions/artifacts/{artifact_id}/zip`` answers 302 with a short-lived
        ``Location``, which is fetched without the token (410: the artifact expired)."""
        path = f"{_repo_path(repo)}/actions/artifacts/{int(artifact_id)}/zip"
        response = self._request("GET", path, ok=(302,))
        location = response.headers.get("location")
        if not location:
            raise GitHubRequestError("GET", path, 302, "the redirect named no Location")
        return self._download(str(httpx.URL(self.base_url).join(location)), path)

    def cancel_run(self, repo: str, run_id: int) -> bool:
        """Ask GitHub to cancel a run; False when it had already completed (409)."""
        try:
            self._request("POST", f"{_repo_path(repo)}/actions/runs/{int(run_id)}/cancel", ok=(202,))
        except GitHubRequestError as exc:
            if exc.status == 409:
                return False
            raise
        return True
