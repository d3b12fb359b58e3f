"""The task page: what the task is, and its form — filled in, checked by the server, submitted.

The form is drawn from the task's JSON Schema (webui.form_html); a refused submission comes
back with each message beside its field and everything typed still there. The helpers
below the view are shared with the start page.
"""

from dataclasses import dataclass, field

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from engine.errors import InvalidData, NotFound, TooLarge
from forms import FormValidationError
from tasks.experts import ExpertService
from tasks.roles import acting_role
from tasks.service import IncompleteFile
from webui.form_html import (
    Option,
    UploadError,
    describe,
    form_action,
    language,
    parse,
    submitted_rows,
)
from webui.form_html.widgets import widget_of

from .auth import signed_in
from .instances import read_only_fields
from .labels import local_time, status_name
from .labels import stage_name as stage_label

bp = Blueprint("task_form", __name__)

NO_FORM = {"type": "object", "properties": {}}


def system():
    return current_app.extensions["dingdan"]


@bp.route("/tasks/<task_id>", methods=["GET", "POST"])
@signed_in
def task(task_id):
    detail = system().tasks.task(g.actor, task_id)  # NotFound: the app's error page
    view = detail.task
    schema = detail.form or NO_FORM
    data, errors, missing, blank_rows, status = detail.data, {}, [], {}, 200
    if request.method == "POST":
        submission = read_submission(schema)
        data = submission.parsed.data
        if submission.blank_rows is not None:
            blank_rows = submission.blank_rows  # a table button pressed without JavaScript
        elif submission.parsed.errors:
            errors = {**validation_messages(view.form, data), **submission.parsed.errors}
            blank_rows = submission.kept_blank_rows
            status = 422
        else:
            try:
                instance = system().tasks.complete(g.actor, task_id, data)
            except IncompleteFile as exc:
                missing = missing_records(exc)
                status = 422
            except InvalidData as exc:
                errors = field_messages(view.form, data, exc)
                blank_rows = submission.kept_blank_rows
                status = 422
            else:
                flash(_done_message(instance), "ok")
                return redirect(url_for("instances.detail", instance_id=instance.id))
    instance = _instance(view.instance_id)
    how = acting_role(g.actor, view.role, view.subject, instance.started_by) if instance else None
    page = describe(
        schema,
        data,
        lang(),
        errors,
        file_name=file_name,
        blank_rows=blank_rows,
        sources=sources_for(schema),
    )
    return render_template(
        "pages/task.html",
        task=view,
        task_name=(view.name_en or view.name) if lang() == "en" else view.name,
        instance=instance,
        unit_name=((instance.data or {}).get("application") or {}).get("unit_name")
        if instance
        else None,
        stage=stage_label(view.stage),
        due=local_time(view.due_at) if view.due_at else None,
        may_act=how is not None and view.state == "open",
        on_behalf_of=how[1] if how and how[0] == "proxy" else None,
        held_by_other=view.assignee not in (None, g.actor.username),
        form=page,
        has_form=detail.form is not None,
        missing=missing,
        reviewed=earlier_records(detail.reviewed),
        sent_back=earlier_records(detail.sent_back),
    ), status


@dataclass
class EarlierRecord:
    """An earlier submission shown read-only on a task page: the work a decision is
    about, or the decision that sent the task back."""

    title: str
    subject: str | None
    by: str | None
    at: str | None
    fields: list = field(default_factory=list)


def earlier_records(items) -> list[EarlierRecord]:
    forms = system().forms
    records = []
    for item in items:
        form = forms.get(item.form) if item.form and item.form in forms else None
        name = (item.name_en if lang() == "en" else None) or item.name
        records.append(
            EarlierRecord(
                title=name or (form.title(lang()) if form else item.element),
                subject=item.subject,
                by=item.completed_by,
                at=local_time(item.completed_at) if item.completed_at else None,
                fields=read_only_fields(form, item.data or {}, lang()),
            )
        )
    return records


def _instance(instance_id):
    try:
        return system().tasks.instance(g.actor, instance_id)
    except NotFound:
        return None


# -- shared with the start page ---------------------------------------------------------


class Submission:
    """What a POST carried: the parsed data, and — when a table's own button was pressed
    (no JavaScript) — how many blank rows each table should show next; `kept_blank_rows`
    are the blank rows the browser sent, for showing the form again as it was (a refused
    submission adds no row)."""

    def __init__(self, parsed, blank_rows, kept_blank_rows=None):
        self.parsed = parsed
        self.blank_rows = blank_rows
        self.kept_blank_rows = kept_blank_rows or {}


def read_submission(schema) -> Submission:
    action = form_action(request.form)
    drop = action[1] if action and action[0] == "remove" else None
    parsed = parse(schema, request.form, request.files, store_upload, drop_row=drop)
    blank_rows = None
    if action:
        blank_rows = {}
        if action[0] == "add":
            name = action[1]
            blank = submitted_rows(request.form, name) - len(parsed.data.get(name) or [])
            blank_rows[name] = max(blank, 1) + 1
    return Submission(parsed, blank_rows, kept_blank_rows(schema, parsed.data))


def kept_blank_rows(schema, data) -> dict[str, int]:
    """Per table, the blank rows the browser sent: none when it sent filled rows only, one
    when the table would otherwise be empty."""
    kept = {}
    for name, prop in schema.get("properties", {}).items():
        if widget_of(prop) == "rows":
            rows = len(data.get(name) or [])
            kept[name] = max(submitted_rows(request.form, name) - rows, 0 if rows else 1)
    return kept


def _done_message(instance) -> str:
    """What happened, in the clerk's words: where the application stands now."""
    if instance.status == "running":
        return _("已提交，当前阶段：%(stage)s", stage=stage_label(instance.stage))
    return _("已提交。申请状态：%(status)s", status=status_name(instance.status))


def lang() -> str:
    return language(get_locale())


def store_upload(upload) -> str:
    """Keep one uploaded file (TaskService.store_file) and give its id for the data."""
    limit = system().max_file_bytes
    try:
        stored = system().tasks.store_file(
            g.actor, upload.filename, upload.mimetype, upload.read(), limit
        )
    except TooLarge:
        raise UploadError(
            _("文件“%(name)s”过大，不能超过 %(size)s MB", name=upload.filename, size=limit >> 20)
        ) from None
    except InvalidData:
        raise UploadError(_("文件“%(name)s”无法保存", name=upload.filename)) from None
    return stored.id


def file_name(file_id: str) -> str:
    """An attached file's name, if the person may see the file, without its content."""
    try:
        return system().records.file(g.actor, file_id, content=False).name
    except NotFound:
        return _("（文件不存在）")


def validation_messages(form_key, data) -> dict[str, str]:
    """The form's own messages for `data`, in the page's language (the task layer's
    InvalidData carries English only)."""
    if not form_key or form_key not in system().forms:
        return {}
    try:
        system().forms.get(form_key).validate(data)
    except FormValidationError as exc:
        return exc.messages(lang())
    return {}


def field_messages(form_key, data, exc: InvalidData) -> dict[str, str]:
    """Messages by field path for a refused submission, in the page's language."""
    messages = validation_messages(form_key, data)
    if messages:
        return messages
    problems = {  # what tasks/files.py says about a file id (English only)
        "unknown file": _("文件不存在，请重新上传"),
        "the file belongs to another instance": _("该文件属于其他申请，请重新上传"),
        "the file was uploaded by someone else": _("该文件由他人上传，请重新上传"),
    }
    messages = {path: problems.get(text, text) for path, text in exc.fields.items()}
    return messages or {"": exc.message}


def missing_records(exc: IncompleteFile) -> list[str]:
    key = "missing" if lang() == "zh-CN" else "missing_en"
    return [item.get(key) or item.get("missing") for item in exc.details]


# -- registers a table may copy rows from ("x-source") ---------------------------------


def sources_for(schema) -> dict[str, list[Option]]:
    wanted = {p.get("x-source") for p in schema.get("properties", {}).values()}
    return {name: SOURCES[name]() for name in wanted if name in SOURCES}


def _experts() -> list[Option]:
    """The active entries of the expert register, read only."""
    rows = ExpertService(system().engine).search(g.actor, active=True, limit=None)
    return [
        Option(
            value=str(row.id),
            title=" · ".join(p for p in (row.name, row.organisation, row.specialty) if p),
            fill={
                key: getattr(row, key) or ""
                for key in (
                    "name",
                    "organisation",
                    "specialty",
                    "qualification",
                    "experience",
                    "phone",
                )
            },
        )
        for row in rows
    ]


SOURCES = {"experts": _experts}
