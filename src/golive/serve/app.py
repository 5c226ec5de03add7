"""The Starlette application behind ``golive serve``: pages, JSON views, the event stream, actions, metrics.

Reads go through ``golive.serve.records``; actions through
``golive.serve.actions``; this module only speaks HTTP: who is asking
(session cookie or bearer token), whether they may (reads open on a
loopback-only server, closed otherwise; actions always need a login and a
CSRF token), and the answer's shape.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from golive.clock import Clock
from golive.errors import GoliveError, UsageError
from golive.plan.model import Plan
from golive.serve import records
from golive.serve.actions import Actor, Forbidden, perform
from golive.serve.auth import Session, Sessions, User, Users, csrf_ok
from golive.serve.metrics import registry_for
from golive.serve.page import ASSETS, MEDIA
from golive.store.store import Store, finite

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
    poll_seconds: float = 0.5


def create_app(config: ServeConfig) -> Starlette:
    sessions = Sessions()
    registry = registry_for(config.store)

    def who(request: Request) -> tuple[User | None, Session | None]:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return config.users.by_token(auth[7:].strip()), None
        session = sessions.get(request.cookies.get(COOKIE))
        return (session.user, session) if session else (None, None)

    def source(request: Request) -> str:
        forwarded = request.headers.get("x-forwarded-for")
        if config.trust_proxy and forwarded:
            return forwarded.split(",")[0].strip()
        return request.client.host if request.client else "unknown"

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
        view = records.release_view(config.store, config.plan, name,
                                    records.recorded_now(config.store, name, config.clock.now()))
        return Response(json.dumps(finite(view), default=str), media_type="application/json", headers=_HEADERS)

    def me(request: Request) -> Response:
        user, session = who(request)
        return JSONResponse({"user": user.name if user else None, "roles": sorted(user.roles) if user else [],
                             "csrf": session.csrf if session else None}, headers=_HEADERS)

    async def login(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "send JSON: {\"user\": ..., \"password\": ...}"}, status_code=400)
        user = await run_in_threadpool(config.users.login, str(body.get("user", "")), str(body.get("password", "")))
        if user is None:
            return JSONResponse({"error": "unknown user or wrong password"}, status_code=401, headers=_HEADERS)
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
            body: Any = await request.json()
        except ValueError:
            return JSONResponse({"error": "send the action's fields as JSON"}, status_code=400, headers=_HEADERS)
        if not isinstance(body, dict):
            return JSONResponse({"error": "send the action's fields as a JSON object"}, status_code=400)
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

        async def events() -> AsyncIterator[str]:
            yield "retry: 1000\n\n"
            last = -1
            while not await request.is_disconnected():
                current = await run_in_threadpool(records.latest_event_id, config.store)
                if current != last:
                    last = current
                    yield f"id: {current}\ndata: {json.dumps({'cursor': current})}\n\n"
                await asyncio.sleep(config.poll_seconds)

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={**_HEADERS, "X-Accel-Buffering": "no"})

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
    return Starlette(routes=routes)
