"""The shipped form definitions: valid JSON Schema, titled in both languages, contract keys."""

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

FORMS_DIR = Path(__file__).resolve().parents[1] / "processes" / "forms"
SCHEMA_FILES = sorted(FORMS_DIR.glob("*.schema.json"))
LANGS = ("zh-CN", "en")

EXPECTED_FORMS = {
    "application",
    "review_application",
    "overdue_review",
    "survey_plan",
    "questionnaire",
    "site_survey_report",
    "service_design",
    "confirm_service_design",
    "expert_selection",
    "content_outline",
    "content_review",
    "coordinators",
    "budget",
    "budget_approval",
    "official_letter",
    "activity_record",
    "evaluation",
    "activity_tracking",
    "follow_up",
    "extended_service",
    "archive",
}

# PROCEDURE.md, "Data keys that clients rely on": dotted paths, "[]" = each row of a list.
CONTRACT_KEYS = {
    "application": [
        "unit_name",
        "unit_type",
        "region",
        "contact_person",
        "phone",
        "topics",
        "expected_enterprises",
        "preferred_period",
        "needs",
        "qualification_documents",
    ],
    "review_application": ["decision", "reason"],
    "survey_plan": [
        "enterprises",
        "enterprises[].name",
        "enterprises[].industry",
        "enterprises[].contact",
        "enterprises[].phone",
        "survey_date",
    ],
    "confirm_service_design": ["decision", "comments"],
    "expert_selection": [
        "experts",
        "experts[].name",
        "experts[].organisation",
        "experts[].specialty",
        "experts[].qualification",
    ],
    "content_review": ["decision", "comments"],
    "budget": ["items", "items[].category", "items[].description", "items[].amount", "total"],
    "budget_approval": ["decision", "comments"],
    "official_letter": ["activity_date", "venue", "programme"],
    "activity_record": ["served_enterprises", "served_enterprises[].name"],
    "evaluation": [
        "content_score",
        "expert_score",
        "organisation_score",
        "comments",
        "stamped",
        "stamp_file",
    ],
    "follow_up": ["method", "effect", "extended_service_needed", "extended_service_description"],
}

DECISIONS = {
    "review_application": ["accept", "reject"],
    "confirm_service_design": ["agree", "revise"],
    "content_review": ["pass", "revise"],
    "budget_approval": ["approve", "reject"],
}


# Values PROCEDURE.md names only in prose: the UI suggests them, clients may send others.
OPEN_CHOICES = {
    ("application", "unit_type"),
    ("application", "topics[]"),
    ("budget", "items[].category"),
}

# Values the contract table spells out: these stay closed lists.
CONTRACT_ENUMS = {
    ("review_application", "decision"): ["accept", "reject"],
    ("confirm_service_design", "decision"): ["agree", "revise"],
    ("content_review", "decision"): ["pass", "revise"],
    ("budget_approval", "decision"): ["approve", "reject"],
    ("follow_up", "method"): ["phone", "online", "visit"],
}

# What tasks/completeness.py reads from an `x-requires` item: exactly one kind of record.
REQUIREMENT_KINDS = ("data", "files", "document", "each")
REQUIREMENT_KEYS = {"title", *REQUIREMENT_KINDS, "in", "equals"}


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def key_of(path):
    return path.name.removesuffix(".schema.json")


def walk_fields(properties, prefix=""):
    """(dotted path, property schema) for every field, rows of lists included."""
    for name, prop in properties.items():
        path = prefix + name
        yield path, prop
        items = prop.get("items", {})
        if items.get("type") == "object":
            yield from walk_fields(items.get("properties", {}), path + "[].")


def walk_objects(schema, where="(form)"):
    """Every object schema: the form itself and the rows of its lists."""
    yield where, schema
    for name, prop in schema.get("properties", {}).items():
        items = prop.get("items", {})
        if items.get("type") == "object":
            yield from walk_objects(items, f"{where}.{name}[]")


def walk_choices(properties, prefix=""):
    """(dotted path, node) for every field and list item; a list's items are "<path>[]"."""
    for path, prop in walk_fields(properties, prefix):
        yield path, prop
        items = prop.get("items")
        if isinstance(items, dict) and items.get("type") != "object":
            yield path + "[]", items


def find(schema, dotted):
    properties = schema["properties"]
    *parents, last = dotted.split("[].")
    for parent in parents:
        properties = properties[parent]["items"]["properties"]
    return properties.get(last)


def test_every_form_of_the_procedure_is_shipped():
    # Other procedures ship forms of their own beside these.
    assert {key_of(p) for p in SCHEMA_FILES} >= EXPECTED_FORMS


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=key_of)
def test_schema_is_valid_draft_2020_12(path):
    schema = load(path)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=key_of)
def test_form_has_titles_and_instructions_in_both_languages(path):
    schema = load(path)
    assert schema["type"] == "object"
    assert schema["title"] == schema["x-title"]["zh-CN"]
    for lang in LANGS:
        assert schema["x-title"][lang].strip()
        assert schema["x-instructions"][lang].strip()


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=key_of)
def test_every_field_is_titled_in_both_languages(path):
    schema = load(path)
    for field, prop in walk_fields(schema["properties"]):
        assert prop["title"] == prop["x-title"]["zh-CN"], field
        for lang in LANGS:
            assert prop["x-title"][lang].strip(), (field, lang)


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=key_of)
def test_every_enum_value_is_titled_in_both_languages(path):
    schema = load(path)
    for field, prop in walk_fields(schema["properties"]):
        for node in (prop, prop.get("items", {})):
            if "enum" in node:
                titles = node["x-enum-titles"]
                assert set(titles) == set(node["enum"]), field
                for value in node["enum"]:
                    for lang in LANGS:
                        assert titles[value][lang].strip(), (field, value, lang)


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=key_of)
def test_every_suggested_value_is_titled_in_both_languages(path):
    schema = load(path)
    for field, node in walk_choices(schema["properties"]):
        if "x-suggestions" in node:
            suggestions = node["x-suggestions"]
            assert suggestions and len(set(suggestions)) == len(suggestions), field
            titles = node["x-enum-titles"]
            assert set(titles) == set(suggestions), field
            for value in suggestions:
                for lang in LANGS:
                    assert titles[value][lang].strip(), (field, value, lang)


def test_exactly_the_prose_only_values_are_open():
    found = set()
    for path in SCHEMA_FILES:
        for field, node in walk_choices(load(path)["properties"]):
            if "x-suggestions" in node:
                found.add((key_of(path), field))
    assert found == OPEN_CHOICES


@pytest.mark.parametrize(("key", "field"), sorted(OPEN_CHOICES))
def test_an_open_choice_is_a_short_non_empty_text_not_an_enum(key, field):
    node = dict(walk_choices(load(FORMS_DIR / f"{key}.schema.json")["properties"]))[field]
    assert "enum" not in node
    assert {k: node.get(k) for k in ("type", "minLength", "maxLength")} == {
        "type": "string",
        "minLength": 1,
        "maxLength": 100,
    }


@pytest.mark.parametrize(("key", "field"), sorted(CONTRACT_ENUMS))
def test_values_the_contract_spells_out_stay_closed(key, field):
    node = dict(walk_choices(load(FORMS_DIR / f"{key}.schema.json")["properties"]))[field]
    assert node["enum"] == CONTRACT_ENUMS[key, field]
    assert "x-suggestions" not in node


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=key_of)
def test_unknown_fields_are_refused_everywhere(path):
    for where, node in walk_objects(load(path)):
        assert node.get("additionalProperties") is False, where
        assert set(node.get("required", [])) <= set(node["properties"]), where


@pytest.mark.parametrize("key", sorted(CONTRACT_KEYS))
def test_contract_keys_are_declared(key):
    schema = load(FORMS_DIR / f"{key}.schema.json")
    missing = [dotted for dotted in CONTRACT_KEYS[key] if find(schema, dotted) is None]
    assert missing == []


@pytest.mark.parametrize("key", sorted(DECISIONS))
def test_decision_values_are_the_contract_ones(key):
    schema = load(FORMS_DIR / f"{key}.schema.json")
    assert schema["properties"]["decision"]["enum"] == DECISIONS[key]
    assert "decision" in schema["required"]


def test_the_eight_service_areas_are_the_same_wherever_asked():
    application = load(FORMS_DIR / "application.schema.json")
    questionnaire = load(FORMS_DIR / "questionnaire.schema.json")
    topics = application["properties"]["topics"]["items"]
    wanted = questionnaire["properties"]["service_areas"]["items"]
    areas = [
        "management",
        "technology",
        "finance",
        "marketing",
        "legal",
        "human_resources",
        "quality",
        "work_safety",
    ]
    # The application suggests them (clients may send others); the questionnaire, ours
    # alone, keeps them a closed list. Either way the same values under the same titles.
    assert topics["x-suggestions"] == areas
    assert wanted["enum"] == areas
    assert wanted["x-enum-titles"] == topics["x-enum-titles"]
    assert topics["x-enum-titles"]["work_safety"]["zh-CN"] == "安全生产"


def test_field_kinds_a_renderer_relies_on():
    application = load(FORMS_DIR / "application.schema.json")["properties"]
    assert application["needs"]["x-widget"] == "textarea"
    assert application["qualification_documents"]["x-widget"] == "file"
    assert application["qualification_documents"]["minItems"] == 1
    letter = load(FORMS_DIR / "official_letter.schema.json")["properties"]
    assert letter["activity_date"]["format"] == "date-time"
    evaluation = load(FORMS_DIR / "evaluation.schema.json")["properties"]
    assert evaluation["stamp_file"]["x-widget"] == "file"
    for score in ("content_score", "expert_score", "organisation_score"):
        kind = {k: evaluation[score][k] for k in ("type", "minimum", "maximum")}
        assert kind == {"type": "integer", "minimum": 1, "maximum": 5}


def test_budget_total_is_declared_computed_and_read_only():
    total = load(FORMS_DIR / "budget.schema.json")["properties"]["total"]
    assert total["readOnly"] is True
    assert total["x-computed"] == "sum:items.amount"


def test_the_archive_lists_the_records_it_requires():
    requires = load(FORMS_DIR / "archive.schema.json")["x-requires"]
    assert isinstance(requires, list) and requires
    assert {kind for item in requires for kind in REQUIREMENT_KINDS if kind in item} == set(
        REQUIREMENT_KINDS
    )


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=key_of)
def test_every_required_record_is_titled_and_of_exactly_one_kind(path):
    for index, item in enumerate(load(path).get("x-requires", [])):
        where = (key_of(path), index)
        assert set(item) <= REQUIREMENT_KEYS, where
        for lang in LANGS:
            assert isinstance(item["title"][lang], str), (where, lang)
            assert item["title"][lang].strip(), (where, lang)
        kinds = [kind for kind in REQUIREMENT_KINDS if kind in item]
        assert len(kinds) == 1, (where, kinds)
        (kind,) = kinds
        assert isinstance(item[kind], str) and item[kind].strip(), where
        assert ("in" in item) == (kind == "each"), where
        if kind == "each":
            assert isinstance(item["in"], str) and item["in"].strip(), where
        assert "equals" not in item or kind == "data", where
