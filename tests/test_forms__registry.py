"""Loading the form directory: keys, lookups, and a malformed file named in the error."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from forms import Form, FormRegistry, FormValidationError

ROOT = Path(__file__).resolve().parents[1]
FORMS_DIR = ROOT / "processes" / "forms"

GOOD = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "测试",
    "type": "object",
    "additionalProperties": False,
    "properties": {"note": {"title": "备注", "type": "string"}},
}


@pytest.fixture(scope="module")
def registry():
    return FormRegistry.from_directory(FORMS_DIR)


def write(directory, name, content):
    path = directory / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), "utf-8")
    return path


def test_keys_are_the_file_names(registry):
    keys = registry.keys()
    assert keys == sorted(keys)
    assert "budget" in keys and "application" in keys
    assert "budget" in registry
    assert "nonsense" not in registry
    assert len(registry) == len(keys)
    assert [form.key for form in registry] == keys


def test_get_by_key_and_by_file_name(registry):
    budget = registry.get("budget")
    assert isinstance(budget, Form)
    assert budget.key == "budget"
    assert budget.schema["properties"]["total"]["readOnly"] is True
    assert registry.get_by_filename("budget.schema.json") is budget


def test_unknown_form_is_a_key_error(registry):
    with pytest.raises(KeyError):
        registry.get("nonsense")
    with pytest.raises(KeyError):
        registry.get_by_filename("nonsense.schema.json")
    with pytest.raises(KeyError):
        registry.get_by_filename("budget.json")


def test_only_schema_files_are_loaded(tmp_path):
    write(tmp_path, "note.schema.json", GOOD)
    write(tmp_path, "README.md", "not a form")
    write(tmp_path, "other.json", "{}")
    assert FormRegistry.from_directory(tmp_path).keys() == ["note"]


def test_invalid_json_names_the_file(tmp_path):
    write(tmp_path, "note.schema.json", GOOD)
    write(tmp_path, "broken.schema.json", '{"type": "object",')
    with pytest.raises(ValueError, match=r"broken\.schema\.json"):
        FormRegistry.from_directory(tmp_path)


def test_invalid_json_schema_names_the_file(tmp_path):
    write(tmp_path, "bad.schema.json", {**GOOD, "properties": {"n": {"type": "integr"}}})
    with pytest.raises(ValueError, match=r"bad\.schema\.json.*properties/n/type"):
        FormRegistry.from_directory(tmp_path)


def test_a_form_must_be_an_object_schema(tmp_path):
    write(tmp_path, "list.schema.json", {"type": "array"})
    with pytest.raises(ValueError, match=r"list\.schema\.json"):
        FormRegistry.from_directory(tmp_path)


def test_a_malformed_computed_field_names_the_file(tmp_path):
    total = {"type": "number", "readOnly": True, "x-computed": "sum:rows.amount"}
    write(tmp_path, "sums.schema.json", {**GOOD, "properties": {"total": total}})
    with pytest.raises(ValueError, match=r"sums\.schema\.json.*total"):
        FormRegistry.from_directory(tmp_path)


def test_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError):
        FormRegistry.from_directory(tmp_path / "nowhere")


def test_changing_form_schema_does_not_change_validation(registry, tmp_path):
    write(tmp_path, "note.schema.json", GOOD)
    form = FormRegistry.from_directory(tmp_path).get("note")
    form.schema["properties"]["note"]["type"] = "integer"
    assert form.validate({"note": "text"}) == {"note": "text"}
    with pytest.raises(FormValidationError):
        form.validate({"note": 1})


def test_forms_imports_nothing_of_the_layers_above_nor_the_web_framework():
    code = "import sys, forms; print(' '.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = set(result.stdout.split())
    for name in ("engine", "tasks", "webui", "flask", "jinja2"):
        assert name not in loaded
