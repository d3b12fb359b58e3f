"""Replay: an instance rebuilt from its audit events, on the process version it ran.

A fresh workflow of the instance's version is driven by the recorded events in order —
the start data, each completion with the data recorded for it, each timer sweep at the
time it ran, each data patch — each step under a step context whose `now` is the event's
time, whose calendar is the working-day calendar as it stood then, and whose file numbers
are the ones the instance got (a replay never draws from the counter). Nothing is written:
everything is read in one short session before the replay starts, and the replay itself
holds no session at all.

Each step is held against the events that recorded it (the tasks it opened, the timers it
fired, how the instance ended); at the last event the replayed instance is held against
the stored one (open tasks, waiting timers, data, status, the stored engine state). What
does not agree is reported as a divergence.
"""

import copy
import gc
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from . import audit, projection, state_store
from .calendar import SHANGHAI, WorkingDayCalendar
from .errors import InvalidData, NotFound
from .fast_tasks import FastWorkflow
from .models import AuditEvent, CalendarOverride, HumanTask, Instance, ProcessVersion, Timer
from .runtime import _with_submission
from .scripting import StepContext, current_step
from .spiff import state_from_dict

# Events that start an engine step (a timer_fired only when it is the first of its step).
STEP_EVENTS = ("instance_started", "task_completed", "timer_fired", "data_patched")
# Events a step records before its tasks: a timer_fired after one of these, at the same
# instant, fired in that same step.
_WITHIN_STEP = {"instance_started", "task_completed", "timer_fired", "task_overdue", "notice_sent"}
STATES = ("overdue", "active", "completed")
_ACTIVE = TaskState.READY | TaskState.STARTED | TaskState.WAITING


@dataclass
class Divergence:
    seq: int | None  # the event whose step disagrees; None: the stored instance
    kind: str  # tasks, timers, data, status, stage, file_number, state, event, replay
    message: str

    def as_json(self) -> dict:
        return {"seq": self.seq, "kind": self.kind, "message": self.message}


@dataclass
class ReplayTask:
    task_id: str | None  # the stored task's id, once the record names it
    element: str
    name: str
    name_en: str | None
    role: str | None
    subject: str | None
    diagram: str
    due_at: datetime | None
    overdue: bool
    assignee: str | None = None

    @property
    def key(self) -> tuple:
        return (self.diagram, self.element, self.subject)


@dataclass
class ReplayTimer:
    element: str
    name: str | None
    diagram: str
    attached_to: str | None
    due_at: datetime | None


@dataclass
class DiagramState:
    key: str
    completed: list[str] = field(default_factory=list)
    active: list[str] = field(default_factory=list)
    overdue: list[str] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_json(self) -> dict:
        return {
            "key": self.key,
            "completed": self.completed,
            "active": self.active,
            "overdue": self.overdue,
            "counts": self.counts,
        }


@dataclass
class Replay:
    instance_id: str
    process_key: str
    version: int
    seq: int
    last_seq: int
    event: AuditEvent
    status: str
    suspended: bool
    stage: str | None
    file_number: str | None
    data: dict
    open_tasks: list[ReplayTask]
    timers: list[ReplayTimer]
    diagrams: list[DiagramState]
    changed: dict
    divergences: list[Divergence]
    # Whether the replay ran through event `seq` (False: a step failed or found nothing
    # to complete; the state is as it stood before that event).
    complete: bool = True
    # With trace: every event of the instance, and the stage each happened in, by seq.
    events: list = field(default_factory=list)
    stages: dict[int, str | None] = field(default_factory=dict)


@dataclass
class _Stored:
    """Everything a replay reads, loaded before it starts."""

    instance: Instance
    spec: object
    subprocess_specs: dict
    events: list[AuditEvent]
    open_rows: list[HumanTask]
    timer_rows: list[Timer]
    calendars: "_CalendarHistory"
    start_form: str | None
    state: dict | str  # the stored engine state, whole; or why it cannot be read


def replay(engine, instance_id: str, seq: int | None = None, trace=False) -> Replay:
    """The instance as it stood after event `seq` (default: its last event)."""
    stored = load(engine, instance_id)
    last = stored.events[-1].seq if stored.events else 0
    if seq is None:
        seq = last
    if not 1 <= seq <= last:
        raise InvalidData(f"seq must be between 1 and {last}", fields={"seq": "no such event"})
    with _collector_paused():
        return _Replayer(engine, stored).run(seq, trace)


@contextmanager
def _collector_paused():
    """A replay makes tens of thousands of objects that all live until it ends; the cyclic
    garbage collector's passes over them meanwhile find nothing and can double its time."""
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def load(engine, instance_id: str) -> _Stored:
    """Read what a replay needs in one session that writes nothing."""
    session = engine.db.session()
    try:
        instance = session.get(Instance, instance_id)
        if instance is None:
            raise NotFound(f"instance '{instance_id}' does not exist")
        version = session.get(ProcessVersion, instance.process_version_id)
        spec, subprocess_specs = engine._specs_for(session, version.id)
        # Plain rows (attributes like the model's): a replay reads many events, fast.
        events = list(
            session.execute(
                select(*(c for c in AuditEvent.__table__.columns))
                .where(AuditEvent.chain == instance_id)
                .order_by(AuditEvent.seq)
            )
        )
        open_rows = list(
            session.scalars(
                select(HumanTask)
                .where(HumanTask.instance_id == instance_id, HumanTask.state == "open")
                .order_by(HumanTask.created_at, HumanTask.id)
            )
        )
        timer_rows = list(
            session.scalars(
                select(Timer)
                .where(Timer.instance_id == instance_id, Timer.state == "waiting")
                .order_by(Timer.due_at)
            )
        )
        overrides = {
            row.day: row.is_working_day for row in session.scalars(select(CalendarOverride))
        }
        changes = list(
            session.scalars(
                select(AuditEvent)
                .where(
                    AuditEvent.chain == audit.SYSTEM_CHAIN,
                    AuditEvent.type == "calendar_changed",
                    AuditEvent.at > instance.started_at,
                )
                .order_by(AuditEvent.seq)
            )
        )
        try:
            state = state_store.stored_state(session, instance)
        except Exception as exc:  # a broken state is what the replay reports, not a failure
            state = str(exc)
        if session.new or session.dirty or session.deleted:  # pragma: no cover - a guard
            raise RuntimeError("a replay must not change any row")
    finally:
        session.close()  # rolls the (read-only) transaction back; the objects stay loaded
    calendars = _CalendarHistory(overrides, changes, engine.settings.close_of_business)
    return _Stored(
        instance,
        spec,
        subprocess_specs,
        events,
        open_rows,
        timer_rows,
        calendars,
        version.start_form,
        state,
    )


class _CalendarHistory:
    """The working-day calendar as it stood at a given time: today's overrides with every
    later `calendar_changed` undone."""

    def __init__(self, overrides, changes, close_of_business):
        self.overrides = overrides
        self.changes = changes  # oldest first
        self.close_of_business = close_of_business
        self._cache: dict[int, WorkingDayCalendar] = {}

    def at(self, when: datetime) -> WorkingDayCalendar:
        later = [c for c in self.changes if c.at > when]
        calendar = self._cache.get(len(later))
        if calendar is None:
            overrides = dict(self.overrides)
            for change in reversed(later):
                day = date.fromisoformat(change.data["day"])
                was = change.data.get("was")
                if was is None:
                    overrides.pop(day, None)
                else:
                    overrides[day] = bool(was["is_working_day"])
            calendar = self._cache[len(later)] = WorkingDayCalendar(
                overrides, close_of_business=self.close_of_business
            )
        return calendar


class _ReplayStep(StepContext):
    """A step context that gives back the file number the instance got."""

    def __init__(self, now, calendar, numbers):
        super().__init__(None, now, lambda _session: calendar)
        self._numbers = numbers

    def next_file_number(self, prefix: str) -> str:
        number = self._numbers(prefix)
        self.file_numbers.append(number)
        return number


def segments(events: list[AuditEvent]) -> list[list[AuditEvent]]:
    """The events cut into steps: each starts with a step event (or is the events before
    the first one) and holds what that step and the actions after it recorded."""
    result: list[list[AuditEvent]] = []
    previous = None
    for event in events:
        starts = event.type in STEP_EVENTS and not (
            event.type == "timer_fired"
            and previous is not None
            and previous.type in _WITHIN_STEP
            and previous.at == event.at
        )
        if starts or not result:
            result.append([event])
        else:
            result[-1].append(event)
        previous = event
    return result


class _Stop(Exception):
    """The replay cannot go on past this event."""


class _Replayer:
    def __init__(self, engine, stored: _Stored):
        self.engine = engine
        self.stored = stored
        self.instance = stored.instance
        self.workflow = FastWorkflow(
            stored.spec, stored.subprocess_specs, script_engine=engine.script_engine
        )
        self.data: dict = {}
        self.status = "running"
        self.suspended = False
        self.stage: str | None = None
        self.file_number: str | None = None
        self.divergences: list[Divergence] = []
        self.ids: dict[str, str] = {}  # replayed task -> the stored task's id
        self.tasks_by_id: dict[str, object] = {}  # the stored task's id -> replayed task
        self.assignees: dict[str, str | None] = {}
        self.escalated: set[str] = set()
        self.ready: set[str] = set()
        self.now: datetime | None = None
        self._seq = None
        self._opened: list = []  # tasks the last step opened
        self._fired: list = []  # timers the last step fired that the record shows
        self.waiting_timers: set[str] = set()  # as the last step left them
        self._ended = False  # whether the last step ended the workflow
        self._completed = False  # whether the workflow has ended

    # -- the run --------------------------------------------------------------------------

    def run(self, seq: int, trace: bool) -> Replay:
        stages: dict[int, str | None] = {}
        before = None
        target = None
        complete = True
        for segment in segments(self.stored.events):
            if segment[0].seq > seq:
                break
            for event in segment:
                if event.seq > seq:
                    break
                if event.seq == seq:
                    target = event
                    before = self._snapshot()
                if trace:
                    stages[event.seq] = self.stage
                self.now = event.at
                try:
                    self._apply(event, segment)
                except _Stop:
                    complete = False
                    break
                if trace and event.type in ("instance_started", "task_created", "instance_ended"):
                    stages[event.seq] = self.stage
            if not complete:
                break
        if target is None:  # the replay stopped before reaching the event
            target = next(e for e in self.stored.events if e.seq == seq)
            before = self._snapshot()
        if complete and seq == self.stored.events[-1].seq:
            self._compare_with_stored()
        after = self._snapshot() if complete else before
        return Replay(
            instance_id=self.instance.id,
            process_key=self.instance.process_key,
            version=self.instance.version,
            seq=seq,
            last_seq=self.stored.events[-1].seq,
            event=target,
            status=self.status,
            suspended=self.suspended,
            stage=self.stage,
            file_number=self.file_number,
            data=self.data,
            open_tasks=after["tasks"],
            timers=after["timers"],
            diagrams=self.element_states(),
            changed=_changes(before, after),
            divergences=self.divergences,
            complete=complete,
            events=list(self.stored.events) if trace else [],
            stages=stages,
        )

    def _apply(self, event: AuditEvent, segment: list[AuditEvent]) -> None:
        self._seq = event.seq
        kind = event.type
        if kind in STEP_EVENTS and self.status == "failed":
            self.status = "running"  # a retry reopens the failed instance first
        if kind == "instance_started":
            self._start(event)
            self._check_step(segment)
        elif kind == "task_completed":
            self._complete(event)
            self._check_step(segment)
        elif kind == "timer_fired":
            if event is segment[0]:
                self._step(self.workflow.refresh_timers)
                self._check_step(segment)
        elif kind == "data_patched":
            patch = copy.deepcopy((event.data or {}).get("patch") or {})
            for task in self.workflow.get_tasks(state=TaskState.READY | TaskState.WAITING):
                task.data.update(patch)  # one patch for all, as Engine.patch_data does
        elif kind == "task_claimed":
            self.assignees[event.task_id] = event.actor
        elif kind == "task_unclaimed":
            self.assignees[event.task_id] = None
        elif kind == "task_overdue":
            self.escalated.add(event.task_id)
        elif kind == "incident":
            self.status = "failed"
        elif kind == "incident_resolved" and self.status == "failed":
            self.status = "running"
        elif kind == "instance_suspended":
            self.suspended = True
        elif kind == "instance_resumed":
            self.suspended = False

    def _start(self, event):
        data_key = self.stored.start_form or "start"
        start_data = copy.deepcopy(event.data or {})
        self.data = {data_key: start_data}
        for task in self.workflow.get_tasks(state=TaskState.READY):
            task.data[data_key] = start_data
        self._step(lambda: None)
        self.data[data_key] = copy.deepcopy(start_data)

    def _complete(self, event):
        record = event.data or {}
        subject = record.get("subject")
        task = self.tasks_by_id.get(event.task_id)
        if task is None or task.state != TaskState.READY:
            task = next(
                (
                    t
                    for t in self.workflow.get_tasks(state=TaskState.READY, manual=True)
                    if t.task_spec.bpmn_id == event.element and projection.subject_of(t) == subject
                ),
                None,
            )
        if task is None:
            self._diverge(
                "replay",
                f"no ready task {_label(event.element, subject)} to complete; "
                "the replay stops here",
            )
            raise _Stop
        replayed_subject = projection.subject_of(task)
        if replayed_subject != subject:
            self._diverge(
                "event",
                f"the task {event.element} is for {replayed_subject!r} in the replay, "
                f"for {subject!r} in the record",
            )
        submission = copy.deepcopy(record.get("data") or {})
        mi = projection.multi_instance_parent(task)
        if mi is not None and mi.output_item is not None:
            task.data[mi.output_item.bpmn_id] = submission
        else:
            task.data[event.element] = submission
        self.data = _with_submission(self.data, event.element, replayed_subject, submission)
        self._step(task.run)
        # The stored data is written when the step ends: what the step did to the
        # submission shows, what later steps do to the engine's copy does not.
        self.data[event.element] = copy.deepcopy(self.data[event.element])

    def _step(self, action) -> None:
        context = _ReplayStep(self.now, self.stored.calendars.at(self.now), self._file_number)
        token = current_step.set(context)
        completed = []
        was_completed = self._completed
        try:
            action()
            self.workflow.do_engine_steps(did_complete_task=completed.append)
        except Exception as exc:
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self._diverge("replay", f"the step failed in the replay: {message}")
            raise _Stop from None
        finally:
            current_step.reset(token)
        for number in context.file_numbers:
            self.file_number = number
            self.data = {**self.data, "file_number": number}
        # The engine records every timer that fires: one that waited, and one due as soon
        # as it was reached (marked "immediate").
        self._fired = [t for t in completed if projection.is_timer(t)]
        ended = None
        for task in completed:
            status = projection.props(task).get("instanceStatus")
            if status and task.workflow is self.workflow:
                ended = status
        self._completed = self.workflow.is_completed()
        self._ended = self._completed and not was_completed
        if self._completed:
            self.stage = "done"
            if self.status == "running":
                self.status = ended or "archived"
        else:
            self.stage = projection.current_stage(self.workflow)
        self.waiting_timers = {
            t.id for t in self.workflow.get_tasks(state=TaskState.WAITING) if projection.is_timer(t)
        }
        ready = {t.id: t for t in self.workflow.get_tasks(state=TaskState.READY, manual=True)}
        self._opened = [t for i, t in ready.items() if i not in self.ready]
        self.ready = set(ready)

    def _file_number(self, prefix: str) -> str:
        number = self.instance.file_number
        if number is None or not number.startswith(f"{prefix}-"):
            self._diverge(
                "file_number",
                f"the replay drew a number {prefix}-…; the instance has {number or 'none'}",
            )
            return number or f"{prefix}-?"
        return number

    # -- a step against its record --------------------------------------------------------

    def _check_step(self, segment: list[AuditEvent]) -> None:
        created = [e for e in segment if e.type == "task_created"]
        opened = list(self._opened)
        for event in created:
            subject = (event.data or {}).get("subject")
            match = next(
                (
                    t
                    for t in opened
                    if t.task_spec.bpmn_id == event.element and projection.subject_of(t) == subject
                ),
                None,
            )
            if match is None:
                self._diverge(
                    "tasks",
                    f"the record opens {_label(event.element, subject)} (event {event.seq}); "
                    "the replay does not",
                )
                continue
            opened.remove(match)
            self.ids[match.id] = event.task_id
            self.tasks_by_id[event.task_id] = match
            recorded_due = (event.data or {}).get("due_at")
            due = _due(match)
            if recorded_due != (due.isoformat() if due else None):
                self._diverge(
                    "tasks",
                    f"{_label(event.element, subject)} is due {_show(due)} in the replay, "
                    f"{recorded_due or 'never'} in the record (event {event.seq})",
                )
        for task in opened:
            self._diverge(
                "tasks",
                f"the replay opens {_label(task.task_spec.bpmn_id, projection.subject_of(task))}"
                "; the record does not",
            )
        fired = Counter(t.task_spec.bpmn_id for t in self._fired)
        for event in (e for e in segment if e.type == "timer_fired"):
            if fired[event.element] > 0:
                fired[event.element] -= 1
            else:
                self._diverge(
                    "timers",
                    f"the record fires the timer {event.element} (event {event.seq}); "
                    "the replay does not",
                )
        for element, count in fired.items():
            if count > 0:
                self._diverge(
                    "timers", f"the replay fires the timer {element}; the record does not"
                )
        ended = next((e for e in segment if e.type == "instance_ended"), None)
        if ended is not None and not self._completed:
            self._diverge(
                "status", f"the record ends the instance (event {ended.seq}); the replay does not"
            )
        elif ended is not None and (ended.data or {}).get("status") != self.status:
            self._diverge(
                "status",
                f"the instance ends {(ended.data or {}).get('status')} in the record, "
                f"{self.status} in the replay",
            )
        elif ended is None and self._ended:
            self._diverge("status", "the replay ends the instance; the record does not")

    def _diverge(self, kind: str, message: str, seq="current") -> None:
        self.divergences.append(Divergence(self._seq if seq == "current" else seq, kind, message))

    # -- the last event against the stored instance ---------------------------------------

    def _compare_with_stored(self) -> None:
        instance = self.instance
        stored_tasks = Counter(
            (row.diagram, row.element, row.subject) for row in self.stored.open_rows
        )
        replayed = Counter(t.key for t in self._open_tasks())
        for key in sorted(set(stored_tasks) | set(replayed), key=str):
            if stored_tasks[key] != replayed[key]:
                self._diverge(
                    "tasks",
                    f"{_label(key[1], key[2])} is open {replayed[key]}× in the replay, "
                    f"{stored_tasks[key]}× in the stored instance",
                    seq=None,
                )
        stored_timers = Counter((t.diagram, t.element, t.due_at) for t in self.stored.timer_rows)
        replayed_timers = Counter((t.diagram, t.element, t.due_at) for t in self._timers())
        for key in sorted(set(stored_timers) | set(replayed_timers), key=str):
            if stored_timers[key] != replayed_timers[key]:
                self._diverge(
                    "timers",
                    f"the timer {key[1]} due {_show(key[2])} waits {replayed_timers[key]}× in "
                    f"the replay, {stored_timers[key]}× in the stored instance",
                    seq=None,
                )
        stored_data = instance.data or {}
        for key in sorted(set(stored_data) | set(self.data)):
            if stored_data.get(key, _MISSING) != self.data.get(key, _MISSING):
                self._diverge(
                    "data", f"the data '{key}' differs from the stored instance", seq=None
                )
        for kind, replayed_value, stored_value in (
            ("status", self.status, instance.status),
            (
                "status",
                "suspended" if self.suspended else "not suspended",
                "suspended" if instance.suspended else "not suspended",
            ),
            ("stage", self.stage, instance.stage),
            ("file_number", self.file_number, instance.file_number),
        ):
            if replayed_value != stored_value:
                self._diverge(
                    kind,
                    f"{kind}: {replayed_value} in the replay, {stored_value} in the stored "
                    "instance",
                    seq=None,
                )
        self._compare_engine_state()

    def _compare_engine_state(self) -> None:
        try:
            if isinstance(self.stored.state, str):
                raise ValueError(self.stored.state)
            stored = state_from_dict(
                copy.deepcopy(self.stored.state),
                self.stored.spec,
                self.stored.subprocess_specs,
                self.engine.script_engine,
            )
        except Exception as exc:
            self._diverge("state", f"the stored engine state does not load: {exc}", seq=None)
            return
        mine, theirs = _signature(self.workflow), _signature(stored)
        if mine != theirs:
            differing = sorted(set(mine.items()) ^ set(theirs.items()), key=str)[:5]
            names = sorted({f"{d}:{e} {s}" for (d, e, s), _n in differing})
            self._diverge(
                "state",
                "the stored engine state differs from the replay: " + ", ".join(names),
                seq=None,
            )
        mine_data, theirs_data = _open_data(self.workflow), _open_data(stored)
        for key in sorted(set(mine_data) | set(theirs_data), key=str):
            if mine_data.get(key) != theirs_data.get(key):
                self._diverge(
                    "state",
                    f"the variables at {_label(key[1], key[2])} differ from the stored "
                    "engine state",
                    seq=None,
                )

    # -- views ----------------------------------------------------------------------------

    def _snapshot(self) -> dict:
        return {
            "data": dict(self.data),
            "tasks": self._open_tasks(),
            "timers": self._timers(),
            "status": self.status,
            "suspended": self.suspended,
            "stage": self.stage,
        }

    def _open_tasks(self) -> list[ReplayTask]:
        tasks = []
        for task in self.workflow.get_tasks(state=TaskState.READY, manual=True):
            spec = task.task_spec
            stored_id = self.ids.get(task.id)
            due = _due(task)
            escalated = stored_id in self.escalated or _boundary_fired(task)
            tasks.append(
                ReplayTask(
                    task_id=stored_id,
                    element=spec.bpmn_id,
                    name=spec.bpmn_name or spec.bpmn_id,
                    name_en=projection.props(task).get("name_en"),
                    role=spec.lane,
                    subject=projection.subject_of(task),
                    diagram=task.workflow.spec.name,
                    due_at=due,
                    overdue=escalated or (due is not None and self.now and due < self.now),
                    assignee=self.assignees.get(stored_id) if stored_id else None,
                )
            )
        return tasks

    def _timers(self) -> list[ReplayTimer]:
        timers = []
        for task in self.workflow.get_tasks(state=TaskState.WAITING):
            if not projection.is_timer(task):
                continue
            boundary = "BoundaryEventSplit" in type(task.parent.task_spec).__name__
            timers.append(
                ReplayTimer(
                    element=task.task_spec.bpmn_id,
                    name=task.task_spec.bpmn_name,
                    diagram=task.workflow.spec.name,
                    attached_to=projection._attached_activity(task) if boundary else None,
                    due_at=projection.timer_due(task),
                )
            )
        return sorted(timers, key=lambda t: (t.due_at is None, t.due_at or datetime.min, t.element))

    def element_states(self) -> list[DiagramState]:
        """Each diagram's elements by state, like tasks/diagrams.py draws them: an element
        is overdue before active before completed; a call activity that runs a diagram
        with an overdue task is overdue too."""
        overdue_tasks = {(t.diagram, t.element) for t in self._open_tasks() if t.overdue}
        workflows = [self.workflow, *self.workflow.subprocesses.values()]
        counters: dict[str, dict[str, Counter]] = {}
        calls: dict[str, tuple[str, str]] = {}  # called diagram -> (caller diagram, element)
        for workflow in workflows:
            key = workflow.spec.name
            states = counters.setdefault(key, {})
            for task in workflow.tasks.values():
                element = task.task_spec.bpmn_id
                if element is None or _runs_instances(task):
                    continue
                if task.state == TaskState.COMPLETED:
                    state = "completed"
                elif task.state & _ACTIVE:
                    state = "overdue" if (key, element) in overdue_tasks else "active"
                else:
                    continue
                states.setdefault(element, Counter())[state] += 1
            parent_id = getattr(workflow, "parent_task_id", None)
            if parent_id is not None:
                parent = self.workflow.get_task_from_id(parent_id)
                if parent is not None and parent.task_spec.bpmn_id:
                    calls[key] = (parent.workflow.spec.name, parent.task_spec.bpmn_id)
        # Overdue work inside a called diagram shows on the call activity too.
        for called, (caller, element) in calls.items():
            seen = {called}
            while any(c["overdue"] for c in counters.get(called, {}).values()):
                counter = counters.setdefault(caller, {}).setdefault(element, Counter())
                if counter["active"]:
                    counter["active"] -= 1
                    counter["overdue"] += 1
                if caller not in calls or caller in seen:
                    break
                seen.add(caller)
                called, (caller, element) = caller, calls[caller]
        result = []
        for key, states in counters.items():
            diagram = DiagramState(key)
            for element, counter in states.items():
                state = next((s for s in STATES if counter[s]), None)
                if state is None:
                    continue
                getattr(diagram, state).append(element)
                diagram.counts[element] = {s: counter[s] for s in STATES if counter[s]}
            result.append(diagram)
        return result


_MISSING = object()


def _runs_instances(task) -> bool:
    """A multi-instance task that runs its instances: they count, it does not (as on the
    diagram of the stored rows, "×3" for three)."""
    inner = getattr(task.task_spec, "task_spec", None)
    if not isinstance(task.task_spec, MultiInstanceTask) or inner is None:
        return False
    return any(child.task_spec.name == inner for child in task.children)


def _signature(workflow) -> Counter:
    signature = Counter()
    for wf in [workflow, *workflow.subprocesses.values()]:
        for task in wf.tasks.values():
            signature[(wf.spec.name, task.task_spec.name, task.state)] += 1
    return signature


def _open_data(workflow) -> dict:
    data = {}
    for task in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING):
        key = (task.workflow.spec.name, task.task_spec.name, projection.subject_of(task))
        data.setdefault(key, []).append(task.data)
    return data


def _due(task):
    dues = [
        d
        for d in (projection.timer_due(b) for b in projection._boundary_timers(task))
        if d is not None
    ]
    return min(dues) if dues else None


def _boundary_fired(task) -> bool:
    return any(b.state == TaskState.COMPLETED for b in projection._boundary_timers(task))


def _label(element, subject) -> str:
    return f"{element} ({subject})" if subject else str(element)


def _show(when) -> str:
    return when.isoformat() if when is not None else "never"


def _task_json(task: ReplayTask) -> dict:
    return {
        "task_id": task.task_id,
        "element": task.element,
        "name": task.name,
        "name_en": task.name_en,
        "subject": task.subject,
        "diagram": task.diagram,
    }


def _changes(before: dict, after: dict) -> dict:
    """What one event changed: data keys, tasks opened and closed, timers, status, stage."""
    data = {}
    for key in sorted(set(before["data"]) | set(after["data"])):
        old, new = before["data"].get(key, _MISSING), after["data"].get(key, _MISSING)
        if old != new:
            data[key] = {
                "before": None if old is _MISSING else old,
                "after": None if new is _MISSING else new,
            }
    before_tasks = Counter(t.key for t in before["tasks"])
    after_tasks = Counter(t.key for t in after["tasks"])
    opened = after_tasks - before_tasks
    closed = before_tasks - after_tasks
    timer_key = lambda t: (t.diagram, t.element, t.due_at)  # noqa: E731
    before_timers = Counter(timer_key(t) for t in before["timers"])
    after_timers = Counter(timer_key(t) for t in after["timers"])
    changes = {
        "data": data,
        "tasks_opened": _pick(after["tasks"], opened),
        "tasks_closed": _pick(before["tasks"], closed),
        "timers_started": _pick_timers(after["timers"], after_timers - before_timers, timer_key),
        "timers_stopped": _pick_timers(before["timers"], before_timers - after_timers, timer_key),
    }
    for name in ("status", "suspended", "stage"):
        if before[name] != after[name]:
            changes[name] = {"before": before[name], "after": after[name]}
    return changes


def _pick(tasks, wanted: Counter) -> list[dict]:
    wanted = Counter(wanted)
    picked = []
    for task in tasks:
        if wanted[task.key] > 0:
            wanted[task.key] -= 1
            picked.append(_task_json(task))
    return picked


def _pick_timers(timers, wanted: Counter, key) -> list[dict]:
    wanted = Counter(wanted)
    picked = []
    for timer in timers:
        if wanted[key(timer)] > 0:
            wanted[key(timer)] -= 1
            picked.append(
                {
                    "element": timer.element,
                    "diagram": timer.diagram,
                    "due_at": timer.due_at.astimezone(SHANGHAI).isoformat()
                    if timer.due_at
                    else None,
                }
            )
    return picked
