"""The inbox and the task actions."""

from flask import jsonify, request

from . import bp
from . import serialize as out
from .common import actor, json_body, system
from .errors import BadRequest

SCOPES = {"mine", "group", "all"}
YES, NO = {"1", "true", "yes"}, {"0", "false", "no"}


@bp.get("/tasks")
def list_tasks():
    scope = request.args.get("scope", "all")
    if scope not in SCOPES:
        raise BadRequest("scope must be mine, group or all", fields={"scope": "unknown scope"})
    overdue = request.args.get("overdue")
    if overdue is not None and overdue.lower() not in YES | NO:
        raise BadRequest("overdue must be true or false", fields={"overdue": "not a boolean"})
    views = system().tasks.inbox(
        actor(),
        scope=scope,
        process=request.args.get("process") or None,
        stage=request.args.get("stage") or None,
        overdue=None if overdue is None else overdue.lower() in YES,
    )
    return jsonify([out.task(view) for view in views])


@bp.get("/tasks/<task_id>")
def get_task(task_id):
    detail = system().tasks.task(actor(), task_id)
    return jsonify(
        {
            **out.task(detail.task),
            "form": detail.form,
            "data": _sendable(detail.data, detail.form),
            "instructions": detail.instructions,
        }
    )


def _sendable(data: dict, form: dict | None) -> dict:
    """The prefill as a client may post it back: without the form's readOnly fields (the
    budget's total), which the server computes and refuses from a client."""
    properties = (form or {}).get("properties", {})
    return {k: v for k, v in data.items() if not properties.get(k, {}).get("readOnly")}


@bp.post("/tasks/<task_id>/claim")
def claim_task(task_id):
    return jsonify(out.task(system().tasks.claim(actor(), task_id)))


@bp.post("/tasks/<task_id>/unclaim")
def unclaim_task(task_id):
    return jsonify(out.task(system().tasks.unclaim(actor(), task_id)))


@bp.post("/tasks/<task_id>/complete")
def complete_task(task_id):
    body = json_body({"data"})
    detail = system().tasks.complete_and_show(actor(), task_id, body.get("data", {}))
    return jsonify(out.instance(detail))
