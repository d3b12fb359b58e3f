"""The file ids a submission references: values of `"x-widget": "file"` fields, nested too."""

from __future__ import annotations

from typing import Any


def file_ids(schema: dict[str, Any], data: object) -> list[str]:
    """Every file id in `data`, in order of appearance, each once."""
    found: list[str] = []
    _walk(schema, data, found)
    return list(dict.fromkeys(found))


def _walk(schema: object, value: object, found: list[str]) -> None:
    if not isinstance(schema, dict):
        return
    if schema.get("x-widget") == "file":
        values = value if isinstance(value, list) else [value]
        found.extend(v for v in values if isinstance(v, str) and v)
    elif isinstance(value, dict):
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                _walk(sub, value[name], found)
    elif isinstance(value, list):
        for item in value:
            _walk(schema.get("items"), item, found)
