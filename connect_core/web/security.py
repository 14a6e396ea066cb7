"""Who is asking, and whether a state-changing request really comes from our own pages.

Sessions live in the store (:mod:`connect_core.accounts.users`); the browser holds only the
random id in an HttpOnly, SameSite=Strict cookie.  Every POST, PUT and DELETE needs
the session's CSRF token (form field ``csrf`` or header ``X-CSRF-Token``) and, when the
browser names an origin (``Origin``, else ``Referer``), it must be this site's own.  The
login form, before any session exists, carries a token that must match a cookie
(double submit), so a foreign page cannot log a browser into another account either.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import secrets
import urllib.parse

from starlette.requests import Request
from starlette.responses import Response

from connect_core.accounts.sessions import Session, find_session
from connect_core.web.site import Site
from connect_core.web.views import HttpError

SESSION_COOKIE = "pagero_session"
LOGIN_COOKIE = "pagero_login"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                               "form-action 'self'; base-uri 'none'; object-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def timeouts(site: Site) -> tuple[dt.timedelta, dt.timedelta]:
    """How long a session may stay unused, and how long it may last at most."""
    return (dt.timedelta(minutes=site.config.web.idle_minutes),
            dt.timedelta(hours=site.config.web.session_hours))


async def current_session(site: Site, request: Request) -> Session | None:
    """The logged-in session of this request, if any (looked up once per request)."""
    if "session" not in request.state._state:
        session_id = request.cookies.get(SESSION_COOKIE, "")
        idle, absolute = timeouts(site)
        found = await asyncio.to_thread(find_session, site.db, session_id, idle=idle, absolute=absolute) \
            if session_id else None
        request.state.session = found
    session: Session | None = request.state.session
    return session


def secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, session_id: str, max_age: int) -> None:
    response.set_cookie(SESSION_COOKIE, session_id, max_age=max_age, path="/", httponly=True, samesite="strict",
                        secure=secure(request))


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=secure(request))


def login_token(request: Request) -> tuple[str, bool]:
    """The login form's CSRF token: the one in the browser's cookie, or a new one (True: set the cookie)."""
    token = request.cookies.get(LOGIN_COOKIE, "")
    if 20 <= len(token) <= 100 and token.replace("-", "").replace("_", "").isalnum():
        return token, False
    return secrets.token_urlsafe(32), True


def set_login_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(LOGIN_COOKIE, token, max_age=3600, path="/", httponly=True, samesite="strict",
                        secure=secure(request))


def same_origin(request: Request) -> bool:
    """False when the browser says the request comes from a page of another site."""
    origin = request.headers.get("origin")
    if origin is None:
        referer = request.headers.get("referer")
        if not referer:
            return True  # not a browser form post (scripts, curl): the CSRF token still has to match
        parts = urllib.parse.urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}"
    host = request.headers.get("host", "")
    return bool(host) and origin.lower() in (f"http://{host}".lower(), f"https://{host}".lower())


def check_origin(request: Request) -> None:
    if request.method in UNSAFE and not same_origin(request):
        raise HttpError(403, "This request came from another site and was refused.")


def check_token(expected: str, given: str | None) -> None:
    """403 unless ``given`` is ``expected`` (compared in constant time)."""
    if not given or not hmac.compare_digest(expected.encode(), given.encode()):
        raise HttpError(403, "The form had expired or did not come from this page; reload the page and try again.")
