"""The inbox query against a plain reference: the same tasks in the same order for every
scope and filter, on a mix of due dates (none, shared, past), roles, assignees, subjects,
instances and states, with more matches than one page holds."""

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from engine.models import HumanTask, Instance, ProcessVersion
from tasks.inbox import PAGE, inbox_query
from tasks.roles import PROXY_ROLES, Actor, task_roles_for

NOW = datetime(2026, 10, 20, 9, 0, tzinfo=UTC)
BASE = datetime(2026, 10, 1, tzinfo=UTC)
ROLES = ["center_staff", "center_head", "enterprise", "expert", "applicant", None]
SUBJECTS = [None, "恒达机械", "北方铸造"]
STARTERS = ["applicant", "applicant2", "center_staff"]
USERS = ["center_staff", "center_head", "hengda", None, None, None]


def seed(system, tasks: int = 4000) -> None:
    pick = random.Random(7)
    with system.db.session() as session:
        version_id = session.scalar(select(ProcessVersion.id).order_by(ProcessVersion.id))
    instances = [
        {
            "id": str(uuid.uuid4()),
            "process_key": "order_service",
            "process_version_id": version_id,
            "version": 1,
            "status": "running",
            "stage": "survey",
            "started_by": STARTERS[n % len(STARTERS)],
            "started_at": BASE,
            "data": {},
            "suspended": False,
            "state": "{}",
            "lock_version": 1,
        }
        for n in range(12)
    ]
    rows = []
    for n in range(tasks):
        # Few distinct due and creation times, so that ties are common: id settles them.
        due = BASE + timedelta(days=pick.randrange(40)) if pick.random() < 0.6 else None
        rows.append(
            {
                "id": str(uuid.UUID(int=pick.getrandbits(128))),
                "instance_id": pick.choice(instances)["id"],
                "process_key": pick.choice(["order_service", "order_receiving"]),
                "element": f"element_{n % 7}",
                "name": f"任务 {n}",
                "role": pick.choice(ROLES),
                "subject": pick.choice(SUBJECTS),
                "stage": pick.choice(["survey", "preparation"]),
                "state": pick.choice(["open"] * 5 + ["completed", "cancelled"]),
                "assignee": pick.choice(USERS),
                "due_at": due,
                "escalated_at": NOW - timedelta(hours=1) if pick.random() < 0.05 else None,
                "created_at": BASE + timedelta(hours=pick.randrange(30)),
            }
        )
    with system.db.engine.begin() as connection:
        connection.execute(insert(Instance), instances)
        connection.execute(insert(HumanTask), rows)


def reference(tasks, starters, actor: Actor, scope, process=None, stage=None, overdue=None):
    """The inbox as its definition reads, over every task row, in Python."""
    roles = task_roles_for(actor)

    def group(t):
        if t.assignee is not None or t.role not in roles:
            return False
        if t.role == "applicant":
            return starters[t.instance_id] == actor.username
        if actor.subject_name and t.role in PROXY_ROLES:
            return t.subject == actor.subject_name
        return True

    def late(t):  # as SQL reads `escalated_at IS NOT NULL OR due_at < now`: None is unknown
        if t.escalated_at is not None:
            return True
        return None if t.due_at is None else t.due_at < NOW

    def wanted(t):
        mine = t.assignee == actor.username
        if t.state != "open" or not {"mine": mine, "group": group(t)}.get(scope, mine or group(t)):
            return False
        if process and t.process_key != process or stage and t.stage != stage:
            return False
        # SQL keeps a row only where the condition is true, not where it is unknown.
        return overdue is None or late(t) is bool(overdue)

    chosen = [t for t in tasks if wanted(t)]
    chosen.sort(key=lambda t: (t.due_at is None, t.due_at or BASE, t.created_at, t.id))
    return [t.id for t in chosen[:PAGE]]


ACTORS = [
    Actor("center_staff", frozenset({"center_staff"})),
    Actor("center_head", frozenset({"center_head", "center_staff"})),
    Actor("applicant", frozenset({"applicant"})),
    Actor("applicant2", frozenset({"applicant"})),
    Actor("hengda", frozenset({"enterprise"}), "恒达机械"),
    Actor("nobody", frozenset()),
]
FILTERS = [
    {},
    {"process": "order_receiving"},
    {"stage": "preparation"},
    {"overdue": True},
    {"overdue": False},
    {"process": "order_service", "stage": "survey", "overdue": False},
]


def test_the_inbox_matches_the_reference_for_every_scope_and_filter(system):
    seed(system)
    with system.db.session() as session:
        tasks = session.scalars(select(HumanTask)).all()
        starters = dict(session.execute(select(Instance.id, Instance.started_by)).all())
    # More matches than a page holds, for one role and for several.
    assert len(reference(tasks, starters, ACTORS[0], "group")) == PAGE
    assert len(reference(tasks, starters, ACTORS[1], "all")) == PAGE
    checked = 0
    with system.engine.unit_of_work() as uow:
        for actor in ACTORS:
            for scope in ["mine", "group", "all"]:
                for filters in FILTERS:
                    got = inbox_query(uow.session, actor, NOW, scope, **filters)
                    expected = reference(tasks, starters, actor, scope, **filters)
                    assert [t.id for t in got] == expected, (actor.username, scope, filters)
                    checked += bool(expected)
    assert checked > 50  # most cases are not empty


@pytest.mark.parametrize("scope", ["mine", "group", "all"])
def test_a_task_view_carries_the_row(system, scope):
    seed(system, tasks=200)
    actor = Actor("center_staff", frozenset({"center_staff"}))
    with system.db.session() as session:
        rows = {t.id: t for t in session.scalars(select(HumanTask))}
    with system.engine.unit_of_work() as uow:
        views = inbox_query(uow.session, actor, NOW, scope)
    assert views
    for view in views:
        row = rows[view.id]
        assert (view.instance_id, view.process, view.element, view.name, view.name_en) == (
            row.instance_id,
            row.process_key,
            row.element,
            row.name,
            row.name_en,
        )
        assert (view.role, view.assignee, view.subject, view.stage, view.form) == (
            row.role,
            row.assignee,
            row.subject,
            row.stage,
            row.form_key,
        )
        assert (view.state, view.due_at, view.created_at) == (row.state, row.due_at, row.created_at)
        late = row.escalated_at is not None or (row.due_at is not None and row.due_at < NOW)
        assert view.overdue is late
