"""The diagrams and forms of the order procedures keep the conventions of docs/DESIGN.md, and
procedures that share a step share its form."""

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from engine import bpmn_xml
from engine.bpmn_xml import NS
from engine.registry import FORM_PROPERTY, form_key
from forms import FormRegistry
from tasks.roles import ROLES

from .other_driver import FORM_EXAMPLES, PROCESSES

PROCESSES_DIR = Path(__file__).resolve().parents[1] / "processes"
FORMS_DIR = PROCESSES_DIR / "forms"
DIAGRAMS = (*PROCESSES, "order_exception")  # the last is called by order_execution
BPMN = f"{{{NS['bpmn']}}}"
DI_NS = {"bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI"}
LANGS = ("zh-CN", "en")
END_STATUSES = {"archived", "rejected", "cancelled"}
NOT_FLOW_NODES = {"laneSet", "lane", "flowNodeRef", "sequenceFlow", "property"}

# Which procedures use each shared form: one form per step, never a copy per procedure.
ENTRY_AND_REVIEW = {"customer_order", "order_receiving", "order_execution"}
SHARED = {
    "customer_order": set(PROCESSES),
    "order_entry": ENTRY_AND_REVIEW,
    "order_review": ENTRY_AND_REVIEW,
    "customer_reply": ENTRY_AND_REVIEW,
    "customer_confirmation": {"order_receiving", "order_production", "order_execution"},
    "production_plan": set(PROCESSES),
    "production_report": set(PROCESSES),
    "purchase_record": {"order_receiving", "order_production"},
    "quality_inspection": {"order_receiving", "order_production"},
    "rework": {"order_receiving", "order_production"},
    "delivery": {"customer_order", "order_production", "order_execution"},
    "customer_feedback": {"order_production", "order_execution"},
}


def _process(key):
    tree = bpmn_xml.parse((PROCESSES_DIR / f"{key}.bpmn").read_bytes(), f"{key}.bpmn")
    [process] = tree.getroot().findall("bpmn:process", NS)
    return tree, process


def _nodes(process):
    """Every flow node of the process, with its tag without namespace."""
    for node in process:
        tag = node.tag.removeprefix(BPMN) if isinstance(node.tag, str) else ""
        if tag and tag not in NOT_FLOW_NODES and node.get("id"):
            yield tag, node


def _lanes(process) -> dict[str, str]:
    return {
        ref.text: ref.getparent().get("name")
        for ref in process.iterfind("bpmn:laneSet/bpmn:lane/bpmn:flowNodeRef", NS)
    }


def _forms_used() -> dict[str, set[str]]:
    used: dict[str, set[str]] = {}
    for key in DIAGRAMS:
        _tree, process = _process(key)
        for _tag, node in _nodes(process):
            form = bpmn_xml.properties(node).get(FORM_PROPERTY)
            if form:
                used.setdefault(form_key(form), set()).add(key)
    return used


@pytest.mark.parametrize("key", DIAGRAMS)
def test_one_executable_process_per_file_named_by_its_stem(key):
    _tree, process = _process(key)
    assert (process.get("id"), process.get("isExecutable")) == (key, "true")
    assert process.get("name")


@pytest.mark.parametrize("key", DIAGRAMS)
def test_every_node_sits_in_one_lane_named_by_a_role(key):
    _tree, process = _process(key)
    lanes = _lanes(process)
    refs = [ref.text for ref in process.iterfind(".//bpmn:flowNodeRef", NS)]
    assert len(refs) == len(set(refs))
    for _tag, node in _nodes(process):
        assert lanes.get(node.get("id")) in ROLES, node.get("id")


@pytest.mark.parametrize("key", DIAGRAMS)
def test_every_user_task_has_a_form_and_every_named_node_an_english_name(key):
    _tree, process = _process(key)
    for tag, node in _nodes(process):
        props = bpmn_xml.properties(node)
        if tag == "userTask":
            assert (FORMS_DIR / props[FORM_PROPERTY]).is_file(), node.get("id")
        if node.get("name"):
            assert props.get("name_en", "").strip(), node.get("id")


@pytest.mark.parametrize("key", DIAGRAMS)
def test_every_decision_reads_the_deciding_tasks_data(key):
    _tree, process = _process(key)
    flows = {f.get("id"): f for f in process.iterfind("bpmn:sequenceFlow", NS)}
    gateways = [node for tag, node in _nodes(process) if tag == "exclusiveGateway"]
    for gateway in gateways:
        outgoing = [flows[o.text] for o in gateway.iterfind("bpmn:outgoing", NS)]
        if len(outgoing) < 2:
            continue  # a merge
        for flow in outgoing:
            condition = flow.find("bpmn:conditionExpression", NS)
            assert condition is not None and "[" in condition.text, flow.get("id")


@pytest.mark.parametrize("key", DIAGRAMS)
def test_ends_that_end_the_order_carry_its_status(key):
    _tree, process = _process(key)
    ends = {}
    for tag, node in _nodes(process):
        if tag != "endEvent":
            continue
        terminates = node.find("bpmn:terminateEventDefinition", NS) is not None
        ends[node.get("id")] = (terminates, bpmn_xml.properties(node).get("instanceStatus"))
    for end, (terminates, status) in ends.items():
        if key == "order_exception" or not terminates:
            assert status is None, end  # a branch or a called process ends, not the order
        else:
            assert status in END_STATUSES, end
    if key != "order_exception":
        assert {status for _t, status in ends.values() if status} >= {"archived"}


@pytest.mark.parametrize("key", DIAGRAMS)
def test_deadlines_are_non_interrupting_timers_in_working_days_or_on_an_agreed_date(key):
    _tree, process = _process(key)
    for tag, node in _nodes(process):
        if tag != "boundaryEvent":
            continue
        assert node.get("cancelActivity") == "false", node.get("id")
        expression = node.find("bpmn:timerEventDefinition/bpmn:timeDate", NS).text
        agreed = ('["delivery_date"]', '["start_date"]', '["delivery_deadline"]', "complaint_due")
        assert "working_days_after(now()" in expression or any(a in expression for a in agreed), (
            node.get("id")
        )


@pytest.mark.parametrize("key", DIAGRAMS)
def test_every_element_is_drawn(key):
    tree, process = _process(key)
    drawn = {
        e.get("bpmnElement") for e in tree.getroot().iterfind(".//bpmndi:BPMNShape", DI_NS)
    } | {e.get("bpmnElement") for e in tree.getroot().iterfind(".//bpmndi:BPMNEdge", DI_NS)}
    elements = {node.get("id") for _tag, node in _nodes(process)}
    elements |= {f.get("id") for f in process.iterfind("bpmn:sequenceFlow", NS)}
    elements |= {lane.get("id") for lane in process.iterfind("bpmn:laneSet/bpmn:lane", NS)}
    assert elements - drawn == set()


# -- forms ----------------------------------------------------------------------------------------


def _fields(properties, prefix=""):
    for name, prop in properties.items():
        yield prefix + name, prop
        items = prop.get("items", {})
        if items.get("type") == "object":
            yield from _fields(items.get("properties", {}), f"{prefix}{name}[].")


def _objects(schema, where="(form)"):
    yield where, schema
    for name, prop in schema.get("properties", {}).items():
        items = prop.get("items", {})
        if items.get("type") == "object":
            yield from _objects(items, f"{where}.{name}[]")


def test_the_forms_are_exactly_those_the_diagrams_name():
    assert set(_forms_used()) == set(FORM_EXAMPLES)


@pytest.mark.parametrize("form", sorted(SHARED))
def test_a_step_the_procedures_share_has_one_form(form):
    assert _forms_used()[form] == SHARED[form]


def test_no_form_is_a_copy_of_another():
    shapes = {}
    for path in sorted(FORMS_DIR.glob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        shape = json.dumps(schema["properties"], sort_keys=True)
        assert shape not in shapes, (path.name, shapes.get(shape))
        shapes[shape] = path.name


@pytest.mark.parametrize("key", sorted(FORM_EXAMPLES))
def test_form_is_valid_and_titled_in_both_languages(key):
    schema = json.loads((FORMS_DIR / f"{key}.schema.json").read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    assert schema["title"] == schema["x-title"]["zh-CN"]
    for lang in LANGS:
        assert schema["x-title"][lang].strip() and schema["x-instructions"][lang].strip()
    for field, prop in _fields(schema["properties"]):
        assert prop["title"] == prop["x-title"]["zh-CN"], field
        assert all(prop["x-title"][lang].strip() for lang in LANGS), field
        for node in (prop, prop.get("items", {})):
            if "enum" in node:
                assert set(node["x-enum-titles"]) == set(node["enum"]), field
                for titles in node["x-enum-titles"].values():
                    assert all(titles[lang].strip() for lang in LANGS), field
        assert "x-suggestions" not in prop, field  # closed lists: the gateways read them
    for where, node in _objects(schema):
        assert node.get("additionalProperties") is False, where
        assert set(node.get("required", [])) <= set(node["properties"]), where


@pytest.mark.parametrize("key", sorted(FORM_EXAMPLES))
def test_the_example_passes(key):
    registry = FormRegistry.from_directory(FORMS_DIR)
    cleaned = registry.get(key).validate(FORM_EXAMPLES[key])
    assert {k: v for k, v in cleaned.items() if k != "total_amount"} == FORM_EXAMPLES[key]
