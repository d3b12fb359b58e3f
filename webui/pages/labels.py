"""What the pages call things: stages, statuses, roles, times — one list each."""

import hashlib
from datetime import datetime

from flask_babel import get_locale
from flask_babel import gettext as _
from lxml import etree

from engine import bpmn_xml
from engine.calendar import SHANGHAI
from engine.errors import InvalidBpmn


def N_(message: str) -> str:
    """Marks a message for extraction (a pybabel default keyword); translated where shown."""
    return message


STAGES = {
    "application": N_("申请"),
    "survey": N_("调查"),
    "preparation": N_("筹备"),
    "implementation": N_("实施"),
    "follow_up": N_("回访"),
    "archiving": N_("归档"),
    # the order procedures
    "receiving": N_("接单"),
    "review": N_("评审"),
    "confirmation": N_("确认"),
    "contract": N_("合同"),
    "planning": N_("计划"),
    "purchasing": N_("采购"),
    "production": N_("生产"),
    "manufacturing": N_("制造"),
    "inspection": N_("检验"),
    "delivery": N_("交付"),
    "acceptance": N_("验收"),
    "feedback": N_("反馈"),
    "settlement": N_("结算"),
    "execution": N_("执行"),
    "exception": N_("异常处理"),
    "complaint": N_("投诉处理"),
    "analysis": N_("分析"),
}
DONE = N_("已完成")
STATUSES = {
    "running": N_("进行中"),
    "rejected": N_("不予受理"),
    "archived": N_("已归档"),
    "cancelled": N_("已取消"),
    "failed": N_("出错"),
}
ROLE_NAMES = {
    "applicant": N_("申请单位"),
    "center_staff": N_("服务中心经办人员"),
    "center_head": N_("服务中心负责人"),
    "division_head": N_("省局创新服务处负责人"),
    "expert": N_("专家"),
    "enterprise": N_("接受服务企业"),
    "customer": N_("客户"),
    "sales": N_("业务员"),
    "order_clerk": N_("订单管理员"),
    "production": N_("生产部门"),
    "purchasing": N_("采购部门"),
    "quality": N_("质检部门"),
    "warehouse": N_("仓储物流"),
    "finance": N_("财务部门"),
    "department_head": N_("部门负责人"),
    "management": N_("公司领导"),
    "process_owner": N_("流程管理员"),
    "auditor": N_("审计人员"),
    "admin": N_("系统管理员"),
}


def english() -> bool:
    locale = get_locale()
    return locale is not None and locale.language == "en"


def stage_name(stage: str | None) -> str:
    if stage == "done":
        return _(DONE)
    return _(STAGES[stage]) if stage in STAGES else stage or "—"


def status_name(status: str | None) -> str:
    return _(STATUSES[status]) if status in STATUSES else status or "—"


def role_name(role: str | None) -> str:
    return _(ROLE_NAMES[role]) if role in ROLE_NAMES else role or "—"


def local_time(value: datetime | str | None) -> str:
    """Beijing time to the minute, as clerks write it: 2026-10-08 17:30."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def process_name(version) -> str:
    """A deployed process as people call it: its BPMN name, in English the `name_en`
    property of its <bpmn:process> (as every other element's English name) when it has one."""
    if english():
        name_en = _process_name_en(version.key, version.sha256, version.bpmn, version.filename)
        if name_en:
            return name_en
    return version.name or version.key


_NAMES_EN: dict[tuple[str, str], str | None] = {}  # (key, sha256): a version never changes


def _process_name_en(key: str, sha256: str, bpmn: str, filename: str) -> str | None:
    if (key, sha256) not in _NAMES_EN:
        try:
            tree = bpmn_xml.parse(bpmn, filename)
        except InvalidBpmn:
            found = None
        else:
            found = next(
                (
                    bpmn_xml.properties(process).get("name_en")
                    for process in tree.getroot().iterfind("bpmn:process", bpmn_xml.NS)
                    if process.get("id") == key
                ),
                None,
            )
        _NAMES_EN[key, sha256] = found
    return _NAMES_EN[key, sha256]


_SHOWN: dict[tuple, str] = {}  # (the XML's SHA-256, in English, locale): its shown text


def shown_diagram(xml: str) -> str:
    """A diagram as the viewer shows it to people: each lane by its role's name (the lane
    is named by the role key, which is what the engine reads) and, in English, each
    element by its `name_en`. Ids are untouched, so the markers still find them."""
    in_english = english()
    key = (hashlib.sha256(xml.encode("utf-8")).hexdigest(), in_english, str(get_locale()))
    if key not in _SHOWN:
        try:
            tree = bpmn_xml.parse(xml, "diagram")
        except InvalidBpmn:
            return xml
        for node in tree.getroot().iter():
            if not isinstance(node.tag, str):
                continue
            if node.tag == f"{{{bpmn_xml.BPMN_NS}}}lane" and node.get("name") in ROLE_NAMES:
                node.set("name", role_name(node.get("name")))
            elif in_english and node.get("name"):
                name_en = bpmn_xml.properties(node).get("name_en")
                if name_en:
                    node.set("name", name_en)
        _SHOWN[key] = etree.tostring(tree, encoding="unicode")
    return _SHOWN[key]
