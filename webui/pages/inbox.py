"""The inbox (filled in by its own change)."""

from flask import Blueprint, redirect, url_for

from .auth import signed_in

bp = Blueprint("inbox", __name__)


@bp.get("/")
@signed_in
def index():
    return redirect(url_for("inbox.tasks"))


@bp.get("/inbox")
@signed_in
def tasks():
    return "inbox"
