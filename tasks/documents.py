"""Generated documents: jinja2 templates in processes/templates, rendered into HTML rows.

A user task names its template with the property `documentTemplate`; the document is
rendered when the task completes, in the same unit of work, from the instance's data.
"""

import re
from datetime import datetime
from pathlib import Path

from jinja2 import ChainableUndefined, Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select

from engine.calendar import SHANGHAI
from engine.models import Document

_TITLE = re.compile(r"<title>(.*?)</title>", re.S)


class DocumentRenderer:
    def __init__(self, templates_dir: Path):
        self.templates_dir = templates_dir
        self.env = Environment(
            loader=FileSystemLoader(str(templates_dir)),
            autoescape=select_autoescape(default=True),
            # A field the clerk left empty (most of a form's fields are optional) prints as
            # a blank on the paper, as it would on the paper form; it never fails the step.
            undefined=ChainableUndefined,
        )
        self.env.filters["local"] = _local_time

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
