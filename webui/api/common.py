"""Request helpers shared by the API modules."""

from flask import current_app, g, request

from .errors import BadRequest


def system():
    return current_app.extensions["dingdan"]


def actor():
    return g.actor


def json_body(allowed: set[str], required: set[str] = frozenset()) -> dict:
    """The request's JSON object; 400 naming the problem when it is not one."""
    if not request.data:
        body = {}
    else:
        body = request.get_json(silent=True, force=True)
        if body is None:
            raise BadRequest("the body is not valid JSON", fields={"body": "malformed JSON"})
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object", fields={"body": "not an object"})
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise BadRequest(
            f"unknown field: {', '.join(unknown)}", fields={k: "unknown field" for k in unknown}
        )
    missing = sorted(required - set(body))
    if missing:
        raise BadRequest(
            f"missing field: {', '.join(missing)}", fields={k: "required" for k in missing}
        )
    return body


def query_int(name: str):
    value = request.args.get(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number", fields={name: "not a number"}) from None
