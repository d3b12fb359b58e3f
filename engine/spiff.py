"""Our configuration of SpiffWorkflow: the parser, the serializer, and spec-free state.

Instances store only their task state; the spec lives once per process version and is
re-attached on load, so a step never rewrites 17 KB of unchanged definitions.
"""

import json
from uuid import UUID

from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent, IntermediateCatchEvent, StartEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from . import timer_events


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
    return json.dumps(SERIALIZER.to_dict(workflow), separators=(",", ":"))


def state_from_json(text: str, spec, subprocess_specs, script_engine) -> BpmnWorkflow:
    workflow = _STATE.from_state(json.loads(text), spec, subprocess_specs)
    workflow.script_engine = script_engine
    return workflow
