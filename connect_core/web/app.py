"""The web app served beside the printer on the same port."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from connect_core.intake import job_info
from connect_core.store import Database, print_jobs
from connect_core.web.icons import SIZES, icon_png

templates = Environment(loader=PackageLoader("connect_core.web", "templates"), autoescape=select_autoescape())

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def create_app(db: Database, printer_name: str, printer_path: str = "/ipp/print") -> Starlette:
    """The status page app: a list of received print jobs and the printer's icons."""

    async def home(request: Request) -> Response:
        with db.reader.connect() as conn:
            rows = conn.execute(select(print_jobs).order_by(print_jobs.c.id.desc()).limit(100)).fetchall()
        host = request.headers.get("host", "localhost")
        html = templates.get_template("home.html").render(
            printer_name=printer_name,
            printer_uri=f"ipp://{host}{printer_path}",
            jobs=[job_info(row) for row in rows],
        )
        return HTMLResponse(html, headers=SECURITY_HEADERS)

    async def icon(request: Request) -> Response:
        try:
            size = int(request.path_params["size"])
        except ValueError:
            size = 0
        if size not in SIZES:
            return Response("no such icon\n", status_code=404, media_type="text/plain")
        return Response(icon_png(size), media_type="image/png", headers={"Cache-Control": "max-age=86400"})

    return Starlette(routes=[Route("/", home), Route("/printer-icons/{size}.png", icon)])
