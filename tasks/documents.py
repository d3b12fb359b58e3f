"""Generated documents: jinja2 templates in processes/templates, rendered into HTML rows.

A user task names its template with the property `documentTemplate`; the document is
rendered when the task completes, in the same unit of work, from the instance's data.

Templates print what the clerk chose as the form names it, never the key it stores:
`title_of("follow_up", "method", value)` gives the zh-CN title of an enum value in form
`follow_up` (processes/forms/follow_up.schema.json), `| amount` prints money with two
decimals, `| local` a time to the minute and `| local_date` a date alone (an official
letter is dated, not timed), both in Asia/Shanghai.
"""

import re
from datetime import datetime
from pathlib import Path

from jinja2 import ChainableUndefined, Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select

from engine.calendar import SHANGHAI
from engine.models import Document
from forms.registry import FormRegistry

_TITLE = re.compile(r"<title>(.*?)</title>", re.S)


class DocumentRenderer:
    def __init__(self, templates_dir: Path, forms: FormRegistry | None = None):
        self.templates_dir = templates_dir
        if forms is None:  # processes/templates beside processes/forms
            forms_dir = Path(templates_dir).parent / "forms"
            forms = FormRegistry.from_directory(forms_dir) if forms_dir.is_dir() else FormRegistry()
        self.forms = forms
        self.env = Environment(
            loader=FileSystemLoader(str(templates_dir)),
            autoescape=select_autoescape(default=True),
            # A field the clerk left empty (most of a form's fields are optional) prints as
            # a blank on the paper, as it would on the paper form; it never fails the step.
            undefined=ChainableUndefined,
        )
        self.env.filters["local"] = _local_time
        self.env.filters["local_date"] = _local_date
        self.env.filters["amount"] = _amount
        self.env.globals["title_of"] = self.title_of

    def title_of(self, form_key: str, field: str, value) -> str:
        """The zh-CN title the form gives a stored value of `field` (a dotted path through
        objects and lists: "items.category"); a list's titles joined with 、; a value the
        form does not name (another spelling) as it is; a blank for none."""
        if value is None or value == "" or not isinstance(value, (str, int, float, list)):
            return ""  # ChainableUndefined (a field left empty) included
        node = self.forms.get(form_key).schema if form_key in self.forms else {}
        for part in field.split("."):
            node = node.get("items", node) if node.get("type") == "array" else node
            node = (node.get("properties") or {}).get(part) or {}
        if isinstance(value, list):
            items = node.get("items") or {}
            return "、".join(_enum_title(items, v) for v in value)
        return _enum_title(node, value)

    def exists(self, name: str) -> bool:
        return (self.templates_dir / f"{name}.html").is_file()

    def render(self, session, instance, name: str, actor: str, now) -> Document:
        html = self.env.get_template(f"{name}.html").render(
            instance=instance, data=instance.data, now=now
        )
        match = _TITLE.search(html)
        title = match.group(1).strip() if match else name
        document = session.scalar(
            select(Document).where(Document.instance_id == instance.id, Document.name == name)
        )
        if document is None:
            document = Document(instance_id=instance.id, name=name)
            session.add(document)
        document.title = title
        document.content_type = "text/html; charset=utf-8"
        document.body = html
        document.created_at = now
        document.created_by = actor
        return document


def _local_time(value) -> str:
    """An ISO string or datetime as Beijing time, e.g. 2026年10月20日 09:00; a blank for
    none."""
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(SHANGHAI).strftime("%Y年%m月%d日 %H:%M")


def _local_date(value) -> str:
    """An ISO string or datetime as the Beijing date alone, e.g. 2026年10月20日."""
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    local = value.astimezone(SHANGHAI)
    return f"{local.year}年{local.month}月{local.day}日"


def _amount(value) -> str:
    """Money as the reports print it: two decimals (4200.5 → 4200.50); a blank for none."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return ""
    return f"{value:.2f}"


def _enum_title(node: dict, value) -> str:
    titles = node.get("x-enum-titles") or {}
    if isinstance(value, str) and isinstance(titles.get(value), dict):
        return titles[value].get("zh-CN") or value
    return str(value)
