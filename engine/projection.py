"""What the database shows of a workflow: open user tasks, waiting timers, stage and status.

After every step the engine state is projected into plain rows that the inbox, the timer
sweep and the API query directly; none of them ever has to load a workflow.
"""

import functools
import weakref

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, update
from sqlalchemy.orm.util import identity_key

from . import row_writes
from .driver_sql import rows
from .models import HumanTask, Timer
from .registry import FORM_PROPERTY, form_key
from .row_writes import new_row


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


def _unfinished(wf):
    """A workflow's tasks that are not finished, in the order of its task table (the
    engine's tables keep them apart, engine/fast_tasks.py: a step costs what is open,
    not what is history)."""
    table = wf.tasks
    return table.unfinished() if hasattr(table, "unfinished") else table.values()


def _all_unfinished(workflow):
    """Every unfinished task, the called processes' too."""
    yield from _unfinished(workflow)
    for sub in workflow.subprocesses.values():
        yield from _unfinished(sub)


def _reached(task) -> bool:
    """Whether SpiffWorkflow's walk reaches `task`: not under a predicted (maybe, likely)
    parent, where the walk does not descend."""
    parent = task.workflow.tasks.get(task._parent) if task._parent is not None else None
    return parent is None or parent._state >= TaskState.FUTURE


def ready_user_tasks(workflow) -> dict:
    """`workflow.get_tasks(state=READY, manual=True)` by id, without walking the tree: the
    task dictionaries hold the same tasks. Their order is the walk's only where it matters
    to callers (see `sync_tasks`)."""
    return {
        str(t.id): t
        for t in _all_unfinished(workflow)
        if t._state == TaskState.READY and t.task_spec.manual and _reached(t)
    }


def waiting_timers(workflow) -> dict:
    """The waiting timer events by id (`get_tasks(state=WAITING)` filtered by `is_timer`)."""
    return {
        str(t.id): t
        for t in _all_unfinished(workflow)
        if t._state == TaskState.WAITING and is_timer(t) and _reached(t)
    }


class Projected:
    """What the rows of an instance show of its workflow: the ids of the open user tasks
    and the due times of the waiting timers. Taken from the workflow before a step it is
    what the rows hold (every step keeps them so), so a step needs no query to find which
    rows to close and which to add."""

    def __init__(self, workflow=None):
        self.open: set[str] = set()
        self.timers: dict = {}
        if workflow is not None:  # None: an instance not stored yet, without rows
            self.open = set(ready_user_tasks(workflow))
            self.timers = {i: timer_due(t) for i, t in waiting_timers(workflow).items()}


# Tests set this to hold what a step kept for the next against the workflow itself.
CHECK_LEFT = False

# What the last step of each workflow left in the rows (`sync_tasks` and `sync_timers`
# fill it in): the next step of that workflow starts from it instead of looking through
# every unfinished task again. It goes with the workflow object; a step rolled back drops
# its workflow from the engine's cache, and so this with it.
_LEFT: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def before_step(workflow) -> Projected:
    """What the rows show of `workflow` before its next step."""
    left = _LEFT.pop(workflow, None)
    if left is None:
        return Projected(workflow)
    if CHECK_LEFT:
        shown = Projected(workflow)
        if (left.open, left.timers) != (shown.open, shown.timers):
            raise AssertionError("what the last step left differs from the workflow")
    return left


def left_by_step(workflow, after: Projected) -> None:
    """`after`, filled in by the step's syncs, is what the rows show once it commits."""
    _LEFT[workflow] = after


def sync_tasks(
    session,
    instance,
    workflow,
    now,
    stage,
    on_created,
    before: Projected,
    on_cancelled=None,
    *,
    after: Projected,
) -> None:
    """Insert rows for user tasks that became ready; cancel rows whose task went away.

    `before` is what the rows showed before the step; `after` is told what they show
    now. Rows of tasks that this step completed must already have been closed
    by the caller (and are passed over here). `on_cancelled(id, element, subject, role)`
    is told of each row cancelled.
    """
    ready = ready_user_tasks(workflow)
    after.open = set(ready)
    gone = before.open - ready.keys()
    described = ("id", "element", "subject", "role") if on_cancelled is not None else ()
    cancelled = _settle(
        session, HumanTask, gone, "open", described, state="cancelled", completed_at=now
    )
    if on_cancelled is not None:
        for row in sorted(cancelled):  # in a fixed order: the audit chain must not vary
            on_cancelled(*row)
    new = [task_id for task_id in ready if task_id not in before.open]
    if len(new) > 1:  # rows (and their events) are made in the order of SpiffWorkflow's walk
        walked = [str(t.id) for t in workflow.get_tasks(state=TaskState.READY, manual=True)]
        order = {task_id: n for n, task_id in enumerate(walked)}
        new.sort(key=lambda task_id: order.get(task_id, len(order)))
    for task_id in new:
        task = ready[task_id]
        dues = [d for d in (timer_due(b) for b in _boundary_timers(task)) if d is not None]
        p = props(task)
        row = new_row(
            HumanTask,
            id=task_id,
            instance_id=instance.id,
            process_key=instance.process_key,
            diagram=task.workflow.spec.name,
            element=task.task_spec.bpmn_id,
            name=task.task_spec.bpmn_name or task.task_spec.bpmn_id,
            name_en=p.get("name_en"),
            role=task.task_spec.lane,
            form_key=form_key(p.get(FORM_PROPERTY)),
            subject=subject_of(task),
            stage=stage,
            state="open",
            due_at=min(dues) if dues else None,
            created_at=now,
        )
        session.add(row)
        on_created(row)


def sync_timers(session, instance, workflow, before: Projected, after: Projected) -> list:
    """Insert rows for timers that started waiting; rows of timers gone are settled by
    the caller (fired) or here (cancelled). Returns the due times of the new timers.
    `before` is what the rows showed before the step; `after` is told what they show
    now."""
    waiting = waiting_timers(workflow)
    _settle(session, Timer, before.timers.keys() - waiting.keys(), "waiting", state="cancelled")
    new_dues = []
    for timer_id, task in waiting.items():
        due = after.timers[timer_id] = timer_due(task)
        if timer_id in before.timers or due is None:
            if timer_id in before.timers and due is not None and due != before.timers[timer_id]:
                row = session.get(Timer, timer_id)
                if row is not None:
                    row.due_at = due  # a cycle timer moves on
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


def _settle(session, model, ids, still: str, described=(), **values) -> list[tuple]:
    """Set `values` on the rows of `ids` that are still in state `still`: through the
    objects the step already holds (it may have changed them, as a timer it fired), the
    others with an UPDATE each instead of a read and a write (a step settles one or two).
    Returns the `described` columns of each row it changed (none asked: an empty list)."""
    if not ids:
        return []
    unseen, changed = [], []
    for row_id in ids:
        row = session.identity_map.get(identity_key(model, row_id))
        if row is None:
            unseen.append(row_id)
        elif row.state == still:
            for name, value in values.items():
                setattr(row, name, value)
            if described:
                changed.append(tuple(getattr(row, name) for name in described))
    if unseen:
        statement = _settling(model.__table__, still, tuple(values), described)
        given = {f"new_{name}": value for name, value in values.items()}
        for row_id in sorted(unseen):
            if not described:  # nothing to read back: it goes with the step's rows
                row_writes.defer(session, statement, {**given, "id": row_id})
                continue
            changed.extend(tuple(row) for row in rows(session, statement, {**given, "id": row_id}))
    return changed


@functools.cache
def _settling(table, still: str, names: tuple, described: tuple):
    """The UPDATE of one row of `table` still in `still`, built once per shape."""
    statement = update(table).where(table.c.id == bindparam("id"), table.c.state == still)
    statement = statement.values({name: bindparam(f"new_{name}") for name in names})
    return statement.returning(*(table.c[name] for name in described)) if described else statement


def current_stage(workflow) -> str | None:
    """The `stage` property of the top-level activity that is running."""
    for task in _unfinished(workflow):
        if task.state in (TaskState.STARTED, TaskState.READY, TaskState.WAITING):
            stage = props(task).get("stage")
            if stage:
                return stage
    return None
