"""A form schema plus data and error messages → field descriptions a template can render."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from webui.form_html.widgets import (
    ROW_PLACEHOLDER,
    choice_title,
    choice_values,
    computed_spec,
    title,
    widget_of,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def language(locale: object) -> str:
    """The schema language for a Babel locale: "zh_CN" → "zh-CN", anything else → "en"."""
    return "zh-CN" if str(locale or "").lower().startswith("zh") else "en"


@dataclass
class Option:
    value: str
    title: str
    selected: bool = False
    fill: dict[str, str] = field(default_factory=dict)  # a register entry: row key → value


@dataclass
class FileRef:
    id: str
    name: str


@dataclass
class Field:
    name: str  # the dotted path: the HTML name and where the validator reports errors
    key: str
    label: str
    widget: str
    required: bool = False
    value: str = ""
    checked: bool = False
    options: list[Option] = field(default_factory=list)
    open: bool = False  # checkboxes of suggestions: other values may be typed
    attrs: dict[str, Any] = field(default_factory=dict)
    placeholder: str | None = None
    error: str | None = None
    files: list[FileRef] = field(default_factory=list)
    # rows: `columns` are the template row (names with __index__), `rows` the rows shown
    columns: list[Field] = field(default_factory=list)
    rows: list[list[Field]] = field(default_factory=list)
    next_index: int = 0
    source: str | None = None  # x-source: a register whose entries fill a new row
    source_options: list[Option] = field(default_factory=list)
    computed: dict[str, str] = field(default_factory=dict)  # {"operation","array","field"}

    @property
    def id(self) -> str:
        return "f-" + self.name.replace(".", "-")

    @property
    def fieldset(self) -> bool:
        """Rendered as a group with a legend rather than one labelled input."""
        return self.widget in ("radio", "scale", "checkboxes", "rows")


@dataclass
class FormView:
    title: str
    instructions: str | None
    fields: list[Field]
    errors: list[str]  # messages not about any field shown (the whole submission, …)
    multipart: bool  # a file input: the form needs enctype=multipart/form-data

    def all_fields(self) -> Iterable[Field]:
        for top in self.fields:
            yield top
            for row in top.rows:
                yield from row


def describe(
    schema: Mapping[str, Any],
    data: Mapping[str, Any] | None = None,
    lang: str = "zh-CN",
    errors: Mapping[str, str] | None = None,
    *,
    file_name: Callable[[str], str] | None = None,
    blank_rows: Mapping[str, int] | None = None,
    sources: Mapping[str, list[Option]] | None = None,
) -> FormView:
    """Describe every field of `schema` with its value from `data` and its error message.

    `file_name(id)` names an attached file; `blank_rows[array]` empty rows follow the rows
    of each table (1 unless given); `sources[name]` are the entries a `"x-source": name`
    table offers to copy into a new row.
    """
    data = data if isinstance(data, Mapping) else {}
    required = set(schema.get("required", []))
    context = _Context(lang, file_name or (lambda file_id: file_id), blank_rows or {}, sources)
    fields = [
        context.field(name, prop, data.get(name), name in required, data)
        for name, prop in schema.get("properties", {}).items()
    ]
    view = FormView(
        title=title(schema, lang, schema.get("title", "")),
        instructions=(schema.get("x-instructions") or {}).get(lang),
        fields=fields,
        errors=[],
        multipart=any(f.widget in ("file", "files") for f in fields),
    )
    _place_errors(view, errors or {})
    return view


@dataclass
class _Context:
    lang: str
    file_name: Callable[[str], str]
    blank_rows: Mapping[str, int]
    sources: Mapping[str, list[Option]] | None

    def field(self, name, prop, value, required, data=None, key=None) -> Field:
        widget = widget_of(prop)
        key = key or name
        made = Field(
            name=name,
            key=key,
            label=title(prop, self.lang, key),
            widget=widget,
            required=required,
            attrs=_attrs(prop, widget),
        )
        examples = prop.get("examples")
        if examples and widget in ("text", "textarea", "suggest"):
            made.placeholder = str(examples[0])
        getattr(self, "_" + widget, self._text)(made, prop, value, data)
        return made

    # -- one method per widget that needs more than a text value --------------------------

    def _text(self, made, prop, value, data) -> None:
        made.value = _shown(value)

    def _datetime(self, made, prop, value, data) -> None:
        made.value = _local_datetime(value)

    def _suggest(self, made, prop, value, data) -> None:
        made.value = choice_title(prop, value, self.lang) if value is not None else ""
        made.options = [
            Option(str(v), choice_title(prop, v, self.lang)) for v in prop["x-suggestions"]
        ]

    def _checkbox(self, made, prop, value, data) -> None:
        made.checked = value is True

    def _radio(self, made, prop, value, data) -> None:
        made.options = [
            Option(_shown(v), choice_title(prop, v, self.lang), _same(v, value))
            for v in prop["enum"]
        ]

    _select = _radio

    def _scale(self, made, prop, value, data) -> None:
        low, high = prop["minimum"], prop["maximum"]
        made.options = [Option(str(n), str(n), _same(n, value)) for n in range(low, high + 1)]

    def _checkboxes(self, made, prop, value, data) -> None:
        items = prop.get("items", {})
        chosen = value if isinstance(value, list) else []
        offered = choice_values(items)
        made.options = [
            Option(str(v), choice_title(items, v, self.lang), v in chosen) for v in offered
        ]
        # A value the list does not offer (an open choice typed earlier) stays, ticked.
        made.options += [Option(_shown(v), _shown(v), True) for v in chosen if v not in offered]
        made.open = "enum" not in items

    def _lines(self, made, prop, value, data) -> None:
        made.value = "\n".join(_shown(v) for v in value) if isinstance(value, list) else ""

    def _file(self, made, prop, value, data) -> None:
        ids = value if isinstance(value, list) else [value] if value else []
        made.files = [FileRef(str(i), self.file_name(str(i))) for i in ids if isinstance(i, str)]

    _files = _file

    def _computed(self, made, prop, value, data) -> None:
        spec = computed_spec(prop)
        if spec is None:
            made.value = _shown(value)
            return
        operation, array, item_field = spec
        made.computed = {"operation": operation, "array": array, "field": item_field}
        rows = (data or {}).get(array)
        made.value = _money(_sum(rows, item_field))

    def _rows(self, made, prop, value, data) -> None:
        items = prop.get("items", {})
        properties = items.get("properties", {})
        required = set(items.get("required", []))

        def row(index, row_value) -> list[Field]:
            row_value = row_value if isinstance(row_value, dict) else {}
            return [
                self.field(
                    f"{made.name}.{index}.{key}", sub, row_value.get(key), key in required, key=key
                )
                for key, sub in properties.items()
            ]

        made.columns = row(ROW_PLACEHOLDER, {})
        shown = value if isinstance(value, list) else []
        made.rows = [row(i, v) for i, v in enumerate(shown)]
        for _ in range(self.blank_rows.get(made.name, 1)):
            made.rows.append(row(len(made.rows), {}))
        made.next_index = len(made.rows)
        source = prop.get("x-source")
        if source and self.sources is not None:
            made.source = source
            made.source_options = [
                Option(
                    o.value, o.title, False, {k: v for k, v in o.fill.items() if k in properties}
                )
                for o in self.sources.get(source, [])
            ]


def _attrs(prop: Mapping[str, Any], widget: str) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    if widget in ("integer", "number"):
        attrs["step"] = "1" if widget == "integer" else "any"
        for keyword, attr in (("minimum", "min"), ("maximum", "max")):
            if isinstance(prop.get(keyword), int | float):
                attrs[attr] = prop[keyword]
        attrs["inputmode"] = "numeric" if widget == "integer" else "decimal"
    if widget in ("text", "textarea", "suggest") and isinstance(prop.get("maxLength"), int):
        attrs["maxlength"] = prop["maxLength"]
    if widget == "text" and prop.get("format") == "phone":
        attrs["type"] = "tel"
    return attrs


def _shown(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _same(option: object, value: object) -> bool:
    return value is not None and _shown(option) == _shown(value)


def _local_datetime(value: object) -> str:
    """An ISO date-time as `datetime-local` wants it, in Beijing time; else as it was."""
    if not isinstance(value, str) or not value:
        return _shown(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(SHANGHAI)
    return moment.strftime("%Y-%m-%dT%H:%M:%S" if moment.second else "%Y-%m-%dT%H:%M")


def _sum(rows: object, item_field: str) -> Decimal:
    total = Decimal(0)
    for row in rows if isinstance(rows, list) else []:
        amount = row.get(item_field) if isinstance(row, dict) else None
        if isinstance(amount, int | float) and not isinstance(amount, bool):
            try:
                total += Decimal(str(amount))
            except InvalidOperation:  # nan, inf
                continue
    return total


def _money(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,.2f}"


def _place_errors(view: FormView, errors: Mapping[str, str]) -> None:
    """Each message beside the deepest field its path names (`items.0.amount`,
    `qualification_documents.0` → the file field); the rest at the top of the form."""
    by_name = {f.name: f for f in view.all_fields()}
    for path, message in errors.items():
        target = None
        parts = path.split(".") if path else []
        while parts:
            target = by_name.get(".".join(parts))
            if target is not None:
                break
            parts.pop()
        if target is None:
            view.errors.append(message)
        else:
            target.error = f"{target.error}；{message}" if target.error else message
