"""Text as a clerk means it: leading and trailing blanks are not part of what was typed.

Every string a form declares as text (`"type": "string"`, not a closed `enum`/`const`) is
stored trimmed, and validated trimmed: "   " is empty, so a required text made only of
spaces gets the same message as an empty one, and "  甲公司 " is the enterprise "甲公司".
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

# Unicode whitespace (the ideographic space U+3000 too) and the invisible zero-width ones.
_BLANKS = r"[\s\u200b\u200c\u200d\u2060\ufeff]"
_EDGES = re.compile(rf"\A{_BLANKS}+|{_BLANKS}+\Z")
_RUNS = re.compile(rf"{_BLANKS}+")


def trim(text: str) -> str:
    return _EDGES.sub("", text)


def same_name_key(text: str) -> str:
    """What two names must share to be the same name: "ＡＢＣ 公司" ~ " abc  公司"."""
    return _RUNS.sub(" ", unicodedata.normalize("NFKC", trim(text))).strip().casefold()


def _is_text(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    is_string = kind == "string" or (isinstance(kind, list) and "string" in kind)
    return is_string and "enum" not in schema and "const" not in schema


def trimmed(schema: object, value: Any) -> Any:
    """`value` with every text the schema declares trimmed; the walk follows the schema
    (`properties`, `items`), never deeper, and leaves what it does not declare as it is."""
    if not isinstance(schema, dict):
        return value
    if isinstance(value, str):
        return trim(value) if _is_text(schema) else value
    if isinstance(value, dict):
        properties = schema.get("properties")
        if not isinstance(properties, dict):
            return value
        return {
            name: trimmed(properties[name], item) if name in properties else item
            for name, item in value.items()
        }
    if isinstance(value, list):
        items = schema.get("items")
        return [trimmed(items, item) for item in value] if isinstance(items, dict) else value
    return value
