"""Deploying diagrams: hostile and broken files refused with their place named, versions kept."""

from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.errors import InvalidBpmn
from engine.models import ProcessVersion
from webui.composition import PROCESSES_DIR

from .driver import DEFAULTS

MAIN = (PROCESSES_DIR / "order_service.bpmn").read_text(encoding="utf-8")
ARCHIVING = (PROCESSES_DIR / "order_service_archiving.bpmn").read_text(encoding="utf-8")


def _deploy(system, files):
    with system.engine.unit_of_work() as uow:
        return system.engine.deploy(uow, files, "process_owner")


def _version_count(system):
    with system.engine.unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(ProcessVersion))


HOSTILE = {
    "xxe": """<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:process id="p" name="&xxe;" isExecutable="true"/></bpmn:definitions>""",
    "billion_laughs": """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:process id="p" name="&lol2;" isExecutable="true"/></bpmn:definitions>""",
    "parameter_entity": """<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY % pe SYSTEM "file:///etc/passwd"> %pe;]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"/>""",
    "external_dtd": """<?xml version="1.0"?>
<!DOCTYPE definitions SYSTEM "http://127.0.0.1:9/evil.dtd">
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"/>""",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_any_doctype_or_entity_is_refused_and_nothing_deployed(system, name):
    before = _version_count(system)
    with pytest.raises(InvalidBpmn) as error:
        _deploy(system, {f"{name}.bpmn": HOSTILE[name]})
    assert "DOCTYPE" in error.value.message
    assert error.value.details[0]["file"] == f"{name}.bpmn"
    assert _version_count(system) == before


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("this is not xml", "not well-formed"),
        ("<html><body/></html>", "not a BPMN"),
    ],
)
def test_what_is_not_bpmn_is_refused(system, content, words):
    with pytest.raises(InvalidBpmn) as error:
        _deploy(system, {"x.bpmn": content})
    assert words in error.value.message


def _detail(error):
    [detail] = error.value.details
    return detail


def test_a_missing_called_process_is_named_with_its_call_activity_and_line(system):
    broken = MAIN.replace('calledElement="order_service_survey"', 'calledElement="no_such"')
    with pytest.raises(InvalidBpmn) as error:
        _deploy(system, {"order_service.bpmn": broken})
    detail = _detail(error)
    assert detail["element"] == "call_survey"
    assert "no_such" in detail["message"]
    assert detail["line"] > 1 and detail["file"] == "order_service.bpmn"


def test_a_missing_form_is_named_with_its_task(system):
    broken = ARCHIVING.replace("archive.schema.json", "nowhere.schema.json")
    with pytest.raises(InvalidBpmn) as error:
        _deploy(system, {"order_service_archiving.bpmn": broken})
    detail = _detail(error)
    assert detail["element"] == "archive_file"
    assert "nowhere.schema.json" in detail["message"]


def test_a_sequence_flow_to_nowhere_is_named_itself(system):
    flow = 'id="flow_archive_end" sourceRef="archive_file" targetRef="end"'
    assert flow in ARCHIVING
    broken = ARCHIVING.replace(flow, flow.replace('"end"', '"nowhere"'))
    before = _version_count(system)
    with pytest.raises(InvalidBpmn) as error:
        _deploy(system, {"order_service_archiving.bpmn": broken})
    detail = _detail(error)
    assert detail["element"] == "flow_archive_end" and "'nowhere'" in detail["message"]
    assert _version_count(system) == before


def test_an_expression_that_does_not_compile_is_named_with_its_element(system):
    broken = MAIN.replace(
        'review_application["decision"] == "reject"', 'review_application["decision"] == =='
    )
    with pytest.raises(InvalidBpmn) as error:
        _deploy(system, {"order_service.bpmn": broken})
    assert _detail(error)["element"].startswith("flow")


def test_a_schema_violation_names_the_line(system):
    broken = ARCHIVING.replace("<bpmn:userTask ", "<bpmn:userTask bogus='1' ", 1)
    with pytest.raises(InvalidBpmn) as error:
        _deploy(system, {"order_service_archiving.bpmn": broken})
    assert _detail(error)["line"] > 1


def test_identical_content_is_not_a_new_version(system):
    before = _version_count(system)
    results = _deploy(system, {"order_service_archiving.bpmn": ARCHIVING})
    assert [(r.key, r.version, r.created) for r in results] == [
        ("order_service_archiving", 1, False)
    ]
    assert _version_count(system) == before


def test_running_instances_keep_their_version_and_new_ones_start_on_the_next(driver):
    system = driver.system
    driver.start()
    old_id = driver.instance_id
    renamed = MAIN.replace('name="订单式服务"', 'name="订单式服务（第二版）"', 1)
    assert renamed != MAIN
    [result] = [r for r in _deploy(system, {"order_service.bpmn": renamed}) if r.created]
    assert (result.key, result.version) == ("order_service", 2)

    driver.start()
    assert driver.instance().version == 2
    driver.instance_id = old_id
    assert driver.instance().version == 1
    driver.complete("review_application", DEFAULTS["review_application"])
    assert driver.instance().stage == "survey"


def test_the_shipped_processes_deploy_once(system):
    again = system.setup()
    assert {r.key for r in again} == {p.stem for p in Path(PROCESSES_DIR).glob("*.bpmn")}
    assert not any(r.created for r in again)
