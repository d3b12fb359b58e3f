"""The inbox: a handful of queries over the task rows, never over engine state."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select

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


def inbox_query(
    session, actor: Actor, now, scope: str = "mine", process=None, stage=None, overdue=None
):
    """`mine`: open tasks assigned to the actor. `group`: open unclaimed tasks of the
    actor's roles (enterprise and expert tasks reach center staff too). `all`: both."""
    query = select(HumanTask).where(HumanTask.state == "open")
    mine = HumanTask.assignee == actor.username
    group = and_(HumanTask.assignee.is_(None), _role_filter(actor))
    query = query.where({"mine": mine, "group": group}.get(scope, or_(mine, group)))
    if process:
        query = query.where(HumanTask.process_key == process)
    if stage:
        query = query.where(HumanTask.stage == stage)
    if overdue is not None:
        late = or_(HumanTask.escalated_at.is_not(None), HumanTask.due_at < now)
        query = query.where(late if overdue else ~late)
    query = query.order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.created_at)
    return [TaskView.of(row, now) for row in session.scalars(query.limit(500))]


def _role_filter(actor: Actor):
    roles = task_roles_for(actor)
    plain = [r for r in roles if r != "applicant" and not (actor.subject_name and r in PROXY_ROLES)]
    allowed = [HumanTask.role.in_(plain)]
    if "applicant" in roles:
        # An applicant's tasks go to the applicant who applied, not to every applicant.
        own_instances = select(Instance.id).where(Instance.started_by == actor.username)
        allowed.append(
            and_(HumanTask.role == "applicant", HumanTask.instance_id.in_(own_instances))
        )
    if actor.subject_name:
        # An enterprise or expert user: only tasks for its own name in those lanes.
        own = [r for r in roles if r in PROXY_ROLES]
        allowed.append(and_(HumanTask.role.in_(own), HumanTask.subject == actor.subject_name))
    return or_(*allowed)
