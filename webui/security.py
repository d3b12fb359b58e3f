"""Web hardening in one place: response headers, the session cookie's Secure flag, the
reverse-proxy rule and sign-in throttling.

- Every response carries a Content-Security-Policy that runs only our own scripts (the
  pages have no inline script; bpmn-js sets inline styles and shows one `data:` image), and
  `nosniff`, a same-origin Referrer-Policy and no framing.
- The session cookie is HttpOnly and SameSite=Lax (webui/pages) and Secure whenever the
  request came over HTTPS. Behind a reverse proxy (`DINGDAN_BEHIND_PROXY=1`, and only then)
  the proxy's `X-Forwarded-For/-Proto/-Host` are believed, through werkzeug's ProxyFix.
- Sign-in (`POST /login`, `POST /api/v1/auth/token`) is refused with 429 and Retry-After once
  a username, or a client address, has MAX_FAILURES failures within WINDOW. Failures are
  rows in the database, so every web process counts the same ones, timed by the engine's
  clock; a successful sign-in clears that username's failures.
"""

import hashlib
import hmac
import math
import os
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, g, has_request_context, make_response, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from sqlalchemy import delete, select
from werkzeug.middleware.proxy_fix import ProxyFix

from engine.models import SignInFailure

from .api.errors import error_response

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",  # bpmn-js positions its shapes with style=""
        "img-src 'self' data:",  # bpmn-js's breadcrumb arrow is a data: SVG in its CSS
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    )
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    # Our own pages still get a Referer: Flask-WTF checks it on every form post over HTTPS.
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
HSTS = "max-age=31536000"

SIGN_IN_ENDPOINTS = {"auth.login", "api.create_token"}
MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)

# Types a browser would run or render when another page of ours loaded the file (a <script>
# or a stylesheet from an upload): uploads of these are served as plain bytes.
ACTIVE_TYPES = ("html", "javascript", "ecmascript", "xml", "css", "svg")


def init_app(app) -> None:
    if os.environ.get("DINGDAN_BEHIND_PROXY") == "1":
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1)
    app.session_interface = HttpsAwareSessionInterface()
    app.before_request(_throttle_sign_in)
    app.after_request(_count_sign_in)
    app.after_request(_security_headers)


class HttpsAwareSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, with `Secure` set whenever the request is HTTPS."""

    def get_cookie_secure(self, app) -> bool:
        secure = super().get_cookie_secure(app)
        return secure or (has_request_context() and request.is_secure)


def _security_headers(response):
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if request.endpoint in SIGN_IN_ENDPOINTS:
        response.headers["Cache-Control"] = "no-store"  # a token or a password form
    disposition = response.headers.get("Content-Disposition", "")
    if disposition.startswith("attachment") and any(t in response.mimetype for t in ACTIVE_TYPES):
        response.mimetype = "application/octet-stream"
    return response


# -- sign-in throttling ---------------------------------------------------------------------


@dataclass(frozen=True)
class SignInKeys:
    """Keyed hashes of the submitted username and of the client address."""

    username: str
    address: str


def _throttle_sign_in():
    if request.method != "POST" or request.endpoint not in SIGN_IN_ENDPOINTS:
        return None
    keys = SignInKeys(_key("username", _submitted_username()), _key("address", _address()))
    wait = seconds_to_wait(current_app.extensions["dingdan"].engine, keys)
    if wait:
        return _too_many(wait)
    g.sign_in_keys = keys
    return None


def _count_sign_in(response):
    keys = g.pop("sign_in_keys", None)
    if keys is not None:
        engine = current_app.extensions["dingdan"].engine
        if response.status_code == 401:
            record_failure(engine, keys)
        elif response.status_code < 400:
            clear_failures(engine, keys)
    return response


def seconds_to_wait(engine, keys: SignInKeys) -> int:
    """0 when a sign-in may be tried now, else the seconds until one may."""
    with engine.unit_of_work() as uow:
        since = uow.now - WINDOW
        free_at = None
        for column, key in (
            (SignInFailure.username_key, keys.username),
            (SignInFailure.address_key, keys.address),
        ):
            recent = list(
                uow.session.scalars(
                    select(SignInFailure.at)
                    .where(column == key, SignInFailure.at > since)
                    .order_by(SignInFailure.at.desc())
                    .limit(MAX_FAILURES)
                )
            )
            if len(recent) >= MAX_FAILURES:  # wait until the oldest of them leaves the window
                until = recent[-1] + WINDOW
                free_at = until if free_at is None else max(free_at, until)
        if free_at is None:
            return 0
        return max(1, math.ceil((free_at - uow.now).total_seconds()))


def record_failure(engine, keys: SignInKeys) -> None:
    with engine.unit_of_work() as uow:
        uow.session.execute(delete(SignInFailure).where(SignInFailure.at <= uow.now - WINDOW))
        uow.session.add(
            SignInFailure(username_key=keys.username, address_key=keys.address, at=uow.now)
        )


def clear_failures(engine, keys: SignInKeys) -> None:
    """The user got in: its own mistakes no longer count, for the username nor the address
    (failures against other usernames from that address still do)."""
    with engine.unit_of_work() as uow:
        uow.session.execute(
            delete(SignInFailure).where(SignInFailure.username_key == keys.username)
        )


def _submitted_username() -> str:
    if request.endpoint == "auth.login":
        return request.form.get("username", "").strip()
    try:
        body = request.get_json(silent=True, force=True)
    except RecursionError:
        body = None
    username = body.get("username") if isinstance(body, dict) else None
    return username if isinstance(username, str) else ""


def _address() -> str:
    return request.remote_addr or ""


def _key(kind: str, value: str) -> str:
    secret = current_app.secret_key or ""
    if isinstance(secret, str):
        secret = secret.encode()
    message = f"{kind}\x00{value}".encode("utf-8", "surrogatepass")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def _too_many(seconds: int):
    if request.blueprint == "api":
        response = error_response(
            429,
            "too_many_requests",
            f"too many failed sign-ins; try again in {seconds} seconds",
        )
    else:
        message = _("登录失败次数过多，请%(minutes)s分钟后再试。", minutes=math.ceil(seconds / 60))
        response = make_response(render_template("pages/login.html", error=message), 429)
    response.headers["Retry-After"] = str(seconds)
    return response
