"""Instances: start, list, read, their history and their documents; for auditors their
replay at any event, and for whoever may see one its archive bundle."""

from flask import Response, jsonify, request

from engine.errors import InvalidData
from tasks.audits import Audits

from ..downloads import attachment
from . import bp
from . import serialize as out
from .common import actor, json_body, query_int, system
from .errors import BadRequest

STATUSES = {"running", "rejected", "archived", "cancelled", "failed"}


@bp.post("/instances")
def start_instance():
    body = json_body({"process", "data"}, {"process"})
    if not isinstance(body["process"], str):
        raise BadRequest("process must be a string", fields={"process": "not a string"})
    instance = system().tasks.start(actor(), body["process"], body.get("data", {}))
    detail = system().records.instance(actor(), instance.id)
    return jsonify(out.instance(detail)), 201


@bp.get("/instances")
def list_instances():
    status = request.args.get("status") or None
    if status is not None and status not in STATUSES:
        raise BadRequest(
            f"status must be one of: {', '.join(sorted(STATUSES))}", fields={"status": "unknown"}
        )
    rows = system().records.instances(
        actor(),
        status=status,
        process=request.args.get("process") or None,
        q=request.args.get("q") or None,
    )
    return jsonify([out.instance_summary(row) for row in rows])


@bp.get("/instances/<instance_id>")
def get_instance(instance_id):
    return jsonify(out.instance(system().records.instance(actor(), instance_id)))


@bp.get("/instances/<instance_id>/history")
def get_history(instance_id):
    return jsonify([out.event(e) for e in system().records.history(actor(), instance_id)])


@bp.get("/instances/<instance_id>/notices")
def get_notices(instance_id):
    return jsonify(
        [
            {
                "to": n.username or n.role,
                "element": n.element,
                "text": n.text,
                "created_at": out.iso(n.created_at),
            }
            for n in system().records.notices(actor(), instance_id)
        ]
    )


@bp.get("/instances/<instance_id>/documents")
def list_documents(instance_id):
    rows = system().records.documents(actor(), instance_id)
    return jsonify([out.document(row, instance_id) for row in rows])


@bp.get("/instances/<instance_id>/documents/<name>")
def get_document(instance_id, name):
    row = system().records.document(actor(), instance_id, name)
    return Response(row.body, content_type=row.content_type)


@bp.post("/instances/<instance_id>/retry")
def retry_instance(instance_id):
    """Run a failed instance's failed step again, optionally with corrected data."""
    body = json_body({"data", "patch"})
    system().operations.retry(actor(), instance_id, body.get("data"), body.get("patch"))
    return jsonify(out.instance(system().records.instance(actor(), instance_id)))


@bp.post("/instances/<instance_id>/suspend")
def suspend_instance(instance_id):
    system().operations.suspend(actor(), instance_id)
    return jsonify(out.instance(system().records.instance(actor(), instance_id)))


@bp.post("/instances/<instance_id>/resume")
def resume_instance(instance_id):
    system().operations.resume(actor(), instance_id)
    return jsonify(out.instance(system().records.instance(actor(), instance_id)))


def _audits() -> Audits:
    return Audits(system().engine, system().forms, system().tasks.may_see)


@bp.get("/instances/<instance_id>/replay")
def replay_instance(instance_id):
    """The instance as it stood after event `seq`, rebuilt from the audit log."""
    seq = query_int("seq")
    try:
        result = _audits().replay(actor(), instance_id, seq)
    except InvalidData as exc:  # a seq past the last event
        raise BadRequest(exc.message, fields=exc.fields) from None
    return jsonify(out.replay(result))


@bp.get("/instances/<instance_id>/archive.zip")
def archive_bundle(instance_id):
    name, content = _audits().archive(actor(), instance_id)
    return attachment(content, name, "application/zip")
