"""The start page (filled in by its own change)."""

from flask import Blueprint

from .auth import signed_in

bp = Blueprint("start", __name__)


@bp.route("/start/<process>", methods=["GET", "POST"])
@signed_in
def form(process):
    return "start"
