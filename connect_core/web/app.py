"""The status page and its JSON API, served beside the printer on the same port.

Every route goes through :func:`guard`: it finds the session, refuses anonymous users
(a redirect to the login form for pages, 401 for the API), refuses clerks where only
admins may go, checks the Origin and the CSRF token of every state-changing request,
turns :class:`HttpError` into a page or a JSON error, and adds the security headers.
"""

from __future__ import annotations

import logging
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connect_core.accounts.sessions import Session
from connect_core.config import Config
from connect_core.intake.sink import PrintIntake
from connect_core.intake.spool import Spool
from connect_core.pipeline.worker import Pipeline
from connect_core.store import Database
from connect_core.web import api, pages
from connect_core.web.icons import SIZES, icon_png
from connect_core.web.security import SECURITY_HEADERS, UNSAFE, check_origin, check_token, current_session
from connect_core.web.site import Site
from connect_core.web.views import HttpError

log = logging.getLogger("connect_core.web")

STATIC = Path(__file__).with_name("static")

Handler = Callable[[Site, Request, Session | None], Awaitable[Response]]


def guard(site: Site, handler: Handler, *, access: str, json: bool, csrf: bool = True) -> Callable:
    """Wrap ``handler`` with the checks every route needs (see the module docstring).

    ``access`` is ``"public"``, ``"user"`` or ``"admin"``; ``csrf=False`` only for the login
    form, which checks its own pre-session token.
    """

    async def endpoint(request: Request) -> Response:
        started = time.perf_counter()
        try:
            check_origin(request)
            session = await current_session(site, request)
            if access != "public" and session is None:
                if json:
                    raise HttpError(401, "Log in first.")
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return _secured(RedirectResponse("/login?" + urllib.parse.urlencode({"next": target}), 303))
            if access == "admin" and session is not None and not session.user.admin:
                raise HttpError(403, "Only an admin can see and change this.")
            if request.method in UNSAFE and csrf:
                if session is None:
                    raise HttpError(403, "Log in first.")
                given = request.headers.get("x-csrf-token")
                if given is None and not json:
                    form = await request.form()
                    value = form.get("csrf")
                    given = value if isinstance(value, str) else None
                check_token(session.csrf, given)
            response = await handler(site, request, session)
        except HttpError as error:
            response = _error(site, request, error.status, error.message, json)
        # The time spent answering, for the browser's developer tools and for bench/bench_web.py.
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
        return _secured(response)

    return endpoint


def _secured(response: Response) -> Response:
    """An answer with data in it: never kept in a cache (security headers come from :class:`SecurityHeaders`)."""
    response.headers.setdefault("Cache-Control", "no-store")
    return response


METHOD_NOT_ALLOWED = "method-not-allowed"
"""The name of the routes that answer 405 to the methods a fixed API path does not have."""


def _method_not_allowed(site: Site, allowed: list[str]) -> Callable[[Request], Awaitable[Response]]:
    async def answer(request: Request) -> Response:
        response = _secured(_error(site, request, 405, "Not allowed here.", True))
        response.headers["Allow"] = ", ".join(allowed)
        return response
    return answer


def _error(site: Site, request: Request, status: int, message: str, json: bool) -> Response:
    if json:
        return JSONResponse({"error": message}, status_code=status)
    return pages.error_page(site, request, status, message)


def create_app(config: Config, db: Database, spool: Spool, printer_name: str, printer_path: str = "/ipp/print", *,
               intake: PrintIntake | None = None, pipeline: Pipeline | None = None,
               on_settings: list[Callable[[Config], None]] | None = None) -> Starlette:
    """The status page app: every view, the JSON API with ``/openapi.json``, and the printer's icons."""
    site = Site(config, db, spool, printer_name, printer_path, intake, pipeline,
                on_settings if on_settings is not None else [])
    routes: list[BaseRoute] = []
    for path, methods, handler, access, csrf in pages.ROUTES:
        routes.append(Route(path, guard(site, handler, access=access, json=False, csrf=csrf), methods=methods))
    # Fixed paths first, each followed by a route answering 405 to its other methods: otherwise
    # GET /api/invoices/send would be GET /api/invoices/{id} with the id "send" (a 404).
    by_path: dict[str, list[api.Operation]] = {}
    for operation in sorted(api.OPERATIONS, key=lambda o: "{" in o.path):
        by_path.setdefault(operation.path, []).append(operation)
    for path, operations in by_path.items():
        for operation in operations:
            routes.append(Route(path, guard(site, operation.handler, access=operation.access, json=True),
                                methods=[operation.method]))
        allowed = sorted({operation.method for operation in operations})
        routes.append(Route(path, _method_not_allowed(site, allowed), name=METHOD_NOT_ALLOWED,
                            methods=[m for m in ("GET", "POST", "PUT", "PATCH", "DELETE") if m not in allowed]))

    async def openapi(request: Request) -> Response:
        return _secured(JSONResponse(api.openapi_document(printer_name)))

    async def icon(request: Request) -> Response:
        try:
            size = int(request.path_params["size"])
        except ValueError:
            size = 0
        if size not in SIZES:
            return Response("no such icon\n", status_code=404, media_type="text/plain")
        return Response(icon_png(size), media_type="image/png", headers={"Cache-Control": "max-age=86400"})

    routes += [
        Route("/openapi.json", openapi),
        Route("/printer-icons/{size}.png", icon),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        message = "No such page." if status == 404 else "Not allowed here."
        json = request.url.path.startswith("/api/")
        return _secured(_error(site, request, status, message, json))

    return Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found},
                     middleware=[Middleware(SecurityHeaders)])


class SecurityHeaders:
    """Adds the security headers to every answer, static files and icons included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_secured)
