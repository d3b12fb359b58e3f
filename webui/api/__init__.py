"""The HTTP API of API.md, mounted at /api/v1."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from . import (  # noqa: E402,F401 — each module adds its routes to bp
    auth,
    experts,
    files,
    forms,
    instances,
    openapi,
    processes,
    tasks,
)
