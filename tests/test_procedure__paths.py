"""The procedure's other paths: rejection, send-back loops, budget rejection, extended service."""

import pytest

from engine.errors import InvalidData

from .driver import ENTERPRISES


def test_a_rejected_application_ends_rejected_with_its_reason_sent_to_the_applicant(driver):
    driver.start()
    driver.complete("review_application", {"decision": "reject", "reason": "不属于服务范围"})
    instance = driver.instance()
    assert (instance.status, instance.stage) == ("rejected", "done")
    assert instance.file_number is None
    assert driver.open_tasks() == []
    [notice] = driver.notices()
    assert notice.username == "applicant"
    assert "不属于服务范围" in notice.text


def test_rejecting_without_a_reason_is_refused_and_changes_nothing(driver):
    driver.start()
    before = driver.event_count()
    with pytest.raises(InvalidData) as error:
        driver.complete("review_application", {"decision": "reject"})
    assert "reason" in error.value.fields
    assert driver.event_count() == before
    assert driver.open_elements() == ["review_application"]


def test_the_applicant_sends_the_service_design_back_and_staff_revise_it(driver):
    driver.run_until("confirm_service_design")
    driver.complete("confirm_service_design", {"decision": "revise", "comments": "增加法务内容"})
    assert driver.open_elements() == ["design_service"]
    driver.complete("design_service", {"content": "融资与法务", "mode": "consulting"})
    driver.complete("confirm_service_design")
    assert driver.open_elements() == ["select_experts"]
    assert driver.instance().data["design_service"]["mode"] == "consulting"


def test_failed_content_review_sends_every_outline_back_to_its_expert(driver):
    driver.run_until("review_content")
    driver.complete("review_content", {"decision": "revise", "comments": "请补充案例"})
    assert sorted(t.subject for t in driver.open_tasks("submit_outline")) == ["刘律师", "张教授"]
    driver.complete_all("submit_outline", {"topic": "修订版", "outline": "含案例"})
    driver.complete("review_content")
    assert driver.open_elements() == ["assign_coordinators"]
    outlines = driver.instance().data["submit_outline"]
    assert {o["data"]["topic"] for o in outlines} == {"修订版"}


@pytest.mark.parametrize("who_rejects", ["approve_budget_division", "approve_budget_center"])
def test_one_approver_rejecting_returns_the_budget_and_both_must_approve_again(driver, who_rejects):
    driver.run_until("approve_budget_division")
    other = ({"approve_budget_division", "approve_budget_center"} - {who_rejects}).pop()
    driver.complete(who_rejects, {"decision": "reject", "comments": "专家费偏高"})
    driver.complete(other)
    assert driver.open_elements() == ["prepare_budget"]
    driver.complete("prepare_budget", {"items": [{"category": "expert_fee", "amount": 2000}]})
    assert driver.open_elements() == ["approve_budget_center", "approve_budget_division"]
    driver.complete(other)
    driver.complete(who_rejects)
    assert driver.open_elements() == ["issue_official_letter"]
    assert driver.instance().data["prepare_budget"]["total"] == 2000


def test_an_extended_service_need_leads_to_the_tripartite_agreement(driver):
    driver.run_to_activity()
    driver.run_from_activity_to_follow_up()
    need = {
        "method": "visit",
        "effect": "需要持续辅导",
        "extended_service_needed": True,
        "extended_service_description": "质量管理体系认证辅导",
    }
    driver.complete("follow_up_visit", need, subject=ENTERPRISES[0])
    driver.complete_all("follow_up_visit")
    assert driver.open_elements() == ["arrange_extended_service"]
    driver.complete("arrange_extended_service", {"contract_price": 12000})
    driver.complete("archive_file")
    assert driver.instance().status == "archived"


@pytest.mark.parametrize("first", ["approve_budget_division", "approve_budget_center"])
def test_each_round_of_budget_approval_waits_for_both_whatever_order_they_answer_in(driver, first):
    driver.run_until("approve_budget_division")
    second = ({"approve_budget_division", "approve_budget_center"} - {first}).pop()
    rounds = [(first, second, "reject"), (second, first, "reject"), (first, second, "approve")]
    for number, (answers_first, answers_second, verdict) in enumerate(rounds, 1):
        driver.complete(answers_first, {"decision": verdict, "comments": f"第{number}轮"})
        assert driver.open_elements() == [answers_second], number  # the other is awaited
        driver.complete(answers_second, {"decision": "approve"})
        if verdict == "reject":
            assert driver.open_elements() == ["prepare_budget"], number
            driver.complete("prepare_budget")
    assert driver.open_elements() == ["issue_official_letter"]
    instance = driver.instance()
    assert (instance.status, instance.stage) == ("running", "implementation")
    created = [e.element for e in driver.events("task_created")]
    assert created.count("prepare_budget") == 3 and created.count("approve_budget_center") == 3
