"""What a decision is about, and why a task came back: read from the `reviews` property.

A task that decides on earlier work declares it in its diagram: the property `reviews`
lists the element ids of the tasks whose submissions it decides on (comma-separated;
`application` names the start form). The task page shows those submissions read-only,
and a task reopened by such a decision shows the decision (who, when, the comments).
Read from the task rows, the instance's data and the BPMN of the version it runs on.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import defer

from engine import bpmn_xml
from engine.models import AuditEvent, HumanTask, Instance, ProcessVersion

REVIEWS_PROPERTY = "reviews"
START_FORM = "application"  # the start form's data key, as a `reviews` entry

_cache: dict[tuple[str, str], dict[str, tuple[str, ...]]] = {}


@dataclass
class Earlier:
    """One earlier submission (or decision) as the task page shows it."""

    element: str
    name: str
    name_en: str | None
    form: str | None  # form key
    data: dict
    subject: str | None = None
    completed_by: str | None = None
    completed_at: datetime | None = None


def declared(pv: ProcessVersion) -> dict[str, tuple[str, ...]]:
    """{element id: the element ids it reviews} of one process version's diagram."""
    key = (pv.key, pv.sha256)
    if key not in _cache:
        tree = bpmn_xml.parse(pv.bpmn, pv.filename)
        found = {}
        for node in tree.getroot().iter():
            if not isinstance(node.tag, str) or not node.get("id"):
                continue
            value = bpmn_xml.properties(node).get(REVIEWS_PROPERTY)
            if value:
                found[node.get("id")] = tuple(v.strip() for v in value.split(",") if v.strip())
        _cache[key] = found
    return _cache[key]


def _version(session, instance: Instance, diagram: str | None) -> ProcessVersion | None:
    main = session.scalar(
        select(ProcessVersion)
        .where(ProcessVersion.id == instance.process_version_id)
        .options(defer(ProcessVersion.spec_json))
    )
    if main is None or diagram in (None, main.key):
        return main
    number = (main.called_versions or {}).get(diagram)
    if number is None:
        return None
    return session.scalar(
        select(ProcessVersion)
        .where(ProcessVersion.key == diagram, ProcessVersion.version == number)
        .options(defer(ProcessVersion.spec_json))
    )


def _entries(value, subject=None) -> list[tuple[str | None, dict]]:
    """(subject, data) of an element's stored data; a per-item task's list per subject."""
    if isinstance(value, list):
        return [
            (e.get("subject"), e.get("data") or {})
            for e in value
            if isinstance(e, dict) and subject in (None, e.get("subject"))
        ]
    return [(None, value)] if isinstance(value, dict) else []


def _completed(session, instance_id: str) -> list[HumanTask]:
    """The instance's completed tasks in the order they were completed (the audit log's:
    completion times may tie)."""
    rows = session.scalars(
        select(HumanTask).where(
            HumanTask.instance_id == instance_id, HumanTask.state == "completed"
        )
    )
    order = dict(
        session.execute(
            select(AuditEvent.task_id, AuditEvent.seq).where(
                AuditEvent.instance_id == instance_id, AuditEvent.type == "task_completed"
            )
        ).all()
    )
    return sorted(rows, key=lambda r: (order.get(r.id, 0), r.completed_at, r.id))


def reviewed(session, instance: Instance, row: HumanTask) -> list[Earlier]:
    """The submissions the task `row` decides on, in the order its `reviews` lists them."""
    version = _version(session, instance, row.diagram)
    wanted = declared(version).get(row.element, ()) if version else ()
    if not wanted:
        return []
    data = instance.data or {}
    done = _completed(session, instance.id)
    found = []
    for element in wanted:
        if element == START_FORM:
            main = _version(session, instance, None)
            if isinstance(data.get(START_FORM), dict):
                found.append(
                    Earlier(
                        element,
                        "",
                        None,
                        main.start_form if main else None,
                        data[START_FORM],
                        None,
                        instance.started_by,
                        instance.started_at,
                    )
                )
            continue
        rows = [r for r in done if r.element == element]
        if not rows:
            continue
        for subject, entry in _entries(data.get(element)):
            last = [r for r in rows if r.subject == subject] or rows
            found.append(
                Earlier(
                    element,
                    last[-1].name,
                    last[-1].name_en,
                    last[-1].form_key,
                    entry,
                    subject,
                    last[-1].completed_by,
                    last[-1].completed_at,
                )
            )
    return found


def sent_back(session, instance: Instance, row: HumanTask) -> list[Earlier]:
    """The decisions that reopened `row`: tasks that review its element, completed after
    its own last completion (for its subject); none when the task is new."""
    if row.state != "open":
        return []
    done = _completed(session, instance.id)
    before = [r for r in done if r.element == row.element and r.subject == row.subject]
    if not before:
        return []
    after = done.index(before[-1])
    version = _version(session, instance, row.diagram)
    deciders = {
        element
        for element, targets in (declared(version) if version else {}).items()
        if row.element in targets
    }
    decisions = [r for r in done[after + 1 :] if r.element in deciders]
    data = instance.data or {}
    found = []
    for decision in decisions:
        entries = _entries(data.get(decision.element), decision.subject)
        entry = entries[-1][1] if entries else {}
        found.append(
            Earlier(
                decision.element,
                decision.name,
                decision.name_en,
                decision.form_key,
                entry,
                decision.subject,
                decision.completed_by,
                decision.completed_at,
            )
        )
    return found
