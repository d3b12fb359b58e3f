"""The validator class forms use, and turning its errors into one message per field path."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

from forms.messages import UNKNOWN_FIELD, Message, message_for
from forms.text import same_name_key


def _is_integer(checker: object, instance: object) -> bool:
    # Booleans are not integers, and neither is 3.0: stored data keeps the type the form asks.
    return isinstance(instance, int) and not isinstance(instance, bool)


def _is_number(checker: object, instance: object) -> bool:
    if isinstance(instance, bool) or not isinstance(instance, int | float):
        return False
    if isinstance(instance, int):
        return True  # math.isfinite(10**400) raises OverflowError: an int is always finite
    return math.isfinite(instance)  # json.loads accepts NaN and Infinity; forms do not


def _read_only(validator: Any, value: object, instance: object, schema: dict) -> Iterator:
    """`readOnly: true` (with x-computed) refuses the field in input: the server computes it."""
    if value is True:
        yield ValidationError("computed by the server")


def _unique_by(validator: Any, key: object, instance: object, schema: dict) -> Iterator:
    """`x-unique-by: name` on a list: no two rows with the same `name` (one task is opened
    per row, named by it, and each row's record is kept under that name). Names compare
    trimmed, case and width folded: "  ＡＢＣ公司 " is "abc公司" (forms/text.py)."""
    if not isinstance(instance, list) or not isinstance(key, str):
        return
    seen: set[str] = set()
    for index, row in enumerate(instance):
        value = row.get(key) if isinstance(row, dict) else None
        name = same_name_key(value) if isinstance(value, str) else ""
        if not name:
            continue
        if name in seen:
            yield ValidationError(f"{key} appears twice", path=[index, key])
        seen.add(name)


FormValidator = validators.extend(
    Draft202012Validator,
    validators={"readOnly": _read_only, "x-unique-by": _unique_by},
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine_many(
        {"integer": _is_integer, "number": _is_number}
    ),
)

# When one field has several errors, the most basic one is reported.
_RANK = {"type": 0, "readOnly": 1, "additionalProperties": 1, "required": 2}


def _path(parts: Iterable[object]) -> str:
    return ".".join(str(p) for p in parts)


def _unknown_names(error: ValidationError) -> list[str]:
    schema, instance = error.schema, error.instance
    known = set(schema.get("properties", {}))
    patterns = list(schema.get("patternProperties", {}))
    return [
        name
        for name in instance
        if name not in known and not any(re.search(p, name) for p in patterns)
    ]


def _errors_by_path(error: ValidationError) -> Iterator[tuple[str, Message]]:
    base = list(error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict):
        text = message_for(error)  # "required", unless the schema words it itself
        for name in error.validator_value:
            if name not in error.instance:
                yield _path([*base, name]), text
    elif error.validator == "additionalProperties" and error.validator_value is False:
        for name in _unknown_names(error):
            yield _path([*base, name]), UNKNOWN_FIELD
    else:
        yield _path(base), message_for(error)


def collect_errors(validator: Any, data: object) -> dict[str, Message]:
    """Every error in `data`, one message per dotted field path."""
    found: dict[str, tuple[int, Message]] = {}
    for error in validator.iter_errors(data):
        rank = _RANK.get(error.validator, 3)
        for path, text in _errors_by_path(error):
            if path not in found or rank < found[path][0]:
                found[path] = (rank, text)
    return {path: text for path, (_, text) in found.items()}
