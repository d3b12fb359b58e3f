"""The OpenAPI 3.1 document of the API. Written by hand so that a test can hold it against
the routes the app really serves (tests/test_webui__openapi.py)."""

from flask import current_app, jsonify

from . import bp
from .instances import STATUSES

ERROR = {"$ref": "#/components/schemas/Error"}


def _json(schema, description="OK"):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses):
    return {str(s): _json(ERROR, "error") for s in statuses}


def _answer(description, media=None, schema=None):
    """A success response that is not JSON: a download, XML, a page."""
    answer = {"description": description}
    if media is not None:
        answer["content"] = {media: {"schema": schema or {"type": "string"}}}
    return answer


def _op(
    summary, ok="200", schema=None, body=None, errors=(401,), params=(), tag="api", answer=None
):
    """An operation; `answer` replaces the JSON success response (see `_answer`)."""
    op = {
        "summary": summary,
        "tags": [tag],
        "responses": {ok: answer or _json(schema or {"type": "object"}), **_errors(*errors)},
    }
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if params:
        op["parameters"] = list(params)
    return op


def _path_param(name):
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _query(name, schema=None):
    return {"name": name, "in": "query", "required": False, "schema": schema or {"type": "string"}}


REF = {
    k: {"$ref": f"#/components/schemas/{k}"}
    for k in ("Task", "Instance", "Event", "File", "Expert")
}
DATA_BODY = {"type": "object", "properties": {"data": {"type": "object"}}}
EXPERT_FIELDS = {
    k: {"type": "string"}
    for k in ("name", "organisation", "specialty", "qualification", "experience", "phone")
}

DEPLOY_BODY = {
    "required": True,
    "content": {
        "application/xml": {"schema": {"type": "string"}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "file": {"type": "array", "items": {"type": "string", "format": "binary"}}
                },
            }
        },
    },
}

PATHS = {
    "/api/v1/auth/token": {
        "post": _op(
            "Sign in; returns a bearer token",
            body={
                "type": "object",
                "required": ["username", "password"],
                "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
            },
            errors=(400, 401, 429),
        )
        | {"security": []}
    },
    "/api/v1/openapi.json": {"get": _op("This document", errors=()) | {"security": []}},
    "/api/v1/processes": {"get": _op("Latest version of each process", schema={"type": "array"})},
    "/api/v1/processes/deploy": {
        "post": {
            **_op(
                "Deploy BPMN (application/xml, or multipart fields 'file'): 201 with the new "
                "version; 200 with the existing one when the content is identical to it",
                ok="201",
                errors=(400, 401, 403, 413, 422),
            ),
            "requestBody": DEPLOY_BODY,
        }
    },
    "/api/v1/processes/check": {
        "post": {
            **_op(
                "Check BPMN as deploy would, without deploying: {valid, details}",
                schema={
                    "type": "object",
                    "required": ["valid", "details"],
                    "properties": {"valid": {"type": "boolean"}, "details": {"type": "array"}},
                },
                errors=(400, 401, 403, 413),
            ),
            "requestBody": DEPLOY_BODY,
        }
    },
    "/api/v1/processes/{key}": {
        "get": _op("Every version of a process", errors=(401, 404), params=[_path_param("key")])
    },
    "/api/v1/processes/{key}/diff": {
        "get": _op(
            "Elements added, removed and changed between two versions (default: the last two)",
            schema={
                "type": "object",
                "required": ["key", "from", "to", "added", "removed", "changed"],
                "properties": {
                    "key": {"type": "string"},
                    "from": {"type": "integer"},
                    "to": {"type": "integer"},
                    "added": {"type": "array"},
                    "removed": {"type": "array"},
                    "changed": {"type": "array"},
                },
            },
            errors=(400, 401, 404),
            params=[
                _path_param("key"),
                _query("from", {"type": "integer"}),
                _query("to", {"type": "integer"}),
            ],
        )
    },
    "/api/v1/processes/{key}/bpmn": {
        "get": _op(
            "The BPMN XML of a version (latest by default)",
            errors=(400, 401, 404),
            params=[_path_param("key"), _query("version", {"type": "integer", "minimum": 1})],
            answer=_answer("BPMN XML", "application/xml"),
        )
    },
    "/api/v1/instances": {
        "post": _op(
            "Start an instance with the start form's data",
            ok="201",
            schema=REF["Instance"],
            body={
                "type": "object",
                "required": ["process"],
                "properties": {"process": {"type": "string"}, "data": {"type": "object"}},
            },
            errors=(400, 401, 403, 404, 422),
        ),
        "get": _op(
            "Instances the caller may see",
            schema={"type": "array", "items": REF["Instance"]},
            errors=(400, 401),
            params=[
                _query(
                    "status",
                    {
                        "type": "string",
                        "enum": sorted(STATUSES),
                    },
                ),
                _query("process"),
                _query("q"),
            ],
        ),
    },
    "/api/v1/instances/{instance_id}": {
        "get": _op(
            "One instance",
            schema=REF["Instance"],
            errors=(401, 404),
            params=[_path_param("instance_id")],
        )
    },
    "/api/v1/instances/{instance_id}/retry": {
        "post": _op(
            "Retry a failed instance's failed step (staff), with corrected `data` or a `patch`",
            schema=REF["Instance"],
            body={
                "type": "object",
                "properties": {"data": {"type": "object"}, "patch": {"type": "object"}},
            },
            errors=(400, 401, 403, 404, 409, 422),
            params=[_path_param("instance_id")],
        )
    },
    "/api/v1/instances/{instance_id}/suspend": {
        "post": _op(
            "Suspend an instance (staff): no task or timer moves it",
            schema=REF["Instance"],
            errors=(401, 403, 404, 409),
            params=[_path_param("instance_id")],
        )
    },
    "/api/v1/instances/{instance_id}/resume": {
        "post": _op(
            "Resume a suspended instance (staff)",
            schema=REF["Instance"],
            errors=(401, 403, 404, 409),
            params=[_path_param("instance_id")],
        )
    },
    "/api/v1/instances/{instance_id}/history": {
        "get": _op(
            "The audit events in order",
            schema={"type": "array", "items": REF["Event"]},
            errors=(401, 404),
            params=[_path_param("instance_id")],
        )
    },
    "/api/v1/instances/{instance_id}/replay": {
        "get": _op(
            "The instance as it stood after event seq (default: the last), rebuilt by "
            "replaying the audit log on its version: element states, open tasks, data, what "
            "that event changed, and any divergence from the stored state (auditor, center "
            "staff, center head, admin)",
            errors=(400, 401, 403, 404),
            params=[_path_param("instance_id"), _query("seq", {"type": "integer", "minimum": 1})],
        )
    },
    "/api/v1/instances/{instance_id}/archive.zip": {
        "get": _op(
            "The archive bundle: forms as data and printable pages, documents, files, the "
            "audit log with a verification script, and a manifest with checksums",
            errors=(401, 404),
            params=[_path_param("instance_id")],
            answer=_answer("a zip file", "application/zip", {"type": "string", "format": "binary"}),
        )
    },
    "/api/v1/instances/{instance_id}/notices": {
        "get": _op(
            "Notices sent (rejection, acceptance)",
            schema={"type": "array"},
            errors=(401, 404),
            params=[_path_param("instance_id")],
        )
    },
    "/api/v1/instances/{instance_id}/documents": {
        "get": _op(
            "Generated documents",
            schema={"type": "array"},
            errors=(401, 404),
            params=[_path_param("instance_id")],
        )
    },
    "/api/v1/instances/{instance_id}/documents/{name}": {
        "get": _op(
            "A generated document as printable HTML",
            errors=(401, 404),
            params=[_path_param("instance_id"), _path_param("name")],
            answer=_answer("HTML", "text/html"),
        )
    },
    "/api/v1/tasks": {
        "get": _op(
            "The caller's inbox",
            schema={"type": "array", "items": REF["Task"]},
            errors=(400, 401),
            params=[
                _query("scope", {"enum": ["mine", "group", "all"], "default": "all"}),
                _query("process"),
                _query("stage"),
                _query("overdue", {"type": "boolean"}),
            ],
        )
    },
    "/api/v1/tasks/{task_id}": {
        "get": _op(
            "A task with its form and prefilled data",
            errors=(401, 404),
            params=[_path_param("task_id")],
        )
    },
    "/api/v1/tasks/{task_id}/claim": {
        "post": _op(
            "Claim a task",
            schema=REF["Task"],
            errors=(401, 403, 404, 409),
            params=[_path_param("task_id")],
        )
    },
    "/api/v1/tasks/{task_id}/unclaim": {
        "post": _op(
            "Give a claimed task back",
            schema=REF["Task"],
            errors=(401, 403, 404, 409),
            params=[_path_param("task_id")],
        )
    },
    "/api/v1/tasks/{task_id}/complete": {
        "post": _op(
            "Complete a task with its form data",
            schema=REF["Instance"],
            body=DATA_BODY,
            errors=(400, 401, 403, 404, 409, 422),
            params=[_path_param("task_id")],
        )
    },
    "/api/v1/experts": {
        "get": _op(
            "The expert register (the center's staff: roles that see every instance): "
            "active experts whose name, organisation or specialty hold every word of q",
            schema={"type": "array", "items": REF["Expert"]},
            errors=(400, 401, 403),
            params=[_query("q"), _query("include_inactive", {"type": "boolean"})],
        ),
        "post": _op(
            "Add an expert (center_staff, center_head, admin)",
            ok="201",
            schema=REF["Expert"],
            body={
                "type": "object",
                "required": ["name", "organisation", "specialty", "qualification"],
                "properties": EXPERT_FIELDS,
            },
            errors=(400, 401, 403, 422),
        ),
    },
    "/api/v1/experts/{expert_id}": {
        "put": _op(
            "Change an expert; fields left out keep their values, active: false deactivates",
            schema=REF["Expert"],
            body={"type": "object", "properties": EXPERT_FIELDS | {"active": {"type": "boolean"}}},
            errors=(400, 401, 403, 404, 422),
            params=[_path_param("expert_id")],
        )
    },
    "/api/v1/forms/{key}": {
        "get": _op(
            "A form definition (JSON Schema, zh-CN and en labels)",
            errors=(401, 404),
            params=[_path_param("key")],
        )
    },
    "/api/v1/files": {
        "post": {
            **_op("Upload a file", ok="201", schema=REF["File"], errors=(400, 401, 403, 413, 422)),
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {"file": {"type": "string", "format": "binary"}},
                        }
                    }
                },
            },
        }
    },
    "/api/v1/files/{file_id}": {
        "get": _op(
            "Download a file (as an attachment)",
            errors=(401, 404),
            params=[_path_param("file_id")],
            answer=_answer("the file"),
        )
    },
}

# Identical content deploys nothing: the existing version answers, with 200.
PATHS["/api/v1/processes/deploy"]["post"]["responses"]["200"] = _json(
    {"type": "object"}, "the content equals a deployed version: that version, nothing new"
)

TEST_CLOCK_PATH = {
    "/api/v1/test/clock": {
        "post": _op(
            "Move the test clock and fire due timers (DINGDAN_TEST_CLOCK=1 only)",
            body={
                "type": "object",
                "required": ["now"],
                "properties": {"now": {"type": "string", "format": "date-time"}},
            },
            errors=(400, 401, 403),
        )
    }
}

SCHEMAS = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                    "details": {"type": "array"},
                },
            }
        },
    },
    "Task": {
        "type": "object",
        "properties": {
            k: {}
            for k in (
                "id",
                "instance_id",
                "element",
                "name",
                "role",
                "assignee",
                "subject",
                "due_at",
                "overdue",
                "created_at",
            )
        },
    },
    "Instance": {
        "type": "object",
        "properties": {
            k: {}
            for k in (
                "id",
                "process",
                "version",
                "status",
                "stage",
                "file_number",
                "started_by",
                "started_at",
                "data",
                "open_tasks",
                "timers",
            )
        },
    },
    "Event": {
        "type": "object",
        "properties": {k: {} for k in ("seq", "at", "type", "actor", "element", "task_id", "data")},
    },
    "File": {"type": "object", "properties": {k: {} for k in ("id", "name", "size", "sha256")}},
    "Expert": {
        "type": "object",
        "properties": {
            k: {}
            for k in (
                "id",
                "name",
                "organisation",
                "specialty",
                "qualification",
                "experience",
                "phone",
                "active",
                "updated_by",
                "updated_at",
            )
        },
    },
}


def document(with_test_clock: bool) -> dict:
    paths = dict(PATHS)
    if with_test_clock:
        paths.update(TEST_CLOCK_PATH)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Dingdan API", "version": "1"},
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(document("test_clock" in current_app.blueprints))
