"""The status page and its JSON API, served beside the printer on the same port.

Every route goes through :func:`guard`: it finds the session, refuses anonymous users
(a redirect to the login form for pages, 401 for the API), refuses clerks where only
admins may go, checks the Origin and the CSRF token of every state-changing request,
turns :class:`HttpError` into a page or a JSON error, and adds the security headers.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

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
from connect_core.invoices.attachment_rules import MAX_BYTES
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
               on_settings: list[Callable[[Config], None]] | None = None,
               certificate: Callable[[], dict[str, Any]] | None = None,
               printer_schemes: tuple[str, ...] = ("ipp",)) -> Starlette:
    """The status page app: every view, the JSON API with ``/openapi.json``, and the printer's icons."""
    site = Site(config, db, spool, printer_name, printer_path, intake, pipeline,
                on_settings if on_settings is not None else [], certificate, printer_schemes)
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
                     middleware=[Middleware(SecurityHeaders), Middleware(BodyLimit, site=site)])


FORM_LIMIT = 1024 * 1024
"""The most a form or an API call may send (Starlette keeps each form field up to 1 MiB in memory anyway)."""
UPLOAD_LIMIT = MAX_BYTES + 256 * 1024
"""*Add attachment*: the largest file an attachment may be, plus its type, note, token and the multipart framing.
A file a little larger still reaches the page, which says how large an attachment may be."""
UPLOAD_PATH = re.compile(r"/invoices/[^/]+/attachments")
DRAIN_LIMIT = 64 * 1024 * 1024
"""A refused body up to this size is read (and dropped) before the answer, so that the browser, still sending,
gets the page that says why rather than a reset connection; a larger one is answered at once."""


class BodyTooLarge(Exception):
    """A request body went past its limit while it was read."""


class BodyLimit:
    """Refuses a body larger than its route takes (413, in words) before it is read, or as soon as it passes.

    Nothing else bounds what a browser or script may post to the pages (``ipp/asgi.py`` hands every request
    but the printer's own to this app untouched, and Starlette spools uploaded files to disk without a limit).
    The rest of a refused body is read and dropped, never kept (up to :data:`DRAIN_LIMIT`), so the client hears
    why instead of seeing its connection reset in the middle of sending.
    """

    def __init__(self, app: ASGIApp, site: Site) -> None:
        self.app = app
        self.site = site

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in UNSAFE:
            await self.app(scope, receive, send)
            return
        upload = UPLOAD_PATH.fullmatch(scope["path"]) is not None
        limit = UPLOAD_LIMIT if upload else FORM_LIMIT
        header = next((value for name, value in scope["headers"] if name == b"content-length"), None)
        declared = int(header) if header is not None and header.isdigit() else None
        if header is not None and (declared is None or declared > limit):
            if declared is not None and declared <= DRAIN_LIMIT:
                await self._drain(receive, 0)
            await self._refuse(scope, receive, send, upload, limit)
            return
        seen = 0
        ended = False
        started = False

        async def limited() -> Message:
            nonlocal seen, ended
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                ended = not message.get("more_body", False)
                if seen > limit:
                    raise BodyTooLarge()
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, watched)
        except BodyTooLarge:
            if started:
                raise
            if not ended:
                await self._drain(receive, seen)
            await self._refuse(scope, receive, send, upload, limit)

    async def _drain(self, receive: Receive, seen: int) -> None:
        """Read the rest of a refused body and drop it (up to :data:`DRAIN_LIMIT`, while the client keeps sending)."""
        idle = self.site.config.limits.idle_timeout
        while seen <= DRAIN_LIMIT:
            try:
                message = await asyncio.wait_for(receive(), idle)
            except TimeoutError:
                return
            if message["type"] != "http.request":
                return
            seen += len(message.get("body", b""))
            if not message.get("more_body", False):
                return

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, upload: bool, limit: int) -> None:
        if upload:
            message = (f"The file is larger than an attachment may be: at most {MAX_BYTES:,} bytes (5 MB). "
                       "Make it smaller (e.g. scan at a lower resolution) or split it.")
        else:
            message = f"This request is larger than the {limit:,} bytes a form may send."
        request = Request(scope)
        response = _secured(_error(self.site, request, 413, message, scope["path"].startswith("/api/")))
        response.headers["Connection"] = "close"  # the rest of the body is never read
        await response(scope, receive, send)


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
