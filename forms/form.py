"""One form: its schema, its compiled validator, and what it does with a submission."""

from __future__ import annotations

import copy
import math
from typing import Any

from jsonschema.exceptions import SchemaError

from forms.computed import parse_computed
from forms.errors import FormValidationError
from forms.files import file_ids
from forms.formats import FORMAT_CHECKER
from forms.messages import NOT_AN_OBJECT, TOO_LARGE
from forms.text import trimmed
from forms.validation import FormValidator, collect_errors


class Form:
    """A form definition (a JSON Schema object). The validator is compiled once, here."""

    def __init__(self, key: str, schema: dict[str, Any]):
        if not isinstance(schema, dict) or schema.get("type") != "object":
            raise ValueError(f"form {key!r}: the schema must be an object with type 'object'")
        try:
            FormValidator.check_schema(schema)
        except SchemaError as exc:
            where = "/".join(str(p) for p in exc.path) or "(top)"
            problem = f"invalid JSON Schema at {where}: {exc.message}"
            raise ValueError(f"form {key!r}: {problem}") from exc
        try:
            self._computed = parse_computed(schema)
        except ValueError as exc:
            raise ValueError(f"form {key!r}: {exc}") from exc
        self.key = key
        self.schema = schema
        # A private copy, so a caller changing `form.schema` cannot change validation.
        self._validator = FormValidator(copy.deepcopy(schema), format_checker=FORMAT_CHECKER)

    def __repr__(self) -> str:
        return f"Form({self.key!r})"

    def title(self, lang: str = "zh-CN") -> str:
        titles = self.schema.get("x-title", {})
        return titles.get(lang) or self.schema.get("title") or self.key

    def validate(self, data: object) -> dict[str, Any]:
        """The cleaned submission: a deep copy of `data`, its texts trimmed (forms/text.py),
        plus the computed fields. The trimmed copy is what is checked and what is returned.

        Raises FormValidationError naming every field that is wrong; never changes `data`.
        """
        if not isinstance(data, dict):
            raise FormValidationError({"": NOT_AN_OBJECT}, form_key=self.key)
        cleaned = trimmed(self._validator.schema, copy.deepcopy(data))
        errors = collect_errors(self._validator, cleaned)
        if errors:
            raise FormValidationError(errors, form_key=self.key)
        for field in self._computed:
            value = field.compute(cleaned)
            if not math.isfinite(value):  # only if a schema's maxima allow a sum beyond float
                raise FormValidationError({field.name: TOO_LARGE}, form_key=self.key)
            cleaned[field.name] = value
        return cleaned

    def file_ids(self, data: object) -> list[str]:
        """Every file id `data` references through `"x-widget": "file"` fields, each once."""
        return file_ids(self.schema, data)
