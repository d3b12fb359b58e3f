"""What auditors see of an instance: its replay at any event, its history as a timeline
with filters, and its archive bundle. Nothing here changes state.

The replay and the timeline are for auditors and the center's operators; the archive
bundle for whoever may see the instance.
"""

from dataclasses import dataclass

from sqlalchemy import select

from engine import audit, replay
from engine.errors import Forbidden, NotFound
from engine.models import AuditHead, Document, HumanTask, Instance, ProcessVersion, StoredFile

from . import archive as bundle
from .participants import is_participant
from .roles import Actor

AUDIT_ROLES = frozenset({"auditor", "center_staff", "center_head", "admin"})
SYSTEM_ACTOR = "system"  # the timeline's name for events no person caused


def may_audit(actor: Actor) -> bool:
    return bool(actor.roles & AUDIT_ROLES)


@dataclass
class TimelineEvent:
    event: object  # the audit event (seq, at, type, actor, element, task_id, data)
    stage: str | None

    @property
    def actor(self) -> str:
        return self.event.actor or SYSTEM_ACTOR


@dataclass
class Timeline:
    replay: replay.Replay  # the replay to the last event, with every event traced
    events: list[TimelineEvent]  # those the filters let through, in order
    total: int
    actors: list[str]  # what the filters can choose from
    types: list[str]
    stages: list[str]

    @property
    def divergences(self):
        return self.replay.divergences


class Audits:
    def __init__(self, engine, forms, access):
        self.engine = engine
        self.forms = forms
        self.access = access  # may_see(session, actor, instance)

    def replay(self, actor: Actor, instance_id: str, seq: int | None = None) -> replay.Replay:
        """The instance as it stood after event `seq` (default: the last)."""
        self._auditor(actor, instance_id)
        return replay.replay(self.engine, instance_id, seq)

    def timeline(
        self, actor: Actor, instance_id: str, who=None, type_=None, stage=None
    ) -> Timeline:
        """The history with the stage of each event, filtered by actor, type and stage."""
        self._auditor(actor, instance_id)
        full = replay.replay(self.engine, instance_id, None, trace=True)
        events = [TimelineEvent(e, full.stages.get(e.seq)) for e in full.events]
        shown = [
            e
            for e in events
            if who in (None, e.actor) and type_ in (None, e.event.type) and stage in (None, e.stage)
        ]
        return Timeline(
            replay=full,
            events=shown,
            total=len(events),
            actors=sorted({e.actor for e in events}),
            types=sorted({e.event.type for e in events}),
            stages=_in_order_met(e.stage for e in events),
        )

    def archive(self, actor: Actor, instance_id: str) -> tuple[str, bytes]:
        """(file name, zip bytes) of the instance's archive bundle."""
        with self.engine.unit_of_work() as uow:
            session = uow.session
            instance = session.get(Instance, instance_id)
            if instance is None or not self.access(session, actor, instance):
                raise NotFound(f"instance '{instance_id}' does not exist")
            if is_participant(actor, instance):
                raise Forbidden(
                    "the archive bundle is the whole record: for the applicant and the "
                    "center's staff, not for an enterprise or expert taking part"
                )
            events = audit.history(session, instance_id)
            head = session.get(AuditHead, instance_id)
            version = session.get(ProcessVersion, instance.process_version_id)
            tasks = {
                row.id: row
                for row in session.scalars(
                    select(HumanTask).where(HumanTask.instance_id == instance_id)
                )
            }
            documents = list(
                session.scalars(
                    select(Document)
                    .where(Document.instance_id == instance_id)
                    .order_by(Document.id)
                )
            )
            files = list(
                session.scalars(
                    select(StoredFile)
                    .where(StoredFile.instance_id == instance_id)
                    .order_by(StoredFile.uploaded_at, StoredFile.id)
                )
            )
            made_at = uow.now
        checked = replay.replay(self.engine, instance_id)
        source = bundle.BundleSource(
            instance=instance,
            events=events,
            head=head,
            records=self._form_records(events, tasks, version.start_form if version else None),
            documents=documents,
            files=files,
            replay={
                "seq": checked.seq,
                "complete": checked.complete,
                "divergences": [d.as_json() for d in checked.divergences],
            },
            made_at=made_at,
            made_by=actor.username,
        )
        name = bundle.safe_name(f"{instance.file_number or instance.id}-archive.zip")
        return name, bundle.build(source)

    def _form_records(self, events, tasks, start_form) -> list[bundle.FormRecord]:
        records: dict[str, bundle.FormRecord] = {}
        for event in events:
            data = event.data or {}
            if event.type == "instance_started":
                key = start_form or "start"
                form = self.forms.get(key) if key in self.forms else None
                record = records.setdefault(
                    key,
                    bundle.FormRecord(key, form.title("zh-CN") if form else key, key, form),
                )
                record.submissions.append(
                    bundle.Submission(event.seq, event.at, event.actor, None, None, data)
                )
            elif event.type == "task_completed":
                row = tasks.get(event.task_id)
                key = row.form_key if row else None
                form = self.forms.get(key) if key and key in self.forms else None
                record = records.setdefault(
                    event.element,
                    bundle.FormRecord(event.element, row.name if row else event.element, key, form),
                )
                record.submissions.append(
                    bundle.Submission(
                        event.seq,
                        event.at,
                        event.actor,
                        data.get("subject"),
                        data.get("on_behalf_of"),
                        data.get("data") or {},
                    )
                )
        return list(records.values())

    def _auditor(self, actor: Actor, instance_id: str) -> None:
        if not may_audit(actor):
            raise Forbidden("only auditors and the center's staff may replay an instance")
        with self.engine.unit_of_work() as uow:
            instance = uow.session.get(Instance, instance_id)
            if instance is None or not self.access(uow.session, actor, instance):
                raise NotFound(f"instance '{instance_id}' does not exist")


def _in_order_met(values) -> list:
    seen = []
    for value in values:
        if value is not None and value not in seen:
            seen.append(value)
    return seen
