"""The engine facade: deploy, start, complete, and fire timers — each one unit of work.

Callers (the task layer, the command line) open a unit of work, call one of these, and the
unit commits everything the step wrote or nothing at all.
"""

import logging
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import time

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, select

from . import audit, driver_sql, lock_rows, projection, state_store, sweep
from .calendar import WorkingDayCalendar
from .errors import Conflict, NotFound, ProcessError
from .fast_tasks import FastWorkflow
from .models import (
    CalendarOverride,
    HumanTask,
    Instance,
    Notice,
    ProcessVersion,
    Timer,
)
from .registry import ProcessRegistry, latest_version, latest_versions
from .scripting import DingdanScriptEngine, StepContext, current_step
from .spiff import specs_from_json, task_uuid
from .uow import UnitOfWork

log = logging.getLogger("dingdan.engine")

_OVERRIDES = select(CalendarOverride.day, CalendarOverride.is_working_day)
# A completion's read ahead (load_ahead), below the ORM as the step's lock is: what the
# open task's instance is at, then its state when this process holds no workflow of it.
_AHEAD = (
    select(Instance.id, Instance.lock_version, Instance.process_version_id)
    .join(HumanTask, HumanTask.instance_id == Instance.id)
    .where(HumanTask.id == bindparam("task_id"), HumanTask.state == "open")
)
_STATE = select(Instance.state).where(Instance.id == bindparam("instance_id"))


@dataclass
class Settings:
    follow_up_working_days: int = 5
    close_of_business: time = time(17, 30)


class WorkflowCache:
    """Loaded workflows by instance, valid only for the lock_version they were saved at.

    A unit of work takes a workflow out while it steps it, so no two threads ever share one.
    """

    def __init__(self, size: int = 256):
        self.size = size
        self._items: OrderedDict[str, tuple[int, BpmnWorkflow]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, instance_id: str, lock_version: int) -> BpmnWorkflow | None:
        with self._lock:
            item = self._items.pop(instance_id, None)
        if item is None or item[0] != lock_version:
            return None
        return item[1]

    def put(self, instance_id: str, lock_version: int, workflow: BpmnWorkflow) -> None:
        with self._lock:
            self._items[instance_id] = (lock_version, workflow)
            self._items.move_to_end(instance_id)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def holds(self, instance_id: str, lock_version: int | None = None) -> bool:
        """Whether some workflow of the instance is here (valid or not: a hint), or, given
        a lock_version, one valid for it."""
        item = self._items.get(instance_id)
        return item is not None and lock_version in (None, item[0])

    def drop(self, instance_id: str) -> None:
        with self._lock:
            self._items.pop(instance_id, None)


class Engine:
    def __init__(
        self, db, clock, settings: Settings | None = None, form_exists=None, role_exists=None
    ):
        self.db = db
        self.clock = clock
        self.settings = settings or Settings()
        self.script_engine = DingdanScriptEngine(clock, self.settings)
        self.registry = ProcessRegistry(form_exists, role_exists)
        self.cache = WorkflowCache()
        self._specs: dict[int, tuple] = {}
        # Called with the earliest due time of timers a committed step created (a scheduler
        # uses this to wake exactly then instead of polling).
        self.timer_listeners: list = []
        # One sweep at a time in this process; whoever moves a settable clock holds it too,
        # so a sweep never sees half a clock move.
        self.sweep_lock = threading.RLock()

    def unit_of_work(self, now=None, read_only: bool = False) -> UnitOfWork:
        """One transaction; `read_only` for reads, which take no write lock and commit nothing."""
        return UnitOfWork(self, now, read_only)

    def single_read(self, now=None) -> UnitOfWork:
        """A read of one statement: no transaction around it where the database allows."""
        return UnitOfWork(self, now, read_only=True, one_statement=True)

    # -- definitions ----------------------------------------------------------------------

    def deploy(self, uow, files, deployed_by):
        results = self.registry.deploy(uow.session, files, deployed_by, uow.now)
        for result in results:
            if result.created:
                audit.record(
                    uow.session,
                    None,
                    "process_deployed",
                    uow.now,
                    actor=deployed_by,
                    element=result.key,
                    data={"key": result.key, "version": result.version},
                )
        return results

    def calendar(self, session) -> WorkingDayCalendar:
        overrides = dict(driver_sql.rows(session, _OVERRIDES))  # a timer's step reads it
        return WorkingDayCalendar(overrides, close_of_business=self.settings.close_of_business)

    def load_deployed_specs(self) -> None:
        """Parse every process's latest version now rather than at its first step (each is
        parsed once per process either way)."""
        with self.unit_of_work(read_only=True) as uow:
            for version in latest_versions(uow.session):
                self._specs_for(uow.session, version.id)

    def _specs_for(self, session, version_id: int):
        """A version's parsed specs: a version never changes once deployed, so it is read
        and parsed once per process."""
        specs = self._specs.get(version_id)
        if specs is None:
            version = session.get(ProcessVersion, version_id)
            specs = self._specs[version_id] = specs_from_json(version.spec_json)
        return specs

    # -- instances ------------------------------------------------------------------------

    def start(self, uow, process_key: str, start_data: dict, actor: str) -> Instance:
        """Start the latest version of `process_key` with the (validated) start form data."""
        version = latest_version(uow.session, process_key)
        if version is None:
            raise NotFound(f"process '{process_key}' is not deployed")
        spec, subprocess_specs = self._specs_for(uow.session, version.id)
        workflow = FastWorkflow(spec, subprocess_specs, script_engine=self.script_engine)
        data_key = version.start_form or "start"
        instance = Instance(
            id=str(uuid.uuid4()),
            process_key=version.key,
            process_version_id=version.id,
            version=version.version,
            status="running",
            started_by=actor,
            started_at=uow.now,
            data={data_key: start_data},
            state="",
        )
        uow.session.add(instance)
        audit.record(
            uow.session, instance.id, "instance_started", uow.now, actor=actor, data=start_data
        )
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data[data_key] = start_data

        self._step(uow, instance, workflow, lambda: None, before=projection.Projected())
        return instance

    def lock(self, uow, instance_id: str) -> Instance:
        """Load an instance for a step, holding its row until the unit ends."""
        _, instance = self._locked(uow, instance_id, None)
        if instance is None:
            raise NotFound(f"instance '{instance_id}' does not exist")
        return instance

    def lock_task(self, uow, task_id: str) -> tuple[HumanTask, Instance]:
        """The task's instance, locked as `lock` does, and the task as it is once the
        instance is held (a step that completed it meanwhile shows)."""
        row, instance = self._locked(uow, None, task_id)
        if row is None:
            raise NotFound(f"task '{task_id}' does not exist")
        return row, instance

    def _locked(self, uow, instance_id, task_id):
        """(task row or None, instance or None): the instance locked, by its id or by one
        of its tasks' — in one statement with its stored state when this process holds no
        workflow of it (it would be read next), its audit chain's head (so that the
        step's events need no read of their own) and the task."""
        by_task = task_id is not None
        with_state = instance_id is None or not self.cache.holds(instance_id)
        id_ = task_id or instance_id
        found = lock_rows.run(uow.session, by_task, with_state, True, id_)
        if found is None and not self.db.is_sqlite:
            # No head row to lock yet (the head joins inside the lock on PostgreSQL) or
            # nothing there: the instance alone, its events read their tail themselves.
            found = lock_rows.run(uow.session, by_task, with_state, False, id_)
        if found is None:
            return None, None
        instance, *rest = found
        row = rest.pop(0) if task_id is not None else None
        if rest and rest[0] is not None:
            audit.know_tail(uow.session, instance.id, *rest)
        return row, instance

    def workflow(self, uow, instance: Instance) -> BpmnWorkflow:
        if instance.id in uow.workflows:
            return uow.workflows[instance.id]
        workflow = self.cache.take(instance.id, instance.lock_version)
        if workflow is None:
            spec, subprocess_specs = self._specs_for(uow.session, instance.process_version_id)
            workflow = state_store.load(
                uow.session, instance, spec, subprocess_specs, self.script_engine
            )
        uow.workflows[instance.id] = workflow
        uow.instances[instance.id] = instance
        return workflow

    def load_ahead(self, uow, task_id: str) -> None:
        """Put the workflow of the open task's instance in the cache, read in `uow` (a
        read), for the step that completes it next: on SQLite a step's transaction holds
        the one write lock every other step waits for, and reading a stored state need not
        happen under it. The cache hands it out only for the lock_version read here; a step
        in between makes it read again. The state is read only when the cache holds no
        workflow of that version; nothing when the task is not open (the step says why)."""
        found = driver_sql.rows(uow.session, _AHEAD, {"task_id": task_id})
        if not found or self.cache.holds(found[0].id, found[0].lock_version):
            return
        instance_id, lock_version, version_id = found[0]
        # the same read transaction: the state of that very lock_version
        text = driver_sql.scalar(uow.session, _STATE, {"instance_id": instance_id})
        spec, subprocess_specs = self._specs_for(uow.session, version_id)
        workflow = state_store.load_text(
            uow.session, instance_id, text, spec, subprocess_specs, self.script_engine
        )
        self.cache.put(instance_id, lock_version, workflow)

    def complete(
        self,
        uow,
        instance: Instance,
        task_id: str,
        submission: dict,
        actor: str,
        on_behalf_of=None,
        before_end=None,
    ) -> HumanTask:
        """Complete a ready user task with validated data. `actor` is who entered it;
        `on_behalf_of` names the enterprise or expert when staff entered it for them.
        `before_end()`, if given, runs once the step has moved the workflow on and before
        the instance's end is recorded (what the task's completion produces — a document —
        comes before the end in the history)."""
        row = uow.session.get(HumanTask, task_id)
        if row is None or row.instance_id != instance.id:
            raise NotFound(f"task '{task_id}' does not exist")
        if row.state != "open":
            raise Conflict(f"task '{row.element}' is already {row.state}")
        if not _steppable(instance):
            raise Conflict(f"the instance is {_condition(instance)}; its tasks wait")
        workflow = self.workflow(uow, instance)
        task = workflow.get_task_from_id(task_uuid(task_id))
        if task is None or task.state != TaskState.READY:
            raise Conflict(f"task '{row.element}' is not ready")

        mi = projection.multi_instance_parent(task)
        if mi is not None and mi.output_item is not None:
            task.data[mi.output_item.bpmn_id] = submission
        else:
            task.data[row.element] = submission
        # One flush at commit for the whole step (no statement in it needs to see the
        # step's own changes): one UPDATE of the instance instead of one per autoflush.
        with uow.session.no_autoflush:
            row.state = "completed"
            row.completed_at = uow.now
            row.completed_by = actor
            row.on_behalf_of = on_behalf_of
            instance.data = _with_submission(instance.data, row.element, row.subject, submission)
            audit.record(
                uow.session,
                instance.id,
                "task_completed",
                uow.now,
                actor=actor,
                element=row.element,
                task_id=task_id,
                data={"data": submission, "subject": row.subject, "on_behalf_of": on_behalf_of},
            )
            self._step(uow, instance, workflow, task.run, ran=task, before_end=before_end)
        return row

    def task_properties(self, uow, instance: Instance, task_id: str) -> dict:
        """The `spiffworkflow:properties` of a task's BPMN element."""
        task = self.workflow(uow, instance).get_task_from_id(task_uuid(task_id))
        return dict(projection.props(task)) if task is not None else {}

    def fire_due(self, now=None) -> int:
        """Wake every instance with a timer due at `now` (default: the clock); return how
        many timers fired. One failing instance gets its incident, the others go on
        (engine/sweep.py: a batch of instances per transaction)."""
        with self.sweep_lock:
            return sweep.fire_due(self, now)

    def fire_ahead(self, at, stopping=lambda: False, prepared=None) -> int:
        """PostgreSQL: step the timers due at `at` before it comes and commit them when the
        clock reaches it (engine/sweep.py `fire_ahead`); return how many fired."""
        return sweep.fire_ahead(self, at, stopping, prepared)

    def fire_timers(self, uow, instance: Instance) -> int:
        """Fire this instance's due timers (the unit's time decides what is due)."""
        workflow = self.workflow(uow, instance)
        return self._step(uow, instance, workflow, workflow.refresh_timers)

    def patch_data(self, uow, instance: Instance, patch: dict) -> None:
        """Set workflow variables where the instance waits: how staff fix the data that
        made an expression fail."""
        workflow = self.workflow(uow, instance)
        for task in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING):
            task.data.update(patch)
        audit.record(uow.session, instance.id, "data_patched", uow.now, data={"patch": patch})

    def record_incident(
        self, instance_id: str, error: ProcessError, action: dict, lock_version=None
    ) -> bool:
        """Mark an instance failed, in a transaction of its own (the failed step's was rolled
        back): what failed, where, and the step to retry once the cause is fixed. Given the
        `lock_version` the failed step began from, only if the instance is still there: a
        step another process took in between (or its own incident) is not overwritten.
        Whether it recorded."""
        element = (error.details or [{}])[0].get("element")
        with self.unit_of_work() as uow:
            instance = self.lock(uow, instance_id)
            if lock_version is not None and instance.lock_version != lock_version:
                log.warning(
                    "incident of instance %s not recorded: it changed since the failed step (%s)",
                    instance_id,
                    error.message,
                )
                return False
            instance.status = "failed"
            instance.incident = {
                "element": element,
                "error": error.message,
                "at": uow.now.isoformat(),
                "action": action,
            }
            audit.record(
                uow.session,
                instance.id,
                "incident",
                uow.now,
                element=element,
                data={"error": error.message, "action": action},
            )
        return True

    # -- one step -------------------------------------------------------------------------

    def _step(self, uow, instance, workflow, action, ran=None, before=None, before_end=None) -> int:
        """Run `action` and the engine steps after it, then project the result into rows.
        Returns the number of timers that fired. `before`: what the rows showed before the
        step (taken from the workflow when not given)."""
        with uow.session.no_autoflush:  # one flush, at commit
            return self._run_step(uow, instance, workflow, action, ran, before, before_end)

    def _run_step(self, uow, instance, workflow, action, ran, before, before_end) -> int:
        if before is None:
            before = projection.before_step(workflow)
        uow.workflows[instance.id] = workflow
        uow.instances[instance.id] = instance
        context = StepContext(uow.session, uow.now, self.calendar)
        token = current_step.set(context)
        completed, last = ([ran] if ran is not None else []), []
        try:
            action()
            workflow.do_engine_steps(
                will_complete_task=last.append, did_complete_task=completed.append
            )
        except SpiffWorkflowException as exc:
            raise _process_error(exc) from None
        except (Conflict, NotFound):
            raise
        except Exception as exc:  # a library error on odd data: still the process's failure
            log.warning("engine step of %s failed", instance.id, exc_info=True)
            raise _process_error(exc, last[-1] if last else None) from None
        finally:
            current_step.reset(token)

        session, now = uow.session, uow.now
        fired = 0
        ended_status = None
        for task in completed:
            p = projection.props(task)
            if projection.is_timer(task):
                fired += self._timer_fired(session, instance, task, now)
            if p.get("notify"):
                self._notify(session, instance, task, p, now)
            if p.get("instanceStatus") and task.workflow is workflow:
                ended_status = p["instanceStatus"]
        for number in context.file_numbers:
            instance.file_number = number
            instance.data = {**instance.data, "file_number": number}

        after = projection.Projected()
        new_dues = projection.sync_timers(session, instance, workflow, before, after)
        uow.new_timer_dues.extend(new_dues)
        stage = "done" if workflow.is_completed() else projection.current_stage(workflow)

        def created(row):
            audit.record(
                session,
                instance.id,
                "task_created",
                now,
                element=row.element,
                task_id=row.id,
                data={"role": row.role, "subject": row.subject, "due_at": _iso(row.due_at)},
            )

        def cancelled(task_id, element, subject, role):
            audit.record(
                session,
                instance.id,
                "task_cancelled",
                now,
                element=element,
                task_id=task_id,
                data={"role": role, "subject": subject},
            )

        projection.sync_tasks(
            session, instance, workflow, now, stage, created, before, cancelled, after=after
        )
        instance.stage = stage
        if before_end is not None:
            before_end()
        if workflow.is_completed() and instance.status == "running":
            instance.status = ended_status or "archived"
            instance.ended_at = now
            audit.record(
                session, instance.id, "instance_ended", now, data={"status": instance.status}
            )
        state_store.save(session, instance, workflow)
        projection.left_by_step(workflow, after)
        return fired

    def _timer_fired(self, session, instance, task, now) -> int:
        row = session.get(Timer, str(task.id))
        if row is None:
            # Due as soon as it was reached (a date already past): it fired within the step
            # that reached it and never waited, but the record still shows that it fired.
            due = projection.timer_due(task)
            audit.record(
                session,
                instance.id,
                "timer_fired",
                now,
                element=task.task_spec.bpmn_id,
                task_id=str(task.id),
                data={
                    "due_at": _iso(due),
                    "lateness_seconds": (now - due).total_seconds() if due else 0.0,
                    "immediate": True,
                },
            )
            return 1
        if row.state != "waiting":
            return 0
        row.state = "fired"
        row.fired_at = now
        audit.record(
            session,
            instance.id,
            "timer_fired",
            now,
            element=row.element,
            task_id=row.id,
            data={
                "due_at": _iso(row.due_at),
                "lateness_seconds": (now - row.due_at).total_seconds(),
            },
        )
        if row.attached_to:
            overdue = session.scalars(
                select(HumanTask).where(
                    HumanTask.instance_id == instance.id,
                    HumanTask.element == row.attached_to,
                    HumanTask.state == "open",
                )
            )
            for human in overdue:
                if human.state != "open":  # completed in this very step, not flushed yet
                    continue
                human.escalated_at = now
                audit.record(
                    session,
                    instance.id,
                    "task_overdue",
                    now,
                    element=human.element,
                    task_id=human.id,
                    data={"due_at": _iso(human.due_at), "timer": row.element},
                )
        return 1

    def _notify(self, session, instance, task, p, now) -> None:
        text_expr = p.get("notifyText")
        try:
            text = (
                str(self.script_engine.evaluate(task, text_expr))
                if text_expr
                else task.task_spec.bpmn_name
            )
        except SpiffWorkflowException as exc:
            raise _process_error(exc) from None
        target = p["notify"]
        notice = Notice(
            instance_id=instance.id,
            role=None if target == "starter" else target,
            username=instance.started_by if target == "starter" else None,
            element=task.task_spec.bpmn_id,
            text=text,
            created_at=now,
        )
        session.add(notice)
        audit.record(
            session,
            instance.id,
            "notice_sent",
            now,
            element=notice.element,
            data={"to": notice.username or notice.role, "text": text},
        )


def _steppable(instance: Instance) -> bool:
    return instance.status == "running" and not instance.suspended


def _condition(instance: Instance) -> str:
    return "suspended" if instance.suspended else instance.status


def _with_submission(data: dict, element: str, subject: str | None, submission: dict) -> dict:
    """The instance's data view: each task's latest submission under its element id; a
    per-item task keeps one entry per subject."""
    data = dict(data)
    if subject is None:
        data[element] = submission
        return data
    entries = [e for e in data.get(element, []) if e.get("subject") != subject]
    data[element] = [*entries, {"subject": subject, "data": submission}]
    return data


def _process_error(exc, task=None) -> ProcessError:
    task = getattr(exc, "task", None) or task
    element = task.task_spec.bpmn_id if task is not None else None
    message = str(exc).splitlines()[0].strip() if str(exc) else type(exc).__name__
    cause = exc.__cause__ or exc.__context__  # what the expression itself raised
    if cause is not None:
        message = f"{message.rstrip('. ')}: {type(cause).__name__}: {cause}"
    error = ProcessError(f"{element}: {message}" if element else message)
    error.details = [{"element": element, "message": message}]
    return error


def _iso(value):
    return value.isoformat() if value is not None else None
