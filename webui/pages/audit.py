"""The auditor's view of one instance: the history as a timeline with filters (actor, type,
stage), and a step control that replays the instance to any event — the diagram as it
stood, the open tasks, the data, and what that event changed (static/js/audit.js fetches
replay.json for each step; without script, the same panel is rendered for ?seq=N).
Also the archive bundle download, for whoever may see the instance."""

import json

from flask import Blueprint, abort, g, jsonify, render_template, request
from flask_babel import gettext as _

from engine.errors import InvalidData
from tasks.audits import SYSTEM_ACTOR, Audits

from ..api import serialize as out
from ..downloads import attachment
from .auth import signed_in, system
from .inbox import N_, english, local_time, role_name, stage_name, status_name, unit_name
from .instances import _diagram_tabs, _event, diagrams

bp = Blueprint("audit", __name__)

TYPE_NAMES = {
    "instance_started": N_("开始办理"),
    "task_created": N_("生成任务"),
    "task_claimed": N_("领取任务"),
    "task_unclaimed": N_("退回任务"),
    "task_completed": N_("完成任务"),
    "task_overdue": N_("任务超期"),
    "task_cancelled": N_("撤销任务"),
    "timer_fired": N_("到达时间节点"),
    "notice_sent": N_("发送通知"),
    "document_generated": N_("生成文书"),
    "incident": N_("发生故障"),
    "data_patched": N_("修正数据"),
    "incident_resolved": N_("故障已排除"),
    "instance_suspended": N_("暂停办理"),
    "instance_resumed": N_("恢复办理"),
    "instance_ended": N_("流程结束"),
}


def audits() -> Audits:
    return Audits(system().engine, system().forms, system().tasks.may_see)


def type_name(kind: str) -> str:
    return _(TYPE_NAMES[kind]) if kind in TYPE_NAMES else kind


def actor_name(who: str) -> str:
    return _("系统") if who == SYSTEM_ACTOR else who


@bp.get("/instances/<instance_id>/audit")
@signed_in
def page(instance_id):
    actor = g.actor
    filters = {
        "who": request.args.get("who") or None,
        "type": request.args.get("type") or None,
        "stage": request.args.get("stage") or None,
    }
    timeline = audits().timeline(
        actor, instance_id, who=filters["who"], type_=filters["type"], stage=filters["stage"]
    )
    progress = diagrams().for_instance(actor, instance_id)
    last = timeline.replay.last_seq
    seq = _seq(request.args.get("seq"), last)
    step = timeline.replay if seq == last else audits().replay(actor, instance_id, seq)
    lines = {e.event.seq: _event(progress, e.event) for e in timeline.events}
    return render_template(
        "pages/audit.html",
        instance=progress.instance,
        timeline=timeline,
        lines=lines,
        filters=filters,
        filtered=any(filters.values()),
        step=step,
        step_json=_step_json(progress, step),
        tabs=_diagram_tabs(progress),
        type_name=type_name,
        actor_name=actor_name,
        stage_name=stage_name,
        status_name=status_name,
        role_name=role_name,
        local_time=local_time,
        unit_name=unit_name,
        english=english(),
    )


@bp.get("/instances/<instance_id>/replay.json")
@signed_in
def replay_json(instance_id):
    """One step for audit.js: the replay at ?seq=N (default: the last event)."""
    raw = request.args.get("seq")
    seq = None
    if raw is not None:
        try:
            seq = int(raw)
        except ValueError:
            abort(400, description=_("参数 seq 应为事件序号（正整数），例如 seq=3。"))
    try:
        step = audits().replay(g.actor, instance_id, seq)
    except InvalidData:
        abort(
            400,
            description=_("没有序号为 %(seq)s 的事件：seq 超出了本实例审计记录的范围。", seq=seq),
        )
    progress = diagrams().for_instance(g.actor, instance_id)
    response = jsonify(_step_json(progress, step))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/instances/<instance_id>/archive.zip")
@signed_in
def archive(instance_id):
    name, content = audits().archive(g.actor, instance_id)
    return attachment(content, name, "application/zip")


def _seq(raw, last: int) -> int:
    try:
        seq = int(raw) if raw else last
    except ValueError:
        return last
    return min(max(seq, 1), last)


def _step_json(progress, step) -> dict:
    """The API's replay, with what the page shows in words: the event's line, names."""
    body = out.replay(step)
    line = _event(progress, step.event)
    body["display"] = {
        "at": line.at,
        "actor": line.actor,
        "text": line.text,
        "detail": line.detail,
        "type": type_name(step.event.type),
        "status": status_name(step.status),
        "stage": stage_name(step.stage),
        "data": json.dumps(step.data, ensure_ascii=False, indent=2),
        "moves": _moves(step.changed),
    }
    for task in body["open_tasks"]:
        task["display_name"] = (task["name_en"] if english() else None) or task["name"]
        task["display_role"] = role_name(task["role"])
        task["display_due"] = local_time(task["due_at"]) if task["due_at"] else ""
    for timer in body["timers"]:
        timer["display_name"] = _timer_name(progress, timer)
        timer["display_due"] = local_time(timer["due_at"]) if timer["due_at"] else ""
    changed = body.get("changed") or {}
    for timer in changed.get("timers_started", []) + changed.get("timers_stopped", []):
        timer["display_name"] = _timer_name(progress, timer)
    for task in changed.get("tasks_opened", []) + changed.get("tasks_closed", []):
        task["display_name"] = (task.get("name_en") if english() else None) or task.get("name")
    return body


def _timer_name(progress, timer: dict) -> str:
    """A timer as the diagram names it (its English name in English, when it has one),
    never its element id unless it has no name at all."""
    element = timer.get("element")
    diagram = progress.diagram(timer["diagram"]) if timer.get("diagram") else None
    names = diagram.names.get(element) if diagram else None
    if names is None:
        found = progress.element_name(element, english())
        return found or timer.get("name") or element
    name, name_en = names
    return (name_en if english() else None) or name or timer.get("name") or element


def _moves(changed: dict) -> list[dict]:
    """What an event changed besides data, tasks and timers, in words."""
    moves = []
    if "status" in changed:
        before, after = changed["status"]["before"], changed["status"]["after"]
        moves.append({"kind": _("状态"), "text": f"{status_name(before)} → {status_name(after)}"})
    if "stage" in changed:
        before, after = changed["stage"]["before"], changed["stage"]["after"]
        moves.append({"kind": _("阶段"), "text": f"{stage_name(before)} → {stage_name(after)}"})
    if "suspended" in changed:
        moves.append(
            {
                "kind": _("暂停"),
                "text": _("暂停办理") if changed["suspended"]["after"] else _("恢复办理"),
            }
        )
    return moves
