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
        try:
            body = request.get_json(silent=True, force=True)
        except RecursionError:
            body = None
        if body is None:
            raise BadRequest("the body is not valid JSON", fields={"body": "malformed JSON"})
    bad = _nul_path(body)
    if bad is not None:
        raise BadRequest("text may not contain NUL characters", fields={bad or "body": "NUL"})
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


def query_int(name: str, minimum: int = 1, maximum: int = 2**31 - 1):
    value = request.args.get(name)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number", fields={name: "not a number"}) from None
    if not minimum <= number <= maximum:
        raise BadRequest(
            f"{name} must be between {minimum} and {maximum}", fields={name: "out of range"}
        )
    return number


def _nul_path(value, path=""):
    """The dotted path of the first string holding a NUL character (databases refuse them)."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, item in items:
        if isinstance(key, str) and "\x00" in key:
            return path or "body"
        found = _nul_path(item, f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None
