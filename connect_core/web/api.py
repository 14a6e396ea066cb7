"""The JSON API behind every view and action, and the OpenAPI document that describes it.

Each operation is declared once (:data:`OPERATIONS`): path, parameters, body and answer
schemas.  The document at ``/openapi.json`` is built from those declarations and the
same parameter declarations check every request, so the two cannot drift apart.
Calls use the page's session cookie; state-changing calls also send the session's
CSRF token in ``X-CSRF-Token`` (``GET /api/session`` returns it).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from connect_core.accounts.sessions import Session
from connect_core.accounts.users import ROLES, User, add_user, list_users, set_print_names
from connect_core.errors import ConnectError
from connect_core.pipeline.correct import FIELDS as CORRECTABLE_FIELDS
from connect_core.pipeline.correct import MAX_TEXT
from connect_core.settings import FIELDS, save_settings, visible_settings
from connect_core.web import pages
from connect_core.web.api_schemas import SCHEMAS
from connect_core.web.site import Site
from connect_core.web.views import (
    ENVIRONMENTS,
    LIST_PARAMS,
    MAX_ID,
    FieldProblem,
    HttpError,
    Param,
    parse_query,
    user_error,
)

Handler = Callable[[Site, Request, Session | None], Awaitable[Response]]

MAX_BODY = 64 * 1024

# -- operations --------------------------------------------------------------------------------

ID = Param("id", "integer", "the invoice's id", minimum=1, maximum=MAX_ID)
USER_NAME = Param("name", "string", "a user name", max_length=64)
LAYOUT_NAME = Param("name", "string", "a layout's name (as `GET /api/layouts` lists it)", max_length=200)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    handler: Handler
    summary: str
    access: str = "user"
    query: tuple[Param, ...] = ()
    path_params: tuple[Param, ...] = ()
    body: str | None = None
    answer: str | None = None
    answer_status: int = 200
    media: str = "application/json"
    errors: tuple[int, ...] = field(default=())


def _json(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status)


def _path_value(request: Request, param: Param) -> Any:
    raw = request.path_params[param.name]
    try:
        return param.parse(raw)
    except HttpError as error:
        raise HttpError(404 if param in (ID, LAYOUT_NAME) else 400, error.message) from error


async def _body(request: Request) -> dict[str, Any]:
    """The request's JSON object; 400 for anything else."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise HttpError(415, "Send the body as application/json.")
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise HttpError(413, "The body is too large.")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise HttpError(400, "The body is not valid JSON.") from error
    if not isinstance(data, dict):
        raise HttpError(400, "The body must be a JSON object.")
    return data


def _only(data: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise HttpError(400, f"unknown field: {', '.join(unknown)}")


def _text(data: dict[str, Any], key: str, *, limit: int, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise HttpError(400, f"{key}: required")
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise HttpError(400, f"{key}: text of at most {limit} characters")
    return value


def _names(data: dict[str, Any], key: str, *, required: bool) -> list[str]:
    value = data.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list) or len(value) > 50 or not all(isinstance(v, str) and len(v) <= 255 for v in value):
        raise HttpError(400, f"{key}: a list of at most 50 names")
    return value


def _user_json(user: User) -> dict[str, Any]:
    return {"name": user.name, "role": user.role, "print_names": list(user.print_names)}


def _actor(session: Session | None) -> Any:
    assert session is not None
    return session.user.actor()


# -- handlers ----------------------------------------------------------------------------------


async def get_session(site: Site, request: Request, session: Session | None) -> Response:
    assert session is not None
    return _json({"user": session.user.name, "role": session.user.role, "print_names": list(session.user.print_names),
                  "csrf_token": session.csrf})


async def get_status(site: Site, request: Request, session: Session | None) -> Response:
    return _json(await asyncio.to_thread(site.status, _actor(session)))


async def get_invoices(site: Site, request: Request, session: Session | None) -> Response:
    from connect_core.web.views import invoice_list

    values = parse_query(LIST_PARAMS, request.query_params)
    listing = await asyncio.to_thread(invoice_list, site, _actor(session), values)
    return _json({**listing, "items": [invoice.to_json() for invoice in listing["items"]]})


async def get_invoice_detail(site: Site, request: Request, session: Session | None) -> Response:
    from connect_core.web.views import invoice_detail

    detail = await asyncio.to_thread(invoice_detail, site, _actor(session), _path_value(request, ID))
    return _json(detail.to_json())


async def get_history(site: Site, request: Request, session: Session | None) -> Response:
    from connect_core.web.views import invoice_detail

    detail = await asyncio.to_thread(invoice_detail, site, _actor(session), _path_value(request, ID))
    return _json({"items": [event.to_json() for event in detail.history]})


async def get_pdf(site: Site, request: Request, session: Session | None) -> Response:
    _path_value(request, ID)
    return await pages.invoice_pdf_file(site, request, session)


async def post_send(site: Site, request: Request, session: Session | None) -> Response:
    from connect_core.web.views import send_invoices

    data = await _body(request)
    _only(data, ("ids", "environment"))
    environment = data.get("environment")
    if environment not in ENVIRONMENTS:
        raise HttpError(400, f"environment: one of {', '.join(ENVIRONMENTS)}")
    ids = data.get("ids")
    if ids is not None and (not isinstance(ids, list) or len(ids) > 1000 or not all(
            isinstance(i, int) and not isinstance(i, bool) and 1 <= i <= MAX_ID for i in ids)):
        raise HttpError(400, "ids: a list of invoice ids, or null for all")
    queued = await asyncio.to_thread(send_invoices, site, _actor(session), ids, str(environment))
    return _json({"queued": queued})


def _action(action: str) -> Handler:
    async def handler(site: Site, request: Request, session: Session | None) -> Response:
        from connect_core.web.views import act

        invoice_id = _path_value(request, ID)
        confirm = False
        if action == "resend":
            data = await _body(request) if await request.body() else {}
            _only(data, ("confirm",))
            value = data.get("confirm", False)
            if not isinstance(value, bool):
                raise HttpError(400, "confirm: true or false")
            confirm = value
        return _json(await asyncio.to_thread(act, site, _actor(session), invoice_id, action, confirm=confirm))
    return handler


def _correction_values(data: dict[str, Any]) -> dict[str, str]:
    values = data.get("values")
    if not isinstance(values, dict):
        raise FieldProblem("values", "values: an object of the fields to correct")
    for name, value in values.items():
        if name not in CORRECTABLE_FIELDS:
            raise FieldProblem(name, f"{name}: not a field that can be corrected "
                                     f"(one of {', '.join(CORRECTABLE_FIELDS)})")
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise FieldProblem(name, f"{name}: text of at most {MAX_TEXT} characters")
    return values


async def post_correct(site: Site, request: Request, session: Session | None) -> Response:
    """Correct an invoice's fields (``values``: only those to change) and learn its layout unless ``learn`` is false."""
    from connect_core.web.views import correct

    invoice_id = _path_value(request, ID)
    data = await _body(request)
    _only(data, ("values", "learn"))
    learn = data.get("learn", True)
    if not isinstance(learn, bool):
        raise HttpError(400, "learn: true or false")
    try:
        values = _correction_values(data)
        done = await asyncio.to_thread(correct, site, _actor(session), invoice_id, values, learn=learn)
    except FieldProblem as problem:
        return _json({"error": problem.message, "field": problem.field}, 400)
    return _json(done.to_json())


async def get_layouts(site: Site, request: Request, session: Session | None) -> Response:
    from connect_core.web.views import layouts

    return _json({"items": [layout.to_json() for layout in await asyncio.to_thread(layouts, site)]})


async def post_layout_rename(site: Site, request: Request, session: Session | None) -> Response:
    from connect_core.web.views import rename_layout

    name = _path_value(request, LAYOUT_NAME)
    data = await _body(request)
    _only(data, ("name",))
    new_name = _text(data, "name", limit=200, required=True)
    layout = await asyncio.to_thread(rename_layout, site, _actor(session), name, str(new_name))
    return _json(layout.to_json())


async def delete_layout(site: Site, request: Request, session: Session | None) -> Response:
    from connect_core.web.views import delete_layout as delete

    name = _path_value(request, LAYOUT_NAME)
    await asyncio.to_thread(delete, site, _actor(session), name)
    return _json({"deleted": name})


async def get_settings(site: Site, request: Request, session: Session | None) -> Response:
    return _json(visible_settings(site.config))


async def put_settings(site: Site, request: Request, session: Session | None) -> Response:
    data = await _body(request)
    _only(data, tuple(FIELDS))
    changes = {FIELDS[name]: _text(data, name, limit=2000) for name in data}
    try:
        config, changed = await asyncio.to_thread(save_settings, site.config, changes)
    except ConnectError as error:
        raise user_error(error) from error
    if changed:
        site.apply(config)
    return _json(visible_settings(site.config))


async def post_test_connection(site: Site, request: Request, session: Session | None) -> Response:
    return _json(await asyncio.to_thread(site.check_online))


async def get_users(site: Site, request: Request, session: Session | None) -> Response:
    return _json({"items": [_user_json(u) for u in await asyncio.to_thread(list_users, site.db)]})


async def post_user(site: Site, request: Request, session: Session | None) -> Response:
    data = await _body(request)
    _only(data, ("name", "password", "role", "print_names"))
    name = _text(data, "name", limit=64, required=True)
    password = _text(data, "password", limit=1000, required=True)
    role = data.get("role")
    if role not in ROLES:
        raise HttpError(400, f"role: one of {', '.join(ROLES)}")
    names = _names(data, "print_names", required=False)
    try:
        user = await asyncio.to_thread(add_user, site.db, str(name), str(password), role=str(role), print_names=names)
    except ConnectError as error:
        raise user_error(error) from error
    return _json(_user_json(user), 201)


async def put_print_names(site: Site, request: Request, session: Session | None) -> Response:
    name = _path_value(request, USER_NAME)
    data = await _body(request)
    _only(data, ("print_names",))
    names = _names(data, "print_names", required=True)
    try:
        user = await asyncio.to_thread(set_print_names, site.db, name, names)
    except ConnectError as error:
        raise HttpError(404 if "no user" in str(error) else 400, str(error)) from error
    return _json(_user_json(user))


OPERATIONS: tuple[Operation, ...] = (
    Operation("GET", "/api/session", get_session, "who is logged in, and the CSRF token for changes",
              answer="Session"),
    Operation("GET", "/api/status", get_status, "the header: printer ready, Online connected, counts; `version` "
              "changes when a view may show something new (poll it for live updates)", answer="Status"),
    Operation("GET", "/api/invoices", get_invoices, "a page of outbound invoices (Files to send, Sent invoices, "
              "Needs attention, Search)", query=LIST_PARAMS, answer="InvoiceList", errors=(400,)),
    Operation("GET", "/api/invoices/{id}", get_invoice_detail, "one invoice: fields with source, print job, "
              "history, actions", path_params=(ID,), answer="InvoiceDetail", errors=(404,)),
    Operation("GET", "/api/invoices/{id}/history", get_history, "an invoice's whole history", path_params=(ID,),
              answer="History", errors=(404,)),
    Operation("GET", "/api/invoices/{id}/pdf", get_pdf, "the invoice's PDF (View presentation)",
              path_params=(ID,), media="application/pdf", errors=(404,)),
    Operation("POST", "/api/invoices/send", post_send, "Send (or Send all) from Files to send", body="SendRequest",
              answer="SendResult", errors=(400, 403, 404, 409, 413, 415)),
    Operation("POST", "/api/invoices/{id}/approve", _action("approve"), "approve a possible duplicate (or an "
              "invoice held by a check)", path_params=(ID,), answer="ActionResult", errors=(403, 404, 409)),
    Operation("POST", "/api/invoices/{id}/resend", _action("resend"), "send again after the cause was fixed",
              path_params=(ID,), body="ResendRequest", answer="ActionResult",
              errors=(400, 403, 404, 409, 413, 415)),
    Operation("POST", "/api/invoices/{id}/restart", _action("restart"), "restart a file stopped in Error at "
              "Pagero Online", path_params=(ID,), answer="ActionResult", errors=(403, 404, 409, 502)),
    Operation("DELETE", "/api/invoices/{id}", _action("delete"), "delete an invoice (it is never sent)",
              path_params=(ID,), answer="ActionResult", errors=(403, 404, 409)),
    Operation("POST", "/api/invoices/{id}/correct", post_correct, "correct an invoice's fields (those given) and "
              "learn its layout unless `learn` is false; a wrong value is a 400 naming its `field`",
              path_params=(ID,), body="CorrectionRequest", answer="Correction", errors=(400, 403, 404, 409, 413, 415)),
    Operation("GET", "/api/layouts", get_layouts, "the layouts the reader uses, learned or written by hand "
              "(admins)", access="admin", answer="LayoutList", errors=(403,)),
    Operation("POST", "/api/layouts/{name}/rename", post_layout_rename, "give a layout another name (admins)",
              access="admin", path_params=(LAYOUT_NAME,), body="LayoutRename", answer="Layout",
              errors=(400, 403, 404, 409, 413, 415)),
    Operation("DELETE", "/api/layouts/{name}", delete_layout, "delete a layout; the invoices it read keep their "
              "values (admins)", access="admin", path_params=(LAYOUT_NAME,), answer="LayoutDeleted",
              errors=(403, 404)),
    Operation("GET", "/api/settings", get_settings, "sending mode and Online account (the password never)",
              access="admin", answer="Settings", errors=(403,)),
    Operation("PUT", "/api/settings", put_settings, "change settings (admins)", access="admin",
              body="SettingsChange", answer="Settings", errors=(400, 403, 409, 413, 415)),
    Operation("POST", "/api/settings/test-connection", post_test_connection, "Test connection to Pagero Online",
              access="admin", answer="Connection", errors=(403,)),
    Operation("GET", "/api/users", get_users, "the status page's users", access="admin", answer="UserList",
              errors=(403,)),
    Operation("POST", "/api/users", post_user, "add a user", access="admin", body="NewUser", answer="User",
              answer_status=201, errors=(400, 403, 413, 415)),
    Operation("PUT", "/api/users/{name}/print-names", put_print_names, "set the IPP user names whose invoices a "
              "user sees", access="admin", path_params=(USER_NAME,), body="PrintNames", answer="User",
              errors=(400, 403, 404, 413, 415)),
)

ERROR_WORDS = {400: "the request is not valid", 401: "not logged in", 403: "not allowed (or a missing CSRF token)",
               404: "no such invoice, user or layout (or not yours)",
               409: "the invoice's state does not allow it (or the name is taken)",
               413: "body too large", 415: "not JSON", 502: "Pagero Online failed"}


def _parameter(param: Param, where: str) -> dict[str, Any]:
    schema = {k: v for k, v in param.schema().items() if v is not None}
    return {"name": param.name, "in": where, "required": where == "path", "description": param.description,
            "schema": schema}


def openapi_document(printer_name: str) -> dict[str, Any]:
    """The OpenAPI 3.1 description of :data:`OPERATIONS`."""
    paths: dict[str, Any] = {}
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for op in OPERATIONS:
        responses: dict[str, Any] = {}
        if op.media == "application/json":
            responses[str(op.answer_status)] = {"description": "done", "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{op.answer}"}}}}
        else:
            responses["200"] = {"description": "the file", "content": {
                op.media: {"schema": {"type": "string", "format": "binary"}}}}
        codes = {401, *op.errors}
        if op.method != "GET":
            codes |= {403}
        for code in sorted(codes):
            responses[str(code)] = {"description": ERROR_WORDS[code], "content": error}
        operation: dict[str, Any] = {
            "operationId": op.method.lower() + "_" + re.sub(r"[^a-z]+", "_", op.path.removeprefix("/api")).strip("_"),
            "summary": op.summary,
            "parameters": [_parameter(p, "path") for p in op.path_params] + [_parameter(p, "query") for p in op.query],
            "responses": responses,
            "security": [{"session": [], "csrf": []}] if op.method != "GET" else [{"session": []}],
        }
        if op.body:
            operation["requestBody"] = {"required": op.body not in ("ResendRequest",), "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{op.body}"}}}}
        paths.setdefault(op.path, {})[op.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": f"Pagero Connect ({printer_name})", "version": "1",
                 "description": "Every view and action of the status page. Log in with the form at /login "
                                "(cookie session); send the CSRF token from /api/session as X-CSRF-Token on changes."},
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "pagero_session"},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
            },
        },
    }
