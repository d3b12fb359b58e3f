"""Reading what the system holds — instances, history, documents, files, processes — each
filtered by what the caller may see. Nothing here changes state."""

from dataclasses import dataclass

from sqlalchemy import String, bindparam, cast, func, or_, select
from sqlalchemy.orm import defer

from engine import audit, bpmn_diff, bpmn_xml, driver_sql
from engine.errors import Forbidden, InvalidBpmn, NotFound
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

from .inbox import TASK_COLUMNS, TaskView, task_views
from .participants import SHARED_DOCUMENTS, Participation, is_participant, participation
from .roles import Actor, sees_all, unlinked_lanes


@dataclass
class InstanceDetail:
    instance: Instance
    open_tasks: list[TaskView]
    timers: list  # rows of id, element, name, due_at
    # What the caller may read of the instance's data (participants.py), when not all of it.
    shown_data: dict | None = None

    @property
    def data(self) -> dict:
        return self.instance.data if self.shown_data is None else self.shown_data


def instance_detail(session, instance: Instance, now) -> InstanceDetail:
    """The instance with its open tasks and waiting timers, read in the caller's unit of
    work: the instance itself is the caller's (a completion's answer shows the instance
    as its step left it, without reading it again)."""
    tasks, timers = driver_sql.rows_together(
        session,
        (_OPEN_TASKS, {"instance_id": instance.id}),
        (_WAITING_TIMERS, {"instance_id": instance.id}),
    )
    return InstanceDetail(instance, task_views(tasks, now), timers)


# Plain rows, statements built once: every completion's answer reads these.
_OPEN_TASKS = (
    select(*TASK_COLUMNS)
    .where(HumanTask.instance_id == bindparam("instance_id"), HumanTask.state == "open")
    .order_by(HumanTask.created_at, HumanTask.id)
)
_WAITING_TIMERS = (
    select(Timer.id, Timer.element, Timer.name, Timer.due_at)
    .where(Timer.instance_id == bindparam("instance_id"), Timer.state == "waiting")
    .order_by(Timer.due_at)
)


def tasks_taken_part_in(actor: Actor):
    """The condition on task rows through which an enterprise or expert user sees an
    instance: those for its own name, or, linked to no name, those of its lanes; None for
    anyone else (who sees what it started, or everything)."""
    if actor.subject_name:
        return HumanTask.subject == actor.subject_name
    lanes = unlinked_lanes(actor)
    return HumanTask.role.in_(lanes) if lanes else None


def as_seen_by(session, actor: Actor, detail: InstanceDetail) -> InstanceDetail:
    """The detail as `actor` may read it: an enterprise or expert user taking part gets its
    own tasks and data (participants.py), anyone else all of it."""
    part = _participation(session, actor, detail.instance)
    if part is not None:
        detail.open_tasks = [t for t in detail.open_tasks if t.id in part.task_ids]
        detail.shown_data = part.data(detail.instance.data)
    return detail


def _participation(session, actor: Actor, instance: Instance) -> Participation | None:
    """The tasks a participant sees the instance through; None for anyone who sees all of it
    (staff, its applicant)."""
    if not is_participant(actor, instance):
        return None
    return participation(session, actor, instance, tasks_taken_part_in(actor))


class Records:
    def __init__(self, engine, forms, access):
        self.engine = engine
        self.forms = forms
        self.access = access  # may_see(session, actor, instance)

    # -- instances ------------------------------------------------------------------------

    def instances(self, actor: Actor, status=None, process=None, q=None, limit=200):
        with self.engine.unit_of_work(read_only=True) as uow:
            query = select(Instance)
            if not sees_all(actor):
                visible = [Instance.started_by == actor.username]
                through = tasks_taken_part_in(actor)
                if through is not None:
                    visible.append(Instance.id.in_(select(HumanTask.instance_id).where(through)))
                query = query.where(or_(*visible))
            if status:
                query = query.where(Instance.status == status)
            if process:
                query = query.where(Instance.process_key == process)
            if q:
                like = f"%{q}%"
                searched = [Instance.file_number.like(like)]
                if sees_all(actor) or actor.has("applicant"):
                    # An enterprise or expert user would learn of others' answers by
                    # searching the data it is not shown.
                    searched += [
                        Instance.started_by.like(like),
                        cast(Instance.data, String).like(like),
                    ]
                query = query.where(or_(*searched))
            query = query.order_by(Instance.started_at.desc()).limit(limit)
            return list(uow.session.scalars(query))

    def instance(self, actor: Actor, instance_id: str) -> InstanceDetail:
        with self.engine.unit_of_work(read_only=True) as uow:
            instance = self._visible(uow.session, actor, instance_id)
            return as_seen_by(uow.session, actor, instance_detail(uow.session, instance, uow.now))

    def history(self, actor: Actor, instance_id: str) -> list[AuditEvent]:
        with self.engine.unit_of_work(read_only=True) as uow:
            instance = self._visible(uow.session, actor, instance_id)
            events = audit.history(uow.session, instance_id)
            part = _participation(uow.session, actor, instance)
            if part is not None:
                events = [e for e in events if e.task_id in part.task_ids]
            return events

    def notices(self, actor: Actor, instance_id: str) -> list[Notice]:
        with self.engine.unit_of_work(read_only=True) as uow:
            instance = self._visible(uow.session, actor, instance_id)
            query = select(Notice).where(Notice.instance_id == instance_id).order_by(Notice.id)
            if is_participant(actor, instance):  # only those sent to it
                query = query.where(
                    or_(Notice.username == actor.username, Notice.role.in_(actor.roles))
                )
            return list(uow.session.scalars(query))

    def documents(self, actor: Actor, instance_id: str) -> list[Document]:
        with self.engine.unit_of_work(read_only=True) as uow:
            instance = self._visible(uow.session, actor, instance_id)
            query = select(Document).where(Document.instance_id == instance_id)
            if is_participant(actor, instance):
                query = query.where(Document.name.in_(SHARED_DOCUMENTS))
            return list(uow.session.scalars(query.order_by(Document.id)))

    def document(self, actor: Actor, instance_id: str, name: str) -> Document:
        with self.engine.unit_of_work(read_only=True) as uow:
            instance = self._visible(uow.session, actor, instance_id)
            document = uow.session.scalar(
                select(Document).where(Document.instance_id == instance_id, Document.name == name)
            )
            shared = name in SHARED_DOCUMENTS or not is_participant(actor, instance)
            if document is None or not shared:
                raise NotFound(f"document '{name}' does not exist")
            return document

    def file(self, actor: Actor, file_id: str, *, content: bool = True) -> StoredFile:
        """A stored file the actor may see (NotFound otherwise); `content=False` leaves
        the bytes unread, for showing the name."""
        with self.engine.unit_of_work(read_only=True) as uow:
            query = select(StoredFile).where(StoredFile.id == file_id)
            if not content:
                query = query.options(defer(StoredFile.content, raiseload=True))
            row = uow.session.scalar(query)
            if row is None:
                raise NotFound(f"file '{file_id}' does not exist")
            if row.instance_id is None:
                if row.uploaded_by != actor.username:
                    raise NotFound(f"file '{file_id}' does not exist")
            else:
                instance = self._visible(
                    uow.session, actor, row.instance_id, what="file", shown=file_id
                )
                part = _participation(uow.session, actor, instance)
                mine = row.uploaded_by == actor.username
                if part is not None and not mine and not part.refers_to(file_id, instance.data):
                    raise NotFound(f"file '{file_id}' does not exist")
            return row

    def _visible(self, session, actor, instance_id, what="instance", shown=None) -> Instance:
        instance = session.get(Instance, instance_id)
        if instance is None or not self.access(session, actor, instance):
            raise NotFound(f"{what} '{shown or instance_id}' does not exist")
        return instance

    # -- definitions ----------------------------------------------------------------------

    def processes(self) -> list[ProcessVersion]:
        with self.engine.unit_of_work(read_only=True) as uow:
            return latest_versions(uow.session)

    def process_versions(self, key: str) -> list[ProcessVersion]:
        with self.engine.unit_of_work(read_only=True) as uow:
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
        with self.engine.unit_of_work(read_only=True) as uow:
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

    def check(self, actor: Actor, files: dict[str, bytes], with_callers=False) -> list[dict]:
        """What deploying `files` would refuse, without deploying: [] when nothing."""
        if not actor.has("process_owner"):
            raise Forbidden("only a process owner may check diagrams for deployment")
        with self.engine.unit_of_work(read_only=True) as uow:
            if with_callers:
                files = _with_callers(uow.session, files)
            return self.engine.registry.check(uow.session, files)

    def deploy_with_callers(self, actor: Actor, files: dict[str, bytes]):
        """Deploy `files` with the deployed processes that call any of them: a caller's
        version bundles the versions it calls, so new instances of it start on the new
        diagrams only once it too has a new version."""
        if not actor.has("process_owner"):
            raise Forbidden("only a process owner may deploy")
        with self.engine.unit_of_work() as uow:
            files = _with_callers(uow.session, files)
            return self.engine.deploy(uow, files, actor.username)

    def instance_counts(self, key: str) -> dict[int, dict[str, int]]:
        """{version: {status: how many instances}} of one process."""
        with self.engine.unit_of_work(read_only=True) as uow:
            rows = uow.session.execute(
                select(Instance.version, Instance.status, func.count())
                .where(Instance.process_key == key)
                .group_by(Instance.version, Instance.status)
            )
            counts: dict[int, dict[str, int]] = {}
            for version, status, count in rows:
                counts.setdefault(version, {})[status] = count
            return counts

    def process_diff(self, key: str, before: int, after: int) -> dict:
        """The elements added, removed and changed from version `before` to `after`."""
        old = self.process_version(key, before)
        new = self.process_version(key, after)
        changes = bpmn_diff.diff(old.bpmn, new.bpmn)
        return {"key": key, "from": old.version, "to": new.version, **changes}

    def form(self, key: str):
        if key not in self.forms:
            raise NotFound(f"form '{key}' does not exist")
        return self.forms.get(key)


def _with_callers(session, files: dict[str, bytes]) -> dict[str, bytes]:
    keys = set()
    for filename, content in files.items():
        try:
            root = bpmn_xml.parse(content, filename).getroot()
        except InvalidBpmn:
            return files  # the check names the problem
        keys.update(node.get("id") for node in root.iterfind("bpmn:process", bpmn_xml.NS))
    files = dict(files)
    for row in latest_versions(session):
        if row.key not in keys and keys & set(row.called or ()) and row.filename not in files:
            files[row.filename] = row.bpmn.encode("utf-8")
    return files
