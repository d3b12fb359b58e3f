"""Instance pages (filled in by their own change)."""

from flask import Blueprint

from .auth import signed_in

bp = Blueprint("instances", __name__)


@bp.get("/instances")
@signed_in
def index():
    return "instances"


@bp.get("/instances/<instance_id>")
@signed_in
def detail(instance_id):
    return "instance"
