"""Request helpers shared by the API modules."""

import math
import re

from flask import current_app, g, request

from engine.errors import TooLarge

from .errors import BadRequest

MAX_JSON_BYTES = 1024 * 1024


def system():
    return current_app.extensions["dingdan"]


def actor():
    return g.actor


def json_body(allowed: set[str], required: set[str] = frozenset()) -> dict:
    """The request's JSON object; 400 naming the problem when it is not one, 413 past
    MAX_JSON_BYTES (a form's data is kilobytes; files come through POST /files)."""
    if (request.content_length or 0) > MAX_JSON_BYTES:
        raise TooLarge(
            f"the body is larger than {MAX_JSON_BYTES} bytes", fields={"body": "too large"}
        )
    if not request.data:
        body = {}
    else:
        try:
            body = request.get_json(silent=True, force=True)
        except RecursionError:
            body = None
        if body is None:
            raise BadRequest("the body is not valid JSON", fields={"body": "malformed JSON"})
    found = _unstorable(body)
    if found is not None:
        path, why = found
        raise BadRequest(f"{path or 'body'}: {_WHY[why]}", fields={path or "body": why})
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


_WHY = {
    "NUL": "text may not contain NUL characters",
    "lone surrogate": "text may not contain a lone surrogate (\\ud800-\\udfff): it is no character",
    "not a finite number": "NaN and Infinity are not numbers JSON allows",
}
_SURROGATES = re.compile("[\ud800-\udfff]")


def _unstorable(value, path=""):
    """(dotted path, why) of the first value no database or hash can take: text with a NUL
    (databases refuse it) or a lone surrogate (no UTF-8 encodes it), or NaN or Infinity
    (Python's JSON reader takes them, JSON does not); None when there is none."""
    if isinstance(value, str):
        return _text_problem(value, path)
    if isinstance(value, float):
        return None if math.isfinite(value) else (path, "not a finite number")
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, item in items:
        found = _text_problem(key, path) if isinstance(key, str) else None
        found = found or _unstorable(item, f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None


def _text_problem(text: str, path: str):
    if "\x00" in text:
        return path, "NUL"
    if _SURROGATES.search(text):
        return path, "lone surrogate"
    return None
