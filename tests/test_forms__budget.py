"""The budget total: computed by the server, exactly, and never accepted from the client."""

from pathlib import Path

import pytest

from forms import FormRegistry, FormValidationError

FORMS_DIR = Path(__file__).resolve().parents[1] / "processes" / "forms"


@pytest.fixture(scope="module")
def budget():
    return FormRegistry.from_directory(FORMS_DIR).get("budget")


def rows(*amounts):
    return {"items": [{"category": "materials", "amount": a} for a in amounts]}


def test_total_is_the_exact_decimal_sum(budget):
    assert budget.validate(rows(0.1, 0.2))["total"] == 0.3
    assert 0.1 + 0.2 != 0.3  # what a float sum would have stored


def test_total_of_whole_yuan(budget):
    cleaned = budget.validate(rows(3000, 420, 200))
    assert cleaned["total"] == 3620
    assert isinstance(cleaned["total"], float)


def test_total_is_rounded_to_fen_half_up(budget):
    assert budget.validate(rows(0.005))["total"] == 0.01
    assert budget.validate(rows(1.234, 1.0))["total"] == 2.23
    assert budget.validate(rows(0.125, 0.0))["total"] == 0.13


def test_many_small_amounts_add_up_exactly(budget):
    assert budget.validate(rows(*[0.1] * 10))["total"] == 1.0


def test_total_sent_by_the_client_is_refused(budget):
    with pytest.raises(FormValidationError) as caught:
        budget.validate({**rows(100), "total": 100})
    assert caught.value.fields == {"total": "computed by the server"}
    assert "系统" in caught.value.messages("zh-CN")["total"]


def test_negative_amount_is_refused(budget):
    with pytest.raises(FormValidationError) as caught:
        budget.validate(rows(100, -5))
    assert caught.value.fields == {"items.1.amount": "must be at least 0"}


def test_amount_as_text_is_refused(budget):
    with pytest.raises(FormValidationError) as caught:
        budget.validate(rows("100"))
    assert caught.value.fields == {"items.0.amount": "must be a number"}


def test_the_input_does_not_gain_a_total(budget):
    data = rows(1, 2)
    budget.validate(data)
    assert "total" not in data


def test_a_category_not_in_the_suggestions_is_accepted(budget):
    # PROCEDURE.md names no categories: the list is what the UI offers, not a closed set.
    cleaned = budget.validate({"items": [{"category": "banquet", "amount": 800}]})
    assert cleaned == {"items": [{"category": "banquet", "amount": 800}], "total": 800}
    budget.validate({"items": [{"category": "专家费", "amount": 1}]})


@pytest.mark.parametrize(
    ("category", "why"),
    [
        ("", "must not be empty"),
        ("x" * 101, "must be at most 100 characters"),
        (5, "must be a text"),
        (None, "must be a text"),
        (["travel"], "must be a text"),
    ],
)
def test_a_category_must_be_a_short_non_empty_text(budget, category, why):
    with pytest.raises(FormValidationError) as caught:
        budget.validate({"items": [{"category": category, "amount": 800}]})
    assert caught.value.fields == {"items.0.category": why}


def test_a_row_without_a_category_is_refused(budget):
    with pytest.raises(FormValidationError) as caught:
        budget.validate({"items": [{"category": "travel", "amount": 1}, {"amount": 800}]})
    assert caught.value.fields == {"items.1.category": "required"}
