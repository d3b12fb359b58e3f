"""The task page (filled in by its own change)."""

from flask import Blueprint

from .auth import signed_in

bp = Blueprint("task_form", __name__)


@bp.route("/tasks/<task_id>", methods=["GET", "POST"])
@signed_in
def task(task_id):
    return "task"
