"""The expert register (filled in by its own change)."""

from flask import Blueprint

from .auth import signed_in

bp = Blueprint("experts", __name__)


@bp.get("/experts")
@signed_in
def index():
    return "experts"
