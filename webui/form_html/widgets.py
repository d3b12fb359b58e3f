"""Which HTML widget a schema property gets, and the small schema readings both ways share."""

from __future__ import annotations

from typing import Any

RADIO_MAX = 4  # an enum with this many options or fewer is a row of radio buttons
SCALE_MAX = 10  # an integer between a minimum and a maximum this close is a scale of radios
ROW_PLACEHOLDER = "__index__"  # the row index in the template row that form.js copies


def widget_of(prop: dict[str, Any]) -> str:
    """One of: computed, rows, files, file, checkboxes, lines, checkbox, radio, select,
    scale, suggest, integer, number, date, datetime, textarea, text."""
    kind = prop.get("type")
    if prop.get("readOnly") and prop.get("x-computed"):
        return "computed"
    if kind == "array":
        items = prop.get("items", {})
        if items.get("type") == "object":
            return "rows"
        if prop.get("x-widget") == "file" or items.get("x-widget") == "file":
            return "files"
        if "enum" in items or "x-suggestions" in items:
            return "checkboxes"
        return "lines"
    if prop.get("x-widget") == "file":
        return "file"
    if kind == "boolean":
        return "checkbox"
    if "enum" in prop:
        return "radio" if len(prop["enum"]) <= RADIO_MAX else "select"
    if kind == "integer":
        low, high = prop.get("minimum"), prop.get("maximum")
        if isinstance(low, int) and isinstance(high, int) and 0 <= high - low < SCALE_MAX:
            return "scale"
        return "integer"
    if kind == "number":
        return "number"
    if "x-suggestions" in prop:
        return "suggest"
    if prop.get("format") == "date":
        return "date"
    if prop.get("format") == "date-time":
        return "datetime"
    if prop.get("x-widget") == "textarea":
        return "textarea"
    return "text"


def title(node: dict[str, Any], lang: str, fallback: str = "") -> str:
    """A node's `x-title` in `lang`, else its `title`, else `fallback`."""
    titles = node.get("x-title") or {}
    return titles.get(lang) or titles.get("zh-CN") or node.get("title") or fallback


def choice_values(node: dict[str, Any]) -> list:
    """The values offered: a closed `enum` or the open `x-suggestions`."""
    return list(node.get("enum") or node.get("x-suggestions") or [])


def choice_title(node: dict[str, Any], value: object, lang: str) -> str:
    titles = (node.get("x-enum-titles") or {}).get(value) if isinstance(value, str) else None
    if titles:
        return titles.get(lang) or titles.get("zh-CN") or str(value)
    return str(value)


def computed_spec(prop: dict[str, Any]) -> tuple[str, str, str] | None:
    """`"sum:items.amount"` → ("sum", "items", "amount")."""
    operation, _, target = str(prop.get("x-computed", "")).partition(":")
    array, _, item_field = target.partition(".")
    if operation and array and item_field:
        return operation, array, item_field
    return None


def is_input(prop: dict[str, Any]) -> bool:
    """Computed fields are the server's: never an input, never read from the browser."""
    return not (prop.get("readOnly") or prop.get("x-computed"))
