"""Order receiving (接订单流程管理制度): orders from four sources, entry, review with queries back
to the customer, the confirmation the customer signs, then planning, purchasing,
manufacturing and quality inspection with rework of failed products."""

import pytest

from engine.errors import InvalidData

from .other_driver import (
    DEFAULTS,
    DISPUTE,
    ORDER,
    PATHS,
    REMAKE,
    REPAIR,
    STARTER,
    OrderDriver,
    at,
    run_path,
)

PROCESS = "order_receiving"


@pytest.fixture
def order(system, clock):
    return OrderDriver(system, clock, PROCESS)


@pytest.mark.parametrize("name", sorted(PATHS[PROCESS]))
def test_every_path(order, name):
    run_path(order, PATHS[PROCESS][name])


@pytest.mark.parametrize(
    ("source", "fields"),
    [
        ("sales_on_behalf", {"sales_person"}),
        ("channel", {"channel_partner"}),
        ("online_platform", {"platform", "platform_order_number"}),
    ],
)
def test_each_order_source_asks_for_its_own_details(order, source, fields):
    with pytest.raises(InvalidData) as error:
        order.start(dict(ORDER, source=source))
    assert set(error.value.fields) == fields
    with pytest.raises(InvalidData) as error:
        order.start(dict(ORDER, source=source, **{f: "" for f in fields}))
    assert set(error.value.fields) == fields


def test_an_unknown_source_is_refused(order):
    with pytest.raises(InvalidData) as error:
        order.start(dict(ORDER, source="fax_machine"))
    assert list(error.value.fields) == ["source"]


def test_the_stages_follow_the_text(order):
    order.start()
    stages = [order.instance().stage]
    for element in (
        "enter_order",
        "review_order",
        "send_confirmation",
        "sign_confirmation",
        "plan_production",
        "purchase_materials",
        "produce",
        "inspect_quality",
    ):
        order.complete(element)
        stages.append(order.instance().stage)
    assert stages == [
        "receiving",
        "review",
        "confirmation",
        "confirmation",
        "planning",
        "purchasing",
        "manufacturing",
        "inspection",
        "done",
    ]
    assert order.status() == "archived"
    assert order.notices_to(STARTER) == ["订单 DO-2026-0001 的产品已通过质量检验，准备交付。"]


def test_sending_the_confirmation_produces_the_document_the_customer_signs(order):
    order.run_until("send_confirmation")
    task = order.task("send_confirmation")
    assert (task.role, task.form_key) == ("sales", "confirmation_document")
    order.complete("send_confirmation")
    document = order.documents()["order_confirmation"]
    assert document.title == "订单确认书（DO-2026-0001）"
    for text in (
        "石家庄恒达机械有限公司",
        "齿轮箱",
        "JZQ-350",
        "96000",
        "2026-10-30",
        "2026-10-15",
    ):
        assert text in document.body
    [sign] = order.open_tasks()
    assert (sign.element, sign.role, sign.form_key) == (
        "sign_confirmation",
        "customer",
        "customer_confirmation",
    )


def test_the_signature_is_a_checked_box_or_the_signed_scan(order):
    order.run_until("sign_confirmation")
    with pytest.raises(InvalidData) as error:
        order.complete("sign_confirmation", {"decision": "confirm"})
    assert list(error.value.fields) == ["signed_file"]
    with pytest.raises(InvalidData) as error:
        order.complete("sign_confirmation", {"decision": "dispute"})
    assert list(error.value.fields) == ["comments"]
    scan = order.upload(as_="sales", name="订单确认书-签字.pdf")
    order.complete("sign_confirmation", {"decision": "confirm", "signed_file": scan})
    assert order.open_elements() == ["plan_production"]
    [signed] = [e for e in order.events("task_completed") if e.element == "sign_confirmation"]
    assert (signed.actor, signed.data["on_behalf_of"]) == ("sales", "customer")


def test_a_disputed_confirmation_goes_back_to_the_entry_and_is_confirmed_again(order):
    order.run_until("sign_confirmation")
    order.complete("sign_confirmation", DISPUTE)
    assert order.open_elements() == ["enter_order"]
    order.complete("enter_order", dict(DEFAULTS["enter_order"], delivery_date="2026-10-28"))
    order.complete("review_order")
    order.complete(
        "send_confirmation", dict(DEFAULTS["send_confirmation"], delivery_date="2026-10-28")
    )
    assert "2026-10-28" in order.documents()["order_confirmation"].body
    order.complete("sign_confirmation")
    assert order.open_elements() == ["plan_production"]
    assert len([e for e in order.events("document_generated")]) == 2


@pytest.mark.parametrize(("failed", "rework"), [(REPAIR, "rework_products"), (REMAKE, "produce")])
def test_failed_products_are_repaired_or_made_again_then_inspected_again(order, failed, rework):
    order.run_until("inspect_quality")
    with pytest.raises(InvalidData) as error:
        order.complete("inspect_quality", {"result": "fail"})
    assert set(error.value.fields) == {"defects", "disposal"}
    order.complete("inspect_quality", failed)
    [task] = order.open_tasks()
    assert (task.element, task.role) == (rework, "production")
    order.complete(rework)
    if rework == "produce":
        assert order.open_elements() == ["inspect_quality"]
    order.complete("inspect_quality")
    assert order.status() == "archived"
    inspections = [e for e in order.events("task_completed") if e.element == "inspect_quality"]
    assert [e.data["data"]["result"] for e in inspections] == ["fail", "pass"]


def test_the_entry_is_due_the_next_working_day(order):
    order.start()
    assert order.task("enter_order").due_at == at(2026, 10, 8, 17, 30)
    assert order.at(at(2026, 10, 8, 17, 31)) == 1
    assert order.notices_to("department_head") == ["订单 DO-2026-0001 超过一个工作日未录入"]


def test_materials_are_due_when_production_is_planned_to_start(order):
    order.run_until("plan_production")
    order.complete("plan_production", dict(DEFAULTS["plan_production"], start_date="2026-10-19"))
    purchase = order.task("purchase_materials")
    assert (purchase.role, purchase.due_at) == ("purchasing", at(2026, 10, 19, 9, 0))
    assert order.at(at(2026, 10, 19, 9, 0)) == 1
    assert order.notices_to("department_head") == [
        "订单 DO-2026-0001 原材料未能在计划开工日前到位，可能导致生产延期"
    ]
    order.complete("purchase_materials")
    assert order.open_elements() == ["produce"]
