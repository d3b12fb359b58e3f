"""Audit events for what people do outside an engine step: claims, documents."""

from engine import audit


def claimed(uow, instance, row, actor) -> None:
    _task_event(uow, instance, row, actor, "task_claimed", {})


def unclaimed(uow, instance, row, actor) -> None:
    _task_event(uow, instance, row, actor, "task_unclaimed", {"was": row.assignee})


def document_generated(uow, instance, row, document, actor) -> None:
    _task_event(uow, instance, row, actor, "document_generated", {"document": document.name})


def _task_event(uow, instance, row, actor, type_, data) -> None:
    audit.record(
        uow.session,
        instance.id,
        type_,
        uow.now,
        actor=actor.username,
        element=row.element,
        task_id=row.id,
        data=data,
    )
