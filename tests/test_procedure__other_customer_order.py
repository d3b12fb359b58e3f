"""Customer order management (客户订单管理流程): receive and enter the order against what the
customer sent, review it, produce with progress reports, deliver and tell the customer."""

import pytest

from engine.errors import InvalidData

from .other_driver import (
    ADJUST,
    CUSTOMER,
    DEFAULTS,
    PATHS,
    QUERY,
    REJECT,
    SHIPPED_NOTICE,
    STARTER,
    OrderDriver,
    at,
    run_path,
)

PROCESS = "customer_order"


@pytest.fixture
def order(system, clock):
    return OrderDriver(system, clock, PROCESS)


@pytest.mark.parametrize("name", sorted(PATHS[PROCESS]))
def test_every_path(order, name):
    run_path(order, PATHS[PROCESS][name])


def test_the_order_is_numbered_and_kept_as_the_customer_sent_it(order):
    instance = order.start()
    assert instance.file_number == "DO-2026-0001"
    assert order.instance().data["customer_order"]["customer_name"] == CUSTOMER
    [entry] = order.open_tasks()
    assert (entry.element, entry.role, entry.form_key, entry.stage) == (
        "enter_order",
        "order_clerk",
        "order_entry",
        "receiving",
    )
    assert entry.name_en == "Enter the order and check it"


def test_the_entry_is_refused_until_checked_against_the_customers_order(order):
    order.start()
    before = order.event_count()
    for unchecked in (
        dict(DEFAULTS["enter_order"], checked_against_original=False),
        {k: v for k, v in DEFAULTS["enter_order"].items() if k != "checked_against_original"},
    ):
        with pytest.raises(InvalidData) as error:
            order.complete("enter_order", unchecked)
        assert list(error.value.fields) == ["checked_against_original"]
    assert order.event_count() == before
    assert order.open_elements() == ["enter_order"]


def test_the_entry_computes_the_total_and_production_and_purchasing_are_told(order):
    order.start()
    order.complete("enter_order")
    assert order.instance().data["enter_order"]["total_amount"] == 96000
    assert order.notices_to("production") == [
        "新订单 DO-2026-0001：石家庄恒达机械有限公司，交付日期 2026-10-30"
    ]
    assert order.notices_to("purchasing") == [
        "新订单 DO-2026-0001：石家庄恒达机械有限公司，请做好采购准备"
    ]
    assert order.open_elements() == ["review_order"]
    assert order.instance().stage == "review"


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({"decision": "accept", "legal": True, "complete": True}, {"within_capacity"}),
        (
            {"decision": "accept", "legal": True, "complete": False, "within_capacity": True},
            {"complete"},
        ),
        ({"decision": "query"}, {"questions"}),
        ({"decision": "reject", "reason": ""}, {"reason"}),
    ],
)
def test_the_review_names_what_is_missing(order, data, fields):
    order.run_until("review_order")
    with pytest.raises(InvalidData) as error:
        order.complete("review_order", data)
    assert set(error.value.fields) == fields


def test_a_rejected_order_ends_rejected_and_whoever_placed_it_hears_why(order):
    order.run_until("review_order")
    order.complete("review_order", REJECT)
    instance = order.instance()
    assert (instance.status, instance.stage) == ("rejected", "done")
    assert order.notices_to(STARTER) == ["订单 DO-2026-0001 未被接受：超出本厂生产能力"]


def test_sales_answer_a_query_for_the_customer_and_the_clerk_corrects_the_entry(order):
    order.run_until("review_order")
    order.complete("review_order", QUERY)
    [query] = order.open_tasks()
    assert (query.element, query.role) == ("answer_query", "customer")
    inbox = order.tasks.inbox(order.actors["sales"], scope="group")
    assert [t.element for t in inbox] == ["answer_query"]

    order.complete("answer_query")
    [answered] = [e for e in order.events("task_completed") if e.element == "answer_query"]
    assert (answered.actor, answered.data["on_behalf_of"]) == ("sales", "customer")
    entry = order.task("enter_order")
    detail = order.tasks.task(order.actors["order_clerk"], entry.id)
    assert detail.data["customer_name"] == CUSTOMER  # the earlier entry, to correct
    order.complete("enter_order", dict(DEFAULTS["enter_order"], remarks="规格已与客户确认"))
    assert order.open_elements() == ["review_order"]
    assert len(order.notices_to("production")) == 2  # told again of the corrected order


def test_the_customer_hears_of_every_production_report_and_of_the_shipment(order):
    order.run_until("produce")
    order.complete("produce", ADJUST)
    order.complete("adjust_production_plan")
    order.complete("produce")
    order.complete("deliver_order")
    assert order.notices_to(STARTER) == [
        "订单 DO-2026-0001 生产进度：需调整生产计划：关键设备故障，需检修两天",
        "订单 DO-2026-0001 生产进度：20 台已全部完工",
        SHIPPED_NOTICE,
    ]
    instance = order.instance()
    assert (instance.status, instance.stage) == ("archived", "done")
    assert instance.data["adjust_production_plan"]["finish_date"] == "2026-10-27"


def test_the_stages_follow_the_four_phases_of_the_text(order):
    order.start()
    stages = [order.instance().stage]
    for element in ("enter_order", "review_order", "plan_production", "produce", "deliver_order"):
        order.complete(element)
        stages.append(order.instance().stage)
    assert stages == ["receiving", "review", "production", "production", "delivery", "done"]


def test_the_entry_is_due_the_next_working_day_and_the_head_is_reminded(order):
    order.start()  # Wednesday 2026-09-30, before the National Day holidays
    assert order.task("enter_order").due_at == at(2026, 10, 8, 17, 30)
    assert order.at(at(2026, 10, 8, 17, 30)) == 1
    [view] = order.tasks.inbox(order.actors["order_clerk"], scope="group")
    assert (view.element, view.overdue) == ("enter_order", True)
    assert order.notices_to("department_head") == ["订单 DO-2026-0001 超过一个工作日未录入"]
    order.complete("enter_order")  # late, but still done
    assert order.open_elements() == ["review_order"]


def test_delivery_is_due_on_the_delivery_date_entered(order):
    order.start()
    order.complete("enter_order", dict(DEFAULTS["enter_order"], delivery_date="2026-11-06"))
    order.run_until("deliver_order")
    assert order.task("deliver_order").due_at == at(2026, 11, 6, 17, 30)
    assert order.at(at(2026, 11, 6, 17, 31)) == 1
    assert order.notices_to("department_head") == ["订单 DO-2026-0001 已到交付日期仍未发运"]
    assert order.task("deliver_order").escalated_at is not None
