"""Instance pages: the list, one application's progress, data, documents and history, the
diagram as JSON for diagram.js, documents as printable HTML or PDF, and file downloads."""

import functools
import json
import logging
import shutil
import subprocess
from dataclasses import dataclass, field
from io import BytesIO

from flask import (
    Blueprint,
    Response,
    abort,
    g,
    jsonify,
    render_template,
    request,
    send_file,
)
from flask_babel import gettext as _

from tasks.audits import may_audit
from tasks.diagrams import Diagrams
from tasks.roles import acting_role

from ..downloads import attachment
from .auth import signed_in, system
from .inbox import (
    N_,
    STAGES,
    STATUSES,
    english,
    local_time,
    role_name,
    stage_name,
    status_name,
    unit_name,
)
from .labels import shown_diagram

bp = Blueprint("instances", __name__)
log = logging.getLogger("dingdan.web")


def diagrams() -> Diagrams:
    return Diagrams(system().engine, system().tasks.may_see)


# -- the list -----------------------------------------------------------------------------


@bp.get("/instances")
@signed_in
def index():
    q = (request.args.get("q") or "").strip()
    status = request.args.get("status") or None
    status = status if status in STATUSES else None
    rows = _search(g.actor, status, q)
    return render_template(
        "pages/instances.html",
        instances=rows,
        q=q,
        status=status,
        statuses=[(key, status_name(key)) for key in STATUSES],
        stage_name=stage_name,
        status_name=status_name,
        local_time=local_time,
        unit_name=unit_name,
    )


def _search(actor, status, q):
    records = system().records
    rows = records.instances(actor, status=status, q=q or None)
    escaped = json.dumps(q)[1:-1]
    if q and escaped != q:
        # The JSON text of the data keeps Chinese as \\uXXXX escapes (SQLAlchemy's default
        # serializer), so search for that form too; PostgreSQL's LIKE reads a backslash as
        # its escape character, SQLite's does not.
        if not system().db.is_sqlite:
            escaped = escaped.replace("\\", "\\\\")
        seen = {row.id for row in rows}
        more = [r for r in records.instances(actor, status=status, q=escaped) if r.id not in seen]
        rows = sorted(rows + more, key=lambda row: row.started_at, reverse=True)
    return rows


# -- one instance -------------------------------------------------------------------------


@bp.get("/instances/<instance_id>")
@signed_in
def detail(instance_id):
    actor = g.actor
    progress = diagrams().for_instance(actor, instance_id)  # 404 unless the actor may see it
    records = system().records
    instance = progress.instance
    events = records.history(actor, instance_id)
    shown = records.instance(actor, instance_id)  # an enterprise or expert: its own part
    open_tasks = shown.open_tasks
    return render_template(
        "pages/instance.html",
        instance=instance,
        progress=progress,
        stages=_stage_bar(progress),
        open_tasks=open_tasks,
        actionable={t.id for t in open_tasks if _may_act(actor, t, instance)},
        tabs=_diagram_tabs(progress),
        sections=_sections(progress, shown.data),
        documents=records.documents(actor, instance_id),
        notices=records.notices(actor, instance_id),
        history=[_event(progress, e) for e in reversed(events)],
        pdf=pdf_available(),
        may_audit=may_audit(actor),
        stage_name=stage_name,
        status_name=status_name,
        local_time=local_time,
        unit_name=unit_name,
        role_name=role_name,
    )


def _may_act(actor, task, instance) -> bool:
    """Whether `actor` may complete `task` (its lane's role, or on behalf of the enterprise
    or expert), not held by someone else: the open-tasks table links it as 办理, else 查看."""
    if task.assignee not in (None, actor.username):
        return False
    return acting_role(actor, task.role, task.subject, instance.started_by) is not None


@bp.get("/instances/<instance_id>/diagram.json")
@signed_in
def diagram_json(instance_id):
    progress = diagrams().for_instance(g.actor, instance_id)
    body = progress.as_json()
    for diagram in body["diagrams"]:
        diagram["xml"] = shown_diagram(diagram["xml"])
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/instances/<instance_id>/documents/<name>")
@signed_in
def document(instance_id, name):
    row = system().records.document(g.actor, instance_id, name)
    if request.args.get("format") == "pdf":
        if not pdf_available():
            abort(404)
        response = send_file(
            BytesIO(_pdf(row.body)),
            mimetype="application/pdf",
            download_name=f"{row.title}.pdf",
            max_age=0,
        )
    else:
        response = Response(row.body, content_type=row.content_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/files/<file_id>")
@signed_in
def file(file_id):
    row = system().records.file(g.actor, file_id)
    return attachment(row.content, row.name, row.content_type)


# -- PDF (optional: WeasyPrint and a Chinese font) ----------------------------------------


@functools.cache
def pdf_available() -> bool:
    """PDF needs WeasyPrint (with its system libraries) and a font with Chinese glyphs."""
    try:
        import weasyprint  # noqa: F401
    except Exception:  # absent, or present without Pango
        return False
    return _has_cjk_font()


def _has_cjk_font() -> bool:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return False
    try:
        found = subprocess.run(
            [fc_list, ":lang=zh", "family"], capture_output=True, text=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return bool(found.strip())


def _pdf(html: str) -> bytes:
    import weasyprint

    def no_fetch(url, *args, **kwargs):  # a document never loads anything from elsewhere
        raise ValueError(f"not fetched: {url}")

    return weasyprint.HTML(string=html, url_fetcher=no_fetch).write_pdf()


# -- what the page shows ------------------------------------------------------------------


@dataclass
class StageStep:
    key: str
    name: str
    state: str  # done, current, overdue, rejected, todo, skipped
    note: str = ""


def _stage_bar(progress) -> list[StageStep]:
    instance = progress.instance
    states = dict(progress.stages)
    keys = [key for key, _state in progress.stages] or list(STAGES)
    reached = [k for k in keys if states.get(k)]
    last = reached[-1] if reached else None
    steps = []
    for key in keys:
        state = states.get(key)
        if instance.status == "rejected" and key == last:
            steps.append(StageStep(key, stage_name(key), "rejected", _("不予受理")))
        elif state == "completed":
            steps.append(StageStep(key, stage_name(key), "done", _("已完成")))
        elif state == "overdue":
            steps.append(StageStep(key, stage_name(key), "overdue", _("进行中，已超期")))
        elif state == "active":
            steps.append(StageStep(key, stage_name(key), "current", _("进行中")))
        elif instance.status != "running":
            steps.append(StageStep(key, stage_name(key), "skipped", _("未进行")))
        else:
            steps.append(StageStep(key, stage_name(key), "todo", _("未开始")))
    return steps


def _diagram_tabs(progress) -> list[dict]:
    """One tab per diagram; a called diagram's state is its call activity's in its caller."""
    tabs = []
    for diagram in progress.diagrams:
        call = diagram.called_by
        state = None
        if call is not None:
            caller = next((d for d in progress.diagrams if call in d.call_activities), None)
            state = caller.state_of(call.id) if caller else None
        tabs.append(
            {
                "key": diagram.key,
                "label": _("总流程")
                if call is None
                else (call.name_en if english() else None) or call.name,
                "state": state,
                "current": diagram is progress.current,
            }
        )
    return tabs


@dataclass
class Field:
    label: str
    kind: str  # text, long, list, files, table
    text: str = ""
    items: list = field(default_factory=list)  # list: strings; files: file ids
    columns: list = field(default_factory=list)  # table
    rows: list = field(default_factory=list)  # table: lists of Field


@dataclass
class Entry:
    subject: str | None
    fields: list[Field]


@dataclass
class Section:
    key: str
    title: str
    form_title: str | None
    entries: list[Entry]
    completed_at: str | None = None
    completed_by: str | None = None


def _sections(progress, data: dict) -> list[Section]:
    """The data gathered so far (as much of it as the viewer may read): the start form, then
    each task's submission in the order the tasks were first completed; a per-item task
    gets one entry per enterprise/expert."""
    data = data or {}
    forms = system().forms
    lang = "en" if english() else "zh-CN"
    sections = []
    start_key = progress.start_form or "start"
    if isinstance(data.get(start_key), dict):
        form = forms.get(start_key) if start_key in forms else None
        title = form.title(lang) if form else start_key
        sections.append(
            Section(
                start_key, title, None, [Entry(None, read_only_fields(form, data[start_key], lang))]
            )
        )
    seen = {start_key, "file_number"}
    done = sorted(
        (row for row in progress.tasks if row.state == "completed" and row.completed_at),
        key=lambda row: (row.completed_at, row.created_at, row.id),
    )
    for row in done:
        if row.element in seen or row.element not in data:
            continue
        seen.add(row.element)
        last = [r for r in done if r.element == row.element][-1]
        form = forms.get(row.form_key) if row.form_key in forms else None
        sections.append(
            Section(
                key=row.element,
                title=(row.name_en if english() else None) or row.name,
                form_title=form.title(lang) if form else None,
                entries=_entries(form, data[row.element], lang),
                completed_at=local_time(last.completed_at),
                completed_by=last.completed_by,
            )
        )
    for key, value in data.items():  # anything else stored (older data, other processes)
        if key not in seen and isinstance(value, dict | list):
            sections.append(Section(key, key, None, _entries(None, value, lang)))
    return sections


def _entries(form, value, lang) -> list[Entry]:
    if isinstance(value, list) and all(isinstance(e, dict) and "subject" in e for e in value):
        return [
            Entry(e["subject"], read_only_fields(form, e.get("data") or {}, lang)) for e in value
        ]
    if isinstance(value, dict):
        return [Entry(None, read_only_fields(form, value, lang))]
    return [Entry(None, [Field("", "text", text=_plain(value))])]


def read_only_fields(form, value: dict, lang) -> list[Field]:
    """A submission's fields as read-only cells, labelled by the form (the instance page's
    records; the task page's earlier submissions)."""
    schema = form.schema if form else {}
    return _object_fields(schema, value, lang)


def _object_fields(schema: dict, value: dict, lang) -> list[Field]:
    properties = schema.get("properties", {})
    keys = [k for k in properties if k in value] + [k for k in value if k not in properties]
    return [
        _field(_title(properties.get(k, {}), k, lang), properties.get(k, {}), value[k], lang)
        for k in keys
    ]


def _field(label, schema, value, lang) -> Field:
    if schema.get("x-widget") == "file":
        ids = value if isinstance(value, list) else [value]
        return Field(label, "files", items=[str(i) for i in ids if i])
    if isinstance(value, list):
        items = schema.get("items", {})
        if value and all(isinstance(v, dict) for v in value):
            props = items.get("properties", {})
            keys = [k for k in props if any(k in v for v in value)]
            keys += sorted({k for v in value for k in v if k not in props})
            return Field(
                label,
                "table",
                columns=[_title(props.get(k, {}), k, lang) for k in keys],
                rows=[
                    [
                        _field("", props.get(k, {}), v[k], lang) if k in v else Field("", "text")
                        for k in keys
                    ]
                    for v in value
                ],
            )
        return Field(label, "list", items=[_scalar(items, v, lang) for v in value])
    if isinstance(value, dict):
        inner = _object_fields(schema, value, lang)
        return Field(label, "table", columns=[f.label for f in inner], rows=[inner])
    text = _scalar(schema, value, lang)
    return Field(label, "long" if schema.get("x-widget") == "textarea" else "text", text=text)


def _scalar(schema, value, lang) -> str:
    titles = schema.get("x-enum-titles") or {}
    if isinstance(value, str) and value in titles:
        return titles[value].get(lang) or titles[value].get("zh-CN") or value
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if schema.get("format") == "date-time" and isinstance(value, str):
        try:
            return local_time(value)
        except ValueError:
            return value
    return _plain(value)


def _plain(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _title(schema: dict, key: str, lang: str) -> str:
    titles = schema.get("x-title") or {}
    return titles.get(lang) or titles.get("zh-CN") or schema.get("title") or key


# -- the history, in words ----------------------------------------------------------------

EVENTS = {
    "instance_started": N_("提交了申请"),
    "task_created": N_("生成任务「%(name)s」"),
    "task_claimed": N_("领取任务「%(name)s」"),
    "task_unclaimed": N_("退回任务「%(name)s」"),
    "task_completed": N_("完成任务「%(name)s」"),
    "task_overdue": N_("任务「%(name)s」超过办理期限"),
    "task_cancelled": N_("任务「%(name)s」不再需要办理，已撤销"),
    "timer_fired": N_("到达时间节点「%(name)s」"),
    "notice_sent": N_("发送通知给 %(name)s"),
    "document_generated": N_("生成文书《%(name)s》"),
    "instance_ended": N_("流程结束：%(name)s"),
}
DOCUMENT_NAMES = {
    "official_letter": N_("订单式服务公函"),
    "archive_record": N_("归档记录"),
}


@dataclass
class HistoryLine:
    at: str
    actor: str
    text: str
    detail: str = ""
    type: str = ""


def _event(progress, event) -> HistoryLine:
    data = event.data or {}
    name = progress.element_name(event.element, english(), task_id=event.task_id)
    name = name or event.element or ""
    detail = ""
    if event.type == "document_generated":
        document = data.get("document", "")
        name = _(DOCUMENT_NAMES[document]) if document in DOCUMENT_NAMES else document
    elif event.type == "instance_ended":
        name = status_name(data.get("status"))
    elif event.type == "notice_sent":
        to = data.get("to") or ""
        name = to if to == progress.instance.started_by else role_name(to)
        detail = data.get("text") or ""
    if event.type in ("task_created", "task_completed", "task_cancelled") and data.get("subject"):
        name = f"{name} · {data['subject']}"
    if event.type == "task_completed" and data.get("on_behalf_of"):
        detail = _("代%(whom)s填写", whom=data["on_behalf_of"])
    template = EVENTS.get(event.type)
    text = _(template, name=name) if template else event.type
    return HistoryLine(
        at=local_time(event.at),
        actor=event.actor or _("系统"),
        text=text,
        detail=detail,
        type=event.type,
    )
