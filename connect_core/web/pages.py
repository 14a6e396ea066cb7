"""The HTML pages: server-rendered with Jinja2 (autoescaped), one handler per view or form.

Forms post back here and answer with a redirect (303) to the page they came from, or
with a page that says in plain words why nothing happened.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import urllib.parse
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from connect_core.accounts.sessions import Session, end_old_sessions, end_session, start_session
from connect_core.accounts.throttle import login_blocked, login_failed, login_succeeded
from connect_core.accounts.users import add_user, authenticate, list_users, set_inbound, set_print_names, user_count
from connect_core.errors import ConnectError
from connect_core.invoices.actions import actions_for
from connect_core.invoices.attachment_rules import CHANNEL_WORDS, MAX_BYTES
from connect_core.invoices.model import FIELD_LABELS, source_in_words
from connect_core.invoices.service import InvoiceFiles, invoice_files, processing_jobs, view_counts
from connect_core.online.client import ATTACHMENT_TYPES
from connect_core.pipeline.correct import FIELDS as CORRECTABLE_FIELDS
from connect_core.pipeline.correct import MAX_TEXT, REQUIRED, CorrectionForm
from connect_core.received.service import KEPT_NOTE
from connect_core.settings import (
    COMPANY_FIELDS,
    FORM_FIELDS,
    company_form,
    save_settings,
    saved_message,
    visible_settings,
)
from connect_core.web import views
from connect_core.web.security import (
    SESSION_COOKIE,
    check_token,
    clear_session_cookie,
    login_token,
    set_login_cookie,
    set_session_cookie,
    timeouts,
)
from connect_core.web.site import Site
from connect_core.web.views import LIST_PARAMS, FieldProblem, HttpError, invoice_list, parse_query

templates = Environment(loader=PackageLoader("connect_core.web", "templates"), autoescape=select_autoescape())

HOME = "/outbound/files-to-send"

TITLES = {"files-to-send": "Files to send", "sent": "Sent invoices",
          "awaiting-attachments": "Files awaiting attachments", "needs-attention": "Needs attention", "all": "Search"}
INBOUND_TITLES = {"unfetched": "Unfetched invoices", "fetched": "Fetched invoices", "search": "Search"}

STATE_WORDS = {
    "received": "Received", "converted": "Checking", "ready": "Ready to send", "queued": "Waiting to be sent",
    "needs-attention": "Needs attention", "invalid": "Invalid", "possible-duplicate": "Possible duplicate",
    "deleted": "Deleted", "uploading": "Sending", "sent": "Sent", "delivered": "Delivered",
    "fetched": "Fetched by recipient", "accepted": "Accepted", "rejected": "Rejected", "cancelled": "Cancelled",
    "awaiting-attachments": "Awaiting attachments", "attaching": "Sending attachments",
}
RECEIVED_WORDS = {"unfetched": "Not downloaded yet", "downloaded": "Downloaded", "fetched": "Fetched",
                  "refused": "Not saved"}
"""A received invoice's state in words."""
DELIVERY_WORDS = {
    # Pagero Online's deliveryStatus values; anything else is shown as the service sent it.
    "Processing": "being processed at Pagero Online", "AwaitingInteraction": "waiting for a person at Pagero Online",
    "Error": "error at Pagero Online", "Done": "delivered", "DoneFetched": "fetched by the recipient",
    "Undeliverable": "undeliverable", "Cancelled": "cancelled",
}
EXTENSIONS = {"application/pdf": "pdf", "application/postscript": "ps", "image/pwg-raster": "pwg",
              "image/urf": "urf", "image/jpeg": "jpg", "text/plain": "txt"}
"""File name endings for a document as printed, by the format it was found to be."""
NOTES = {"choose-first": "Tick the invoices to send first, or use Send all.",
         "choose-attachments": "Tick the invoices whose attachments to send first.",
         "choose-received": "Tick the invoices to download first, or use Download all."}
"""Words for a form that came back without doing anything (``?note=``)."""
ACTION_WORDS = {"correct": "Correct fields", "approve": "Approve duplicate", "resend": "Resend", "restart": "Restart",
                "attach": "Add attachments", "send-attachments": "Send", "delete": "Delete"}
DONE_WORDS = {"approve": "approved", "resend": "queued to be sent again", "restart": "restarted at Pagero Online",
              "delete": "deleted", "send": "queued for sending",
              "send-attachments": "sent on with its attachments: Pagero Online goes on once they are there"}
CHANNEL_HINTS = {
    "Electronic": "Sent as an e-invoice: any usual kind of file goes; PDF is recommended, as every recipient can "
                  "open it.",
    "EPrint": "Sent as a PDF by e-mail (E-print): PDF, or TIFF scanned at 300 dpi, only.",
    "OriginalPrint": "Sent on paper (Original print): PDF only.",
}
"""What may be attached, by how Pagero Online distributes the invoice (the service checks each file)."""


def _when(value: str | dt.datetime | None) -> str:
    """A moment in the office's local time, to the minute."""
    if not value:
        return "–"
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def _money(total: str | None, currency: str | None) -> str:
    if total is None:
        return "–"
    try:
        text = f"{Decimal(total):,.2f}".replace(",", "\u202f")
    except InvalidOperation:
        text = total
    return f"{text} {currency}" if currency else text


def _dash(value: object) -> object:
    return "–" if value is None or value == "" else value


def action_label(action: str, state: str) -> str:
    """A button's words: *approve* releases a possible duplicate, or sends an invoice a check holds as it is."""
    if action == "approve" and state == "needs-attention":
        return "Send as it is"
    return ACTION_WORDS.get(action, action)


def _path_part(text: str) -> str:
    """``text`` as one segment of a URL path (a layout's name may hold spaces, ``&`` or ``'``)."""
    return urllib.parse.quote(text, safe="")


def _size(value: int | None) -> str:
    """A file's size as people read it: bytes, KB or MB."""
    if value is None:
        return "–"
    if value < 1000:
        return f"{value} bytes"
    if value < 1000 * 1000:
        return f"{value / 1000:,.0f} KB"
    return f"{value / 1000 / 1000:,.1f} MB"


templates.filters.update(when=_when, dash=_dash, source=source_in_words, path_part=_path_part, size=_size)
templates.globals.update(money=_money, state_words=STATE_WORDS, action_words=ACTION_WORDS,
                         delivery_words=DELIVERY_WORDS, action_label=action_label,
                         distribution_words=views.DISTRIBUTION_WORDS, received_words=RECEIVED_WORDS,
                         channel_hints=CHANNEL_HINTS, channel_words=CHANNEL_WORDS, attachment_types=ATTACHMENT_TYPES,
                         max_bytes=MAX_BYTES, kept_note=KEPT_NOTE)


# -- rendering -----------------------------------------------------------------------------


async def _header(site: Site, session: Session | None) -> dict[str, Any]:
    if session is None:
        return {}
    actor = session.user.actor()
    status = await asyncio.to_thread(site.status, actor)
    return {"user": session.user, "csrf": session.csrf, "inbound": actor.inbound,
            "inbound_mode": site.config.inbound.mode,
            "printing_checked": site.config.printer.authentication == "basic",
            "seen_names": sorted(actor.print_names), **status}


async def render(site: Site, request: Request, session: Session | None, template: str, status: int = 200,
                 **context: Any) -> HTMLResponse:
    """A whole page: the header's live state plus ``context``."""
    header = await _header(site, session)
    said = _said_messages(request, session)
    if said.get("ok") and not context.get("done"):
        context["done"] = said["ok"]
    context.setdefault("info", said.get("info", ""))
    context.setdefault("alert", said.get("bad", ""))
    html = templates.get_template(template).render(printer_name=site.printer_name, path=request.url.path,
                                                   **header, **context)
    return HTMLResponse(html, status_code=status)


def error_page(site: Site, request: Request, status: int, message: str) -> Response:
    """A short page that says why (no data from the store: it may be an anonymous visitor), with a way back."""
    referer = urllib.parse.urlsplit(request.headers.get("referer", ""))
    came_from = referer.path + (f"?{referer.query}" if referer.query else "") \
        if referer.netloc == request.headers.get("host") else ""
    html = templates.get_template("error.html").render(printer_name=site.printer_name, status=status,
                                                       message=message, path=request.url.path,
                                                       back=_back({"back": came_from}, ""))
    return HTMLResponse(html, status_code=status)


def _back(form: FormData | Mapping[str, Any], fallback: str) -> str:
    """Where a form returns to: a path on this site only (never another host)."""
    value = form.get("back")
    # Browsers drop tabs and newlines inside URLs, so "/\t/host" would become "//host": printable only.
    if (isinstance(value, str) and value.startswith("/") and not value.startswith("//") and "\\" not in value
            and value.isprintable()):
        return value
    return fallback


def _with(url: str, **params: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k not in params] + list(params.items())
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


# -- login ---------------------------------------------------------------------------------


async def home(site: Site, request: Request, session: Session | None) -> Response:
    if session is not None:
        return RedirectResponse(HOME, 303)
    return await login_form(site, request, session)


async def login_form(site: Site, request: Request, session: Session | None, *, status: int = 200,
                     message: str = "", name: str = "") -> Response:
    if session is not None and request.method == "GET":
        return RedirectResponse(HOME, 303)
    token, new = login_token(request)
    host = request.headers.get("host", "localhost")
    no_users = await asyncio.to_thread(user_count, site.db) == 0
    next_page = request.query_params.get("next", "")
    html = templates.get_template("login.html").render(
        printer_name=site.printer_name, printer_uris=[f"{scheme}://{host}{site.printer_path}" for scheme in
                                                     site.printer_schemes], login_csrf=token,
        no_users=no_users, message=message, name=name, next=_back({"back": next_page}, ""), path="/login")
    response = HTMLResponse(html, status_code=status)
    if new:
        set_login_cookie(response, request, token)
    return response


async def login(site: Site, request: Request, session: Session | None) -> Response:
    form = await request.form()
    token = request.cookies.get("pagero_login", "")
    given = form.get("csrf")
    check_token(token or "-", given if isinstance(given, str) else None)
    name = str(form.get("username") or "")[:200]
    password = str(form.get("password") or "")[:1000]
    address = request.client.host if request.client else "unknown"
    wait = await asyncio.to_thread(login_blocked, site.db, name, address)
    if wait > 0:
        return await login_form(site, request, None, status=429, name=name,
                                message=f"Too many failed logins. Try again in {int(wait) + 1} seconds.")
    user = await asyncio.to_thread(authenticate, site.db, name, password)
    if user is None:
        await asyncio.to_thread(login_failed, site.db, name, address)
        return await login_form(site, request, None, status=401, name=name, message="Wrong user name or password.")
    await asyncio.to_thread(login_succeeded, site.db, name)
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        await asyncio.to_thread(end_session, site.db, old)  # never keep a session id from before the login
    idle, absolute = timeouts(site)
    await asyncio.to_thread(end_old_sessions, site.db, idle=idle, absolute=absolute)
    session_id, _csrf = await asyncio.to_thread(start_session, site.db, user)
    response = RedirectResponse(_back({"back": form.get("next")}, HOME), 303)
    set_session_cookie(response, request, session_id, int(site.config.web.session_hours * 3600))
    return response


async def logout(site: Site, request: Request, session: Session | None) -> Response:
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        await asyncio.to_thread(end_session, site.db, old)
    response = RedirectResponse("/", 303)
    clear_session_cookie(response, request)
    return response


# -- lists ---------------------------------------------------------------------------------


def _list_page(view: str) -> Any:
    async def page(site: Site, request: Request, session: Session | None) -> Response:
        assert session is not None
        actor = session.user.actor()
        try:
            values = parse_query(LIST_PARAMS, request.query_params)
            problem = ""
        except HttpError as error:  # a wrong filter lists nothing: all invoices would look like matches
            values, problem = {}, error.message
        values["view"] = view
        listing = await asyncio.to_thread(invoice_list, site, actor, values) if not problem else \
            {"items": [], "next": None, "view": view}
        problem = problem or NOTES.get(request.query_params.get("note", ""), "")
        jobs = await asyncio.to_thread(processing_jobs, site.db, actor) if view == "files-to-send" else []
        attached = await asyncio.to_thread(views.attachment_counts, site, actor,
                                           [invoice.id for invoice in listing["items"]]) \
            if view == "awaiting-attachments" else {}
        filters = {p.name: request.query_params.get(p.name, "") for p in LIST_PARAMS if p.name not in ("view",)}
        next_url = _with(str(request.url.path) + "?" + request.url.query, after=listing["next"]) \
            if listing["next"] else None
        first = urllib.parse.urlencode([(k, v) for k, v in request.query_params.multi_items()
                                        if k not in ("after", "done", "n", "note", "said", "ssig")])
        first_url = request.url.path + (f"?{first}" if first else "")
        return await render(site, request, session, "list.html", view=view, title=TITLES[view], listing=listing,
                            jobs=jobs, filters=filters, problem=problem, next_url=next_url, first_url=first_url,
                            paged="after" in values, sorts=list(views.SORTS), states=list(STATE_WORDS),
                            filtered=any(value for name, value in filters.items() if name not in ("sort", "limit")),
                            environment=site.config.online.environment, actions_for=actions_for,
                            done=_done_message(request), here=_here(request), attached=attached,
                            direction="outbound")
    return page


def _here(request: Request) -> str:
    query = urllib.parse.urlencode([(k, v) for k, v in request.query_params.multi_items()
                                    if k not in ("done", "n", "note", "said", "ssig")])
    return request.url.path + (f"?{query}" if query else "")


def _done_message(request: Request) -> str:
    done = request.query_params.get("done", "")
    count = request.query_params.get("n", "")
    if done not in DONE_WORDS:
        return ""
    if done == "send":
        n = int(count) if count.isdigit() else 0
        return f"{n} invoice{'s' if n != 1 else ''} {DONE_WORDS[done]}."
    if done == "send-attachments" and count.isdigit():
        n = int(count)
        return (f"{n} invoice{'s' if n != 1 else ''} sent on with {'its' if n == 1 else 'their'} attachments: "
                "Pagero Online goes on once they are there.")
    return f"Invoice {DONE_WORDS[done]}."


async def send_attachments_form(site: Site, request: Request, session: Session | None) -> Response:
    """*Send selected* in Files awaiting attachments; asks first when some invoices of a print have none."""
    assert session is not None
    form = await request.form()
    back = _back(form, "/outbound/awaiting-attachments")
    try:
        ids = [int(str(value)) for value in form.getlist("id")]
    except ValueError as error:
        raise HttpError(400, "Choose invoices from the list.") from error
    if not ids:
        return RedirectResponse(_with(back, note="choose-attachments"), 303)
    if len(ids) > 1000:
        raise HttpError(400, "Send at most 1000 invoices at a time.")
    try:
        sent = await asyncio.to_thread(views.send_attachments, site, session.user.actor(), ids,
                                       confirm=form.get("confirm") == "yes")
    except views.NeedsAnswer as question:
        return await _confirm_page(site, request, session, question.question, action="/outbound/send-attachments",
                                   fields=[("id", str(n)) for n in ids] + [("back", back)], back=back)
    return RedirectResponse(_with(back, done="send-attachments", n=str(len(sent))), 303)


async def _confirm_page(site: Site, request: Request, session: Session | None, question: str, *, action: str,
                        fields: list[tuple[str, str]], back: str, button: str = "Send anyway") -> Response:
    """A question before anything is done: the same form again with ``confirm=yes``, and a way back (409)."""
    return await render(site, request, session, "confirm.html", status=409, title="Send anyway?",
                        question=question, action=action, fields=fields, back=back, button=button)


async def send_form(site: Site, request: Request, session: Session | None) -> Response:
    assert session is not None
    form = await request.form()
    environment = str(form.get("environment") or "Production")
    ids: list[int] | None = None
    if form.get("what") != "all":
        try:
            ids = [int(str(value)) for value in form.getlist("id")]
        except ValueError as error:
            raise HttpError(400, "Choose invoices from the list.") from error
        if not ids:
            return RedirectResponse(_with(_back(form, HOME), note="choose-first"), 303)
    sent = await asyncio.to_thread(views.send_invoices, site, session.user.actor(), ids, environment)
    return RedirectResponse(_with(_back(form, HOME), done="send", n=str(len(sent))), 303)


# -- one invoice ---------------------------------------------------------------------------


def _path_id(request: Request, key: str, what: str) -> int:
    """A positive number from the URL path (``/invoices/{id}``), else 404 "No such <what>"."""
    raw = request.path_params[key]
    if not raw.isdigit() or len(raw) > 15 or int(raw) < 1:
        raise HttpError(404, f"No such {what}.")
    return int(raw)


def _invoice_id(request: Request) -> int:
    return _path_id(request, "id", "invoice")


async def invoice_page(site: Site, request: Request, session: Session | None) -> Response:
    return await _invoice_view(site, request, session, _invoice_id(request))


ATTACHMENT_STATES = ("awaiting-attachments", "attaching")


async def _invoice_view(site: Site, request: Request, session: Session | None, invoice_id: int, *,
                        correction: dict[str, Any] | None = None, status: int = 200,
                        attach: dict[str, str] | None = None) -> Response:
    """The invoice page; with ``correction`` its fields table is the *Correct fields* form; ``attach``: the
    *Add attachment* form as typed, with ``problem`` saying why the file was not added."""
    assert session is not None
    actor = session.user.actor()
    detail = await asyncio.to_thread(views.invoice_detail, site, actor, invoice_id)
    invoice = detail.invoice
    kept = await asyncio.to_thread(views.invoice_attachments, site, actor, invoice_id)
    files = InvoiceFiles(invoice.document_uuid, invoice.pdf_name, invoice.source_format, invoice.invoice_number)
    printed = site.document_path(files)
    title = f"Invoice {invoice.invoice_number}" if invoice.invoice_number else f"Invoice #{invoice.id}"
    done = _done_message(request) or _corrected_message(request, session)
    return await render(site, request, session, "invoice.html", status=status, inv=invoice, detail=detail,
                        title=title, has_pdf=site.pdf_path(files).is_file(),
                        printed_size=printed.stat().st_size if printed.is_file() else None,
                        done=done, here=f"/invoices/{invoice.id}", correction=correction,
                        attachments=kept, show_attachments=bool(kept) or invoice.state.value in ATTACHMENT_STATES,
                        can_attach="attach" in detail.actions, attach=attach or {})


# -- correcting an invoice's fields ----------------------------------------------------------

LABELS = dict(FIELD_LABELS)
CHECKS = {"issue_date": "date", "due_date": "date", "total": "amount", "currency": "currency"}
"""What static/app.js checks as it is typed (the server checks again)."""


def _correction(form: CorrectionForm, values: Mapping[str, str] | None = None, *, learn: bool = True,
                errors: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What invoice.html needs to show the form: each field's label, value, check and message."""
    typed = values if values is not None else form.values
    return {
        "fields": [{"name": name, "label": LABELS.get(name, name.replace("_", " ").capitalize()),
                    "value": typed.get(name, ""), "check": CHECKS.get(name, ""), "required": name in REQUIRED,
                    "error": (errors or {}).get(name, "")} for name in CORRECTABLE_FIELDS],
        "problem": next((message for name, message in (errors or {}).items() if name not in CORRECTABLE_FIELDS), ""),
        "page_text": form.page_text, "decimal": form.decimal, "date_order": form.date_order, "learn": learn,
        "max_text": MAX_TEXT,
    }


async def correction_page(site: Site, request: Request, session: Session | None) -> Response:
    """The invoice page with *Correct fields* open (the button is a link here: opening changes nothing)."""
    assert session is not None
    invoice_id = _invoice_id(request)
    form = await asyncio.to_thread(views.correction_form, site, session.user.actor(), invoice_id)
    return await _invoice_view(site, request, session, invoice_id, correction=_correction(form))


async def correction_save(site: Site, request: Request, session: Session | None) -> Response:
    """Save a correction: back to the invoice page with what it did, or the form again naming the wrong field."""
    assert session is not None
    invoice_id = _invoice_id(request)
    actor = session.user.actor()
    posted = await request.form()
    values = {name: value for name in CORRECTABLE_FIELDS if isinstance(value := posted.get(name), str)}
    learn = posted.get("learn") == "yes"
    try:
        done = await asyncio.to_thread(views.correct, site, actor, invoice_id, values, learn=learn)
    except FieldProblem as problem:
        form = await asyncio.to_thread(views.correction_form, site, actor, invoice_id)
        typed = {**form.values, **values}
        return await _invoice_view(site, request, session, invoice_id, status=400,
                                   correction=_correction(form, typed, learn=learn,
                                                          errors={problem.field: problem.message}))
    return RedirectResponse(_with(f"/invoices/{invoice_id}", **_signed_notice(done.summary(), session)), 303)


def _notice_mac(text: str, session: Session) -> str:
    return hmac.new(session.csrf.encode(), text.encode(), hashlib.sha256).hexdigest()[:32]


def _signed_notice(text: str, session: Session) -> dict[str, str]:
    """A notice for the page a form redirects to, signed so that no link can make the page say anything else."""
    return {"corrected": base64.urlsafe_b64encode(text.encode()).decode().rstrip("="),
            "sig": _notice_mac(text, session)}


def _corrected_message(request: Request, session: Session | None) -> str:
    raw, sig = request.query_params.get("corrected", ""), request.query_params.get("sig", "")
    if not raw or not sig or session is None or len(raw) > 4000:
        return ""
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
    except (binascii.Error, ValueError):
        return ""
    return text if hmac.compare_digest(_notice_mac(text, session), sig) else ""


def _said(session: Session, *, ok: str = "", info: str = "", bad: str = "") -> dict[str, str]:
    """Notices for the page a form redirects to (done, advice, refusals), signed like :func:`_signed_notice`."""
    text = json.dumps({"ok": ok, "info": info, "bad": bad}, ensure_ascii=False)
    return {"said": base64.urlsafe_b64encode(text.encode()).decode().rstrip("="),
            "ssig": _notice_mac("said\n" + text, session)}


def _said_messages(request: Request, session: Session | None) -> dict[str, str]:
    raw, sig = request.query_params.get("said", ""), request.query_params.get("ssig", "")
    if not raw or not sig or session is None or len(raw) > 8000:
        return {}
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
    except (binascii.Error, ValueError):
        return {}
    if not hmac.compare_digest(_notice_mac("said\n" + text, session), sig):
        return {}
    try:
        found = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(found, dict):
        return {}
    return {key: value for key, value in found.items() if isinstance(key, str) and isinstance(value, str)}


def _disposition(kind: str, name: str, fallback: str) -> str:
    """A Content-Disposition naming ``name``: a safe ASCII ``filename``, and the exact name as RFC 5987's
    ``filename*``."""
    safe = _safe_name(name).strip("._") or fallback
    exact = urllib.parse.quote(name[:255], safe="")
    return f"{kind}; filename=\"{safe}\"; filename*=UTF-8''{exact}"


def _download_type(content_type: str | None) -> str:
    """What a download says it is: a PDF or a raster image as such (never SVG, which can hold script), else bytes."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind == "application/pdf" or (kind.startswith("image/") and kind != "image/svg+xml"
                                     and kind.replace("/", "").replace(".", "").replace("-", "").replace("+", "")
                                     .isalnum()):
        return kind
    return "application/octet-stream"


DOWNLOAD_HEADERS = {"Content-Security-Policy": "default-src 'none'", "X-Content-Type-Options": "nosniff"}
"""A file someone gave us (an attachment, a received invoice): downloaded, never shown in the page's origin."""
PDF_IN_PAGE_HEADERS = {"Content-Security-Policy": "default-src 'none'; frame-ancestors 'self'",
                       "X-Frame-Options": "SAMEORIGIN"}
"""A PDF the page embeds (and nothing else may)."""


def _safe_name(text: str) -> str:
    """A file name for a Content-Disposition header: ASCII letters, digits and ``-_.`` only."""
    return "".join(ch if (ch.isascii() and ch.isalnum()) or ch in "-_." else "_" for ch in text)[:80]


async def _files(site: Site, request: Request, session: Session | None) -> tuple[int, InvoiceFiles]:
    assert session is not None
    invoice_id = _invoice_id(request)
    try:
        return invoice_id, await asyncio.to_thread(invoice_files, site.db, invoice_id, session.user.actor())
    except ConnectError as error:
        raise HttpError(404, "No such invoice.") from error


async def invoice_pdf_file(site: Site, request: Request, session: Session | None) -> Response:
    """The invoice's PDF: inline for *View presentation*, as a download with ``?download=1``."""
    invoice_id, files = await _files(site, request, session)
    path = site.pdf_path(files)
    if not path.is_file():
        raise HttpError(404, "There is no PDF of this invoice here: it could not be made from what was printed, "
                             "or it was removed after the retention time.")
    safe = _safe_name(files.invoice_number or str(invoice_id))
    download = request.query_params.get("download") == "1"
    disposition = "attachment" if download else "inline"
    return FileResponse(path, media_type="application/pdf", headers={
        "Content-Disposition": f'{disposition}; filename="invoice-{safe}.pdf"',
        # The page embeds it; nothing else may.
        "Content-Security-Policy": "default-src 'none'; frame-ancestors 'self'",
        "X-Frame-Options": "SAMEORIGIN",
    })


async def invoice_document_file(site: Site, request: Request, session: Session | None) -> Response:
    """The document exactly as it was printed (always a download: it may be anything a client sent)."""
    invoice_id, files = await _files(site, request, session)
    path = site.document_path(files)
    if not path.is_file():
        raise HttpError(404, "What was printed is no longer kept here (retention).")
    extension = EXTENSIONS.get(files.source_format, "bin")
    return FileResponse(path, media_type="application/octet-stream", headers={
        "Content-Disposition": f'attachment; filename="printed-{invoice_id}.{extension}"',
        "Content-Security-Policy": "default-src 'none'", "X-Content-Type-Options": "nosniff",
    })


async def invoice_action(site: Site, request: Request, session: Session | None) -> Response:
    assert session is not None
    action = request.path_params["action"]
    if action not in views.ACTIONS:
        raise HttpError(404, "No such action.")
    invoice_id = _invoice_id(request)
    form = await request.form()
    await asyncio.to_thread(views.act, site, session.user.actor(), invoice_id, action,
                            confirm=form.get("confirm") == "yes")
    return RedirectResponse(_with(_back(form, f"/invoices/{invoice_id}"), done=action), 303)


# -- attachments ---------------------------------------------------------------------------


def _attachment_id(request: Request) -> int:
    return _path_id(request, "aid", "attachment")


async def attachment_add(site: Site, request: Request, session: Session | None) -> Response:
    """*Add attachment*: the file (read up to one byte more than an attachment may have), its type and note."""
    assert session is not None
    invoice_id = _invoice_id(request)
    form = await request.form()
    upload = form.get("file")
    document_type = str(form.get("document_type") or "")
    note = str(form.get("note") or "")
    typed = {"document_type": document_type, "note": note[:2000]}
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await _invoice_view(site, request, session, invoice_id, status=400,
                                   attach={**typed, "problem": "Choose a file to attach."})
    # Never more than MAX_BYTES + 1 in memory: one byte too many is enough for the service to refuse the size.
    data = await upload.read(MAX_BYTES + 1)
    await upload.close()
    try:
        added, verdict = await asyncio.to_thread(views.add_attachment, site, session.user.actor(), invoice_id, data,
                                                 upload.filename, document_type, note)
    except HttpError as error:
        if error.status == 404:
            raise
        return await _invoice_view(site, request, session, invoice_id, status=error.status,
                                   attach={**typed, "problem": error.message})
    said = _said(session, ok=f"Added {added.name} ({added.type_name}).", info=verdict.advice)
    return RedirectResponse(_with(f"/invoices/{invoice_id}", **said) + "#attachments", 303)


async def attachment_open(site: Site, request: Request, session: Session | None) -> Response:
    """An attachment's file, as a download (it may be anything someone chose)."""
    assert session is not None
    invoice_id, attachment_id = _invoice_id(request), _attachment_id(request)
    path, found = await asyncio.to_thread(views.attachment_file, site, session.user.actor(), invoice_id,
                                          attachment_id)
    return FileResponse(path, media_type=_download_type(found.content_type), headers={
        "Content-Disposition": _disposition("attachment", found.name, f"attachment-{attachment_id}"),
        **DOWNLOAD_HEADERS})


async def attachment_remove(site: Site, request: Request, session: Session | None) -> Response:
    assert session is not None
    invoice_id, attachment_id = _invoice_id(request), _attachment_id(request)
    try:
        name = await asyncio.to_thread(views.remove_attachment, site, session.user.actor(), invoice_id, attachment_id)
    except HttpError as error:
        if error.status == 404:
            raise
        return await _invoice_view(site, request, session, invoice_id, status=error.status,
                                   attach={"problem": error.message})
    return RedirectResponse(_with(f"/invoices/{invoice_id}", **_said(session, ok=f"Removed {name}.")) + "#attachments",
                            303)


async def invoice_send_attachments(site: Site, request: Request, session: Session | None) -> Response:
    """*Send* on the invoice page: its attachments go, then Pagero Online goes on (asks first, as the list does)."""
    assert session is not None
    invoice_id = _invoice_id(request)
    form = await request.form()
    back = _back(form, f"/invoices/{invoice_id}")
    try:
        await asyncio.to_thread(views.send_attachments, site, session.user.actor(), [invoice_id],
                                confirm=form.get("confirm") == "yes")
    except views.NeedsAnswer as question:
        return await _confirm_page(site, request, session, question.question,
                                   action=f"/invoices/{invoice_id}/send-attachments", fields=[("back", back)],
                                   back=back)
    except HttpError as error:
        if error.status == 404:
            raise
        return await _invoice_view(site, request, session, invoice_id, status=error.status,
                                   attach={"problem": error.message})
    return RedirectResponse(_with(back, done="send-attachments"), 303)


# -- received invoices (Inbound) ---------------------------------------------------------------


def _received_id(request: Request, key: str = "id") -> int:
    return _path_id(request, key, "received invoice")


async def _received_page(site: Site, request: Request, session: Session | None, view: str) -> Response:
    """Unfetched, Fetched, or Search with *Received*: a page of received invoices (403 without the inbound role)."""
    assert session is not None
    actor = session.user.actor()
    if not actor.inbound:
        raise HttpError(403, "Only admins and users given the inbound role see received invoices.")
    try:
        values = parse_query(views.RECEIVED_PARAMS, request.query_params)
        problem = ""
    except HttpError as error:
        values, problem = {}, error.message
    listing = await asyncio.to_thread(views.received_list, site, actor, "all" if view == "search" else view,
                                      values) if not problem else {"items": [], "next": None}
    problem = problem or NOTES.get(request.query_params.get("note", ""), "")
    filters = {name: request.query_params.get(name, "") for name in (
        "number", "counterparty", "issued_from", "issued_to", "due_from", "due_to", "amount_min", "amount_max")}
    next_url = _with(request.url.path + "?" + request.url.query, before=str(listing["next"])) \
        if listing["next"] else None
    first = urllib.parse.urlencode([(k, v) for k, v in request.query_params.multi_items()
                                    if k not in ("before", "said", "ssig", "note")])
    return await render(site, request, session, "inbound.html", view=view, title=INBOUND_TITLES[view],
                        listing=listing, filters=filters, filtered=any(filters.values()), problem=problem,
                        next_url=next_url, first_url=request.url.path + (f"?{first}" if first else ""),
                        paged="before" in values, here=_here(request), direction="received",
                        folder=str(views.inbound_folder(site)))


def _inbound_page(view: str) -> Any:
    async def page(site: Site, request: Request, session: Session | None) -> Response:
        return await _received_page(site, request, session, view)
    return page


async def search_page(site: Site, request: Request, session: Session | None) -> Response:
    """Search: outbound invoices, or with *Received* the received ones (only for those who may see them)."""
    assert session is not None
    direction = request.query_params.get("direction", "outbound")
    if direction == "received":
        if not session.user.actor().inbound:
            raise HttpError(403, "Only admins and users given the inbound role can search received invoices.")
        return await _received_page(site, request, session, "search")
    if direction != "outbound":
        raise HttpError(400, "direction: one of outbound, received")
    return await _outbound_search(site, request, session)


_outbound_search = _list_page("all")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


async def download_form(site: Site, request: Request, session: Session | None) -> Response:
    """*Download selected* / *Download all*: saved in the inbound folder, then acknowledged at Pagero Online."""
    assert session is not None
    actor = session.user.actor()
    if not actor.inbound:
        raise HttpError(403, "Only admins and users given the inbound role see received invoices.")
    form = await request.form()
    back = _back(form, "/inbound/unfetched")
    ids: list[int] | None = None
    if form.get("what") != "all":
        try:
            ids = [int(str(value)) for value in form.getlist("id")]
        except ValueError as error:
            raise HttpError(400, "Choose invoices from the list.") from error
        if not ids:
            return RedirectResponse(_with(back, note="choose-received"), 303)
        if len(ids) > 1000:
            raise HttpError(400, "Download at most 1000 invoices at a time, or use Download all.")
    saved, refused = await asyncio.to_thread(views.download_received, site, actor, ids)
    folder = views.inbound_folder(site)
    if saved:
        ok = f"{_plural(len(saved), 'invoice')} saved in {folder}."
    elif not refused:
        ok = "Nothing was waiting to be downloaded."
    else:
        ok = ""
    bad = ""
    if refused:
        named = "; ".join(f"{r.number or f'#{r.id}'} from {r.sender or 'an unknown sender'}: {r.problem}"
                          for r in refused[:5])
        more = f" (and {len(refused) - 5} more)" if len(refused) > 5 else ""
        bad = f"{_plural(len(refused), 'invoice')} not saved — {named}{more}."
    return RedirectResponse(_with(back, **_said(session, ok=ok, bad=bad)), 303)


async def received_page(site: Site, request: Request, session: Session | None) -> Response:
    """One received invoice: what it says, its files, and the invoice itself (View target invoice)."""
    assert session is not None
    found = await asyncio.to_thread(views.received_detail, site, session.user.actor(), _received_id(request))
    title = f"Received invoice {found.number}" if found.number else f"Received invoice #{found.id}"
    return await render(site, request, session, "received.html", title=title, r=found,
                        here=f"/inbound/{found.id}")


async def received_presentation(site: Site, request: Request, session: Session | None) -> Response:
    """*View target invoice*: the received invoice as a readable PDF, shown in the page."""
    assert session is not None
    received_id = _received_id(request)
    actor = session.user.actor()
    data = await asyncio.to_thread(views.received_presentation, site, actor, received_id)
    found = await asyncio.to_thread(views.received_detail, site, actor, received_id)
    name = f"received-{found.number or received_id}.pdf"
    return Response(data, media_type="application/pdf", headers={
        "Content-Disposition": _disposition("inline", name, f"received-{received_id}.pdf"), **PDF_IN_PAGE_HEADERS})


async def received_original(site: Site, request: Request, session: Session | None) -> Response:
    """The file as the supplier sent it (its XML or PDF), under the name it was saved as."""
    assert session is not None
    received_id = _received_id(request)
    path = await asyncio.to_thread(views.received_file, site, session.user.actor(), received_id)
    kind = "application/pdf" if path.suffix.lower() == ".pdf" else "application/octet-stream"
    return FileResponse(path, media_type=kind, headers={
        "Content-Disposition": _disposition("attachment", path.name, f"received-{received_id}"), **DOWNLOAD_HEADERS})


async def received_attachment_file(site: Site, request: Request, session: Session | None) -> Response:
    """A file that came with a received invoice, as a download."""
    assert session is not None
    received_id = _received_id(request)
    raw = request.path_params["index"]
    if not raw.isdigit() or len(raw) > 4:
        raise HttpError(404, "No such attachment.")
    index = int(raw)
    actor = session.user.actor()
    path, name = await asyncio.to_thread(views.received_attachment, site, actor, received_id, index)
    found = await asyncio.to_thread(views.received_detail, site, actor, received_id)
    mime = next((a.mime for a in found.attachments if a.index == index), None)
    return FileResponse(path, media_type=_download_type(mime), headers={
        "Content-Disposition": _disposition("attachment", name, f"received-{received_id}-{index + 1}"),
        **DOWNLOAD_HEADERS})


# -- settings ------------------------------------------------------------------------------


async def settings_page(site: Site, request: Request, session: Session | None, *, message: str = "",
                        problem: str = "", status: int = 200, offer_send: int = 0,
                        company: Mapping[str, str] | None = None) -> Response:
    """The Settings page; ``company``: the company fields as the admin typed them (a refused save)."""
    users = await asyncio.to_thread(list_users, site.db)
    certificate = site.certificate() if site.certificate is not None else None
    return await render(site, request, session, "settings.html", title="Settings", status=status,
                        certificate=certificate,
                        settings=visible_settings(site.config), users=users, message=message, problem=problem,
                        offer_send=offer_send, company=company or company_form(site.config))


async def settings_save(site: Site, request: Request, session: Session | None) -> Response:
    assert session is not None
    form = await request.form()
    changes = {key: form.get(field) for field, key in FORM_FIELDS.items()}
    try:
        config, changed = await asyncio.to_thread(save_settings, site.config, changes)
    except ConnectError as error:
        # Shown again as typed, so that a long list of companies is not lost to one wrong VAT id.
        typed = {**company_form(site.config),
                 **{field: value for field in COMPANY_FIELDS if isinstance(value := form.get(field), str)}}
        return await settings_page(site, request, session, problem=str(error), status=400, company=typed)
    if changed:
        site.apply(config)
    waiting = 0
    if "sending.mode" in changed and config.sending.mode == "automatic":
        # Automatic sending takes new invoices only: ask about those already waiting.
        waiting = (await asyncio.to_thread(view_counts, site.db, session.user.actor()))["files_to_send"]
    return await settings_page(site, request, session, message=saved_message(changed), offer_send=waiting)


async def settings_test(site: Site, request: Request, session: Session | None) -> Response:
    result = await asyncio.to_thread(site.check_online)
    return await settings_page(site, request, session, message=result["message"] if result["connected"] else "",
                               problem="" if result["connected"] else result["message"])


async def settings_add_user(site: Site, request: Request, session: Session | None) -> Response:
    form = await request.form()
    names = str(form.get("print_names") or "").split(",")
    try:
        user = await asyncio.to_thread(add_user, site.db, str(form.get("name") or ""), str(form.get("password") or ""),
                                       role="admin" if form.get("role") == "admin" else "clerk", print_names=names,
                                       inbound=form.get("inbound") == "yes")
    except ConnectError as error:
        return await settings_page(site, request, session, problem=str(error), status=400)
    sees = " They see received invoices too." if user.inbound and not user.admin else ""
    return await settings_page(site, request, session, message=f"User {user.name} added.{sees}")


async def settings_inbound(site: Site, request: Request, session: Session | None) -> Response:
    """Give a user the inbound role (they see received invoices), or take it away."""
    form = await request.form()
    allow = form.get("inbound") == "on"
    try:
        user = await asyncio.to_thread(set_inbound, site.db, request.path_params["name"], allow)
    except ConnectError as error:
        return await settings_page(site, request, session, problem=str(error), status=400)
    if user.admin:
        message = f"{user.name} is an admin and sees received invoices either way."
    else:
        message = f"{user.name} {'now sees' if user.inbound else 'no longer sees'} received invoices."
    return await settings_page(site, request, session, message=message)


async def settings_print_names(site: Site, request: Request, session: Session | None) -> Response:
    form = await request.form()
    try:
        user = await asyncio.to_thread(set_print_names, site.db, request.path_params["name"],
                                       str(form.get("print_names") or "").split(","))
    except ConnectError as error:
        return await settings_page(site, request, session, problem=str(error), status=400)
    return await settings_page(site, request, session,
                               message=f"{user.name} now sees invoices printed as {', '.join(user.print_names)}.")


# -- layouts (Settings → Layouts) ---------------------------------------------------------------


async def layouts_page(site: Site, request: Request, session: Session | None, *, message: str = "",
                       problem: str = "", status: int = 200) -> Response:
    """Every layout the reader uses: where it was learned, how often it read since, and its actions."""
    found = await asyncio.to_thread(views.layouts, site)
    return await render(site, request, session, "layouts.html", title="Layouts", status=status, layouts=found,
                        message=message, problem=problem)


def _layout_name(request: Request) -> str:
    name = request.path_params["name"]
    if len(name) > 200 or not name.isprintable():
        raise HttpError(404, "No such layout.")
    return str(name)


async def layout_rename(site: Site, request: Request, session: Session | None) -> Response:
    assert session is not None
    name = _layout_name(request)
    form = await request.form()
    new_name = str(form.get("name") or "").strip()
    try:
        layout = await asyncio.to_thread(views.rename_layout, site, session.user.actor(), name, new_name)
    except HttpError as error:
        if error.status == 404:
            raise
        return await layouts_page(site, request, session, problem=error.message, status=error.status)
    return await layouts_page(site, request, session, message=f"Layout {name!r} is now called {layout.name!r}.")


async def layout_delete(site: Site, request: Request, session: Session | None) -> Response:
    assert session is not None
    name = _layout_name(request)
    await asyncio.to_thread(views.delete_layout, site, session.user.actor(), name)
    return await layouts_page(site, request, session, message=f"Layout {name!r} deleted. The invoices it read keep "
                                                              "their values.")


async def layout_download(site: Site, request: Request, session: Session | None) -> Response:
    """The layout's YAML file, as a download named by the server (never the raw name in the header)."""
    name = _layout_name(request)
    text = await asyncio.to_thread(views.layout_yaml, site, name)
    safe = _safe_name(name).strip("._") or "layout"
    return Response(text.encode(), media_type="application/yaml", headers={
        "Content-Disposition": f'attachment; filename="layout-{safe}.yaml"',
        "Content-Security-Policy": "default-src 'none'", "X-Content-Type-Options": "nosniff",
    })


ROUTES = [
    # path, methods, handler, access, CSRF token of the session required
    ("/", ["GET"], home, "public", True),
    ("/login", ["GET"], login_form, "public", True),
    ("/login", ["POST"], login, "public", False),
    ("/logout", ["POST"], logout, "user", True),
    ("/outbound/files-to-send", ["GET"], _list_page("files-to-send"), "user", True),
    ("/outbound/sent", ["GET"], _list_page("sent"), "user", True),
    ("/outbound/awaiting-attachments", ["GET"], _list_page("awaiting-attachments"), "user", True),
    ("/outbound/needs-attention", ["GET"], _list_page("needs-attention"), "user", True),
    ("/search", ["GET"], search_page, "user", True),
    ("/outbound/send", ["POST"], send_form, "user", True),
    ("/outbound/send-attachments", ["POST"], send_attachments_form, "user", True),
    ("/inbound/unfetched", ["GET"], _inbound_page("unfetched"), "user", True),
    ("/inbound/fetched", ["GET"], _inbound_page("fetched"), "user", True),
    ("/inbound/download", ["POST"], download_form, "user", True),
    ("/inbound/{id}", ["GET"], received_page, "user", True),
    ("/inbound/{id}/presentation", ["GET"], received_presentation, "user", True),
    ("/inbound/{id}/file", ["GET"], received_original, "user", True),
    ("/inbound/{id}/attachments/{index}", ["GET"], received_attachment_file, "user", True),
    ("/invoices/{id}", ["GET"], invoice_page, "user", True),
    ("/invoices/{id}/pdf", ["GET"], invoice_pdf_file, "user", True),
    ("/invoices/{id}/document", ["GET"], invoice_document_file, "user", True),
    ("/invoices/{id}/correct", ["GET"], correction_page, "user", True),
    ("/invoices/{id}/correct", ["POST"], correction_save, "user", True),
    ("/invoices/{id}/attachments", ["POST"], attachment_add, "user", True),
    ("/invoices/{id}/attachments/{aid}", ["GET"], attachment_open, "user", True),
    ("/invoices/{id}/attachments/{aid}/remove", ["POST"], attachment_remove, "user", True),
    ("/invoices/{id}/send-attachments", ["POST"], invoice_send_attachments, "user", True),
    ("/invoices/{id}/{action}", ["POST"], invoice_action, "user", True),
    ("/settings", ["GET"], settings_page, "admin", True),
    ("/settings", ["POST"], settings_save, "admin", True),
    ("/settings/test-connection", ["POST"], settings_test, "admin", True),
    ("/settings/users", ["POST"], settings_add_user, "admin", True),
    ("/settings/users/{name}", ["POST"], settings_print_names, "admin", True),
    ("/settings/users/{name}/inbound", ["POST"], settings_inbound, "admin", True),
    ("/settings/layouts", ["GET"], layouts_page, "admin", True),
    ("/settings/layouts/{name}/rename", ["POST"], layout_rename, "admin", True),
    ("/settings/layouts/{name}/delete", ["POST"], layout_delete, "admin", True),
    ("/layouts/{name}.yaml", ["GET"], layout_download, "admin", True),
]
