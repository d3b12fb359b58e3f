"""What the database shows of a workflow: open user tasks, waiting timers, stage and status.

After every step the engine state is projected into plain rows that the inbox, the timer
sweep and the API query directly; none of them ever has to load a workflow.
"""

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from .models import HumanTask, Timer
from .registry import FORM_PROPERTY, form_key


def props(task) -> dict:
    extensions = getattr(task.task_spec, "extensions", None) if task is not None else None
    return extensions.get("properties", {}) if extensions else {}


def is_timer(task) -> bool:
    return isinstance(getattr(task.task_spec, "event_definition", None), TimerEventDefinition)


def multi_instance_parent(task):
    """The multi-instance task that created `task`, or None."""
    parent = task.parent
    if (
        parent is not None
        and isinstance(parent.task_spec, MultiInstanceTask)
        and parent.task_spec.task_spec == task.task_spec.name  # not the task after the loop
    ):
        return parent.task_spec
    return None


def subject_of(task) -> str | None:
    """Which enterprise or expert a per-item task is for: its input item's name."""
    mi = multi_instance_parent(task)
    if mi is None or mi.input_item is None:
        return None
    item = task.data.get(mi.input_item.bpmn_id)
    if isinstance(item, dict):
        item = item.get("name")
    return None if item is None else str(item)


def timer_due(task):
    value = task._get_internal_data("event_value")
    if isinstance(value, dict):  # a cycle timer
        value = value.get("next")
    return TimerEventDefinition.get_datetime(value) if value else None


def _boundary_timers(task):
    parent = task.parent
    if parent is None or "BoundaryEventSplit" not in type(parent.task_spec).__name__:
        return []
    return [c for c in parent.children if c is not task and is_timer(c)]


def _attached_activity(boundary_task) -> str | None:
    for sibling in boundary_task.parent.children:
        if sibling is not boundary_task and not hasattr(sibling.task_spec, "event_definition"):
            return sibling.task_spec.bpmn_id
    return None


def sync_tasks(session, instance, workflow, now, stage, on_created) -> dict[str, HumanTask]:
    """Insert rows for user tasks that became ready; cancel rows whose task went away.

    Returns the open rows by id. Rows of tasks that this step completed must already have
    been closed by the caller.
    """
    ready = {str(t.id): t for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
    open_rows = {
        row.id: row
        for row in session.scalars(
            select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.state == "open")
        )
    }
    for task_id, row in list(open_rows.items()):
        if task_id not in ready:
            row.state = "cancelled"
            row.completed_at = now
            del open_rows[task_id]
    for task_id, task in ready.items():
        if task_id in open_rows:
            continue
        dues = [d for d in (timer_due(b) for b in _boundary_timers(task)) if d is not None]
        p = props(task)
        row = HumanTask(
            id=task_id,
            instance_id=instance.id,
            process_key=instance.process_key,
            diagram=task.workflow.spec.name,
            element=task.task_spec.bpmn_id,
            name=task.task_spec.bpmn_name or task.task_spec.bpmn_id,
            name_en=p.get("name_en"),
            role=task.task_spec.lane,
            form_key=form_key(props(task).get(FORM_PROPERTY)),
            subject=subject_of(task),
            stage=stage,
            state="open",
            due_at=min(dues) if dues else None,
            created_at=now,
        )
        session.add(row)
        open_rows[task_id] = row
        on_created(row)
    return open_rows


def sync_timers(session, instance, workflow) -> list:
    """Insert rows for timers that started waiting; rows of timers gone are settled by
    the caller (fired) or here (cancelled). Returns the due times of the new timers."""
    waiting = {str(t.id): t for t in workflow.get_tasks(state=TaskState.WAITING) if is_timer(t)}
    rows = {
        row.id: row
        for row in session.scalars(
            select(Timer).where(Timer.instance_id == instance.id, Timer.state == "waiting")
        )
    }
    for timer_id, row in rows.items():
        if timer_id not in waiting:
            row.state = "cancelled"
    new_dues = []
    for timer_id, task in waiting.items():
        due = timer_due(task)
        if timer_id in rows or due is None:
            if timer_id in rows and due is not None:
                rows[timer_id].due_at = due  # a cycle timer moves on
            continue
        boundary = "BoundaryEventSplit" in type(task.parent.task_spec).__name__
        session.add(
            Timer(
                id=timer_id,
                instance_id=instance.id,
                diagram=task.workflow.spec.name,
                element=task.task_spec.bpmn_id,
                name=task.task_spec.bpmn_name,
                attached_to=_attached_activity(task) if boundary else None,
                due_at=due,
                state="waiting",
            )
        )
        new_dues.append(due)
    return new_dues


def current_stage(workflow) -> str | None:
    """The `stage` property of the top-level activity that is running."""
    for task in workflow.tasks.values():
        if task.state in (TaskState.STARTED, TaskState.READY, TaskState.WAITING):
            stage = props(task).get("stage")
            if stage:
                return stage
    return None
