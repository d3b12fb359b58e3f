"""file_ids: every uploaded file a submission references, wherever it sits in the form."""

from pathlib import Path

import pytest

from forms import Form, FormRegistry

FORMS_DIR = Path(__file__).resolve().parents[1] / "processes" / "forms"


@pytest.fixture(scope="module")
def registry():
    return FormRegistry.from_directory(FORMS_DIR)


def test_list_of_files(registry):
    data = {"qualification_documents": ["file-a", "file-b"], "unit_name": "file-not-a-file"}
    assert registry.get("application").file_ids(data) == ["file-a", "file-b"]


def test_single_file(registry):
    data = {"content_score": 5, "stamp_file": "file-stamp"}
    assert registry.get("evaluation").file_ids(data) == ["file-stamp"]


def test_no_files(registry):
    assert registry.get("evaluation").file_ids({"stamped": True}) == []
    assert registry.get("review_application").file_ids({"decision": "accept"}) == []


def test_nested_files_in_rows_each_once():
    schema = {
        "type": "object",
        "properties": {
            "cover": {"type": "string", "x-widget": "file"},
            "rows": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "scans": {
                            "type": "array",
                            "items": {"type": "string"},
                            "x-widget": "file",
                        },
                    },
                },
            },
        },
    }
    form = Form("nested", schema)
    data = {
        "cover": "f-1",
        "rows": [{"name": "f-x", "scans": ["f-2", "f-3"]}, {"scans": ["f-1", "f-4"]}, {}],
    }
    assert form.file_ids(data) == ["f-1", "f-2", "f-3", "f-4"]


def test_shipped_forms_with_file_fields_are_found(registry):
    data = {"summary": "x", "attachments": ["photo-1"]}
    assert registry.get("activity_tracking").file_ids(data) == ["photo-1"]
