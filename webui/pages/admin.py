"""Administration (filled in by its own change)."""

from flask import Blueprint

from .auth import signed_in

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/users")
@signed_in
def users():
    return "users"
