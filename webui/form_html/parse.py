"""A submitted HTML form (`request.form`, `request.files`) → the JSON object its schema wants.

Numbers become numbers (text that is not a number stays text, so validation names the
field), empty inputs are left out, an unticked checkbox is `false`, blank table rows are
dropped, computed fields are never read, a date-time gets Beijing's offset, and uploads
are stored through `store` and stand in the data as their file ids.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from webui.form_html.widgets import choice_values, is_input, widget_of

SHANGHAI_OFFSET = "+08:00"
TRUE = frozenset({"true", "on", "1", "yes"})
_LOCAL_DATETIME = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(:\d{2}(?:\.\d{1,6})?)?")
_MISSING = object()


class UploadError(Exception):
    """`store` could not keep an upload (too large, no name): the message is for the person."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class Parsed:
    data: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)  # uploads refused, by field path


Store = Callable[[Any], str]  # an uploaded file (werkzeug FileStorage) → its stored id


def submitted_rows(form, path: str) -> int:
    """How many rows of table `path` the browser sent, blank ones too."""
    return len(_row_indices(form, None, path))


def form_action(form) -> tuple[str, str] | None:
    """A table button pressed without JavaScript: ("add", "items") or ("remove", "items.1")."""
    for action in ("add", "remove"):
        target = form.get(f"_{action}_row")
        if target:
            return action, target
    return None


def parse(
    schema: Mapping[str, Any],
    form,
    files=None,
    store: Store | None = None,
    *,
    drop_row: str | None = None,
) -> Parsed:
    """The submission as JSON data typed per `schema`; `drop_row` ("items.1") leaves a row out."""
    reader = _Reader(form, files, store, drop_row)
    data = {}
    for name, prop in schema.get("properties", {}).items():
        value = reader.value(name, prop)
        if value is not _MISSING:
            data[name] = value
    return Parsed(data, reader.errors)


def _getlist(source, name: str) -> list:
    if source is None:
        return []
    if hasattr(source, "getlist"):
        return source.getlist(name)
    value = source.get(name)
    return [] if value is None else value if isinstance(value, list) else [value]


class _Reader:
    def __init__(self, form, files, store, drop_row):
        self.form = form
        self.files = files
        self.store = store
        self.drop_row = drop_row
        self.errors: dict[str, str] = {}

    def value(self, path: str, prop: Mapping[str, Any]):
        if not is_input(prop):
            return _MISSING  # computed by the server, whatever the browser sends
        widget = widget_of(prop)
        if widget == "rows":
            return self.rows(path, prop)
        if widget in ("file", "files"):
            return self.uploads(path, widget == "files")
        if widget == "checkbox":
            return any(str(v).strip().lower() in TRUE for v in _getlist(self.form, path))
        if widget == "checkboxes":
            items = prop.get("items", {})
            chosen = [_typed(items, v.strip()) for v in _getlist(self.form, path) if v.strip()]
            return list(dict.fromkeys(chosen)) or _MISSING
        if widget == "lines":
            text = self.text(path)
            items = prop.get("items", {})
            lines = [_typed(items, line.strip()) for line in text.splitlines() if line.strip()]
            return lines or _MISSING
        raw = self.text(path)
        return _typed(prop, raw) if raw else _MISSING

    def text(self, path: str) -> str:
        values = _getlist(self.form, path)
        text = str(values[-1]) if values else ""
        return text.replace("\r\n", "\n").strip()

    def rows(self, path: str, prop: Mapping[str, Any]):
        items = prop.get("items", {})
        properties = items.get("properties", {})
        rows = []
        for index in self.row_indices(path):
            if f"{path}.{index}" == self.drop_row:
                continue
            row = {}
            for key, sub in properties.items():
                value = self.value(f"{path}.{index}.{key}", sub)
                if value is not _MISSING:
                    row[key] = value
            if any(v is not False for v in row.values()):  # an unticked box alone is blank
                rows.append(row)
        return rows or _MISSING

    def row_indices(self, path: str) -> list[int]:
        return _row_indices(self.form, self.files, path)

    def uploads(self, path: str, many: bool):
        kept = [v for v in _getlist(self.form, path) if isinstance(v, str) and v.strip()]
        added = []
        for upload in _getlist(self.files, path):
            if not getattr(upload, "filename", None):
                continue  # the file input left empty
            if self.store is None:
                raise ValueError("a file was uploaded but no store was given")
            try:
                added.append(self.store(upload))
            except UploadError as exc:
                self.errors[path] = exc.message
        if many:
            return list(dict.fromkeys(kept + added)) or _MISSING
        chosen = added or kept
        return chosen[-1] if chosen else _MISSING


def _row_indices(form, files, path: str) -> list[int]:
    """The row numbers sent for table `path`, in order (JavaScript may leave gaps)."""
    pattern = re.compile(re.escape(path) + r"\.(\d+)\.")
    names = [*(form.keys() if form is not None else ()), *(files.keys() if files else ())]
    return sorted({int(m.group(1)) for name in names if (m := pattern.match(name))})


def _typed(prop: Mapping[str, Any], raw: str):
    """Text typed per the property: numbers as numbers when they are numbers, a date-time with
    Beijing's offset, a suggested value's title as the value itself."""
    kind = prop.get("type")
    if kind == "integer":
        return _integer(raw)
    if kind == "number":
        return _number(raw)
    if prop.get("format") == "date-time":
        return _with_offset(raw)
    if "x-suggestions" in prop or "enum" in prop:
        return _value_of_title(prop, raw)
    return raw


def _integer(raw: str):
    try:
        return int(raw)
    except ValueError:
        number = _number(raw)
        return int(number) if isinstance(number, float) and number.is_integer() else raw


def _number(raw: str):
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        number = float(raw)
    except ValueError:
        return raw
    return number if math.isfinite(number) else raw


def _with_offset(raw: str) -> str:
    """`datetime-local` sends "2026-10-20T09:00": the center means Beijing time."""
    match = _LOCAL_DATETIME.fullmatch(raw)
    if not match:
        return raw
    day, minutes, seconds = match.groups()
    return f"{day}T{minutes}{seconds or ':00'}{SHANGHAI_OFFSET}"


def _value_of_title(prop: Mapping[str, Any], raw: str):
    """An open choice's input shows titles ("服务机构"): send the value ("service_institution")."""
    values = choice_values(prop)
    if raw in values:
        return raw
    wanted = raw.casefold()
    for value in values:
        titles = (prop.get("x-enum-titles") or {}).get(value, {})
        if any(str(t).strip().casefold() == wanted for t in titles.values()):
            return value
    return raw
