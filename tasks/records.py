"""Reading what the system holds — instances, history, documents, files, processes — each
filtered by what the caller may see. Nothing here changes state."""

from dataclasses import dataclass

from sqlalchemy import String, cast, or_, select

from engine import audit
from engine.errors import Forbidden, NotFound
from engine.models import (
    AuditEvent,
    Document,
    HumanTask,
    Instance,
    Notice,
    ProcessVersion,
    StoredFile,
    Timer,
)
from engine.registry import latest_version, latest_versions

from .inbox import TaskView
from .roles import Actor, sees_all


@dataclass
class InstanceDetail:
    instance: Instance
    open_tasks: list[TaskView]
    timers: list[Timer]


class Records:
    def __init__(self, engine, forms, access):
        self.engine = engine
        self.forms = forms
        self.access = access  # may_see(session, actor, instance)

    # -- instances ------------------------------------------------------------------------

    def instances(self, actor: Actor, status=None, process=None, q=None, limit=200):
        with self.engine.unit_of_work() as uow:
            query = select(Instance)
            if not sees_all(actor):
                visible = [Instance.started_by == actor.username]
                if actor.subject_name:
                    visible.append(
                        Instance.id.in_(
                            select(HumanTask.instance_id).where(
                                HumanTask.subject == actor.subject_name
                            )
                        )
                    )
                query = query.where(or_(*visible))
            if status:
                query = query.where(Instance.status == status)
            if process:
                query = query.where(Instance.process_key == process)
            if q:
                like = f"%{q}%"
                query = query.where(
                    or_(
                        Instance.file_number.like(like),
                        Instance.started_by.like(like),
                        cast(Instance.data, String).like(like),
                    )
                )
            query = query.order_by(Instance.started_at.desc()).limit(limit)
            return list(uow.session.scalars(query))

    def instance(self, actor: Actor, instance_id: str) -> InstanceDetail:
        with self.engine.unit_of_work() as uow:
            instance = self._visible(uow.session, actor, instance_id)
            tasks = uow.session.scalars(
                select(HumanTask)
                .where(HumanTask.instance_id == instance_id, HumanTask.state == "open")
                .order_by(HumanTask.created_at, HumanTask.id)
            )
            timers = uow.session.scalars(
                select(Timer)
                .where(Timer.instance_id == instance_id, Timer.state == "waiting")
                .order_by(Timer.due_at)
            )
            return InstanceDetail(instance, [TaskView.of(t, uow.now) for t in tasks], list(timers))

    def history(self, actor: Actor, instance_id: str) -> list[AuditEvent]:
        with self.engine.unit_of_work() as uow:
            self._visible(uow.session, actor, instance_id)
            return audit.history(uow.session, instance_id)

    def notices(self, actor: Actor, instance_id: str) -> list[Notice]:
        with self.engine.unit_of_work() as uow:
            self._visible(uow.session, actor, instance_id)
            return list(
                uow.session.scalars(
                    select(Notice).where(Notice.instance_id == instance_id).order_by(Notice.id)
                )
            )

    def documents(self, actor: Actor, instance_id: str) -> list[Document]:
        with self.engine.unit_of_work() as uow:
            self._visible(uow.session, actor, instance_id)
            return list(
                uow.session.scalars(
                    select(Document)
                    .where(Document.instance_id == instance_id)
                    .order_by(Document.id)
                )
            )

    def document(self, actor: Actor, instance_id: str, name: str) -> Document:
        with self.engine.unit_of_work() as uow:
            self._visible(uow.session, actor, instance_id)
            document = uow.session.scalar(
                select(Document).where(Document.instance_id == instance_id, Document.name == name)
            )
            if document is None:
                raise NotFound(f"document '{name}' does not exist")
            return document

    def file(self, actor: Actor, file_id: str) -> StoredFile:
        with self.engine.unit_of_work() as uow:
            row = uow.session.get(StoredFile, file_id)
            if row is None:
                raise NotFound(f"file '{file_id}' does not exist")
            if row.instance_id is None:
                if row.uploaded_by != actor.username:
                    raise NotFound(f"file '{file_id}' does not exist")
            else:
                self._visible(uow.session, actor, row.instance_id, what="file", shown=file_id)
            return row

    def _visible(self, session, actor, instance_id, what="instance", shown=None) -> Instance:
        instance = session.get(Instance, instance_id)
        if instance is None or not self.access(session, actor, instance):
            raise NotFound(f"{what} '{shown or instance_id}' does not exist")
        return instance

    # -- definitions ----------------------------------------------------------------------

    def processes(self) -> list[ProcessVersion]:
        with self.engine.unit_of_work() as uow:
            return latest_versions(uow.session)

    def process_versions(self, key: str) -> list[ProcessVersion]:
        with self.engine.unit_of_work() as uow:
            versions = list(
                uow.session.scalars(
                    select(ProcessVersion)
                    .where(ProcessVersion.key == key)
                    .order_by(ProcessVersion.version)
                )
            )
        if not versions:
            raise NotFound(f"process '{key}' is not deployed")
        return versions

    def process_version(self, key: str, version: int | None = None) -> ProcessVersion:
        with self.engine.unit_of_work() as uow:
            if version is None:
                row = latest_version(uow.session, key)
            else:
                row = uow.session.scalar(
                    select(ProcessVersion).where(
                        ProcessVersion.key == key, ProcessVersion.version == version
                    )
                )
        if row is None:
            raise NotFound(f"process '{key}' version {version or 'latest'} is not deployed")
        return row

    def deploy(self, actor: Actor, files: dict[str, bytes]):
        if not actor.has("process_owner"):
            raise Forbidden("only a process owner may deploy")
        with self.engine.unit_of_work() as uow:
            return self.engine.deploy(uow, files, actor.username)

    def form(self, key: str):
        if key not in self.forms:
            raise NotFound(f"form '{key}' does not exist")
        return self.forms.get(key)
