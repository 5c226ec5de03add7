"""The Starlette application behind ``golive serve``: pages, JSON views, the event stream, actions, metrics.

Reads go through ``golive.serve.records``; actions through
``golive.serve.actions``; this module only speaks HTTP: who is asking
(session cookie or bearer token), whether they may (reads open on a
loopback-only server, closed otherwise; actions always need a login and a
CSRF token), how often and how much (``golive.serve.limits``; hosts and body
sizes are refused at the door, ``golive.serve.guard``), and the answer's
shape.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from golive.clock import Clock
from golive.errors import GoliveError, UsageError
from golive.plan.model import Plan
from golive.serve import records
from golive.serve.actions import Actor, Forbidden, encodable, perform
from golive.serve.auth import HashersBusy, HashPool, Session, Sessions, User, Users, csrf_ok
from golive.serve.guard import LOOPBACK_NAMES, Guard
from golive.serve.limits import Limits, LoginThrottle, StreamSlots, TooManyStreams
from golive.serve.metrics import registry_for
from golive.serve.page import ASSETS, MEDIA
from golive.store.store import Store, finite
from golive.textinput import TextRefused, check_title, load_json

PASSWORD_MAX = 1024

COOKIE = "golive_session"
_HEADERS = {"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


@dataclass
class ServeConfig:
    store: Store
    plan: Plan | None
    clock: Clock
    users: Users = field(default_factory=Users)
    open_reads: bool = True  # a loopback-only server: anyone who can reach it is on this machine
    secure_cookie: bool = False  # TLS (or a TLS-terminating proxy) in front
    trust_proxy: bool = False  # take the client address from X-Forwarded-For
    proxy_hops: int = 1  # trusted proxies in front: the client is this many entries from X-Forwarded-For's right
    hosts: frozenset[str] = frozenset(LOOPBACK_NAMES)  # Host names answered; anything else is 400
    limits: Limits = field(default_factory=Limits)
    poll_seconds: float = 0.5


def client_address(peer: str, forwarded: str | None, trust_proxy: bool, hops: int) -> str:
    """The address that reached the first trusted proxy: each proxy appends the address it saw to
    ``X-Forwarded-For``, so only the right-most ``hops`` entries are theirs; what is left of them the client
    wrote itself. A chain shorter than ``hops``, or an entry that is not an address, leaves the peer's."""
    if not trust_proxy or not forwarded:
        return peer
    entries = [e.strip() for e in forwarded[:2000].split(",")]
    if len(entries) < hops:
        return peer
    chosen = entries[-hops]
    try:
        return str(ipaddress.ip_address(chosen))
    except ValueError:
        return peer


def create_app(config: ServeConfig) -> ASGIApp:
    limits = config.limits
    sessions = Sessions(limits.session_idle, limits.session_max, limits.sessions_max)
    throttle = LoginThrottle(limits)
    hashers = HashPool(config.users, limits.hash_workers, limits.hash_queue)
    streams = StreamSlots(limits)
    registry = registry_for(config.store)

    def who(request: Request) -> tuple[User | None, Session | None]:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return config.users.by_token(auth[7:].strip()), None
        session = sessions.get(request.cookies.get(COOKIE))
        return (session.user, session) if session else (None, None)

    def source(request: Request) -> str:
        return client_address(request.client.host if request.client else "unknown",
                              request.headers.get("x-forwarded-for"), config.trust_proxy, config.proxy_hops)

    def may_read(request: Request) -> bool:
        return config.open_reads or who(request)[0] is not None

    def denied() -> JSONResponse:
        return JSONResponse({"error": "sign in to read this server's releases"}, status_code=401, headers=_HEADERS)

    def page(_request: Request) -> Response:
        return Response(ASSETS["index.html"], media_type=MEDIA["index.html"], headers=_HEADERS)

    def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ASSETS:
            return Response("not found", status_code=404)
        return Response(ASSETS[name], media_type=MEDIA[name], headers=_HEADERS)

    def releases(request: Request) -> Response:
        if not may_read(request):
            return denied()
        return JSONResponse({"releases": records.releases(config.store)}, headers=_HEADERS)

    def release(request: Request) -> Response:
        if not may_read(request):
            return denied()
        name = request.path_params["name"]
        try:
            check_title("release", name)
        except TextRefused as exc:
            return refused(400, str(exc))
        view = records.release_view(config.store, config.plan, name,
                                    records.recorded_now(config.store, name, config.clock.now()))
        trimmed = records.trim(finite(view), limits.text_in_view, limits.items_in_view)
        return Response(json.dumps(trimmed, default=str), media_type="application/json", headers=_HEADERS)

    async def me(request: Request) -> Response:  # answered on the event loop: no thread to wait for
        user, session = who(request)
        return JSONResponse({"user": user.name if user else None, "roles": sorted(user.roles) if user else [],
                             "csrf": session.csrf if session else None}, headers=_HEADERS)

    def refused(status: int, error: str, retry_after: int | None = None) -> JSONResponse:
        headers = {**_HEADERS, **({"Retry-After": str(retry_after)} if retry_after is not None else {})}
        return JSONResponse({"error": error}, status_code=status, headers=headers)

    async def login(request: Request) -> Response:
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            return refused(400, "send Content-Type: application/json")
        try:
            body = load_json("the login body", await request.body())
        except TextRefused as exc:
            return refused(400, str(exc))
        if not isinstance(body, dict) or not all(isinstance(body.get(k), str) for k in ("user", "password")):
            return refused(400, "send a JSON object: {\"user\": \"...\", \"password\": \"...\"}")
        name, password = body["user"], body["password"]
        try:
            check_title("user", encodable("user", name))
            encodable("password", password)
        except TextRefused as exc:
            return refused(400, str(exc))
        if len(password) > PASSWORD_MAX:
            return refused(400, f"password: at most {PASSWORD_MAX:,} characters are accepted")
        address = source(request)
        wait = throttle.begin(name, address)
        if wait:
            return refused(429, f"too many login attempts: wait {wait} s", retry_after=wait)
        try:
            user = await hashers.login(name, password)
        except HashersBusy:
            throttle.succeeded(name, address)  # not judged: it does not count against the name
            return refused(503, "too many logins at once: try again in a second", retry_after=1)
        if user is None:
            throttle.failed(name, address)
            return refused(401, "unknown user or wrong password")
        throttle.succeeded(name, address)
        session = sessions.open(user)
        response = JSONResponse({"user": user.name, "roles": sorted(user.roles), "csrf": session.csrf}, headers=_HEADERS)
        response.set_cookie(COOKIE, session.id, httponly=True, samesite="strict", secure=config.secure_cookie)
        return response

    def logout(request: Request) -> Response:
        sessions.close(request.cookies.get(COOKIE))
        response = JSONResponse({"user": None}, headers=_HEADERS)
        response.delete_cookie(COOKIE)
        return response

    async def action(request: Request) -> Response:
        user, session = who(request)
        if user is None:
            return JSONResponse({"error": "sign in first"}, status_code=401, headers=_HEADERS)
        if session is not None and not csrf_ok(session, request.headers.get("x-csrf-token")):
            return JSONResponse({"error": "missing or wrong CSRF token"}, status_code=403, headers=_HEADERS)
        if config.plan is None:
            return JSONResponse({"error": "this server has no plan: actions need one (-f plan)"}, status_code=409)
        try:
            body: Any = load_json("the action's body", await request.body())
        except TextRefused as exc:
            return refused(400, str(exc))
        if not isinstance(body, dict):
            return refused(400, "send the action's fields as a JSON object")
        actor = Actor(user, source(request))
        try:
            result = await run_in_threadpool(perform, config.store, config.plan, config.clock, actor,
                                             request.path_params["action"], body)
        except Forbidden as exc:
            return JSONResponse({"error": str(exc)}, status_code=403, headers=_HEADERS)
        except UsageError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400, headers=_HEADERS)
        except GoliveError as exc:
            return JSONResponse({"error": str(exc)}, status_code=409, headers=_HEADERS)
        return JSONResponse({"ok": True, **result}, headers=_HEADERS)

    async def stream(request: Request) -> Response:
        if not may_read(request):
            return denied()
        user = who(request)[0]
        holder = user.name if user else f"the address {source(request)}"
        try:
            streams.take(holder)
        except TooManyStreams as exc:
            return refused(429, str(exc), retry_after=30)
        held = [holder]

        def give_back() -> None:  # once: from the stream's end or, if it never began, after the response
            with contextlib.suppress(IndexError):
                streams.give_back(held.pop())  # list.pop is atomic: only one caller gets the holder

        async def events() -> AsyncIterator[str]:
            try:
                yield "retry: 1000\n\n"
                last = -1
                while not await request.is_disconnected():
                    current = await run_in_threadpool(records.latest_event_id, config.store)
                    if current != last:
                        last = current
                        yield f"id: {current}\ndata: {json.dumps({'cursor': current})}\n\n"
                    await asyncio.sleep(config.poll_seconds)
            finally:
                give_back()

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={**_HEADERS, "X-Accel-Buffering": "no"}, background=BackgroundTask(give_back))

    def metrics(request: Request) -> Response:
        if not may_read(request):
            return denied()
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    routes = [
        Route("/", page), Route("/assets/{name}", asset),
        Route("/api/releases", releases), Route("/api/release/{name}", release), Route("/api/me", me),
        Route("/api/stream", stream), Route("/metrics", metrics),
        Route("/login", login, methods=["POST"]), Route("/logout", logout, methods=["POST"]),
        Route("/api/actions/{action}", action, methods=["POST"]),
    ]
    def body_limit(path: str) -> int:
        if path == "/login":
            return limits.login_body
        return limits.action_body if path.startswith("/api/actions/") else limits.other_body

    return Guard(Starlette(routes=routes), config.hosts, body_limit)
