"""Our configuration of SpiffWorkflow: the parser, the serializer, and spec-free state.

Instances store only their task state; the spec lives once per process version and is
re-attached on load, so a step never rewrites 17 KB of unchanged definitions. A step
serialises only the tasks that can have changed (`StateWriter`): a finished task under a
finished parent never changes again, so its JSON is kept from the step that finished it.
"""

import json
import sys
import weakref
from uuid import UUID

from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent, IntermediateCatchEvent, StartEvent
from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskIterator, TaskState

from . import timer_events


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


class DingdanBpmnParser(SpiffBpmnParser):
    OVERRIDE_PARSER_CLASSES = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("startEvent"): (timer_events.StartEventParser, StartEvent),
        full_tag("intermediateCatchEvent"): (
            timer_events.IntermediateCatchEventParser,
            IntermediateCatchEvent,
        ),
        full_tag("boundaryEvent"): (timer_events.BoundaryEventParser, BoundaryEvent),
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


def _make_serializer() -> BpmnWorkflowSerializer:
    config = dict(SPIFF_CONFIG)
    config.update(timer_events.SERIALIZER_CONFIG)
    config[BpmnWorkflow] = _StateConverter
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


SERIALIZER = _make_serializer()
_STATE = _StateConverter(BpmnWorkflow, SERIALIZER.registry)


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
    _WRITERS.pop(workflow, None)  # whoever asks for this may have changed finished tasks
    return json.dumps(SERIALIZER.to_dict(workflow), separators=(",", ":"))


# Tasks in these states never change again once their parent is in one too (an unfinished
# parent — a multi-instance task collecting its instances' results — changes its data, and
# a task's JSON stores its data as a difference from its parent's). ERROR is not final: a
# failed task is fixed and run again.
_FINAL = TaskState.COMPLETED | TaskState.CANCELLED
_ENCODE = json.JSONEncoder(separators=(",", ":")).encode


class StateWriter:
    """Serialises one workflow step after step, re-using the JSON of every task that
    cannot have changed since the last step. The text equals `state_to_json` (as JSON)."""

    def __init__(self):
        # task id -> ((state, last change, children), JSON of the task)
        self.fragments: dict = {}

    def write(self, workflow: BpmnWorkflow) -> str:
        registry = SERIALIZER.registry
        head = {
            **self._workflow_fields(workflow),
            "subprocesses": None,
            "bpmn_events": registry.convert(workflow.bpmn_events),
            "typename": registry.typenames[type(workflow)],
        }
        parts = []
        for key, value in head.items():
            if key == "tasks":
                text = self._tasks(workflow)
            elif key == "subprocesses":
                text = self._subprocesses(workflow)
            else:
                text = _ENCODE(value)
            parts.append(f"{_ENCODE(key)}:{text}")
        return "{" + ",".join(parts) + "}"

    def _subprocesses(self, workflow) -> str:
        registry = SERIALIZER.registry
        parts = []
        for task_id, sub in workflow.subprocesses.items():
            fields = {
                **self._workflow_fields(sub),
                "parent_task_id": str(sub.parent_task_id),
                "spec": sub.spec.name,
                "typename": registry.typenames[type(sub)],
            }
            body = ",".join(
                f"{_ENCODE(k)}:{self._tasks(sub) if k == 'tasks' else _ENCODE(v)}"
                for k, v in fields.items()
            )
            parts.append(f'"{task_id}":{{{body}}}')
        return "{" + ",".join(parts) + "}"

    @staticmethod
    def _workflow_fields(wf) -> dict:
        registry = SERIALIZER.registry
        return {
            "data": registry.convert(registry.clean(wf.data)),
            "correlations": wf.correlations,
            "last_task": str(wf.last_task.id) if wf.last_task is not None else None,
            "success": wf.success,
            "completed": wf.completed,
            "tasks": None,
            "root": str(wf.task_tree.id),
        }

    def _tasks(self, wf) -> str:
        convert = SERIALIZER.registry.convert
        fragments = self.fragments
        tasks = wf.tasks
        parts = []
        for task_id, task in tasks.items():
            key = (task._state, task.last_state_change, tuple(task._children))
            known = fragments.get(task_id)
            if known is not None and known[0] == key:
                text = known[1]
            else:
                text = _ENCODE(convert(task))
                parent = tasks.get(task._parent) if task._parent is not None else None
                if task._state & _FINAL and (parent is None or parent._state & _FINAL):
                    fragments[task_id] = (key, text)
            parts.append(f'"{task_id}":{text}')
        return "{" + ",".join(parts) + "}"


# One writer per workflow object; it goes with the workflow (and the engine's cache of
# workflows), and a workflow that was serialised the plain way starts afresh.
_WRITERS: "weakref.WeakKeyDictionary[BpmnWorkflow, StateWriter]" = weakref.WeakKeyDictionary()


def state_to_json_incremental(workflow: BpmnWorkflow) -> str:
    writer = _WRITERS.get(workflow)
    if writer is None:
        writer = _WRITERS[workflow] = StateWriter()
    return writer.write(workflow)


def state_from_json(text: str, spec, subprocess_specs, script_engine) -> BpmnWorkflow:
    workflow = _STATE.from_state(json.loads(text), spec, subprocess_specs)
    workflow.script_engine = script_engine
    return workflow
