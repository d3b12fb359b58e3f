"""A wrong submission names every wrong field, once, in plain words, in English and Chinese."""

import copy
from pathlib import Path

import pytest

from forms import FormRegistry, FormValidationError

FORMS_DIR = Path(__file__).resolve().parents[1] / "processes" / "forms"


@pytest.fixture(scope="module")
def registry():
    return FormRegistry.from_directory(FORMS_DIR)


def errors(registry, key, data):
    with pytest.raises(FormValidationError) as caught:
        registry.get(key).validate(data)
    return caught.value


def application(**changes):
    data = {
        "unit_name": "石家庄市长安区中小企业局",
        "unit_type": "sme_department",
        "region": "石家庄市 长安区",
        "contact_person": "王丽",
        "phone": "0311-86012345",
        "topics": ["management"],
        "expected_enterprises": 30,
        "needs": "质量管理培训",
        "qualification_documents": ["file-1"],
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.parametrize("data", [[], "accept", None, 3])
def test_a_submission_must_be_an_object(registry, data):
    error = errors(registry, "review_application", data)
    assert error.fields == {"": "must be an object"}
    assert error.messages("zh-CN") == {"": "必须是对象"}


def test_wrong_type_is_named(registry):
    error = errors(registry, "application", application(expected_enterprises="三十"))
    assert error.fields == {"expected_enterprises": "must be an integer"}


def test_booleans_are_not_integers(registry):
    error = errors(registry, "application", application(expected_enterprises=True))
    assert error.fields == {"expected_enterprises": "must be an integer"}


def test_a_fraction_is_not_an_integer(registry):
    error = errors(registry, "application", application(expected_enterprises=2.5))
    assert error.fields == {"expected_enterprises": "must be an integer"}


def test_missing_required_field_is_named_by_its_own_path(registry):
    error = errors(registry, "application", application(unit_name=None))
    assert error.fields == {"unit_name": "required"}
    assert error.messages("zh-CN") == {"unit_name": "必填"}


def test_missing_field_in_a_row_is_named_by_its_path(registry):
    data = {"enterprises": [{"name": "甲公司"}, {"industry": "机械"}], "survey_date": "2026-10-12"}
    error = errors(registry, "survey_plan", data)
    assert error.fields == {"enterprises.1.name": "required"}


def test_unknown_enum_value_lists_the_choices(registry):
    error = errors(registry, "review_application", {"decision": "maybe"})
    assert error.fields == {"decision": "must be one of: accept, reject"}
    zh = error.messages("zh-CN")["decision"]
    assert "予以受理（accept）" in zh
    assert "不予受理（reject）" in zh


def test_unknown_value_in_a_list_is_named_by_its_index(registry):
    # The questionnaire's service areas are still a closed list (the application's are not).
    data = {"service_areas": ["quality", "cooking"]}
    error = errors(registry, "questionnaire", data)
    assert list(error.fields) == ["service_areas.1"]
    assert error.fields["service_areas.1"].startswith("must be one of: management, technology")
    assert "安全生产（work_safety）" in error.messages("zh-CN")["service_areas.1"]


def test_a_wrong_item_of_a_list_is_named_by_its_index(registry):
    error = errors(registry, "application", application(topics=["management", "", 7]))
    assert error.fields == {"topics.1": "must not be empty", "topics.2": "must be a text"}


@pytest.mark.parametrize("value", ["county_bureau", "行业协会", "x" * 100])
def test_a_unit_type_not_in_the_suggestions_is_accepted(registry, value):
    # PROCEDURE.md names unit types only in prose: clients may spell them their own way.
    registry.get("application").validate(application(unit_type=value))


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("", "must not be empty"),
        ("x" * 101, "must be at most 100 characters"),
        (1, "must be a text"),
        (None, "required"),
        (["sme_department"], "must be a text"),
    ],
)
def test_a_unit_type_must_be_a_short_non_empty_text(registry, value, why):
    data = application()
    data["unit_type"] = value
    if value is None:
        del data["unit_type"]
    assert errors(registry, "application", data).fields == {"unit_type": why}


def test_topics_not_in_the_suggestions_are_accepted(registry):
    topics = ["management", "export", "数字化转型"]
    cleaned = registry.get("application").validate(application(topics=topics))
    assert cleaned["topics"] == topics


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("", "must not be empty"),
        ("x" * 101, "must be at most 100 characters"),
        (3, "must be a text"),
        (None, "must be a text"),
        ({"name": "legal"}, "must be a text"),
    ],
)
def test_a_topic_must_be_a_short_non_empty_text(registry, value, why):
    error = errors(registry, "application", application(topics=["legal", value]))
    assert error.fields == {"topics.1": why}


def test_unknown_field_is_named(registry):
    error = errors(registry, "review_application", {"decision": "accept", "foo": 1})
    assert error.fields == {"foo": "unknown field"}
    assert error.messages("zh-CN") == {"foo": "未知字段"}


def test_unknown_field_in_a_row_is_named(registry):
    data = {"items": [{"category": "venue", "amount": 100, "colour": "red"}]}
    error = errors(registry, "budget", data)
    assert error.fields == {"items.0.colour": "unknown field"}


def test_empty_list_is_refused_where_one_item_is_needed(registry):
    error = errors(registry, "survey_plan", {"enterprises": [], "survey_date": "2026-10-12"})
    assert error.fields == {"enterprises": "at least 1 item required"}
    assert error.messages("zh-CN") == {"enterprises": "至少需要 1 项"}


def test_a_required_text_may_not_be_empty(registry):
    error = errors(registry, "application", application(unit_name=""))
    assert error.fields == {"unit_name": "must not be empty"}


def test_duplicate_topics_are_refused(registry):
    error = errors(registry, "application", application(topics=["legal", "legal"]))
    assert error.fields == {"topics": "must not contain duplicates"}


def test_scores_are_one_to_five(registry):
    data = {"content_score": 0, "expert_score": 6, "organisation_score": 3, "stamped": True}
    error = errors(registry, "evaluation", data)
    assert error.fields == {
        "content_score": "must be at least 1",
        "expert_score": "must be at most 5",
    }


def test_every_error_is_reported_not_just_the_first(registry):
    data = {
        "unit_type": "",
        "region": "石家庄市",
        "contact_person": "王丽",
        "phone": "not a phone",
        "topics": [],
        "expected_enterprises": 0,
        "needs": "x",
        "qualification_documents": [],
        "extra": True,
    }
    error = errors(registry, "application", data)
    assert error.fields == {
        "unit_name": "required",
        "unit_type": "must not be empty",
        "phone": "must be a phone number",
        "topics": "at least 1 item required",
        "expected_enterprises": "must be at least 1",
        "qualification_documents": "at least 1 item required",
        "extra": "unknown field",
    }
    assert set(error.messages("zh-CN")) == set(error.fields)


def test_one_message_per_field_the_basic_one_first(registry):
    # A number where a list is wanted is "must be a list", not also "at least 1 item".
    error = errors(registry, "application", application(topics=5))
    assert error.fields == {"topics": "must be a list"}


def test_messages_in_each_language_have_the_same_fields(registry):
    error = errors(registry, "official_letter", {"activity_date": "tomorrow", "venue": 3})
    assert error.fields == {
        "activity_date": "must be a date-time with a UTC offset",
        "venue": "must be a text",
        "programme": "required",
    }
    assert error.messages("zh-CN") == {
        "activity_date": "必须是带时区的日期时间，如 2026-10-15T09:00:00+08:00",
        "venue": "必须是文本",
        "programme": "必填",
    }
    assert error.messages("en") == error.fields
    assert error.messages("zh") == error.messages("zh-CN")


def test_the_error_says_which_form_and_reads_as_text(registry):
    error = errors(registry, "review_application", {"decision": "maybe"})
    assert error.form_key == "review_application"
    assert "decision: must be one of: accept, reject" in str(error)
    assert isinstance(error, ValueError)


def test_a_refused_submission_is_not_changed(registry):
    data = {"items": [{"category": "venue", "amount": -1}], "total": 5}
    before = copy.deepcopy(data)
    errors(registry, "budget", data)
    assert data == before


def test_not_a_number_is_refused(registry):
    data = {"items": [{"category": "venue", "amount": float("nan")}]}
    error = errors(registry, "budget", data)
    assert error.fields == {"items.0.amount": "must be a number"}


EXPERT = {
    "name": "张教授",
    "organisation": "河北经贸大学",
    "specialty": "融资",
    "qualification": "教授",
}


@pytest.mark.parametrize(
    ("form_key", "rest", "field", "row"),
    [
        ("survey_plan", {"survey_date": "2026-10-12"}, "enterprises", {"name": "甲公司"}),
        ("activity_record", {}, "served_enterprises", {"name": "甲公司"}),
        ("expert_selection", {}, "experts", EXPERT),
    ],
)
def test_a_name_twice_in_a_list_of_per_item_tasks_is_refused(registry, form_key, rest, field, row):
    """Each row opens a task named by it and its record is kept under that name: two rows
    of one name would open two tasks and keep one answer."""
    other, again = {**row, "name": "乙公司"}, {**row, "name": f" {row['name']} "}
    caught = errors(registry, form_key, {**rest, field: [row, other, again]})
    assert caught.fields == {f"{field}.2.name": "appears twice in the list"}
    assert "重复" in caught.messages("zh-CN")[f"{field}.2.name"]
    registry.get(form_key).validate({**rest, field: [row, other]})  # distinct names: fine
