"""Task actions: start, claim, unclaim, complete — each validate → authorise → engine step,
in one unit of work. The web layer and the command line call these and nothing lower."""

from dataclasses import dataclass, field

from sqlalchemy import select

from engine.errors import Conflict, Forbidden, InvalidData, NotFound, ProcessError
from engine.models import HumanTask, Instance, StoredFile
from engine.registry import latest_version, start_lane
from forms import FormValidationError

from . import audit_actions, files, tokens, users
from .completeness import missing_records
from .inbox import TaskView, inbox_query
from .records import InstanceDetail, as_seen_by, instance_detail, tasks_taken_part_in
from .reviews import Earlier, reviewed, sent_back
from .roles import Actor, acting_role, for_someone_else, sees_all, starter_roles

# Roles that only read: an actor with none but these writes nothing, not even an upload.
READ_ONLY_ROLES = frozenset({"auditor"})


class IncompleteFile(InvalidData):
    code = "incomplete_file"


@dataclass
class TaskDetail:
    task: TaskView
    form: dict | None
    data: dict
    instructions: str | None
    # The submissions the task decides on, and the decisions that sent it back (reviews.py).
    reviewed: list[Earlier] = field(default_factory=list)
    sent_back: list[Earlier] = field(default_factory=list)


class TaskService:
    def __init__(self, engine, forms, documents):
        self.engine = engine
        self.forms = forms
        self.documents = documents

    # -- reading --------------------------------------------------------------------------

    def inbox(self, actor: Actor, scope="mine", **filters) -> list[TaskView]:
        with self.engine.unit_of_work(read_only=True) as uow:
            return inbox_query(uow.session, actor, uow.now, scope, **filters)

    def task(self, actor: Actor, task_id: str) -> TaskDetail:
        with self.engine.unit_of_work(read_only=True) as uow:
            row = uow.session.get(HumanTask, task_id)
            instance = uow.session.get(Instance, row.instance_id) if row else None
            if row is None or not self._may_see_task(uow.session, actor, row, instance):
                raise NotFound(f"task '{task_id}' does not exist")
            form = self.forms.get(row.form_key) if row.form_key in self.forms else None
            previous = instance.data.get(row.element)
            if isinstance(previous, list):  # a per-item task: this subject's earlier entry
                previous = next((e["data"] for e in previous if e["subject"] == row.subject), None)
            return TaskDetail(
                task=TaskView.of(row, uow.now),
                form=form.schema if form else None,
                data=previous or {},
                instructions=(form.schema.get("x-instructions") or {}).get("zh-CN")
                if form
                else None,
                reviewed=reviewed(uow.session, instance, row),
                sent_back=sent_back(uow.session, instance, row),
            )

    def instance(self, actor: Actor, instance_id: str) -> Instance:
        with self.engine.unit_of_work(read_only=True) as uow:
            instance = uow.session.get(Instance, instance_id)
            if instance is None or not self.may_see(uow.session, actor, instance):
                raise NotFound(f"instance '{instance_id}' does not exist")
            return instance

    def may_see(self, session, actor: Actor, instance: Instance) -> bool:
        if sees_all(actor) or instance.started_by == actor.username:
            return True
        through = tasks_taken_part_in(actor)
        if through is None:
            return False
        found = select(HumanTask.id).where(HumanTask.instance_id == instance.id, through)
        return session.scalar(found.limit(1)) is not None

    def _may_see_task(self, session, actor, row, instance) -> bool:
        if acting_role(actor, row.role, row.subject, instance.started_by) is not None:
            return True
        if for_someone_else(actor, row.role, row.subject):
            return False
        return self.may_see(session, actor, instance)

    # -- acting ---------------------------------------------------------------------------

    def start(self, actor: Actor, process_key: str, data) -> Instance:
        with self.engine.unit_of_work() as uow:
            version = latest_version(uow.session, process_key)
            if version is None:
                raise NotFound(f"process '{process_key}' is not deployed")
            allowed = starter_roles(start_lane(version))
            if not actor.roles & allowed:
                raise Forbidden(f"only {' or '.join(sorted(allowed))} may start '{process_key}'")
            cleaned = self._validate(uow.session, actor, version.start_form, data, None)
            instance = self.engine.start(uow, process_key, cleaned, actor.username)
            self._attach_files(uow.session, version.start_form, cleaned, instance.id)
            return instance

    def claim(self, actor: Actor, task_id: str) -> TaskView:
        with self.engine.unit_of_work() as uow:
            row, instance = self._lock_task(uow, task_id)
            self._authorise(uow.session, actor, row, instance)
            if row.assignee not in (None, actor.username):
                raise Conflict(f"task '{row.element}' is claimed by {row.assignee}")
            if row.assignee is None:
                row.assignee = actor.username
                audit_actions.claimed(uow, instance, row, actor)
            return TaskView.of(row, uow.now)

    def unclaim(self, actor: Actor, task_id: str) -> TaskView:
        with self.engine.unit_of_work() as uow:
            row, instance = self._lock_task(uow, task_id)
            self._authorise(uow.session, actor, row, instance)
            if row.assignee not in (None, actor.username) and not actor.has("center_head"):
                raise Conflict(f"task '{row.element}' is claimed by {row.assignee}")
            if row.assignee is not None:
                audit_actions.unclaimed(uow, instance, row, actor)
                row.assignee = None
            return TaskView.of(row, uow.now)

    def complete(self, actor: Actor, task_id: str, data) -> Instance:
        self._load_ahead(task_id)
        with self.engine.unit_of_work() as uow:
            return self._complete(uow, actor, task_id, data)

    def complete_and_show(self, actor: Actor, task_id: str, data) -> InstanceDetail:
        """Complete, then the instance as the caller now sees it: the instance as the step
        left it, its open tasks and timers read after the commit — outside the step's
        transaction, whose locks (SQLite's write lock, the file-number counter) every other
        step waits for. The completion stands even when the caller may no longer see the
        instance: that is NotFound afterwards."""
        instance = self.complete(actor, task_id, data)
        with self.engine.unit_of_work(read_only=True) as uow:
            if not self.may_see(uow.session, actor, instance):
                raise NotFound(f"instance '{instance.id}' does not exist")
            return as_seen_by(uow.session, actor, instance_detail(uow.session, instance, uow.now))

    def _complete(self, uow, actor: Actor, task_id: str, data) -> Instance:
        row, instance = self._lock_task(uow, task_id)
        how = self._authorise(uow.session, actor, row, instance)
        if row.assignee not in (None, actor.username):
            raise Conflict(f"task '{row.element}' is claimed by {row.assignee}")
        cleaned = self._validate(uow.session, actor, row.form_key, data, instance.id)
        self._check_complete_file(uow.session, instance, row.form_key)
        template = self.engine.task_properties(uow, instance, task_id).get("documentTemplate")

        def generate_document():  # inside the step: the archive record precedes the end
            document = self.documents.render(
                uow.session, instance, template, actor.username, uow.now
            )
            audit_actions.document_generated(uow, instance, row, document, actor)

        before_end = generate_document if template else None
        self._complete_or_record(uow, instance, row, cleaned, actor, how[1], before_end)
        self._attach_files(uow.session, row.form_key, cleaned, instance.id)
        return instance

    def _complete_or_record(
        self, uow, instance, row, cleaned, actor, on_behalf_of, before_end=None
    ) -> None:
        """Complete; when an expression of the diagram fails, the step rolls back and the
        instance is marked failed with the submission kept, for staff to fix and retry."""
        instance_id, version = instance.id, instance.lock_version
        action = {
            "kind": "complete",
            "task_id": row.id,
            "element": row.element,
            "data": cleaned,
            "actor": actor.username,
            "on_behalf_of": on_behalf_of,
        }
        try:
            self.engine.complete(
                uow,
                instance,
                row.id,
                cleaned,
                actor.username,
                on_behalf_of=on_behalf_of,
                before_end=before_end,
            )
        except ProcessError as error:
            uow.rollback()  # release the instance before recording, in a unit of its own
            self.engine.record_incident(instance_id, error, action, version)
            raise

    def store_file(
        self, actor: Actor, name, content_type, content: bytes, limit=files.MAX_FILE_BYTES
    ) -> StoredFile:
        if not actor.roles - READ_ONLY_ROLES:
            raise Forbidden("the auditor reads; it uploads nothing")
        with self.engine.unit_of_work() as uow:
            return files.store_file(uow.session, actor, name, content_type, content, uow.now, limit)

    def add_user(self, username, roles, password=None, **extra):
        with self.engine.unit_of_work() as uow:
            users.add_user(uow.session, username, roles, uow.now, password=password, **extra)
            return users.actor(uow.session, username)

    def sign_in(self, username: str, password: str):
        """(token, actor) for good credentials, else None."""
        with self.engine.unit_of_work() as uow:
            actor = users.authenticate(uow.session, username, password)
            if actor is None:
                return None
            return tokens.issue_token(uow.session, actor.username, uow.now), actor

    def check_password(self, username: str, password: str) -> Actor | None:
        """The actor for good credentials (a browser session), else None."""
        with self.engine.unit_of_work(read_only=True) as uow:
            return users.authenticate(uow.session, username, password)

    def actor_for_token(self, token: str) -> Actor | None:
        with self.engine.single_read() as uow:
            return tokens.actor_for_token(uow.session, token, uow.now)

    def actor(self, username: str) -> Actor:
        with self.engine.unit_of_work(read_only=True) as uow:
            return users.actor(uow.session, username)

    # -- helpers --------------------------------------------------------------------------

    def _load_ahead(self, task_id: str) -> None:
        """On SQLite, read the task's workflow before the step's write lock is taken
        (Engine.load_ahead)."""
        if not self.engine.db.is_sqlite:  # elsewhere loading waits for no one
            return
        with self.engine.unit_of_work(read_only=True) as uow:
            self.engine.load_ahead(uow, task_id)

    def _lock_task(self, uow, task_id):
        row, instance = self.engine.lock_task(uow, task_id)
        if row.state != "open":
            raise Conflict(f"task '{row.element}' is already {row.state}")
        return row, instance

    def _authorise(self, session, actor: Actor, row: HumanTask, instance: Instance):
        how = acting_role(actor, row.role, row.subject, instance.started_by)
        if how is None:
            if not self._may_see_task(session, actor, row, instance):
                raise NotFound(f"task '{row.id}' does not exist")  # not even its existence
            raise Forbidden(f"task '{row.element}' is for the role {row.role}")
        return how

    def _validate(self, session, actor, form_key, data, instance_id) -> dict:
        if form_key is None:
            if data not in (None, {}):
                raise InvalidData("this task takes no data", fields={"data": "not expected"})
            return {}
        form = self.forms.get(form_key)
        try:
            cleaned = form.validate(data)
        except FormValidationError as exc:
            fields = {(path or "data"): message for path, message in exc.fields.items()}
            raise InvalidData(f"the form '{form_key}' has errors", fields=fields) from None
        errors = files.check_files(session, cleaned, form.file_ids(cleaned), actor, instance_id)
        if errors:
            raise InvalidData("a file is not usable here", fields=errors)
        return cleaned

    def _attach_files(self, session, form_key, cleaned, instance_id) -> None:
        if form_key:
            files.attach_files(session, self.forms.get(form_key).file_ids(cleaned), instance_id)

    def _check_complete_file(self, session, instance, form_key) -> None:
        requirements = self.forms.get(form_key).schema.get("x-requires") if form_key else None
        if not requirements:
            return
        missing = missing_records(session, instance, requirements)
        if missing:
            missing_en = missing_records(session, instance, requirements, lang="en")
            raise IncompleteFile(
                "档案不完整，缺少：" + "、".join(missing),
                fields={"missing": "; ".join(missing_en)},
                details=[
                    {"missing": zh, "missing_en": en}
                    for zh, en in zip(missing, missing_en, strict=True)
                ],
            )
