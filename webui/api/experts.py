"""The expert register: search it (the center's staff); add and change experts (center staff,
the center head, admins)."""

from flask import jsonify, request

from tasks.experts import FIELDS, ExpertService

from . import bp
from .common import actor, json_body, system
from .errors import BadRequest
from .serialize import iso

FLAGS = {"true": True, "1": True, "false": False, "0": False, "": False}


def _service() -> ExpertService:
    return ExpertService(system().engine)


def expert(row) -> dict:
    return {
        "id": row.id,
        "name": row.name,
        "organisation": row.organisation,
        "specialty": row.specialty,
        "qualification": row.qualification,
        "experience": row.experience,
        "phone": row.phone,
        "active": row.active,
        "updated_by": row.updated_by,
        "updated_at": iso(row.updated_at),
    }


@bp.get("/experts")
def list_experts():
    flag = request.args.get("include_inactive", "").lower()
    if flag not in FLAGS:
        raise BadRequest(
            "include_inactive must be true or false", fields={"include_inactive": "not a boolean"}
        )
    rows = _service().search(
        actor(), q=request.args.get("q") or None, active=None if FLAGS[flag] else True
    )
    return jsonify([expert(row) for row in rows])


@bp.post("/experts")
def add_expert():
    body = json_body(set(FIELDS))
    return jsonify(expert(_service().add(actor(), body))), 201


@bp.put("/experts/<int:expert_id>")
def update_expert(expert_id):
    body = json_body(set(FIELDS) | {"active"})
    return jsonify(expert(_service().update(actor(), expert_id, body)))
