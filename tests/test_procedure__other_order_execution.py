"""Order execution (订单执行管理制度): acceptance, production and delivery tracked alongside,
exception orders escalated to the responsible head and then to management while unresolved,
and customer complaints recorded, analysed and answered — serious ones reported upwards."""

import pytest
from sqlalchemy import select

from engine.errors import InvalidData
from engine.models import HumanTask

from .other_driver import (
    ACCEPTANCE,
    CANCEL,
    COMPLAINT,
    EXCEPTION,
    ON_TRACK,
    PATHS,
    SERIOUS,
    SHIPPED_NOTICE,
    STARTER,
    OrderDriver,
    at,
    run_path,
)

PROCESS = "order_execution"


@pytest.fixture
def order(system, clock):
    return OrderDriver(system, clock, PROCESS)


@pytest.fixture
def executing(order):
    """Accepted, entered, confirmed and planned: production and tracking both open."""
    order.start()
    for element in ACCEPTANCE:
        order.complete(element)
    return order


def _rows(order, element):
    with order.system.engine.unit_of_work() as uow:
        return list(
            uow.session.scalars(
                select(HumanTask)
                .where(HumanTask.instance_id == order.instance_id, HumanTask.element == element)
                .order_by(HumanTask.created_at)
            )
        )


@pytest.mark.parametrize("name", sorted(PATHS[PROCESS]))
def test_every_path(order, name):
    run_path(order, PATHS[PROCESS][name])


def test_the_order_is_checked_before_it_is_entered(order):
    order.start()
    [check] = order.open_tasks()
    assert (check.element, check.role, check.form_key, check.stage) == (
        "review_order",
        "order_clerk",
        "order_review",
        "acceptance",
    )


def test_planning_is_due_the_next_working_day(order):
    order.start()
    for element in ACCEPTANCE[:-1]:
        order.complete(element)
    assert order.task("plan_production").due_at == at(2026, 10, 8, 17, 30)
    assert order.at(at(2026, 10, 8, 17, 31)) == 1
    assert order.notices_to("department_head") == [
        "订单 DO-2026-0001 超过一个工作日未安排生产和配送计划"
    ]


def test_tracking_runs_alongside_production_and_keeps_every_record(executing):
    order = executing
    track = order.task("track_order")
    assert (track.role, track.stage) == ("order_clerk", "execution")
    assert order.task("produce").role == "production"
    order.complete("track_order", ON_TRACK)
    order.complete("track_order", dict(ON_TRACK, production_progress="已完成 18 台"))
    tracked = [e for e in order.events("task_completed") if e.element == "track_order"]
    assert [e.data["data"]["production_progress"] for e in tracked] == [
        "已完成 12 台",
        "已完成 18 台",
    ]
    assert order.instance().data["track_order"]["production_progress"] == "已完成 18 台"
    with pytest.raises(InvalidData) as error:
        order.complete("track_order", {"status": "exception"})
    assert list(error.value.fields) == ["exception_description"]


def test_the_customer_is_told_of_the_shipment_and_signs_for_it(executing):
    order = executing
    order.complete("produce")
    order.complete("deliver_order")
    assert order.notices_to(STARTER) == [SHIPPED_NOTICE]
    receipt = order.task("confirm_receipt")
    assert (receipt.role, receipt.form_key) == ("customer", "customer_feedback")
    order.complete("confirm_receipt")
    assert order.open_elements() == ["track_order"]  # done once tracking says so
    order.complete("track_order")
    assert (order.status(), order.instance().stage) == ("archived", "done")


def test_an_exception_reaches_the_responsible_head_at_once(executing):
    order = executing
    order.complete("track_order", EXCEPTION)
    assert order.notices_to("department_head") == [
        "订单 DO-2026-0001 出现异常，请及时协调处理：关键设备故障，可能延期交付"
    ]
    resolve = order.task("resolve_exception")
    assert (resolve.role, resolve.form_key, resolve.diagram) == (
        "order_clerk",
        "exception_handling",
        "order_exception",  # the called process
    )
    assert resolve.due_at == at(2026, 10, 8, 17, 30)  # the first escalation


def test_an_unresolved_exception_goes_to_the_head_then_to_management(executing):
    order = executing
    order.complete("track_order", EXCEPTION)  # Wednesday 2026-09-30
    assert order.at(at(2026, 10, 8, 17, 29)) == 0
    assert order.at(at(2026, 10, 8, 17, 30)) == 1  # one working day
    [supervise] = order.tasks.inbox(order.actors["department_head"], scope="group")
    assert (supervise.element, supervise.form) == ("supervise_exception", "escalation_instructions")
    assert order.task("resolve_exception").escalated_at is not None
    assert order.at(at(2026, 10, 9, 17, 30)) == 0
    assert order.at(at(2026, 10, 10, 17, 30)) == 1  # three working days (Saturday 10-10 is one)
    [escalate] = order.tasks.inbox(order.actors["management"], scope="group")
    assert escalate.element == "escalate_exception"
    # Resolving the exception withdraws both.
    order.complete("resolve_exception")
    assert [r.state for r in _rows(order, "supervise_exception")] == ["cancelled"]
    assert [r.state for r in _rows(order, "escalate_exception")] == ["cancelled"]
    assert order.open_elements() == ["produce", "track_order"]
    assert order.instance().stage == "execution"


def test_an_exception_resolved_in_time_is_never_escalated(executing):
    order = executing
    order.complete("track_order", EXCEPTION)
    order.complete("resolve_exception")
    assert order.at(at(2026, 10, 12, 9, 0)) == 0
    assert _rows(order, "supervise_exception") == []
    assert _rows(order, "escalate_exception") == []


def test_a_second_exception_is_handled_afresh(executing):
    order = executing
    order.complete("track_order", EXCEPTION)
    order.at(at(2026, 10, 8, 17, 31))
    order.complete("resolve_exception")
    order.complete("track_order", dict(EXCEPTION, exception_description="物流延误"))
    assert order.open_elements() == ["produce", "resolve_exception"]
    assert order.task("resolve_exception").due_at == at(2026, 10, 9, 17, 30)
    assert len(order.notices_to("department_head")) == 2


def test_cancelling_the_order_ends_everything_and_tells_the_customer(executing):
    order = executing
    order.complete("track_order", EXCEPTION)
    with pytest.raises(InvalidData) as error:
        order.complete("resolve_exception", {"measures": "协商", "outcome": "cancel_order"})
    assert list(error.value.fields) == ["cancel_reason"]
    order.complete("resolve_exception", CANCEL)
    instance = order.instance()
    assert (instance.status, instance.stage) == ("cancelled", "done")
    assert [r.state for r in _rows(order, "produce")] == ["cancelled"]
    assert order.notices_to(STARTER) == ["订单 DO-2026-0001 已取消：客户同意取消"]


def test_a_complaint_is_recorded_analysed_and_answered_within_three_working_days(executing):
    order = executing
    order.complete("track_order", COMPLAINT)
    record = order.task("record_complaint")
    assert (record.role, record.form_key) == ("sales", "complaint_record")
    order.complete("record_complaint")  # Wednesday 2026-09-30
    analyse = order.task("analyse_complaint")
    assert (analyse.role, analyse.due_at) == ("sales", at(2026, 10, 10, 17, 30))
    order.complete("analyse_complaint")
    answer = order.task("answer_complaint")
    assert (answer.role, answer.due_at) == ("sales", at(2026, 10, 10, 17, 30))
    order.complete("answer_complaint")
    assert order.open_elements() == ["produce", "track_order"]
    assert order.notices_to("department_head") == []


def test_a_serious_complaint_goes_to_management_for_a_temporary_plan(executing):
    order = executing
    order.complete("track_order", COMPLAINT)
    order.complete("record_complaint")
    with pytest.raises(InvalidData) as error:
        order.complete("analyse_complaint", {"cause": "x", "measures": "y"})
    assert list(error.value.fields) == ["severity"]
    order.complete("analyse_complaint", SERIOUS)
    report = order.task("report_serious_complaint")
    assert (report.role, report.form_key) == ("management", "temporary_plan")
    [view] = order.tasks.inbox(order.actors["management"], scope="group")
    assert view.element == "report_serious_complaint"
    with pytest.raises(InvalidData):
        order.complete("report_serious_complaint", {})
    order.complete("report_serious_complaint")
    assert order.open_elements() == ["answer_complaint", "produce"]


def test_a_late_complaint_reminds_the_head_at_each_late_step(executing):
    order = executing
    order.complete("track_order", COMPLAINT)
    order.complete("record_complaint")
    assert order.at(at(2026, 10, 10, 17, 31)) == 1
    order.complete("analyse_complaint")  # already late: the answer is reminded at once
    assert order.notices_to("department_head") == [
        "订单 DO-2026-0001 的客户投诉未能在三个工作日内处理",
        "订单 DO-2026-0001 的客户投诉未能在三个工作日内答复",
    ]
    [answer] = [
        t
        for t in order.tasks.inbox(order.actors["sales"], scope="group")
        if t.element == "answer_complaint"
    ]
    assert (answer.due_at, answer.overdue) == (at(2026, 10, 10, 17, 30), True)


def test_tracking_may_finish_before_the_goods_arrive_and_the_order_waits_for_them(executing):
    order = executing
    order.complete("track_order")
    assert order.open_elements() == ["produce"]
    assert order.status() == "running"
    order.complete("produce")
    order.complete("deliver_order")
    order.complete("confirm_receipt")
    assert order.status() == "archived"
