"""The web UI: server-rendered pages in zh-CN first, English second.

Each page module is one blueprint; `init_app` wires sessions, CSRF, translations and them.
"""

import logging
import os
import secrets

from flask import session
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect

from . import (
    admin,
    audit,
    auth,
    experts,
    inbox,
    instances,
    processes,
    reports,
    start,
    task_form,
    vendor,
)

log = logging.getLogger("dingdan.web")
LANGUAGES = {"zh_CN": "中文", "en": "English"}
DEFAULT_LANGUAGE = "zh_CN"
csrf = CSRFProtect()


def select_locale() -> str:
    """The language chosen in this session, else Chinese: the center's working language."""
    chosen = session.get("lang")
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def init_app(app, api_blueprint) -> None:
    secret = app.config.get("SECRET_KEY") or os.environ.get("DINGDAN_SECRET_KEY")
    if not secret:
        log.warning("DINGDAN_SECRET_KEY is not set: sessions end when the service restarts")
        secret = secrets.token_hex(32)
    app.config.update(
        SECRET_KEY=secret,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        BABEL_DEFAULT_LOCALE=DEFAULT_LANGUAGE,
        BABEL_TRANSLATION_DIRECTORIES=os.path.join(os.path.dirname(__file__), "..", "translations"),
    )
    csrf.init_app(app)
    csrf.exempt(api_blueprint)  # the API authenticates with bearer tokens, never cookies
    Babel(app, locale_selector=select_locale)
    for module in (
        auth,
        inbox,
        task_form,
        start,
        instances,
        audit,
        experts,
        admin,
        processes,
        reports,
        vendor,
    ):
        app.register_blueprint(module.bp)
    auth.init_app(app)

    @app.context_processor
    def languages():
        return {"languages": LANGUAGES, "current_language": select_locale()}
