"""The inbox: my tasks, the tasks my roles may take, and (for an applicant) its applications.

Also the small helpers the instance pages share: stage and status names, Beijing time.
"""

from dataclasses import dataclass

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import Conflict, Forbidden, NotFound
from tasks.inbox import TaskView
from tasks.roles import PROXY_ROLES

from .auth import signed_in, system
from .labels import (  # noqa: F401 — the instance pages import these from here too
    N_,
    ROLE_NAMES,
    STAGES,
    STATUSES,
    english,
    local_time,
    process_name,
    role_name,
    stage_name,
    status_name,
)

bp = Blueprint("inbox", __name__)


def task_name(task) -> str:
    return (task.name_en if english() else None) or task.name


def application_label(instance) -> str:
    """What clerks call an application: its file number, else the applicant unit."""
    if instance is None:
        return "—"
    data = instance.data or {}
    unit = data.get("application", {}).get("unit_name") or data.get("customer_order", {}).get(
        "customer_name"
    )
    return instance.file_number or unit or instance.id[:8]


def unit_name(instance) -> str:
    return (instance.data or {}).get("application", {}).get("unit_name") or "—"


def local_target(target: str | None) -> str | None:
    """Only a path on this site: never an open redirect to another host."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@dataclass
class Row:
    task: TaskView
    name: str
    instance_id: str
    application: str
    stage: str
    due: str | None
    proxy: bool  # entered on behalf of an enterprise or expert
    may_claim: bool
    may_unclaim: bool


@bp.get("/")
@signed_in
def index():
    return redirect(url_for("inbox.tasks"))


@bp.get("/inbox")
@signed_in
def tasks():
    actor = g.actor
    filters = _filters()
    service = system().tasks
    found = {
        "mine": service.inbox(actor, "mine", **filters),
        "group": service.inbox(actor, "group", **filters),
    }
    applications = None
    if actor.has("applicant"):
        applications = [
            i
            for i in system().records.instances(actor, process=filters["process"])
            if i.started_by == actor.username
            and (not filters["stage"] or i.stage == filters["stage"])
        ]
    counts = {scope: len(rows) for scope, rows in found.items()}
    if applications is not None:
        counts["applications"] = len(applications)
    tab = request.args.get("tab")
    if tab not in counts:
        tab = next((t for t in ("mine", "group") if counts[t]), None)
        tab = tab or ("applications" if applications else "mine")
    rows = _rows(actor, found.get(tab, []))
    return render_template(
        "pages/inbox.html",
        tab=tab,
        counts=counts,
        rows=rows,
        applications=applications or [],
        filters=filters,
        filtered=any(v is not None and v != "" for v in filters.values()),
        stages=[(key, stage_name(key)) for key in STAGES],
        processes=_processes(),
        stage_name=stage_name,
        status_name=status_name,
        local_time=local_time,
        application_label=application_label,
        unit_name=unit_name,
    )


@bp.post("/inbox/tasks/<task_id>/claim")
@signed_in
def claim(task_id):
    try:
        task = system().tasks.claim(g.actor, task_id)
    except Conflict:
        flash(_("无法领取：该任务已被他人领取或已办结。"), "error")
    except Forbidden:
        flash(_("您所在的岗位不能领取此任务。"), "error")
    else:
        flash(_("已领取任务「%(name)s」，可在「我的任务」中办理。", name=task_name(task)), "ok")
    return _back()


@bp.post("/inbox/tasks/<task_id>/unclaim")
@signed_in
def unclaim(task_id):
    try:
        task = system().tasks.unclaim(g.actor, task_id)
    except Conflict:
        flash(_("无法退回：该任务由他人领取或已办结。"), "error")
    except Forbidden:
        flash(_("您所在的岗位不能退回此任务。"), "error")
    else:
        flash(_("已退回任务「%(name)s」，同岗位人员均可领取。", name=task_name(task)), "ok")
    return _back()


def _back():
    return redirect(local_target(request.form.get("next")) or url_for("inbox.tasks"))


def _filters() -> dict:
    stage = request.args.get("stage") or None
    process = request.args.get("process") or None
    return {
        "stage": stage if stage in STAGES else None,
        "process": process,
        "overdue": True if request.args.get("overdue") == "1" else None,
    }


def _processes() -> list[tuple[str, str]]:
    """The processes people start (not the ones only called by another), for the filter."""
    versions = system().records.processes()
    called = {key for v in versions for key in (v.called or [])}
    return [(v.key, process_name(v)) for v in versions if v.key not in called]


def _rows(actor, views: list[TaskView]) -> list[Row]:
    instances = {}
    for view in views:
        if view.instance_id not in instances:
            try:
                instances[view.instance_id] = system().tasks.instance(actor, view.instance_id)
            except NotFound:
                instances[view.instance_id] = None
    return [
        Row(
            task=view,
            name=task_name(view),
            instance_id=view.instance_id,
            application=application_label(instances[view.instance_id]),
            stage=stage_name(view.stage),
            due=local_time(view.due_at) if view.due_at else None,
            proxy=view.role in PROXY_ROLES and not actor.has(view.role),
            may_claim=view.assignee is None,
            may_unclaim=view.assignee == actor.username,
        )
        for view in views
    ]
