"""An instance on its diagrams: the BPMN at the versions it runs on, and which elements are
completed, active or overdue in each."""

from datetime import datetime

import pytest

from engine.errors import NotFound
from tasks.diagrams import Diagrams

from .driver import SHANGHAI

STAGE_KEYS = [
    "application",
    "survey",
    "preparation",
    "implementation",
    "follow_up",
    "archiving",
]


def progress_of(system, driver, as_="center_staff"):
    return Diagrams(system.engine, system.tasks.may_see).for_instance(
        driver.actors[as_], driver.instance_id
    )


def test_every_diagram_of_the_instance_main_first_then_the_stages_in_order(system, driver):
    driver.start()
    progress = progress_of(system, driver)
    assert [d.key for d in progress.diagrams] == ["order_service"] + [
        f"order_service_{stage}" for stage in STAGE_KEYS
    ]
    assert [d.stage for d in progress.diagrams] == [None, *STAGE_KEYS]
    assert progress.diagrams[2].called_by.id == "call_survey"
    assert progress.diagrams[2].called_by.name == "2. 调查"
    for diagram in progress.diagrams:
        assert f'<bpmn:process id="{diagram.key}"' in diagram.xml
        assert "bpmndi:BPMNDiagram" in diagram.xml


def test_a_new_application_is_in_review(system, driver):
    driver.start()
    progress = progress_of(system, driver)
    main, application = progress.diagrams[0], progress.diagram("order_service_application")
    assert main.active == ["call_application"]
    assert main.completed == ["start"]
    assert application.active == ["review_application", "review_deadline"]
    assert application.overdue == []
    assert progress.current is application
    assert progress.stages == [("application", "active")] + [(s, None) for s in STAGE_KEYS[1:]]


def test_after_plan_survey(system, driver):
    driver.run_until("plan_survey")
    driver.complete("plan_survey")
    progress = progress_of(system, driver)
    main = progress.main
    assert "call_application" in main.completed
    assert main.active == ["call_survey"]
    application = progress.diagram("order_service_application")
    assert "review_application" in application.completed
    assert application.active == []  # the review deadline was cancelled by the review
    survey = progress.diagram("order_service_survey")
    assert survey.active == ["fill_questionnaire"]
    assert survey.counts["fill_questionnaire"] == {"active": 3}
    assert "plan_survey" in survey.completed
    assert progress.current is survey
    assert progress.stages[:3] == [
        ("application", "completed"),
        ("survey", "active"),
        ("preparation", None),
    ]
    assert progress.as_json()["current"] == "order_service_survey"


def test_one_questionnaire_in_three_done_stays_active_and_counts_both(system, driver):
    driver.run_until("fill_questionnaire")
    row = driver.open_tasks("fill_questionnaire")[0]
    driver.complete("fill_questionnaire", subject=row.subject)
    survey = progress_of(system, driver).diagram("order_service_survey")
    assert survey.active == ["fill_questionnaire"]
    assert survey.counts["fill_questionnaire"] == {"active": 2, "completed": 1}


def test_an_overdue_review_is_red_up_to_the_main_diagram(system, driver):
    driver.start()
    driver.at(datetime(2026, 10, 8, 17, 31, tzinfo=SHANGHAI))
    progress = progress_of(system, driver)
    application = progress.diagram("order_service_application")
    assert application.overdue == ["review_application"]
    assert "review_deadline" in application.completed  # the timer fired
    assert application.active == ["handle_overdue_review"]
    assert progress.main.overdue == ["call_application"]
    assert progress.stages[0] == ("application", "overdue")


def test_a_waiting_timer_keeps_its_stage_active(system, driver):
    driver.run_to_activity()
    progress = progress_of(system, driver)
    implementation = progress.diagram("order_service_implementation")
    assert implementation.active == ["activity_day"]
    assert "issue_official_letter" in implementation.completed
    assert progress.main.active == ["call_implementation"]
    assert [s for s, state in progress.stages if state == "completed"] == STAGE_KEYS[:3]


def test_a_rejected_application_ends_at_the_rejection(system, driver):
    driver.start()
    driver.complete("review_application", {"decision": "reject", "reason": "不属于服务范围"})
    progress = progress_of(system, driver, as_="applicant")
    main = progress.main
    assert sorted(main.completed) == ["call_application", "end_rejected", "start"]
    assert main.active == [] and main.overdue == []
    assert progress.stages == [("application", "completed")] + [(s, None) for s in STAGE_KEYS[1:]]
    assert progress.current is main
    for diagram in progress.diagrams[2:]:
        assert diagram.completed == diagram.active == []


def test_the_versions_the_instance_runs_on_not_the_latest(system, driver):
    driver.start()
    old = driver.instance_id
    survey_file = system.processes_dir / "order_service_survey.bpmn"
    changed = survey_file.read_text(encoding="utf-8").replace("制定调查计划", "制定调查工作计划")
    main_file = system.processes_dir / "order_service.bpmn"
    files = {"order_service_survey.bpmn": changed.encode(), main_file.name: main_file.read_bytes()}
    with system.engine.unit_of_work() as uow:
        system.engine.deploy(uow, files, "owner")
    assert system.records.process_version("order_service_survey").version == 2
    assert system.records.process_version("order_service").version == 2

    progress = progress_of(system, driver)
    survey = progress.diagram("order_service_survey")
    assert survey.version == 1 and "制定调查计划" in survey.xml
    assert survey.names["plan_survey"][0] == "制定调查计划"

    driver.start()
    assert driver.instance_id != old
    survey = progress_of(system, driver).diagram("order_service_survey")
    assert survey.version == 2 and "制定调查工作计划" in survey.xml


def test_element_names_for_the_history(system, driver):
    driver.start()
    driver.at(datetime(2026, 10, 8, 17, 31, tzinfo=SHANGHAI))
    progress = progress_of(system, driver)
    review = driver.task("review_application")
    assert progress.element_name("review_application", task_id=review.id) == "登记备案并审核申请"
    assert (
        progress.element_name("review_application", english=True, task_id=review.id)
        == "Register and review the application"
    )
    timer = next(t for t in progress.timers if t.element == "review_deadline")
    assert progress.element_name("review_deadline", task_id=timer.id) == "一个工作日内未审核"
    assert progress.element_name("call_survey") == "2. 调查"
    assert progress.element_name("nowhere") is None


def test_someone_who_may_not_see_the_instance_gets_not_found(system, driver):
    driver.start()
    stranger = system.tasks.add_user("stranger", ["applicant"])
    with pytest.raises(NotFound):
        Diagrams(system.engine, system.tasks.may_see).for_instance(stranger, driver.instance_id)
    with pytest.raises(NotFound):
        Diagrams(system.engine, system.tasks.may_see).for_instance(stranger, "no-such-id")
