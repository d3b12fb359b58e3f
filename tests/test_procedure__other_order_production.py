"""Order-driven production (订单式生产流程): the ten steps from receiving and analysing the
order, through contract, plan, purchasing, production with plan adjustments, inspection,
packing and delivery, to the customer's feedback and settlement with finance."""

import pytest

from engine.errors import InvalidData

from .other_driver import (
    ADJUST,
    DEFAULTS,
    DISPUTE,
    PATHS,
    PRODUCTION_LINE,
    SHIPPED_NOTICE,
    STARTER,
    OrderDriver,
    at,
    run_path,
)

PROCESS = "order_production"

# Each step of the seed text: the task, who does it, and the stage it belongs to.
TEN_STEPS = [
    ("analyse_order", "production", "analysis"),  # 1. 订单接收与分析
    ("draft_contract", "production", "contract"),  # 2. 订单确认与合同签署
    ("sign_contract", "customer", "contract"),
    ("plan_production", "production", "planning"),  # 3. 生产计划制定
    ("purchase_materials", "purchasing", "purchasing"),  # 4. 原材料采购
    ("produce", "production", "production"),  # 5. 生产过程 (6. 调整: its own test)
    ("inspect_quality", "quality", "inspection"),  # 7. 质量检验
    ("deliver_order", "warehouse", "delivery"),  # 8. 包装与配送
    ("confirm_receipt", "customer", "feedback"),  # 9. 产品交付与客户反馈
    ("settle_order", "finance", "settlement"),  # 10. 订单结算
]


@pytest.fixture
def order(system, clock):
    return OrderDriver(system, clock, PROCESS)


@pytest.mark.parametrize("name", sorted(PATHS[PROCESS]))
def test_every_path(order, name):
    run_path(order, PATHS[PROCESS][name])


def test_the_ten_steps_run_in_order_each_by_its_department(order):
    assert [element for element, _role, _stage in TEN_STEPS] == list(PRODUCTION_LINE)
    order.start()
    for element, role, stage in TEN_STEPS:
        [task] = order.open_tasks()
        assert (task.element, task.role, task.stage) == (element, role, stage)
        assert order.instance().stage == stage
        order.complete(element)
    instance = order.instance()
    assert (instance.status, instance.stage, instance.file_number) == (
        "archived",
        "done",
        "DO-2026-0001",
    )
    assert instance.data["settle_order"]["received_amount"] == 96000
    assert order.notices_to(STARTER) == [SHIPPED_NOTICE]


def test_an_infeasible_order_ends_rejected_with_its_reason(order):
    order.start()
    with pytest.raises(InvalidData) as error:
        order.complete("analyse_order", {"decision": "infeasible"})
    assert list(error.value.fields) == ["reason"]
    order.complete("analyse_order", {"decision": "infeasible", "reason": "缺少铸造能力"})
    assert (order.status(), order.instance().stage) == ("rejected", "done")
    assert order.notices_to(STARTER) == ["订单 DO-2026-0001 未被接受：缺少铸造能力"]


def test_the_customer_disputes_the_contract_and_production_redrafts_it(order):
    order.run_until("sign_contract")
    order.complete("sign_contract", DISPUTE)
    assert order.open_elements() == ["draft_contract"]
    detail = order.tasks.task(order.actors["production"], order.task("draft_contract").id)
    assert detail.data["contract_number"] == "HT-2026-018"  # the draft, to change
    order.complete(
        "draft_contract", dict(DEFAULTS["draft_contract"], delivery_deadline="2026-10-28")
    )
    order.complete("sign_contract")
    assert order.open_elements() == ["plan_production"]
    assert order.instance().data["draft_contract"]["delivery_deadline"] == "2026-10-28"


def test_a_production_problem_adjusts_the_plan_within_a_working_day(order):
    order.run_until("produce")
    with pytest.raises(InvalidData) as error:
        order.complete("produce", {"plan_adjustment_needed": True})
    assert list(error.value.fields) == ["issues"]
    with pytest.raises(InvalidData) as error:
        order.complete("produce", {"plan_adjustment_needed": False})
    assert set(error.value.fields) == {"completed_quantity", "finished_on"}
    order.complete("produce", ADJUST)
    adjust = order.task("adjust_production_plan")
    assert (adjust.role, adjust.form_key, adjust.due_at) == (
        "production",
        "production_plan",
        at(2026, 10, 8, 17, 30),
    )
    assert order.at(at(2026, 10, 8, 17, 31)) == 1
    assert order.notices_to("department_head") == ["订单 DO-2026-0001 生产计划超过一个工作日未调整"]
    order.complete("adjust_production_plan")
    assert order.open_elements() == ["produce"]


def test_delivery_is_due_by_the_contract_deadline(order):
    order.run_until("draft_contract")
    order.complete(
        "draft_contract", dict(DEFAULTS["draft_contract"], delivery_deadline="2026-11-06")
    )
    order.run_until("deliver_order")
    assert order.task("deliver_order").due_at == at(2026, 11, 6, 17, 30)
    assert order.at(at(2026, 11, 6, 17, 29)) == 0
    assert order.at(at(2026, 11, 6, 17, 30)) == 1
    assert order.notices_to("department_head") == ["订单 DO-2026-0001 已到合同交货期限仍未发运"]


def test_purchasing_is_due_at_the_planned_start(order):
    order.run_until("purchase_materials")
    assert order.task("purchase_materials").due_at == at(2026, 10, 12, 9, 0)


def test_settlement_needs_the_invoice_and_the_payment(order):
    order.run_until("settle_order")
    with pytest.raises(InvalidData) as error:
        order.complete("settle_order", {"invoice_number": "13000261"})
    assert set(error.value.fields) == {"invoiced_amount", "received_amount", "paid_on"}
    assert order.open_elements() == ["settle_order"]
