"""All forms of a directory, by key: `<key>.schema.json` holds form `<key>`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from forms.form import Form

SUFFIX = ".schema.json"


class FormRegistry:
    def __init__(self, forms: Iterable[Form] = ()):
        self._forms: dict[str, Form] = {}
        for form in forms:
            if form.key in self._forms:
                raise ValueError(f"form {form.key!r} is defined twice")
            self._forms[form.key] = form

    @classmethod
    def from_directory(cls, directory: Path) -> FormRegistry:
        """Load every `*.schema.json`; a malformed one raises ValueError naming the file."""
        directory = Path(directory)
        if not directory.is_dir():
            raise FileNotFoundError(f"form directory not found: {directory}")
        return cls(_load(path) for path in sorted(directory.glob(f"*{SUFFIX}")))

    def keys(self) -> list[str]:
        return sorted(self._forms)

    def get(self, key: str) -> Form:
        try:
            return self._forms[key]
        except KeyError:
            raise KeyError(f"unknown form: {key!r}") from None

    def get_by_filename(self, filename: str) -> Form:
        """The form a BPMN task names with `formJsonSchemaFilename` ("budget.schema.json")."""
        if not filename.endswith(SUFFIX):
            raise KeyError(f"not a form file name (want '<key>{SUFFIX}'): {filename!r}")
        return self.get(filename.removesuffix(SUFFIX))

    def __contains__(self, key: object) -> bool:
        return key in self._forms

    def __iter__(self) -> Iterator[Form]:
        return iter(self._forms[key] for key in self.keys())

    def __len__(self) -> int:
        return len(self._forms)


def _load(path: Path) -> Form:
    key = path.name.removesuffix(SUFFIX)
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path.name}: not valid JSON: {exc}") from exc
    try:
        return Form(key, schema)
    except ValueError as exc:
        raise ValueError(f"{path.name}: {exc}") from exc
