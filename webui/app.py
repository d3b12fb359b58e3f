"""The Flask application factory: the one composition of the web layer."""

from flask import Flask, jsonify


def create_app(system, config=None) -> Flask:
    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=32 * 1024 * 1024)
    app.config.update(config or {})
    app.extensions["dingdan"] = system

    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "ok"})

    return app
