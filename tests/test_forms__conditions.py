"""Fields a decision or a choice makes required: reasons, comments, descriptions, the stamp."""

from pathlib import Path

import pytest

from forms import FormRegistry, FormValidationError

FORMS_DIR = Path(__file__).resolve().parents[1] / "processes" / "forms"


@pytest.fixture(scope="module")
def registry():
    return FormRegistry.from_directory(FORMS_DIR)


def refused(registry, key, data):
    with pytest.raises(FormValidationError) as caught:
        registry.get(key).validate(data)
    return caught.value.fields


# (form, the decision that needs a word of explanation, the field that must carry it, the other)
EXPLAINED = [
    ("review_application", "reject", "reason", "accept"),
    ("confirm_service_design", "revise", "comments", "agree"),
    ("content_review", "revise", "comments", "pass"),
    ("budget_approval", "reject", "comments", "approve"),
]


@pytest.mark.parametrize(("key", "decision", "field", "other"), EXPLAINED)
def test_a_negative_decision_needs_its_explanation(registry, key, decision, field, other):
    assert refused(registry, key, {"decision": decision}) == {field: "required"}
    assert refused(registry, key, {"decision": decision, field: ""}) == {field: "must not be empty"}
    registry.get(key).validate({"decision": decision, field: "材料不全，请补充。"})


@pytest.mark.parametrize(("key", "decision", "field", "other"), EXPLAINED)
def test_a_positive_decision_needs_none(registry, key, decision, field, other):
    registry.get(key).validate({"decision": other})
    registry.get(key).validate({"decision": other, field: ""})


def test_missing_decision_is_the_only_error(registry):
    assert refused(registry, "review_application", {}) == {"decision": "required"}


def test_extended_service_description_is_required_when_needed(registry):
    data = {"method": "phone", "effect": "良好", "extended_service_needed": True}
    assert refused(registry, "follow_up", data) == {"extended_service_description": "required"}
    registry.get("follow_up").validate({**data, "extended_service_description": "需要认证咨询"})
    registry.get("follow_up").validate({**data, "extended_service_needed": False})


def test_evaluation_needs_the_stamp_confirmed_or_its_scan(registry):
    scores = {"content_score": 4, "expert_score": 4, "organisation_score": 4}
    form = registry.get("evaluation")
    form.validate({**scores, "stamped": True})
    form.validate({**scores, "stamp_file": "file-stamp-1"})
    form.validate({**scores, "stamped": False, "stamp_file": "file-stamp-1"})
    for data in (scores, {**scores, "stamped": False}):
        fields = refused(registry, "evaluation", data)
        assert list(fields) == ["stamp_file"]
        assert fields["stamp_file"].startswith("required")


def test_evaluation_stamp_message_tells_the_clerk_what_to_do(registry):
    scores = {"content_score": 4, "expert_score": 4, "organisation_score": 4}
    with pytest.raises(FormValidationError) as caught:
        registry.get("evaluation").validate(scores)
    assert "已盖章" in caught.value.messages("zh-CN")["stamp_file"]


def test_budget_row_of_category_other_needs_a_description(registry):
    data = {"items": [{"category": "venue", "amount": 1}, {"category": "other", "amount": 50}]}
    assert refused(registry, "budget", data) == {"items.1.description": "required"}
    data["items"][1]["description"] = "横幅制作"
    registry.get("budget").validate(data)
