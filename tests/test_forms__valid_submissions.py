"""A filled-in example of every form passes, comes back as a copy, and is left untouched."""

import copy
from pathlib import Path

import pytest

from forms import FormRegistry, FormValidationError

from .other_driver import FORM_EXAMPLES as ORDER_EXAMPLES

FORMS_DIR = Path(__file__).resolve().parents[1] / "processes" / "forms"

EXAMPLES = {
    "application": {
        "unit_name": "石家庄市长安区中小企业局",
        "unit_type": "sme_department",
        "region": "石家庄市 长安区",
        "contact_person": "王丽",
        "phone": "0311-86012345",
        "topics": ["management", "quality", "work_safety"],
        "expected_enterprises": 30,
        "preferred_period": "2026年10月下旬",
        "needs": "辖区内机械加工企业希望了解质量管理体系认证和安全生产标准化。",
        "qualification_documents": ["file-licence-001", "file-letter-002"],
    },
    "review_application": {"decision": "accept"},
    "overdue_review": {"action_taken": "已电话督促经办人员当日办结。"},
    "survey_plan": {
        "enterprises": [
            {"name": "河北恒达机械有限公司", "industry": "机械制造", "contact": "李强"},
            {"name": "石家庄华信包装有限公司", "phone": "13800138000"},
        ],
        "survey_date": "2026-10-12",
        "needs_to_probe": "质量管理现状、安全生产培训需求",
    },
    "questionnaire": {
        "industry": "机械制造",
        "employees": 85,
        "annual_revenue_band": "10m_to_50m",
        "main_problems": "质量管理体系不健全，一线员工安全意识薄弱。",
        "service_areas": ["quality", "work_safety"],
        "preferred_mode": "lecture",
        "preferred_time": "工作日下午",
    },
    "site_survey_report": {
        "survey_date": "2026-10-12",
        "place": "长安区中小企业局三楼会议室",
        "participants": "服务中心张敏、区局王丽、12家企业代表",
        "needs_summary": "企业普遍关注质量管理体系认证和安全生产标准化。",
        "recommendation": "举办一次质量管理讲座，并安排专家对三家企业一对一诊断。",
        "attachments": ["file-photo-010"],
    },
    "service_design": {
        "content": "质量管理体系认证实务；安全生产标准化建设。",
        "mode": "lecture",
        "schedule_outline": "上午讲座，下午现场咨询。",
    },
    "confirm_service_design": {"decision": "agree"},
    "expert_selection": {
        "experts": [
            {
                "name": "赵建国",
                "organisation": "河北省质量技术研究院",
                "specialty": "质量管理",
                "qualification": "高级工程师",
                "experience": "从事质量体系咨询二十年",
            }
        ]
    },
    "content_outline": {
        "topic": "中小企业质量管理体系建设",
        "outline": "一、体系框架；二、认证流程；三、常见问题。",
    },
    "content_review": {"decision": "pass"},
    "coordinators": {
        "division_coordinator": "刘洋",
        "division_coordinator_phone": "0311-87001234",
        "center_coordinator": "张敏",
        "center_coordinator_phone": "0311-87005678",
    },
    "budget": {
        "items": [
            {"category": "expert_fee", "description": "专家授课费 2人×1天", "amount": 3000},
            {"category": "travel", "description": "专家往返交通", "amount": 420.5},
            {"category": "materials", "amount": 200},
        ],
        "remarks": "场地由申请单位提供。",
    },
    "budget_approval": {"decision": "approve", "comments": "同意。"},
    "official_letter": {
        "activity_date": "2026-10-20T09:00:00+08:00",
        "venue": "长安区中小企业局三楼会议室",
        "programme": "09:00 报到\n09:30 质量管理讲座\n14:00 现场咨询",
    },
    "activity_record": {
        "served_enterprises": [
            {"name": "河北恒达机械有限公司", "attendees": 3},
            {"name": "石家庄华信包装有限公司"},
        ],
        "summary": "共 12 家企业 30 人参加。",
    },
    "evaluation": {
        "content_score": 5,
        "expert_score": 4,
        "organisation_score": 5,
        "comments": "内容实用。",
        "stamped": True,
    },
    "activity_tracking": {"summary": "活动按计划进行，企业反响良好。"},
    "follow_up": {
        "visit_date": "2026-10-27",
        "method": "phone",
        "effect": "企业已着手建立质量管理制度。",
        "extended_service_needed": False,
    },
    "extended_service": {
        "institution": "河北诚信认证咨询有限公司",
        "enterprise": "河北恒达机械有限公司",
        "agreement_summary": "协助企业取得 ISO 9001 认证。",
        "contract_price": 18000,
        "quality_monitoring": "服务中心每月回访一次，验收后付款。",
    },
    "archive": {},
}


# Forms whose keys PROCEDURE.md's contract table does not fix: a client that knows only
# the contract completes their tasks with `{}`.
NON_CONTRACT_FORMS = [
    "activity_tracking",
    "archive",
    "content_outline",
    "coordinators",
    "extended_service",
    "overdue_review",
    "questionnaire",
    "service_design",
    "site_survey_report",
]

WRONG_VALUE = {"string": 12, "integer": "12", "number": "12", "boolean": "yes", "array": "x"}


@pytest.fixture(scope="module")
def registry():
    return FormRegistry.from_directory(FORMS_DIR)


def test_there_is_an_example_for_every_shipped_form(registry):
    # The order procedures' forms have their examples beside their paths.
    assert set(EXAMPLES) | set(ORDER_EXAMPLES) == set(registry.keys())


@pytest.mark.parametrize("key", sorted(ORDER_EXAMPLES))
def test_order_procedure_examples_pass(registry, key):
    registry.get(key).validate(ORDER_EXAMPLES[key])


@pytest.mark.parametrize("key", sorted(EXAMPLES))
def test_example_passes_and_comes_back_as_a_copy(registry, key):
    data = EXAMPLES[key]
    before = copy.deepcopy(data)
    cleaned = registry.get(key).validate(data)
    assert data == before  # the input is never changed
    assert cleaned is not data
    assert {k: v for k, v in cleaned.items() if k != "total"} == data


def test_nested_rows_of_the_cleaned_data_are_copies(registry):
    data = EXAMPLES["survey_plan"]
    cleaned = registry.get("survey_plan").validate(data)
    cleaned["enterprises"][0]["name"] = "changed"
    assert data["enterprises"][0]["name"] == "河北恒达机械有限公司"


def test_only_the_contract_keys_are_enough(registry):
    """API clients send the keys of PROCEDURE.md; the other fields of those forms are optional."""
    minimal = {
        "survey_plan": {"enterprises": [{"name": "甲公司"}], "survey_date": "2026-10-12"},
        "follow_up": {"method": "visit", "extended_service_needed": False},
        "activity_record": {"served_enterprises": [{"name": "甲公司"}]},
        "evaluation": {
            "content_score": 3,
            "expert_score": 3,
            "organisation_score": 3,
            "stamp_file": "file-1",
        },
        "expert_selection": {
            "experts": [
                {"name": "赵", "organisation": "院", "specialty": "质量", "qualification": "高工"}
            ]
        },
    }
    for key, data in minimal.items():
        registry.get(key).validate(data)


@pytest.mark.parametrize("key", NON_CONTRACT_FORMS)
def test_a_form_outside_the_contract_accepts_an_empty_submission(registry, key):
    assert registry.get(key).validate({}) == {}


def test_exactly_the_forms_outside_the_contract_accept_an_empty_submission(registry):
    accepted = []
    for form in registry:
        if form.key in ORDER_EXAMPLES:
            continue  # the order procedures: their own tests say which accept {}
        try:
            form.validate({})
        except FormValidationError:
            continue
        accepted.append(form.key)
    assert accepted == NON_CONTRACT_FORMS


@pytest.mark.parametrize("key", NON_CONTRACT_FORMS)
def test_a_form_outside_the_contract_still_checks_what_is_sent(registry, key):
    form = registry.get(key)
    with pytest.raises(FormValidationError) as caught:
        form.validate({"not_a_field": 1})
    assert caught.value.fields == {"not_a_field": "unknown field"}
    for name, prop in form.schema["properties"].items():
        with pytest.raises(FormValidationError) as caught:
            form.validate({name: WRONG_VALUE[prop["type"]]})
        assert caught.value.fields[name].startswith("must be"), name


def test_a_form_outside_the_contract_still_checks_formats(registry):
    with pytest.raises(FormValidationError) as caught:
        registry.get("site_survey_report").validate({"survey_date": "12.10.2026"})
    assert caught.value.fields == {"survey_date": "must be a date (YYYY-MM-DD)"}


def test_the_follow_up_effect_is_optional_but_not_empty(registry):
    form = registry.get("follow_up")
    form.validate({"method": "phone", "extended_service_needed": False})
    with pytest.raises(FormValidationError) as caught:
        form.validate({"method": "phone", "effect": "", "extended_service_needed": False})
    assert caught.value.fields == {"effect": "must not be empty"}


def test_titles_in_both_languages(registry):
    budget = registry.get("budget")
    assert budget.title() == "订单式服务内容及费用审批表"
    assert budget.title("en") == "Order-based service content and cost approval form"
