"""Form schemas → field descriptions → what a browser sends → JSON data typed per the schema."""

import copy
import io

import pytest
from werkzeug.datastructures import FileStorage, MultiDict

from forms import FormRegistry
from webui.composition import PROCESSES_DIR
from webui.form_html import UploadError, describe, form_action, language, parse, submitted_rows

from .driver import APPLICATION, DEFAULTS

FORMS = FormRegistry.from_directory(PROCESSES_DIR / "forms")


def schema(key):
    return FORMS.get(key).schema


def post(pairs, files=()):
    return MultiDict(pairs), MultiDict(files)


def upload(name, content=b"%PDF-1.4"):
    return FileStorage(io.BytesIO(content), filename=name, content_type="application/pdf")


class Store:
    """Stands in for TaskService.store_file: keeps uploads, answers their ids."""

    def __init__(self, refuse=()):
        self.stored = {}
        self.refuse = set(refuse)

    def __call__(self, file):
        if file.filename in self.refuse:
            raise UploadError(f"{file.filename} is too large")
        file_id = f"file-{len(self.stored) + 1}"
        self.stored[file_id] = (file.filename, file.read())
        return file_id


# -- parsing ------------------------------------------------------------------------------


def test_numbers_become_numbers_and_text_that_is_not_a_number_stays_text():
    form, _ = post([("expected_enterprises", " 12 "), ("unit_name", "  石家庄市中小企业服务中心 ")])
    data = parse(schema("application"), form).data
    assert data == {"expected_enterprises": 12, "unit_name": "石家庄市中小企业服务中心"}

    data = parse(schema("application"), MultiDict([("expected_enterprises", "十二")])).data
    assert data == {"expected_enterprises": "十二"}
    assert "expected_enterprises" in _errors("application", data)

    data = parse(schema("extended_service"), MultiDict([("contract_price", "12000.50")])).data
    assert data == {"contract_price": 12000.5}
    data = parse(schema("extended_service"), MultiDict([("contract_price", "8000")])).data
    assert data["contract_price"] == 8000 and isinstance(data["contract_price"], int)
    for bad in ("nan", "inf", "12,000元"):
        data = parse(schema("extended_service"), MultiDict([("contract_price", bad)])).data
        assert data == {"contract_price": bad}


def test_an_integer_typed_as_a_whole_decimal_is_an_integer():
    data = parse(schema("questionnaire"), MultiDict([("employees", "120.0")])).data
    assert data == {"employees": 120}
    data = parse(schema("questionnaire"), MultiDict([("employees", "120.5")])).data
    assert data == {"employees": "120.5"}


def test_empty_optional_inputs_are_left_out_entirely():
    form, _ = post(
        [
            ("decision", "accept"),
            ("reason", "  \r\n "),
        ]
    )
    assert parse(schema("review_application"), form).data == {"decision": "accept"}
    assert parse(schema("site_survey_report"), MultiDict()).data == {}


def test_unticked_boxes_are_false_ticked_true_and_only_for_boolean_fields():
    data = parse(schema("follow_up"), MultiDict([("method", "phone")])).data
    assert data == {"method": "phone", "extended_service_needed": False}
    form = MultiDict([("extended_service_needed", "true"), ("extended_service_description", "x")])
    data = parse(schema("follow_up"), form).data
    assert data["extended_service_needed"] is True
    # A form without booleans gains no key.
    assert parse(schema("content_review"), MultiDict()).data == {}


def test_a_date_time_from_the_browser_gets_beijing_offset():
    schema_ = schema("official_letter")
    for typed, sent in [
        ("2026-10-20T09:00", "2026-10-20T09:00:00+08:00"),
        ("2026-10-20T09:00:30", "2026-10-20T09:00:30+08:00"),
        ("2026-10-20 09:00", "2026-10-20T09:00:00+08:00"),
        ("2026-10-20T01:00:00Z", "2026-10-20T01:00:00Z"),  # an offset given is kept
        ("2026-10-20T09:00:00+09:00", "2026-10-20T09:00:00+09:00"),
        ("下周二", "下周二"),  # left for validation to name
    ]:
        assert parse(schema_, MultiDict([("activity_date", typed)])).data == {"activity_date": sent}
    assert FORMS.get("official_letter").validate(
        {**DEFAULTS["issue_official_letter"], "activity_date": "2026-10-20T09:00:00+08:00"}
    )


def test_dates_stay_iso_text():
    data = parse(schema("survey_plan"), MultiDict([("survey_date", "2026-10-12")])).data
    assert data == {"survey_date": "2026-10-12"}


def test_table_rows_are_typed_blank_rows_dropped_and_gaps_closed():
    form = MultiDict(
        [
            ("items.0.category", "expert_fee"),
            ("items.0.description", "专家授课费"),
            ("items.0.amount", "3000"),
            ("items.1.category", ""),  # a blank row between
            ("items.1.description", " "),
            ("items.1.amount", ""),
            ("items.7.category", "场地费"),  # a title: the suggested value is meant
            ("items.7.amount", "620.5"),
            ("items.10.category", "other"),  # 10 sorts after 7, not after 1
            ("items.10.amount", "abc"),
        ]
    )
    data = parse(schema("budget"), form).data
    assert data == {
        "items": [
            {"category": "expert_fee", "description": "专家授课费", "amount": 3000},
            {"category": "venue", "amount": 620.5},
            {"category": "other", "amount": "abc"},
        ]
    }
    # Paths in validation errors are those of the parsed rows, which the page redraws.
    assert set(_errors("budget", data)) == {"items.2.amount", "items.2.description"}


def test_a_table_with_only_blank_rows_is_left_out():
    form = MultiDict([("items.0.category", ""), ("items.0.amount", "")])
    assert parse(schema("budget"), form).data == {}
    assert _errors("budget", {}) == {"items": "required"}


def test_a_removed_row_is_left_out_and_the_row_buttons_are_read():
    form = MultiDict(
        [
            ("enterprises.0.name", "甲公司"),
            ("enterprises.1.name", "乙公司"),
            ("enterprises.2.name", ""),
            ("_remove_row", "enterprises.0"),
        ]
    )
    assert form_action(form) == ("remove", "enterprises.0")
    data = parse(schema("survey_plan"), form, drop_row="enterprises.0").data
    assert data == {"enterprises": [{"name": "乙公司"}]}
    assert submitted_rows(form, "enterprises") == 3
    assert form_action(MultiDict([("_add_row", "enterprises")])) == ("add", "enterprises")
    assert form_action(MultiDict([("decision", "accept")])) is None


def test_computed_fields_are_never_read_from_the_browser():
    form = MultiDict([("items.0.category", "venue"), ("items.0.amount", "100"), ("total", "1")])
    data = parse(schema("budget"), form).data
    assert "total" not in data
    assert FORMS.get("budget").validate(data)["total"] == 100


def test_ticked_choices_come_as_a_list_with_typed_others_mapped_to_their_values():
    form = MultiDict(
        [
            ("topics", "management"),
            ("topics", "finance"),
            ("topics", "management"),  # twice: once
            ("topics", " 安全生产 "),  # the "other" box, holding a title
            ("topics", ""),  # the "other" box left empty
        ]
    )
    data = parse(schema("application"), form).data
    assert data == {"topics": ["management", "finance", "work_safety"]}
    data = parse(schema("application"), MultiDict([("topics", "电子商务")])).data
    assert data == {"topics": ["电子商务"]}  # an open choice: other spellings are accepted
    assert parse(schema("application"), MultiDict([("topics", "")])).data == {}


def test_a_suggested_value_typed_as_its_title_is_sent_as_the_value():
    for typed in ("服务机构", "Service institution", "service institution", "service_institution"):
        data = parse(schema("application"), MultiDict([("unit_type", typed)])).data
        assert data == {"unit_type": "service_institution"}
    data = parse(schema("application"), MultiDict([("unit_type", "行业协会")])).data
    assert data == {"unit_type": "行业协会"}


def test_uploads_are_stored_and_their_ids_stand_in_the_data():
    store = Store()
    form, files = post(
        [("unit_name", "x")],
        [
            ("qualification_documents", upload("营业执照.pdf")),
            ("qualification_documents", upload("资质证书.pdf")),
        ],
    )
    data = parse(schema("application"), form, files, store).data
    assert data["qualification_documents"] == ["file-1", "file-2"]
    assert [name for name, _ in store.stored.values()] == ["营业执照.pdf", "资质证书.pdf"]


def test_files_already_attached_are_kept_unless_unticked_and_added_to():
    store = Store()
    form, files = post(
        [("qualification_documents", "old-1"), ("qualification_documents", "old-2")],
        [("qualification_documents", upload("新材料.pdf"))],
    )
    data = parse(schema("application"), form, files, store).data
    assert data["qualification_documents"] == ["old-1", "old-2", "file-1"]
    # An empty file input (nothing chosen) is no upload.
    form, files = post([], [("qualification_documents", FileStorage(io.BytesIO(b""), ""))])
    assert parse(schema("application"), form, files, store).data == {}


def test_a_single_file_field_holds_one_id_and_a_new_upload_replaces_the_old():
    store = Store()
    form, files = post([("stamp_file", "old")], [("stamp_file", upload("评价表.pdf"))])
    data = parse(schema("evaluation"), form, files, store).data
    assert data["stamp_file"] == "file-1"
    data = parse(schema("evaluation"), MultiDict([("stamp_file", "old")])).data
    assert data["stamp_file"] == "old"


def test_a_refused_upload_is_a_message_for_its_field():
    store = Store(refuse={"huge.pdf"})
    form, files = post([], [("qualification_documents", upload("huge.pdf"))])
    parsed = parse(schema("application"), form, files, store)
    assert parsed.errors == {"qualification_documents": "huge.pdf is too large"}
    assert "qualification_documents" not in parsed.data


# -- describing ---------------------------------------------------------------------------


def test_labels_titles_and_instructions_come_in_the_page_language():
    view = describe(schema("review_application"), {}, "en")
    assert view.title == "Review of the application"
    assert view.instructions.startswith("Register the application")
    decision = view.fields[0]
    assert (decision.label, decision.widget, decision.required) == ("Decision", "radio", True)
    assert [(o.value, o.title) for o in decision.options] == [
        ("accept", "Accept"),
        ("reject", "Reject"),
    ]
    zh = describe(schema("review_application"), {}, "zh-CN")
    assert zh.fields[0].label == "审核结论" and zh.fields[1].required is False
    assert (language("zh_CN"), language("en"), language(None)) == ("zh-CN", "en", "en")


def test_each_kind_of_property_gets_its_widget():
    widgets = {f.name: f.widget for f in describe(schema("application")).fields}
    assert widgets == {
        "unit_name": "text",
        "unit_type": "suggest",
        "region": "text",
        "contact_person": "text",
        "phone": "text",
        "topics": "checkboxes",
        "expected_enterprises": "integer",
        "preferred_period": "text",
        "needs": "textarea",
        "qualification_documents": "files",
    }
    widgets = {f.name: f.widget for f in describe(schema("evaluation")).fields}
    assert widgets["content_score"] == "scale"
    assert widgets["stamped"] == "checkbox"
    assert widgets["stamp_file"] == "file"
    widgets = {f.name: f.widget for f in describe(schema("questionnaire")).fields}
    assert widgets["annual_revenue_band"] == "select"  # five options
    assert widgets["preferred_mode"] == "radio"  # three
    assert widgets["service_areas"] == "checkboxes"
    widgets = {f.name: f.widget for f in describe(schema("official_letter")).fields}
    assert widgets["activity_date"] == "datetime"
    number = describe(schema("extended_service")).fields[3]
    assert (number.widget, number.attrs["step"], number.attrs["min"]) == ("number", "any", 0)


def test_values_are_shown_as_the_person_knows_them():
    data = {
        "unit_type": "service_institution",
        "topics": ["finance", "电子商务"],
        "expected_enterprises": 3,
    }
    fields = {f.name: f for f in describe(schema("application"), data).fields}
    assert fields["unit_type"].value == "服务机构"
    assert [o.title for o in fields["unit_type"].options] == ["中小企业主管部门", "服务机构"]
    ticked = [o.value for o in fields["topics"].options if o.selected]
    assert ticked == ["finance", "电子商务"]  # a typed-in value stays, ticked
    assert fields["expected_enterprises"].value == "3"
    letter = describe(schema("official_letter"), {"activity_date": "2026-10-20T01:00:00Z"})
    assert letter.fields[0].value == "2026-10-20T09:00"  # Beijing time in the browser


def test_a_table_shows_its_rows_then_a_blank_one_and_a_template_row():
    data = copy.deepcopy(DEFAULTS["prepare_budget"])
    view = describe(schema("budget"), data)
    items, total = view.fields[0], view.fields[1]
    assert items.widget == "rows"
    assert [c.name for c in items.columns] == [
        "items.__index__.category",
        "items.__index__.description",
        "items.__index__.amount",
    ]
    assert [[c.value for c in row] for row in items.rows] == [
        ["专家费", "专家授课费", "3000"],
        ["场地费", "场地", "620.5"],
        ["", "", ""],
    ]
    assert items.rows[1][2].name == "items.1.amount"
    assert items.next_index == 3
    assert (total.widget, total.value) == ("computed", "3,620.50")
    assert total.computed == {"operation": "sum", "array": "items", "field": "amount"}
    more = describe(schema("budget"), data, blank_rows={"items": 3})
    assert len(more.fields[0].rows) == 5


def test_messages_sit_beside_the_field_their_path_names():
    errors = {
        "items.1.amount": "不能小于 0",
        "items": "至少需要 1 项",
        "qualification_documents.0": "文件不存在",
        "": "必须是对象",
    }
    budget = describe(schema("budget"), DEFAULTS["prepare_budget"], errors=errors)
    items = budget.fields[0]
    assert items.error == "至少需要 1 项"
    assert items.rows[1][2].error == "不能小于 0"
    assert items.rows[0][2].error is None
    # Paths with no field on this form are listed at the top.
    assert budget.errors == ["文件不存在", "必须是对象"]
    application = describe(schema("application"), {}, errors=errors)
    documents = next(f for f in application.fields if f.name == "qualification_documents")
    assert documents.error == "文件不存在"


def test_attached_files_are_shown_by_name():
    view = describe(
        schema("application"),
        {"qualification_documents": ["a", "b"]},
        file_name={"a": "营业执照.pdf", "b": "资质.pdf"}.get,
    )
    documents = next(f for f in view.fields if f.name == "qualification_documents")
    assert [(f.id, f.name) for f in documents.files] == [("a", "营业执照.pdf"), ("b", "资质.pdf")]
    assert view.multipart


def test_a_register_fills_rows_with_only_the_columns_the_table_has():
    from webui.form_html import Option

    entry = Option("7", "张教授", fill={"name": "张教授", "organisation": "河北经贸大学", "x": "1"})
    view = describe(schema("expert_selection"), {}, sources={"experts": [entry]})
    experts = view.fields[0]
    assert experts.source == "experts"
    assert experts.source_options[0].fill == {"name": "张教授", "organisation": "河北经贸大学"}
    assert describe(schema("expert_selection"), {}).fields[0].source is None


# -- round trip: what the page shows, sent back unchanged, is the data it showed ----------


def browser_sends(view):
    """What a browser posts for a page drawn from `view`, nothing changed."""
    pairs = []
    for field in view.all_fields():
        widget = field.widget
        if widget in ("rows", "computed"):
            continue
        if widget == "checkbox":
            pairs += [(field.name, "true")] if field.checked else []
        elif widget in ("radio", "select", "scale", "checkboxes"):
            pairs += [(field.name, o.value) for o in field.options if o.selected]
        elif widget in ("file", "files"):
            pairs += [(field.name, f.id) for f in field.files]
        else:
            pairs.append((field.name, field.value))
    return MultiDict(pairs)


ROUND_TRIPS = {
    "application": dict(APPLICATION, qualification_documents=["f1", "f2"]),
    "review_application": {"decision": "reject", "reason": "材料不全"},
    "survey_plan": DEFAULTS["plan_survey"],
    "questionnaire": {
        "industry": "制造业",
        "employees": 120,
        "annual_revenue_band": "10m_to_50m",
        "service_areas": ["finance", "legal"],
        "preferred_mode": "diagnosis",
    },
    "expert_selection": DEFAULTS["select_experts"],
    "budget": DEFAULTS["prepare_budget"],
    "official_letter": DEFAULTS["issue_official_letter"],
    "activity_record": DEFAULTS["record_activity"],
    "evaluation": DEFAULTS["evaluate_service"],
    "follow_up": DEFAULTS["follow_up_visit"],
    "extended_service": {
        "contract_price": 12000.5,
        "agreement_file": "f9",
        "signed_date": "2026-11-02",
    },
}


@pytest.mark.parametrize("key", sorted(ROUND_TRIPS))
def test_a_page_sent_back_unchanged_gives_the_same_data(key):
    data = copy.deepcopy(ROUND_TRIPS[key])
    parsed = parse(schema(key), browser_sends(describe(schema(key), data)))
    assert parsed.data == data
    assert parsed.errors == {}


def _errors(key, data):
    from forms import FormValidationError

    try:
        FORMS.get(key).validate(data)
    except FormValidationError as exc:
        return exc.fields
    return {}
