"""HTML forms from the JSON Schema form definitions, and back: pure helpers, no Flask.

    view = describe(schema, data, "zh-CN", errors)      # field descriptions for templates
    parsed = parse(schema, request.form, request.files, store)  # typed JSON data

Field names in the HTML are the dotted paths the validator reports errors at
(`items.0.amount`, `topics`), so a message lands beside the input it is about.
"""

from webui.form_html.describe import Field, FileRef, FormView, Option, describe, language
from webui.form_html.parse import Parsed, UploadError, form_action, parse, submitted_rows

__all__ = [
    "Field",
    "FileRef",
    "FormView",
    "Option",
    "Parsed",
    "UploadError",
    "describe",
    "form_action",
    "language",
    "parse",
    "submitted_rows",
]
