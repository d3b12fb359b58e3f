"""The Flask application factory: the one composition of the web layer."""

import os

from flask import Flask

from engine.clock import SettableClock

from . import health, pages, security
from .api import bp as api_blueprint
from .api import errors

MAX_REQUEST_BYTES = 32 * 1024 * 1024


def create_app(system, config=None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH=max(MAX_REQUEST_BYTES, system.max_file_bytes + 1024 * 1024),
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.config.update(config or {})
    app.extensions["dingdan"] = system

    errors.init_app(app)
    app.register_blueprint(api_blueprint)
    pages.init_app(app, api_blueprint)
    security.init_app(app)
    app.register_blueprint(health.bp)  # /healthz, /metrics, request counts
    if os.environ.get("DINGDAN_TEST_CLOCK") == "1" and isinstance(
        system.engine.clock, SettableClock
    ):
        from .api.test_clock import bp as test_clock_blueprint

        app.register_blueprint(test_clock_blueprint)
        pages.csrf.exempt(test_clock_blueprint)  # bearer-authenticated, like the API

    return app
