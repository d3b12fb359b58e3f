"""How an instance's workflow state is stored, step after step, and read back.

The state is SpiffWorkflow's serialisation without the specs (engine/spiff.py). A step
serialises only the tasks that can have changed: a finished task under a finished parent
never changes again (and no task goes back from finished: the engine resets none), so its
JSON is kept from the step that finished it. Each task table lists its tasks in the order
they were created, so the run of finished tasks at its front only grows; once that run
adds up to SEGMENT_BYTES it is frozen into a row of its own (`StateSegment`), and the
instance row keeps the rest and the list of its segments. A step thus writes what its
unfinished tasks cost, not what the history does (a loop's 500th round costs its 10th);
reading puts the segments back in front of their tables.
"""

import json
import uuid
from dataclasses import dataclass, field
from itertools import islice

from SpiffWorkflow.task import Task
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from . import json_text
from .errors import ProcessError
from .models import Instance, StateSegment
from .spiff import SERIALIZER, WRITERS, state_from_dict

SEGMENT_BYTES = 32_768
TOP = ""  # the key of the top workflow's table; a called process's is its call's task id

# Tasks in these states never change again once their parent is in one too (an unfinished
# parent — a multi-instance task collecting its instances' results — changes its data, and
# a task's JSON stores its data as a difference from its parent's). ERROR is not final: a
# failed task is fixed and run again.
_FINAL = TaskState.COMPLETED | TaskState.CANCELLED
_ENCODE = json_text.compact
_TASK_TYPENAME = SERIALIZER.registry.typenames[Task]
# A registered class that JSON's encoder writes by itself (a dict, a list, a string or a
# number of some kind) would be written differently from its converter's dict: then data
# always goes through the converter.
_PLAIN_DATA_AS_IS = not any(
    issubclass(cls, (dict, list, tuple, str, int, float)) for cls in SERIALIZER.registry.typenames
)


# -- the database side --------------------------------------------------------------------


def save(session, instance: Instance, workflow) -> None:
    """Store the workflow's state on the instance (and any segment it froze)."""
    writer = WRITERS.get(workflow)
    if writer is None:
        writer = WRITERS[workflow] = StateWriter()
    instance.state, frozen = writer.write(workflow)
    for segment_id, text in frozen:
        session.add(StateSegment(id=segment_id, instance_id=instance.id, text=text))


def load(session, instance: Instance, spec, subprocess_specs, script_engine):
    """The instance's workflow as it was stored."""
    return load_text(session, instance.id, instance.state, spec, subprocess_specs, script_engine)


def load_text(session, instance_id: str, text: str, spec, subprocess_specs, script_engine):
    """The workflow an instance's stored state text holds (with its segments)."""
    dct, listed = _assembled(session, instance_id, text)
    workflow = state_from_dict(dct, spec, subprocess_specs, script_engine)
    WRITERS[workflow] = StateWriter(listed)
    return workflow


def stored_state(session, instance: Instance) -> dict:
    """The whole state as `state_to_json` writes it, segments put back in place."""
    return _assembled(session, instance.id, instance.state)[0]


def _assembled(session, instance_id: str, text: str) -> tuple[dict, list]:
    dct = json.loads(text)
    listed = dct.pop("segments", [])
    if not listed:
        return dct, []
    ids = [s["id"] for s in listed]
    query = select(StateSegment.id, StateSegment.text).where(StateSegment.id.in_(ids))
    texts = {segment_id: text for segment_id, text in session.execute(query)}
    missing = [i for i in ids if i not in texts]
    if missing:
        raise ProcessError(f"instance {instance_id}: stored state segment {missing[0]} is missing")
    tables: dict[str, dict] = {}
    for segment in listed:
        tables.setdefault(segment["workflow"], {}).update(json.loads(texts[segment["id"]]))
    for key, front in tables.items():
        holder = dct if key == TOP else dct["subprocesses"][key]
        holder["tasks"] = {**front, **holder["tasks"]}
    return dct, listed


# -- writing ------------------------------------------------------------------------------


class _FrontLost(Exception):
    """A task of a stored segment is no longer where it was (never expected)."""


@dataclass
class _Front:
    """The finished tasks at the front of one task table."""

    table: dict  # the table this describes
    kept: int = 0  # how many tasks
    last: object = None  # the id of the last of them
    stored: int = 0  # how many of them are in segments
    loose: list = field(default_factory=list)  # the JSON of the others, '"id":{…}'
    loose_bytes: int = 0


class StateWriter:
    """Serialises one workflow step after step; the text, with its segments put back,
    equals `state_to_json` (as JSON)."""

    def __init__(self, segments=()):
        self.segments = [dict(s) for s in segments]  # {"id", "workflow", "tasks"}, in order
        # task id -> ((state, last change, children), the task's part): finished tasks not
        # yet in a front
        self.fragments: dict = {}
        # task id -> (what its part depends on, the part): tasks without data of their own,
        # which are most of the unfinished ones and change less often than they are written
        self.plain: dict = {}
        self.fronts: dict[str, _Front] = {}
        # called process key -> its whole text, once it ended with every task in its front
        self.finished: dict[str, str] = {}
        self.frozen: list[tuple[str, str]] = []  # segments made by the current write

    def write(self, workflow) -> tuple[str, list[tuple[str, str]]]:
        """The state's text and the segments (id, text) this write froze."""
        self.frozen = []
        try:
            text = self._write(workflow)
        except _FrontLost:
            self.segments, self.fronts, self.finished, self.frozen = [], {}, {}, []
            text = self._write(workflow)
        return text, self.frozen

    def _write(self, workflow) -> str:
        self._plain_seen: dict = {}
        try:
            return self._write_tables(workflow)
        finally:
            # only the tasks written this time: one removed or finished meanwhile drops out
            self.plain = self._plain_seen

    def _write_tables(self, workflow) -> str:
        registry = SERIALIZER.registry
        # the tables as text of their own (first: they may freeze segments), the other
        # fields encoded in one go
        tasks, subprocesses = self._tasks(workflow, TOP), self._subprocesses(workflow)
        rest = {
            **self._workflow_fields(workflow),
            "bpmn_events": registry.convert(workflow.bpmn_events),
            "typename": registry.typenames[type(workflow)],
        }
        if self.segments:
            rest["segments"] = self.segments
        data = _data_text(workflow.data)
        return f'{{"tasks":{tasks},"subprocesses":{subprocesses},"data":{data},{_ENCODE(rest)[1:]}'

    def _subprocesses(self, workflow) -> str:
        registry = SERIALIZER.registry
        parts = []
        for task_id, sub in workflow.subprocesses.items():
            key = str(task_id)
            text = self.finished.get(key)
            if text is None:
                rest = {
                    **self._workflow_fields(sub),
                    "parent_task_id": str(sub.parent_task_id),
                    "spec": sub.spec.name,
                    "typename": registry.typenames[type(sub)],
                }
                data = _data_text(sub.data)
                tasks = self._tasks(sub, key)
                text = f'"{key}":{{"tasks":{tasks},"data":{data},{_ENCODE(rest)[1:]}'
                front = self.fronts[key]
                if sub.completed and front.kept == len(sub.tasks):
                    # Ended, every task finished for good: this text is final too.
                    self.finished[key] = text
            parts.append(text)
        return "{" + ",".join(parts) + "}"

    @staticmethod
    def _workflow_fields(wf) -> dict:
        """A workflow's fields but its task table and its data (`_data_text`)."""
        return {
            "correlations": wf.correlations,
            "last_task": str(wf.last_task.id) if wf.last_task is not None else None,
            "success": wf.success,
            "completed": wf.completed,
            "root": str(wf.task_tree.id),
        }

    def _tasks(self, wf, key: str) -> str:
        """The task table's text; each task's part ('"id":{…}') is kept while what it
        depends on stays the same."""
        fragments = self.fragments
        tasks = wf.tasks
        front = self._front(tasks, key)
        parts = []
        growing = True
        for task_id, task in islice(tasks.items(), front.kept, None):
            state_key = (task._state, task.last_state_change, tuple(task._children))
            known = fragments.get(task_id)
            if known is not None and known[0] == state_key:
                part = known[1]
            else:
                parent = tasks.get(task._parent) if task._parent is not None else None
                if task.data or task.internal_data:
                    part = f'"{task_id}":{_with_data_text(task, parent)}'
                else:
                    part = self._plain_part(task_id, task, parent, state_key)
                if task._state & _FINAL and (parent is None or parent._state & _FINAL):
                    fragments[task_id] = known = (state_key, part)
            if growing and known is not None and known[0] == state_key:
                # finished for good, as is every task before it: the front grows
                front.kept, front.last = front.kept + 1, task_id
                front.loose.append(part)
                front.loose_bytes += len(part)
                del fragments[task_id]
            else:
                growing = False
                parts.append(part)
        if front.loose_bytes >= SEGMENT_BYTES:
            self._freeze(front, key)
        return "{" + ",".join(front.loose + parts) + "}"

    def _plain_part(self, task_id, task, parent, state_key) -> str:
        """The part of a task without data: all it depends on is its state, its tree links,
        whether it was triggered and which keys its parent's data has (its delta deletes
        them all)."""
        depends = (state_key, task.triggered, None if parent is None else tuple(parent.data))
        known = self.plain.get(task_id)
        if known is None or known[0] != depends:
            known = (depends, f'"{task_id}":{_ENCODE(_bare(task, parent))}')
        self._plain_seen[task_id] = known
        return known[1]

    def _front(self, tasks, key: str) -> _Front:
        stored = sum(s["tasks"] for s in self.segments if s["workflow"] == key)
        front = self.fronts.get(key)
        if front is not None and front.table is tasks and _still_at(tasks, front):
            if front.stored != stored:
                raise _FrontLost
            return front
        if front is not None and stored:
            raise _FrontLost  # a task of the front moved: its segments no longer fit
        front = _Front(tasks)
        if stored:
            # Just read back: the segments are the front (finished when they were frozen,
            # finished still), so their tasks need no second look.
            front.kept = front.stored = stored
            front.last = next(islice(tasks, stored - 1, None), None)
            if front.last is None:
                raise _FrontLost
        self.fronts[key] = front
        return front

    def _freeze(self, front: _Front, key: str) -> None:
        segment_id = str(uuid.uuid4())
        self.segments.append({"id": segment_id, "workflow": key, "tasks": len(front.loose)})
        self.frozen.append((segment_id, "{" + ",".join(front.loose) + "}"))
        front.stored += len(front.loose)
        front.loose, front.loose_bytes = [], 0


def _data_text(data: dict) -> str:
    """The JSON of a workflow's data as SpiffWorkflow's converter writes it (`clean`, then
    `convert`: callables and modules left out, its registered types as dicts). Data of
    plain JSON values, the usual, needs neither (`_as_converted`)."""
    return _as_converted(data if _PLAIN_DATA_AS_IS else SERIALIZER.registry.convert(data))


def _as_converted(value) -> str:
    """The JSON text of `value` as the registry's `convert` would leave it: one call of the
    C encoder when it takes the value as it is, else (the encoder refuses a time, a
    function, a module) through `convert`, value by value in Python."""
    try:
        return _ENCODE(value)
    except TypeError:
        return _ENCODE(SERIALIZER.registry.convert(value))


def _bare(task, parent) -> dict:
    """What SpiffWorkflow's converter makes of a task without data of its own (most are
    predicted tasks, two thirds of those a step writes), built directly: the converter
    walks the parent's data to tell what the task changed, which here is nothing."""
    delta = {} if parent is None else {"updates": {}, "deletions": list(parent.data)}
    return _task_dict(task, parent, {}, {}, delta)


def _with_data_text(task, parent) -> str:
    """The JSON of a task with data. SpiffWorkflow's converter converts its internal data
    and leaves its data as it is; its `to_json` converts both inside its encoder, which is
    what a value the encoder refuses needs (a script's time, which reading restores).
    Plain JSON comes out the same either way (`_as_converted`)."""
    internal_data = task.internal_data
    if not _PLAIN_DATA_AS_IS:
        internal_data = SERIALIZER.registry.convert(internal_data)
    return _as_converted(_with_data(task, parent, internal_data))


def _with_data(task, parent, internal_data) -> dict:
    """What SpiffWorkflow's converter makes of a task with data, built directly (its
    dispatch through the registry cost as much again): the data as a difference from
    the parent's, with this internal data."""
    if parent is None:
        return _task_dict(task, parent, internal_data, task.data, {})
    delta = {
        "updates": DeepMerge.get_updated_keys(parent.data, task.data),
        "deletions": DeepMerge.get_deleted_keys(parent.data, task.data),
    }
    return _task_dict(task, parent, internal_data, {}, delta)


def _task_dict(task, parent, internal_data, data, delta) -> dict:
    """TaskConverter.to_dict's dict, its typename included."""
    return {
        "id": str(task.id),
        "parent": str(task._parent) if parent is not None else None,
        "children": [str(child) for child in task._children],
        "last_state_change": task.last_state_change,
        "state": task._state,
        "task_spec": task.task_spec.name,
        "triggered": task.triggered,
        "internal_data": internal_data,
        "data": data,
        "delta": delta,
        "typename": _TASK_TYPENAME,
    }


def _still_at(tasks, front: _Front) -> bool:
    """A removed task (SpiffWorkflow drops predicted ones, never finished ones) would shift
    the front: then its last task is no longer where it was."""
    return front.kept == 0 or next(islice(tasks, front.kept - 1, None), None) == front.last
