"""Our configuration of SpiffWorkflow: the parser, the serializer, and spec-free state.

Instances store only their task state; the spec lives once per process version and is
re-attached on load, so a step never rewrites 17 KB of unchanged definitions. How a step
writes that state, only what changed, is engine/state_store.py.
"""

import json
import logging
import sys
import weakref
from copy import copy
from uuid import UUID

from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.parser.task_parsers import GatewayParser
from SpiffWorkflow.bpmn.serializer.default.task_spec import ParallelGatewayConverter
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, TaskConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent, IntermediateCatchEvent, StartEvent
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskIterator, TaskState

from . import gateways, timer_events
from .fast_tasks import FastSubWorkflow, FastTask, FastWorkflow, made_fast


def _walk_without_depth_limit() -> None:
    """SpiffWorkflow's task walks stop 1,000 tasks deep by default, so a loop that went
    round about 500 times (each round two tasks deeper) stopped advancing: the tasks past
    that depth were never found again. The walk is a loop, not a recursion, so it can go
    as deep as the tree does."""
    for iterator in (TaskIterator, BpmnTaskIterator):
        defaults = list(iterator.__init__.__defaults__)
        position = iterator.__init__.__code__.co_varnames.index("max_depth") - 2  # self, task
        defaults[position] = sys.maxsize
        iterator.__init__.__defaults__ = tuple(defaults)


_walk_without_depth_limit()


def _quiet_spiff_loggers() -> None:
    """SpiffWorkflow decides what to attach to a log record by its loggers' own level, not
    the effective one: left unset (0, below INFO) every state change's record carries the
    task's data, and each (sub)process start and end walks the whole task tree for its
    ids, though nothing logs them (webui/server.py sets "spiff" to WARNING: a line per
    state change is noise). Set to WARNING they skip both; whoever wants the records sets
    these two loggers' levels lower."""
    for name in ("spiff.task", "spiff.workflow"):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)


_quiet_spiff_loggers()


class DingdanBpmnParser(SpiffBpmnParser):
    OVERRIDE_PARSER_CLASSES = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("startEvent"): (timer_events.StartEventParser, StartEvent),
        full_tag("intermediateCatchEvent"): (
            timer_events.IntermediateCatchEventParser,
            IntermediateCatchEvent,
        ),
        full_tag("boundaryEvent"): (timer_events.BoundaryEventParser, BoundaryEvent),
        full_tag("parallelGateway"): (GatewayParser, gateways.ParallelGateway),
    }


def new_parser() -> DingdanBpmnParser:
    return DingdanBpmnParser(validator=VALIDATOR)


class _StateConverter(BpmnWorkflowConverter):
    """Writes a workflow without its specs; reads one back onto specs it is given."""

    def to_dict(self, workflow):
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_state(self, dct, spec, subprocess_specs):
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class _StateReader(_StateConverter):
    """Reads a state back with the engine's task reader (`_TaskConverter`), each task
    table as its tasks put themselves in it."""

    def from_state(self, dct, spec, subprocess_specs):
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        self._read_tasks(dct, workflow)
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow

    def set_default_attributes(self, workflow, dct):
        # SpiffWorkflow's looks the last task up by a uuid.UUID: the engine's ids are text
        super().set_default_attributes(workflow, {**dct, "last_task": None})
        last_task = dct["last_task"]
        workflow.last_task = workflow.tasks.get(last_task) if last_task is not None else None

    def subprocesses_from_dict(self, dct, workflow, top_workflow=None):
        """As SpiffWorkflow's, each called process's tasks read as the top's are."""
        top_workflow = top_workflow or workflow
        for task in list(workflow.tasks.values()):
            key = str(task.id)
            if key in dct and isinstance(task.task_spec, SubWorkflowTask):
                sub_dct = dct.pop(key)
                spec = top_workflow.subprocess_specs.get(task.task_spec.spec)
                sub = BpmnSubWorkflow(spec, task.id, top_workflow, deserializing=True)
                self._read_tasks(sub_dct, sub)
                self.set_default_attributes(sub, sub_dct)
                top_workflow.subprocesses[task.id] = sub
                sub.completed_event.connect(task.task_spec._on_subworkflow_completed, task)
                self.subprocesses_from_dict(dct, sub, top_workflow)

    def _read_tasks(self, dct, workflow) -> None:
        """The task table as the tasks put themselves in it (keyed by their own ids, in the
        stored order), each id one object for the task, its parent's and its children's
        mentions: SpiffWorkflow's reader keys a second table by ids parsed afresh, so each
        parent or child looked up afterwards compared two UUIDs in Python."""
        ids: dict[str, UUID] = {}
        restore = self.registry.restore
        for task_dct in dct["tasks"].values():
            restore(task_dct, workflow=workflow, ids=ids)
        workflow.task_tree = workflow.tasks.get(_task_id(ids, dct["root"]))


class _TaskConverter(TaskConverter):
    """Reads a task back as SpiffWorkflow's converter does, for less: a cold step reads
    every task of its instance (five milliseconds for seventy tasks, more than the step),
    and most of that went to parsing each id three times over with `uuid.UUID` and to
    copying the parent's data with DeepMerge, which for a new dict is a shallow copy of
    each value."""

    def from_dict(self, dct, workflow, ids=None):
        """`ids`: the id objects made so far for the task's workflow, by their text."""
        ids = {} if ids is None else ids
        task_spec = workflow.spec.task_specs.get(dct["task_spec"])
        task_id = _task_id(ids, dct["id"])
        task = self.target_class(workflow, task_spec, state=dct["state"], id=task_id)
        parent_id = dct["parent"]
        task._parent = _task_id(ids, parent_id) if parent_id is not None else None
        task._children = [_task_id(ids, child) for child in dct["children"]]
        task.last_state_change = dct["last_state_change"]
        task.triggered = dct["triggered"]
        task.internal_data = self.registry.restore(dct["internal_data"])
        if isinstance(task_spec, CatchingEvent) and task._state & TaskState.WAITING:
            task.workflow.top_workflow.event_manager.add_task(task)
        delta = dct.get("delta")
        parent = task.parent
        if delta and parent is not None:
            data = {key: _shallow(value) for key, value in parent.data.items()}
            data.update(self.registry.restore(delta.get("updates", {})))
            for key in delta.get("deletions", {}):
                data.pop(key, None)
        else:
            data = self.registry.restore(dct["data"])
        task.data = data
        return task


def task_uuid(text: str) -> str:
    """The engine's id of a task (engine/fast_tasks.py: the canonical text of its UUID, as
    the state stores it and the task rows name it) from a task id's text; ValueError, which
    tells what is wrong, for text that is no UUID."""
    return str(UUID(text))


def _task_id(ids: dict, text: str) -> str:
    """One object for each id of a table, the first of its texts: a parent or child
    looked up is then found by identity."""
    return ids.setdefault(text, text)


def _shallow(value):
    """What DeepMerge.merge puts in a new dict: a copy of a dict, list or set, the value
    itself otherwise."""
    kind = type(value)
    if kind is dict or kind is list or kind is set:
        return value.copy()
    return copy(value) if isinstance(value, (dict, list, set)) else value


def _make_serializer(task_converter=_TaskConverter) -> BpmnWorkflowSerializer:
    config = dict(SPIFF_CONFIG)
    config[Task] = task_converter
    config.update(timer_events.SERIALIZER_CONFIG)
    # Registered after SpiffWorkflow's own, under the same type name: stored specs of any
    # version restore with the round-aware join.
    config[gateways.ParallelGateway] = ParallelGatewayConverter
    config[BpmnWorkflow] = _StateConverter
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


SERIALIZER = _make_serializer()
# Our workflow classes are stored under SpiffWorkflow's names: the stored state does not
# depend on how the engine finds its tasks.
for _ours, _theirs in (
    (FastWorkflow, BpmnWorkflow),
    (FastSubWorkflow, BpmnSubWorkflow),
    (FastTask, Task),
):
    SERIALIZER.registry.typenames[_ours] = SERIALIZER.registry.typenames[_theirs]
_STATE = _StateReader(BpmnWorkflow, SERIALIZER.registry)


def specs_to_json(spec, subprocess_specs) -> str:
    convert = SERIALIZER.registry.convert
    return json.dumps(
        {
            "spec": convert(spec),
            "subprocess_specs": {name: convert(s) for name, s in subprocess_specs.items()},
        },
        separators=(",", ":"),
    )


def specs_from_json(text: str):
    dct = json.loads(text)
    restore = SERIALIZER.registry.restore
    return restore(dct["spec"]), {name: restore(s) for name, s in dct["subprocess_specs"].items()}


def state_to_json(workflow: BpmnWorkflow) -> str:
    """The whole state, every task serialised afresh (what `StateWriter` must equal)."""
    WRITERS.pop(workflow, None)  # whoever asks for this may have changed finished tasks
    return json.dumps(SERIALIZER.to_dict(workflow), separators=(",", ":"))


# The incremental writer of each workflow (engine/state_store.py); it goes with the
# workflow and the engine's cache of workflows.
WRITERS: "weakref.WeakKeyDictionary[BpmnWorkflow, object]" = weakref.WeakKeyDictionary()


def state_from_json(text: str, spec, subprocess_specs, script_engine) -> BpmnWorkflow:
    return state_from_dict(json.loads(text), spec, subprocess_specs, script_engine)


def state_from_dict(dct: dict, spec, subprocess_specs, script_engine) -> BpmnWorkflow:
    workflow = made_fast(_STATE.from_state(dct, spec, subprocess_specs))
    workflow.script_engine = script_engine
    return workflow
