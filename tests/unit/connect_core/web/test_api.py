"""The JSON API's declarations (``connect_core.web.api``) and the app that serves them.

What it promises: the OpenAPI document built from ``OPERATIONS`` is a valid OpenAPI 3.1 document —
every ``$ref`` resolves to a schema in its components, every operation has a unique operationId and
documents its error codes (401 always, 403 on every change, plus its own), every path parameter is
declared — and every operation is served by ``create_app`` at its path with its declared method,
answering what its declared schema says.  The app is called in-process through ASGI, over a real
store with real invoices.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.routing import Route

from connect_core.accounts.sessions import start_session
from connect_core.accounts.users import add_user
from connect_core.config import load_config
from connect_core.intake.sink import PrintIntake
from connect_core.intake.spool import Spool
from connect_core.pipeline.worker import make_pipeline
from connect_core.store import Database, open_database
from connect_core.store.schema import invoices as invoices_table
from connect_core.web.api import OPERATIONS, Operation, openapi_document
from connect_core.web.app import METHOD_NOT_ALLOWED, create_app
from connect_core.web.security import SESSION_COOKIE
from tests.support.documents import invoice_pdf
from tests.support.loop import run

DOC = openapi_document("Pagero Printer")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in doc["paths"].items() for method, op in item.items()
            if method in METHODS]


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


# -- the document -----------------------------------------------------------------------------


def test_the_document_is_valid_against_the_openapi_3_1_schema() -> None:
    assert DOC["openapi"] == "3.1.0"
    errors = [f"{e.instance_path}: {e.message}" for e in OPENAPI_31_VALIDATOR.iter_errors(DOC)]
    assert errors == []
    assert DOC["info"]["title"] == "Pagero Connect (Pagero Printer)"


def test_the_document_is_plain_json() -> None:
    assert json.loads(json.dumps(DOC)) == DOC


def test_every_ref_resolves_to_a_schema_in_the_components() -> None:
    refs = _refs(DOC)
    assert refs, "the document uses references"
    for ref in refs:
        assert ref.startswith("#/components/schemas/"), ref
        assert isinstance(_resolve(DOC, ref), dict), ref


@pytest.mark.parametrize("name", sorted(DOC["components"]["schemas"]))
def test_every_component_schema_is_a_valid_json_schema_2020_12(name: str) -> None:
    schema = DOC["components"]["schemas"][name]
    assert jsonschema_rs.meta.is_valid({"$schema": "https://json-schema.org/draft/2020-12/schema", **schema})
    jsonschema_rs.Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": DOC["components"]})


def test_every_operation_has_a_unique_operation_id_and_a_summary() -> None:
    ids = [op.get("operationId") for _path, _method, op in _operations(DOC)]
    assert len(ids) == len(OPERATIONS)
    assert all(isinstance(i, str) and re.fullmatch(r"[a-z_]+", i) for i in ids), ids
    assert len(set(ids)) == len(ids)
    assert all(op["summary"] for _path, _method, op in _operations(DOC))


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: f"{op.method} {op.path}")
def test_every_operation_documents_its_answer_and_its_error_codes(operation: Operation) -> None:
    documented = DOC["paths"][operation.path][operation.method.lower()]
    responses = documented["responses"]
    expected_errors = {401, *operation.errors} | ({403} if operation.method != "GET" else set())
    codes = {int(code) for code in responses}
    assert codes == {operation.answer_status, *expected_errors}
    for code in expected_errors:
        schema = responses[str(code)]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Error"}
    success = responses[str(operation.answer_status)]["content"]
    assert list(success) == [operation.media]
    if operation.media == "application/json":
        assert success["application/json"]["schema"] == {"$ref": f"#/components/schemas/{operation.answer}"}
    if operation.access == "admin":
        assert 403 in codes
    if operation.body:
        body = documented["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": f"#/components/schemas/{operation.body}"}
    else:
        assert "requestBody" not in documented


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: f"{op.method} {op.path}")
def test_every_path_parameter_is_declared_and_every_declared_one_is_in_the_path(operation: Operation) -> None:
    documented = DOC["paths"][operation.path][operation.method.lower()]
    in_path = set(re.findall(r"\{([^}]+)\}", operation.path))
    declared = [p for p in documented["parameters"] if p["in"] == "path"]
    assert {p["name"] for p in declared} == in_path
    assert all(p["required"] is True for p in declared)
    names = [(p["name"], p["in"]) for p in documented["parameters"]]
    assert len(names) == len(set(names))
    for parameter in documented["parameters"]:
        assert jsonschema_rs.meta.is_valid({"$schema": "https://json-schema.org/draft/2020-12/schema",
                                            **parameter["schema"]})
        assert None not in parameter["schema"].values()


def test_every_security_requirement_names_a_declared_scheme() -> None:
    schemes = set(DOC["components"]["securitySchemes"])
    for _path, method, op in _operations(DOC):
        needed = {name for requirement in op["security"] for name in requirement}
        assert needed <= schemes
        assert ("csrf" in needed) is (method != "get")


# -- the app serves what the document says ------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call(app: Starlette, method: str, path: str, *, body: Any = None, session: tuple[str, str] | None = None,
         query: str = "") -> Answer:
    """One request to the app in-process, as uvicorn would hand it over."""
    headers = [(b"host", b"testserver")]
    raw = b""
    if body is not None:
        raw = json.dumps(body).encode()
        headers.append((b"content-type", b"application/json"))
    if session is not None:
        headers += [(b"cookie", f"{SESSION_COOKIE}={session[0]}".encode()), (b"x-csrf-token", session[1].encode())]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
             "headers": headers, "client": ("127.0.0.1", 40000), "server": ("testserver", 80)}
    sent: list[dict[str, Any]] = []

    async def exchange() -> None:
        delivered = False

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": raw, "more_body": False}
            await asyncio.sleep(3600)  # the client stays connected
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await asyncio.wait_for(app(scope, receive, send), timeout=60)

    run(exchange())  # a loop of its own, whatever loop this thread may already run
    start = next(m for m in sent if m["type"] == "http.response.start")
    body_bytes = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return Answer(start["status"], {k.decode().lower(): v.decode() for k, v in start["headers"]}, body_bytes)


def _letter(path: Path, text: str) -> Path:
    page = canvas.Canvas(str(path), pagesize=A4)
    page.drawString(72, 700, text)
    page.showPage()
    page.save()
    return path


@dataclass(frozen=True)
class Template:
    data: Path
    ids: dict[str, int]
    admin: tuple[str, str]
    """An admin's session: its id and CSRF token."""
    clerk: tuple[str, str]
    """The session of a clerk whose print name printed every invoice."""


@pytest.fixture(scope="module")
def template() -> Iterator[Template]:
    """A data dir with a ready invoice, its possible duplicate, a letter held for attention and one delivered,
    an admin and a clerk logged in."""
    root = Path(tempfile.mkdtemp(prefix="pagero-api-", dir="/var/tmp"))
    try:
        yield _make_template(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _make_template(root: Path) -> Template:
    data = root / "data"
    data.mkdir()
    db = open_database(None, data)
    spool = Spool(data / "spool")
    pipeline = make_pipeline(load_config(None, {"storage.data_dir": str(data)}), db, spool)
    files = {"ready": invoice_pdf(root / "a.pdf", "RE-2026-0101"), "delivered": invoice_pdf(
        root / "b.pdf", "RE-2026-0102", "99,00", "Other GmbH"), "letter": _letter(root / "c.pdf", "Hello.")}
    files["duplicate"] = files["ready"]
    ids: dict[str, int] = {}
    try:
        for key in ("ready", "duplicate", "letter", "delivered"):
            job = PrintIntake(db, spool).accept_file(files[key], door="import", user="FRONT-PC")
            pipeline.convert_job(job)
            with db.reader.connect() as conn:
                ids[key] = int(conn.execute(select(invoices_table.c.id).where(invoices_table.c.job_id == job))
                               .scalar_one())
        admin = start_session(db, add_user(db, "ada", "correct horse battery", role="admin"))
        clerk = start_session(db, add_user(db, "cleo", "correct horse battery", print_names=["FRONT-PC"]))
    finally:
        db.dispose()
    # Only Pagero Online's answers make an invoice "delivered": set it directly.
    with closing(sqlite3.connect(data / "connect.db")) as conn, conn:
        conn.execute("UPDATE invoices SET state = 'delivered' WHERE id = ?", (ids["delivered"],))
    return Template(data, ids, admin, clerk)


@dataclass
class Served:
    app: Starlette
    db: Database
    ids: dict[str, int]
    admin: tuple[str, str]
    clerk: tuple[str, str]


@pytest.fixture
def served(template: Template, data_root: Path) -> Iterator[Served]:
    """The app over a private copy of the template's data dir (its sessions come along)."""
    data = data_root / "data"
    shutil.copytree(template.data, data)
    db = open_database(None, data)
    config = load_config(None, {"storage.data_dir": str(data)})
    app = create_app(config, db, Spool(data / "spool"), "Pagero Printer")
    yield Served(app, db, template.ids, template.admin, template.clerk)
    db.dispose()


@dataclass(frozen=True)
class Example:
    path: str
    body: Any = None
    status: int | None = None
    """The status expected when it is not the operation's success (the handler refused, as documented)."""
    message: str | None = None


def _example(operation: Operation, ids: dict[str, int]) -> Example:
    """A request each operation's handler answers, with the admin's session."""
    examples = {
        ("GET", "/api/session"): Example("/api/session"),
        ("GET", "/api/status"): Example("/api/status"),
        ("GET", "/api/invoices"): Example("/api/invoices"),
        ("GET", "/api/invoices/{id}"): Example(f"/api/invoices/{ids['ready']}"),
        ("GET", "/api/invoices/{id}/history"): Example(f"/api/invoices/{ids['ready']}/history"),
        ("GET", "/api/invoices/{id}/pdf"): Example(f"/api/invoices/{ids['ready']}/pdf"),
        ("POST", "/api/invoices/send"): Example("/api/invoices/send", {"ids": [ids["ready"]], "environment": "Test"}),
        ("POST", "/api/invoices/{id}/approve"): Example(f"/api/invoices/{ids['duplicate']}/approve"),
        ("POST", "/api/invoices/{id}/resend"): Example(f"/api/invoices/{ids['delivered']}/resend", {"confirm": True}),
        ("POST", "/api/invoices/{id}/restart"): Example(f"/api/invoices/{ids['letter']}/restart", status=409,
                                                        message="No Pagero Online account is set up (Settings)."),
        ("DELETE", "/api/invoices/{id}"): Example(f"/api/invoices/{ids['letter']}"),
        ("POST", "/api/invoices/{id}/correct"): Example(f"/api/invoices/{ids['ready']}/correct",
                                                        {"values": {"buyer": "Kunde Neu GmbH"}, "learn": False}),
        ("GET", "/api/layouts"): Example("/api/layouts"),
        # No layout is learned in the template's store: the handlers answer that there is none.
        ("POST", "/api/layouts/{name}/rename"): Example("/api/layouts/nothing/rename", {"name": "Other"},
                                                        status=404, message="No such layout."),
        ("DELETE", "/api/layouts/{name}"): Example("/api/layouts/nothing", status=404,
                                                   message="No such layout."),
        ("GET", "/api/settings"): Example("/api/settings"),
        # Saving settings writes the configuration file: a refused change shows the handler without doing so.
        ("PUT", "/api/settings"): Example("/api/settings", {"bogus": 1}, status=400, message="unknown field: bogus"),
        ("POST", "/api/settings/test-connection"): Example("/api/settings/test-connection"),
        ("GET", "/api/users"): Example("/api/users"),
        ("POST", "/api/users"): Example("/api/users", {"name": "Newbie", "password": "long enough secret",
                                                       "role": "clerk", "print_names": ["NEW-PC"]}),
        ("PUT", "/api/users/{name}/print-names"): Example("/api/users/cleo/print-names",
                                                          {"print_names": ["FRONT-PC", "BACK-PC"]}),
    }
    return examples[(operation.method, operation.path)]


def _validator(name: str) -> jsonschema_rs.Validator:
    return jsonschema_rs.Draft202012Validator({"$ref": f"#/components/schemas/{name}",
                                               "components": DOC["components"]})


def test_the_app_has_exactly_one_route_per_operation_with_its_method(served: Served) -> None:
    routes = [r for r in served.app.routes
              if isinstance(r, Route) and r.path.startswith("/api/") and r.name != METHOD_NOT_ALLOWED]
    for operation in OPERATIONS:
        matching = [r for r in routes if r.path == operation.path and r.methods and operation.method in r.methods]
        assert len(matching) == 1, (operation.method, operation.path)
    declared = {(op.method, op.path) for op in OPERATIONS}
    served_pairs = {(m, r.path) for r in routes for m in (r.methods or ()) if m != "HEAD"}
    assert served_pairs == declared


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: f"{op.method} {op.path}")
def test_each_operation_is_answered_by_its_handler_as_its_schema_says(served: Served, operation: Operation) -> None:
    example = _example(operation, served.ids)
    answer = call(served.app, operation.method, example.path, body=example.body, session=served.admin)
    if example.status is not None:
        assert answer.status == example.status, answer.body
        assert example.status in operation.errors
        assert answer.json() == {"error": example.message}
        return
    assert answer.status == operation.answer_status, answer.body
    assert answer.headers["content-type"].split(";")[0] == operation.media
    if operation.media == "application/json":
        errors = [e.message for e in _validator(str(operation.answer)).iter_errors(answer.json())]
        assert errors == [], answer.json()
    else:
        assert answer.body.startswith(b"%PDF-")


def test_answers_carry_what_the_handler_was_asked_for(served: Served) -> None:
    ids = served.ids
    detail = call(served.app, "GET", f"/api/invoices/{ids['ready']}", session=served.admin).json()
    assert (detail["id"], detail["invoice_number"], detail["actions"]) == (
        ids["ready"], "RE-2026-0101", ["correct", "delete"])
    sent = call(served.app, "POST", "/api/invoices/send", body={"ids": [ids["ready"]], "environment": "Test"},
                session=served.admin).json()
    assert sent == {"queued": [ids["ready"]]}
    approved = call(served.app, "POST", f"/api/invoices/{ids['duplicate']}/approve", session=served.admin).json()
    assert approved == {"id": ids["duplicate"], "state": "ready"}
    deleted = call(served.app, "DELETE", f"/api/invoices/{ids['letter']}", session=served.admin).json()
    assert deleted == {"id": ids["letter"], "state": "deleted"}
    session = call(served.app, "GET", "/api/session", session=served.clerk).json()
    assert (session["user"], session["role"], session["print_names"]) == ("cleo", "clerk", ["FRONT-PC"])


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: f"{op.method} {op.path}")
def test_each_operation_answers_401_without_a_session_as_documented(served: Served, operation: Operation) -> None:
    example = _example(operation, served.ids)
    answer = call(served.app, operation.method, example.path, body=example.body)
    assert answer.status == 401
    assert "401" in DOC["paths"][operation.path][operation.method.lower()]["responses"]
    assert _validator("Error").is_valid(answer.json())


@pytest.mark.parametrize("operation", [op for op in OPERATIONS if op.access == "admin"],
                         ids=lambda op: f"{op.method} {op.path}")
def test_each_admin_operation_answers_403_to_a_clerk_as_documented(served: Served, operation: Operation) -> None:
    example = _example(operation, served.ids)
    answer = call(served.app, operation.method, example.path, body=example.body, session=served.clerk)
    assert answer.status == 403
    assert answer.json() == {"error": "Only an admin can see and change this."}


def test_a_method_no_operation_declares_for_a_path_is_refused(served: Served) -> None:
    # Also where a template would take the path: GET /api/invoices/send is not GET /api/invoices/{id}.
    for path, item in DOC["paths"].items():
        concrete = path.replace("{id}", str(served.ids["ready"])).replace("{name}", "cleo")
        for method in ("GET", "POST", "PUT", "DELETE", "PATCH"):
            if method.lower() in item:
                continue
            answer = call(served.app, method, concrete, session=served.admin, body={})
            assert answer.status == 405, (method, path, answer.status)
            assert answer.json() == {"error": "Not allowed here."}
            assert sorted(answer.headers["allow"].split(", ")) == sorted(m.upper() for m in item), (method, path)


def test_an_id_that_is_not_an_invoice_id_is_a_404(served: Served) -> None:
    for raw in ("0", "abc", "-1", str(2**53)):
        answer = call(served.app, "GET", f"/api/invoices/{raw}", session=served.admin)
        assert answer.status == 404, raw
        assert _validator("Error").is_valid(answer.json())


def test_the_openapi_document_is_served_as_built(served: Served) -> None:
    answer = call(served.app, "GET", "/openapi.json")
    assert answer.status == 200
    assert answer.json() == DOC
