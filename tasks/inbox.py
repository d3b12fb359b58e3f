"""The inbox: a handful of queries over the task rows, never over engine state."""

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy import bindparam, literal_column, or_, select, union_all

from engine import driver_sql
from engine.models import HumanTask, Instance

from .roles import PROXY_ROLES, Actor, task_roles_for


@dataclass
class TaskView:
    id: str
    instance_id: str
    process: str
    element: str
    name: str
    name_en: str | None
    role: str | None
    assignee: str | None
    subject: str | None
    stage: str | None
    form: str | None
    state: str
    due_at: datetime | None
    overdue: bool
    created_at: datetime

    @classmethod
    def of(cls, row: HumanTask, now: datetime) -> "TaskView":
        return cls(
            id=row.id,
            instance_id=row.instance_id,
            process=row.process_key,
            element=row.element,
            name=row.name,
            name_en=row.name_en,
            role=row.role,
            assignee=row.assignee,
            subject=row.subject,
            stage=row.stage,
            form=row.form_key,
            state=row.state,
            due_at=row.due_at,
            overdue=is_overdue(row, now),
            created_at=row.created_at,
        )


def is_overdue(row: HumanTask, now: datetime) -> bool:
    if row.state != "open":
        return False
    return row.escalated_at is not None or (row.due_at is not None and row.due_at < now)


# What a TaskView needs: plain rows, never ORM objects (`task_views` reads them).
TASK_COLUMNS = (
    HumanTask.id,
    HumanTask.instance_id,
    HumanTask.process_key,
    HumanTask.element,
    HumanTask.name,
    HumanTask.name_en,
    HumanTask.role,
    HumanTask.assignee,
    HumanTask.subject,
    HumanTask.stage,
    HumanTask.form_key,
    HumanTask.state,
    HumanTask.due_at,
    HumanTask.escalated_at,
    HumanTask.created_at,
)

PAGE = 500


def inbox_query(
    session, actor: Actor, now, scope: str = "mine", process=None, stage=None, overdue=None
):
    """`mine`: open tasks assigned to the actor. `group`: open unclaimed tasks of the
    actor's roles (enterprise and expert tasks reach center staff too). `all`: both.
    Tasks with a due date first (earliest first), then those without; then by creation."""
    query = _statement(
        session.get_bind().dialect.name,
        scope if scope in ("mine", "group") else "all",
        frozenset(task_roles_for(actor)),
        bool(actor.subject_name),
        bool(process),
        bool(stage),
        None if overdue is None else bool(overdue),
    )
    if query is None:
        return []
    values = {
        "username": actor.username,
        "subject": actor.subject_name,
        "process": process,
        "stage": stage,
        "now": now,
    }
    # Rows as the driver gives them (a page is up to 500): only the times need reading.
    found, readers = driver_sql.driver_rows(session, query, values)
    return task_views(found, now, readers)


def task_views(rows, now, readers=None) -> list[TaskView]:
    """The TaskViews of rows of TASK_COLUMNS; `readers`, each column's reader for rows
    whose values are still the driver's (None: converted already)."""
    # Rows unpacked by position: reading a row's fields by name costs more than the query
    # itself at a page of 500. TASK_COLUMNS are TaskView's fields up to due_at, then
    # escalated_at (which makes `overdue`, as is_overdue does) and created_at.
    if readers is not None:
        rows = _read(rows, readers)
    views = []
    for *fields, due_at, escalated_at, created_at in rows:
        overdue = escalated_at is not None or (due_at is not None and due_at < now)
        views.append(TaskView(*fields, due_at, overdue, created_at))
    return views


def _read(rows, readers):
    """The rows with each value that has a reader read (the times, on either database)."""
    reading = [(n, read) for n, read in enumerate(readers) if read is not None]
    if not reading:
        return rows
    read_rows = []
    for row in rows:
        row = list(row)
        for n, read in reading:
            if row[n] is not None:
                row[n] = read(row[n])
        read_rows.append(row)
    return read_rows


@lru_cache(maxsize=256)
def _statement(dialect, scope, roles, has_subject, process, stage, overdue):
    """The inbox statement for one shape of request; the values are bound parameters.

    One index range per part: the actor's own tasks (ix_tasks_inbox_assignee) and the
    unclaimed tasks of each role (ix_tasks_inbox_role), each split into dated and undated
    tasks, so that each part comes out of its index already in (due_at, created_at, id)
    order and the database merges the parts (no sort of every matching row), reading no
    further than the page. The parts are disjoint (one assignee or none, one role a task)."""
    parts = []
    if scope != "group":
        parts.append([HumanTask.assignee == bindparam("username")])
    if scope != "mine":
        parts.extend(
            [HumanTask.assignee.is_(None), *where] for where in _role_parts(roles, has_subject)
        )
    filters = []
    if process:
        filters.append(HumanTask.process_key == bindparam("process"))
    if stage:
        filters.append(HumanTask.stage == bindparam("stage"))
    if overdue is not None:
        late = or_(HumanTask.escalated_at.is_not(None), HumanTask.due_at < bindparam("now"))
        filters.append(late if overdue else ~late)
    arms = [
        select(*TASK_COLUMNS).where(
            HumanTask.state == "open",
            *where,
            HumanTask.due_at.is_(None) if undated else HumanTask.due_at.is_not(None),
            *filters,
        )
        for where in parts
        for undated in (False, True)
    ]
    if not arms:
        return None
    if dialect != "sqlite":
        # PostgreSQL merges the parts' index scans (Merge Append) only when each part is
        # ordered and limited itself; SQLite merges plain parts, and takes no ORDER BY or
        # LIMIT in a part of a compound select.
        order = (HumanTask.due_at, HumanTask.created_at, HumanTask.id)
        arms = [arm.order_by(*order).limit(PAGE) for arm in arms]
    # `due_at IS NULL, due_at` in a form both databases read off an index: NULLS LAST.
    return (
        union_all(*arms)
        .order_by(
            literal_column("due_at").asc().nulls_last(),
            literal_column("created_at"),
            literal_column("id"),
        )
        .limit(PAGE)
    )


def _role_parts(roles, has_subject: bool):
    """The conditions, one role each, that pick the unclaimed tasks of the actor's roles."""
    for role in sorted(roles):
        if role == "applicant":
            # An applicant's tasks go to whoever applied (an applicant, or the clerk who
            # registered the application), not to every applicant.
            own_instances = select(Instance.id).where(Instance.started_by == bindparam("username"))
            yield [HumanTask.role == role, HumanTask.instance_id.in_(own_instances)]
        elif has_subject and role in PROXY_ROLES:
            # An enterprise or expert user: only tasks for its own name in those lanes.
            yield [HumanTask.role == role, HumanTask.subject == bindparam("subject")]
        else:
            yield [HumanTask.role == role]
