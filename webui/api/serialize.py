"""JSON shapes of the API: timestamps shown in Asia/Shanghai with their offset."""

from datetime import datetime

from tasks.shapes import instance_summary, iso


def task(view) -> dict:
    return {
        "id": view.id,
        "instance_id": view.instance_id,
        "process": view.process,
        "element": view.element,
        "name": view.name,
        "name_en": view.name_en,
        "role": view.role,
        "assignee": view.assignee,
        "subject": view.subject,
        "stage": view.stage,
        "form": view.form,
        "state": view.state,
        "due_at": iso(view.due_at),
        "overdue": view.overdue,
        "created_at": iso(view.created_at),
    }


def instance(detail) -> dict:
    return {
        **instance_summary(detail.instance),
        "data": detail.data,
        "open_tasks": [task(t) for t in detail.open_tasks],
        "timers": [timer(t) for t in detail.timers],
    }


def timer(row) -> dict:
    return {"id": row.id, "element": row.element, "name": row.name, "due_at": iso(row.due_at)}


def event(row) -> dict:
    return {
        "seq": row.seq,
        "at": iso(row.at),
        "type": row.type,
        "actor": row.actor,
        "element": row.element,
        "task_id": row.task_id,
        "data": _shown(row.data),
    }


def _shown(data):
    """An event's data with the times the engine recorded (`due_at`, …: stored in UTC)
    shown in Asia/Shanghai like every other timestamp; what people entered stays as
    entered. The stored event, whose hash covers the UTC text, is unchanged."""
    if not isinstance(data, dict):
        return data
    shown = dict(data)
    for key, value in data.items():
        if key.endswith("_at") and isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                continue
            if moment.tzinfo is not None:
                shown[key] = iso(moment)
    return shown


def process_version(row, with_checksum=False) -> dict:
    body = {
        "key": row.key,
        "name": row.name,
        "version": row.version,
        "deployed_at": iso(row.deployed_at),
    }
    if with_checksum:
        body.update(deployed_by=row.deployed_by, sha256=row.sha256, calls=row.called)
    return body


def document(row, instance_id) -> dict:
    return {
        "name": row.name,
        "title": row.title,
        "content_type": row.content_type,
        "created_at": iso(row.created_at),
        "url": f"/api/v1/instances/{instance_id}/documents/{row.name}",
    }


def stored_file(row) -> dict:
    return {
        "id": row.id,
        "name": row.name,
        "size": row.size,
        "sha256": row.sha256,
        "content_type": row.content_type,
    }


def replay(result) -> dict:
    """The instance as a replay rebuilt it after one event (engine/replay.py)."""
    return {
        "instance_id": result.instance_id,
        "process": result.process_key,
        "version": result.version,
        "seq": result.seq,
        "last_seq": result.last_seq,
        "event": event(result.event),
        "complete": result.complete,
        "status": result.status,
        "suspended": result.suspended,
        "stage": result.stage,
        "file_number": result.file_number,
        "diagrams": [d.as_json() for d in result.diagrams],
        "open_tasks": [
            {
                "task_id": t.task_id,
                "element": t.element,
                "name": t.name,
                "name_en": t.name_en,
                "role": t.role,
                "subject": t.subject,
                "diagram": t.diagram,
                "assignee": t.assignee,
                "due_at": iso(t.due_at),
                "overdue": bool(t.overdue),
            }
            for t in result.open_tasks
        ],
        "timers": [
            {
                "element": t.element,
                "name": t.name,
                "diagram": t.diagram,
                "attached_to": t.attached_to,
                "due_at": iso(t.due_at),
            }
            for t in result.timers
        ],
        "data": result.data,
        "changed": result.changed,
        "divergences": [d.as_json() for d in result.divergences],
    }
