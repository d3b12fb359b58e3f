"""The four order procedures of the seed text besides the service procedure — customer order
management, order receiving, order-driven production and order execution — and every path
through each, written once as data. The task-layer tests run them with `OrderDriver`, the
API tests run the same paths over HTTP.

Every completion is checked against a fresh engine, as tests/driver.py does.
"""

import copy
from dataclasses import dataclass, field
from datetime import datetime

from .driver import SHANGHAI, Driver

PROCESSES = ("customer_order", "order_receiving", "order_production", "order_execution")

# Who starts an instance in these tests. Starting is still limited to applicant and
# center_staff (tasks/service.py); once the start event's lane decides, this becomes "sales"
# entering the customer's order on the customer's behalf.
STARTER = "sales"  # 业务员代客户下单: the customer lane's proxy

# Customer tasks are entered by sales staff on the customer's behalf (PROXY_ROLES).
LANE_USER = {"customer": "sales"}

CUSTOMER = "石家庄恒达机械有限公司"

ORDER = {
    "source": "direct",
    "received_via": "website",
    "customer_name": CUSTOMER,
    "contact_person": "李强",
    "phone": "0311-86001234",
    "delivery_address": "石家庄市长安区建设北大街 88 号",
    "items": [{"product": "齿轮箱", "specification": "JZQ-350", "quantity": 20, "unit": "台"}],
    "requested_delivery_date": "2026-10-30",
    "requirements": "木箱包装",
}

DEFAULTS = {
    "enter_order": {
        "customer_name": CUSTOMER,
        "contact_person": "李强",
        "phone": "0311-86001234",
        "delivery_address": "石家庄市长安区建设北大街 88 号",
        "lines": [
            {
                "product": "齿轮箱",
                "specification": "JZQ-350",
                "quantity": 20,
                "unit": "台",
                "unit_price": 4800,
                "amount": 96000,
            }
        ],
        "delivery_date": "2026-10-30",
        "payment_terms": "货到付款",
        "checked_against_original": True,
    },
    "review_order": {
        "decision": "accept",
        "legal": True,
        "complete": True,
        "within_capacity": True,
    },
    "answer_query": {"answer": "规格为 JZQ-350，共 20 台。", "corrections": "补充规格型号"},
    "send_confirmation": {
        "confirmed_price": 96000,
        "delivery_date": "2026-10-30",
        "payment_terms": "货到付款",
        "valid_until": "2026-10-15",
        "sent_via": "email",
    },
    "sign_confirmation": {"decision": "confirm", "signed": True},
    "confirm_order": {"decision": "confirm", "signed": True},
    "sign_contract": {"decision": "confirm", "signed": True},
    "analyse_order": {
        "capacity": "两条装配线可满足",
        "materials": "壳体需外购",
        "cycle_days": 15,
        "decision": "feasible",
    },
    "draft_contract": {
        "contract_number": "HT-2026-018",
        "specification": "齿轮箱 JZQ-350",
        "quantity": 20,
        "delivery_deadline": "2026-10-30",
        "amount": 96000,
    },
    "plan_production": {
        "start_date": "2026-10-12",
        "finish_date": "2026-10-23",
        "materials": [{"name": "铸铁壳体", "quantity": 20, "unit": "件", "in_stock": False}],
        "delivery_method": "logistics",
        "planned_ship_date": "2026-10-26",
    },
    "adjust_production_plan": {
        "start_date": "2026-10-12",
        "finish_date": "2026-10-27",
        "adjustment_reason": "设备检修，完工顺延两天",
    },
    "purchase_materials": {
        "purchases": [
            {
                "material": "铸铁壳体",
                "supplier": "邢台铸造厂",
                "quantity": 20,
                "unit": "件",
                "arrived_on": "2026-10-09",
                "quality_checked": True,
            }
        ]
    },
    "produce": {
        "plan_adjustment_needed": False,
        "completed_quantity": 20,
        "finished_on": "2026-10-23",
        "progress": "20 台已全部完工",
    },
    "inspect_quality": {
        "result": "pass",
        "inspected_quantity": 20,
        "specification_ok": True,
        "function_ok": True,
        "appearance_ok": True,
    },
    "rework_products": {"repaired_quantity": 2, "actions": "更换密封圈"},
    "deliver_order": {
        "quantity": 20,
        "method": "logistics",
        "carrier": "德邦物流",
        "tracking_number": "DB20261026001",
        "shipped_on": "2026-10-26",
        "expected_arrival": "2026-10-28",
    },
    "confirm_receipt": {
        "received_on": "2026-10-28",
        "received_quantity": 20,
        "satisfaction": 5,
        "comments": "包装完好",
    },
    "settle_order": {
        "invoice_number": "13000261",
        "invoiced_amount": 96000,
        "received_amount": 96000,
        "paid_on": "2026-11-05",
    },
    "track_order": {"status": "completed", "delivery_progress": "客户已签收"},
    "resolve_exception": {
        "measures": "协调生产部门加班补产",
        "customer_informed": True,
        "outcome": "resolved",
    },
    "supervise_exception": {"instructions": "今日内协调设备科抢修"},
    "escalate_exception": {"instructions": "同意外协加工"},
    "record_complaint": {
        "received_on": "2026-09-30",
        "channel": "phone",
        "complainant": "李强",
        "content": "两台齿轮箱漏油",
    },
    "analyse_complaint": {
        "cause": "密封圈批次质量问题",
        "measures": "更换密封圈并上门检修",
        "severity": "normal",
    },
    "report_serious_complaint": {"plan": "先行更换整机，责任部门三日内提交整改报告"},
    "answer_complaint": {
        "replied_on": "2026-10-02",
        "method": "phone",
        "reply": "已安排上门更换密封圈",
        "customer_satisfied": True,
    },
}

QUERY = {"decision": "query", "questions": "规格型号未写明，请客户确认"}
REJECT = {"decision": "reject", "reason": "超出本厂生产能力"}
DISPUTE = {"decision": "dispute", "comments": "交付时间应为 10 月 28 日"}
ADJUST = {"plan_adjustment_needed": True, "issues": "关键设备故障，需检修两天"}
REPAIR = {"result": "fail", "defects": "两台漏油", "disposal": "repair"}
REMAKE = {"result": "fail", "defects": "壳体尺寸超差", "disposal": "remake"}
ON_TRACK = {"status": "on_track", "production_progress": "已完成 12 台"}
EXCEPTION = {"status": "exception", "exception_description": "关键设备故障，可能延期交付"}
COMPLAINT = {"status": "complaint", "customer_contact": "客户来电反映漏油"}
CANCEL = {
    "measures": "无法按期交付，与客户协商",
    "outcome": "cancel_order",
    "cancel_reason": "客户同意取消",
}
SERIOUS = dict(DEFAULTS["analyse_complaint"], severity="serious")


# A filled-in example of every form these procedures added (by form key).
FORM_EXAMPLES = {
    "customer_order": ORDER,
    "order_entry": DEFAULTS["enter_order"],
    "order_review": DEFAULTS["review_order"],
    "customer_reply": DEFAULTS["answer_query"],
    "confirmation_document": DEFAULTS["send_confirmation"],
    "customer_confirmation": DEFAULTS["sign_confirmation"],
    "feasibility_analysis": DEFAULTS["analyse_order"],
    "contract": DEFAULTS["draft_contract"],
    "production_plan": DEFAULTS["plan_production"],
    "purchase_record": DEFAULTS["purchase_materials"],
    "production_report": DEFAULTS["produce"],
    "quality_inspection": DEFAULTS["inspect_quality"],
    "rework": DEFAULTS["rework_products"],
    "delivery": DEFAULTS["deliver_order"],
    "customer_feedback": DEFAULTS["confirm_receipt"],
    "settlement": DEFAULTS["settle_order"],
    "order_tracking": DEFAULTS["track_order"],
    "exception_handling": DEFAULTS["resolve_exception"],
    "escalation_instructions": DEFAULTS["supervise_exception"],
    "complaint_record": DEFAULTS["record_complaint"],
    "complaint_analysis": DEFAULTS["analyse_complaint"],
    "temporary_plan": DEFAULTS["report_serious_complaint"],
    "complaint_reply": DEFAULTS["answer_complaint"],
}


# What whoever placed the order is told when the default shipment leaves.
SHIPPED_NOTICE = (
    "订单 DO-2026-0001 已发货：德邦物流，运单号 DB20261026001，预计 2026-10-28 送达，请安排接收。"
)


def at(year, month, day, hour, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


# -- paths as data ------------------------------------------------------------------------------


@dataclass(frozen=True)
class At:
    """Move the clock (the timer sweep runs) and expect this many timers to fire."""

    when: datetime
    fired: int


@dataclass(frozen=True)
class Open:
    """The open tasks now, by element id."""

    elements: tuple[str, ...]

    def __init__(self, *elements):
        object.__setattr__(self, "elements", tuple(sorted(elements)))


@dataclass(frozen=True)
class Path:
    """Start (with `order` changes to the start form), then each step: an element id
    (complete with its defaults), (element id, data), At or Open; the instance then ends in
    `status`."""

    steps: tuple
    status: str
    order: dict = field(default_factory=dict)


# The main line of each procedure, as default completions.
CUSTOMER_ORDER_LINE = (
    "enter_order",
    "review_order",
    "plan_production",
    "produce",
    "deliver_order",
)
RECEIVING_LINE = (
    "enter_order",
    "review_order",
    "send_confirmation",
    "sign_confirmation",
    "plan_production",
    "purchase_materials",
    "produce",
    "inspect_quality",
)
PRODUCTION_LINE = (
    "analyse_order",
    "draft_contract",
    "sign_contract",
    "plan_production",
    "purchase_materials",
    "produce",
    "inspect_quality",
    "deliver_order",
    "confirm_receipt",
    "settle_order",
)
ACCEPTANCE = ("review_order", "enter_order", "confirm_order", "plan_production")
SHIPPED = ("produce", "deliver_order", "confirm_receipt")


def after(line, element):
    return line[line.index(element) + 1 :]


def before(line, element):
    return line[: line.index(element)]


PATHS: dict[str, dict[str, Path]] = {
    "customer_order": {
        "delivered": Path(CUSTOMER_ORDER_LINE, "archived"),
        "rejected": Path(("enter_order", ("review_order", REJECT), Open()), "rejected"),
        "queried_then_corrected": Path(
            (
                "enter_order",
                ("review_order", QUERY),
                Open("answer_query"),
                "answer_query",
                Open("enter_order"),
                *CUSTOMER_ORDER_LINE,
            ),
            "archived",
        ),
        "plan_adjusted": Path(
            (
                *before(CUSTOMER_ORDER_LINE, "produce"),
                ("produce", ADJUST),
                Open("adjust_production_plan"),
                "adjust_production_plan",
                Open("produce"),
                "produce",
                "deliver_order",
            ),
            "archived",
        ),
        "entry_overdue": Path(
            (
                At(at(2026, 10, 8, 17, 29), 0),
                At(at(2026, 10, 8, 17, 31), 1),
                Open("enter_order"),
                *CUSTOMER_ORDER_LINE,
            ),
            "archived",
        ),
        "delivery_overdue": Path(
            (
                *before(CUSTOMER_ORDER_LINE, "deliver_order"),
                At(at(2026, 10, 30, 17, 29), 0),
                At(at(2026, 10, 30, 17, 31), 1),
                Open("deliver_order"),
                "deliver_order",
            ),
            "archived",
        ),
    },
    "order_receiving": {
        "passed": Path(RECEIVING_LINE, "archived"),
        **{
            f"from_{source}": Path(RECEIVING_LINE, "archived", order)
            for source, order in {
                "sales_on_behalf": {"source": "sales_on_behalf", "sales_person": "王芳"},
                "channel": {"source": "channel", "channel_partner": "保定华北机电经销部"},
                "online_platform": {
                    "source": "online_platform",
                    "received_via": "platform",
                    "platform": "1688",
                    "platform_order_number": "1688-2026093000017",
                },
            }.items()
        },
        "rejected": Path(("enter_order", ("review_order", REJECT), Open()), "rejected"),
        "queried_then_corrected": Path(
            (
                "enter_order",
                ("review_order", QUERY),
                Open("answer_query"),
                "answer_query",
                Open("enter_order"),
                *RECEIVING_LINE,
            ),
            "archived",
        ),
        "confirmation_disputed": Path(
            (
                *before(RECEIVING_LINE, "sign_confirmation"),
                ("sign_confirmation", DISPUTE),
                Open("enter_order"),
                *RECEIVING_LINE,
            ),
            "archived",
        ),
        "plan_adjusted": Path(
            (
                *before(RECEIVING_LINE, "produce"),
                ("produce", ADJUST),
                "adjust_production_plan",
                Open("produce"),
                "produce",
                "inspect_quality",
            ),
            "archived",
        ),
        "repaired": Path(
            (
                *before(RECEIVING_LINE, "inspect_quality"),
                ("inspect_quality", REPAIR),
                Open("rework_products"),
                "rework_products",
                Open("inspect_quality"),
                "inspect_quality",
            ),
            "archived",
        ),
        "remade": Path(
            (
                *before(RECEIVING_LINE, "inspect_quality"),
                ("inspect_quality", REMAKE),
                Open("produce"),
                "produce",
                "inspect_quality",
            ),
            "archived",
        ),
        "entry_overdue": Path(
            (At(at(2026, 10, 8, 17, 31), 1), Open("enter_order"), *RECEIVING_LINE), "archived"
        ),
        "purchase_overdue": Path(
            (
                *before(RECEIVING_LINE, "purchase_materials"),
                At(at(2026, 10, 12, 8, 59), 0),
                At(at(2026, 10, 12, 9, 1), 1),
                Open("purchase_materials"),
                *after(RECEIVING_LINE, "plan_production"),
            ),
            "archived",
        ),
    },
    "order_production": {
        "settled": Path(PRODUCTION_LINE, "archived"),
        "infeasible": Path(
            (("analyse_order", {"decision": "infeasible", "reason": "缺少铸造能力"}), Open()),
            "rejected",
        ),
        "contract_disputed": Path(
            (
                "analyse_order",
                "draft_contract",
                ("sign_contract", DISPUTE),
                Open("draft_contract"),
                *after(PRODUCTION_LINE, "analyse_order"),
            ),
            "archived",
        ),
        "plan_adjusted_late": Path(
            (
                *before(PRODUCTION_LINE, "produce"),
                ("produce", ADJUST),
                Open("adjust_production_plan"),
                At(at(2026, 10, 8, 17, 31), 1),
                "adjust_production_plan",
                *after(PRODUCTION_LINE, "purchase_materials"),
            ),
            "archived",
        ),
        "repaired": Path(
            (
                *before(PRODUCTION_LINE, "inspect_quality"),
                ("inspect_quality", REPAIR),
                Open("rework_products"),
                "rework_products",
                *after(PRODUCTION_LINE, "produce"),
            ),
            "archived",
        ),
        "remade": Path(
            (
                *before(PRODUCTION_LINE, "inspect_quality"),
                ("inspect_quality", REMAKE),
                Open("produce"),
                *after(PRODUCTION_LINE, "purchase_materials"),
            ),
            "archived",
        ),
        "purchase_overdue": Path(
            (
                *before(PRODUCTION_LINE, "purchase_materials"),
                At(at(2026, 10, 12, 9, 1), 1),
                *after(PRODUCTION_LINE, "plan_production"),
            ),
            "archived",
        ),
        "delivery_overdue": Path(
            (
                *before(PRODUCTION_LINE, "deliver_order"),
                At(at(2026, 10, 30, 17, 31), 1),
                Open("deliver_order"),
                *after(PRODUCTION_LINE, "inspect_quality"),
            ),
            "archived",
        ),
    },
    "order_execution": {
        "completed": Path((*ACCEPTANCE, *SHIPPED, "track_order"), "archived"),
        "tracked_until_completed": Path(
            (
                *ACCEPTANCE,
                Open("produce", "track_order"),
                ("track_order", ON_TRACK),
                Open("produce", "track_order"),
                "produce",
                ("track_order", ON_TRACK),
                "deliver_order",
                "confirm_receipt",
                Open("track_order"),
                "track_order",
            ),
            "archived",
        ),
        "completed_before_shipping": Path(
            (*ACCEPTANCE, "track_order", Open("produce"), *SHIPPED), "archived"
        ),
        "rejected": Path((("review_order", REJECT), Open()), "rejected"),
        "queried_then_accepted": Path(
            (
                ("review_order", QUERY),
                Open("answer_query"),
                "answer_query",
                Open("review_order"),
                *ACCEPTANCE,
                *SHIPPED,
                "track_order",
            ),
            "archived",
        ),
        "details_disputed": Path(
            (
                "review_order",
                "enter_order",
                ("confirm_order", DISPUTE),
                Open("enter_order"),
                *after(ACCEPTANCE, "review_order"),
                *SHIPPED,
                "track_order",
            ),
            "archived",
        ),
        "plan_overdue": Path(
            (
                *before(ACCEPTANCE, "plan_production"),
                At(at(2026, 10, 8, 17, 31), 1),
                Open("plan_production"),
                "plan_production",
                *SHIPPED,
                "track_order",
            ),
            "archived",
        ),
        "plan_adjusted_delivery_overdue": Path(
            (
                *ACCEPTANCE,
                ("produce", ADJUST),
                Open("adjust_production_plan", "track_order"),
                "adjust_production_plan",
                "produce",
                At(at(2026, 10, 30, 17, 31), 1),
                *after(SHIPPED, "produce"),
                "track_order",
            ),
            "archived",
        ),
        "exception_resolved": Path(
            (
                *ACCEPTANCE,
                ("track_order", EXCEPTION),
                Open("produce", "resolve_exception"),
                "resolve_exception",
                Open("produce", "track_order"),
                *SHIPPED,
                "track_order",
            ),
            "archived",
        ),
        "exception_escalated": Path(
            (
                *ACCEPTANCE,
                ("track_order", EXCEPTION),
                At(at(2026, 10, 8, 17, 31), 1),
                Open("produce", "resolve_exception", "supervise_exception"),
                "supervise_exception",
                At(at(2026, 10, 10, 17, 31), 1),
                Open("escalate_exception", "produce", "resolve_exception"),
                "resolve_exception",
                Open("produce", "track_order"),
                *SHIPPED,
                "track_order",
            ),
            "archived",
        ),
        "exception_cancelled": Path(
            (*ACCEPTANCE, ("track_order", EXCEPTION), ("resolve_exception", CANCEL), Open()),
            "cancelled",
        ),
        "complaint_answered": Path(
            (
                *ACCEPTANCE,
                *SHIPPED,
                ("track_order", COMPLAINT),
                Open("record_complaint"),
                "record_complaint",
                "analyse_complaint",
                Open("answer_complaint"),
                "answer_complaint",
                Open("track_order"),
                "track_order",
            ),
            "archived",
        ),
        "serious_complaint": Path(
            (
                *ACCEPTANCE,
                ("track_order", COMPLAINT),
                "record_complaint",
                ("analyse_complaint", SERIOUS),
                Open("produce", "report_serious_complaint"),
                "report_serious_complaint",
                "answer_complaint",
                *SHIPPED,
                "track_order",
            ),
            "archived",
        ),
        "complaint_overdue": Path(
            (
                *ACCEPTANCE,
                ("track_order", COMPLAINT),
                "record_complaint",
                At(at(2026, 10, 10, 17, 29), 0),
                At(at(2026, 10, 10, 17, 31), 1),
                "analyse_complaint",  # the answer is late as soon as it opens: reminded at once
                At(at(2026, 10, 10, 17, 32), 0),
                Open("answer_complaint", "produce"),
                "answer_complaint",
                *SHIPPED,
                "track_order",
            ),
            "archived",
        ),
    },
}


def run_path(driver, path: Path) -> None:
    """Drive `path` with a driver offering start, complete, at and open_elements."""
    driver.start(dict(ORDER, **path.order))
    for step in path.steps:
        if isinstance(step, str):
            driver.complete(step)
        elif isinstance(step, At):
            assert driver.at(step.when) == step.fired, step
        elif isinstance(step, Open):
            assert tuple(driver.open_elements()) == step.elements, step
        else:
            element, data = step
            driver.complete(element, data)
    assert driver.open_elements() == []
    assert driver.status() == path.status


# -- the task-layer driver ----------------------------------------------------------------------


class OrderDriver(Driver):
    """Tests/driver.py's Driver, for one of the order procedures."""

    def __init__(self, system, clock, process):
        super().__init__(system, clock)
        self.process = process

    def start(self, data=None, as_=STARTER):
        data = copy.deepcopy(ORDER if data is None else data)
        instance = self.tasks.start(self.actors[as_], self.process, data)
        self.instance_id = instance.id
        self.check_round_trip()
        return instance

    def complete(self, element, data=None, as_=None, subject=None):
        row = self.task(element, subject)
        data = copy.deepcopy(DEFAULTS[element] if data is None else data)
        user = as_ or LANE_USER.get(row.role, row.role)
        instance = self.tasks.complete(self.actors[user], row.id, data)
        self.check_round_trip()
        return instance

    def run_until(self, element):
        """Start if need be, then complete every open task with its defaults until
        `element` is open."""
        if self.instance_id is None:
            self.start()
        while element not in self.open_elements():
            rows = self.open_tasks()
            assert rows, f"nothing open before {element}: the instance waits for a timer"
            for row in rows:
                self.complete(row.element)

    def status(self) -> str:
        return self.instance().status

    def notices_to(self, who) -> list[str]:
        return [n.text for n in self.notices() if who in (n.role, n.username)]
