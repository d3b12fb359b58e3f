"""The error a submission raises: one message per field, in English and Chinese."""

from __future__ import annotations

from collections.abc import Mapping

LANGUAGES = ("zh-CN", "en")


def language(lang: str) -> str:
    """The supported language closest to `lang` ("zh", "zh_CN", "zh-Hans" → "zh-CN")."""
    return "zh-CN" if lang.lower().startswith("zh") else "en"


class FormValidationError(ValueError):
    """A submission that does not fit its form.

    `fields` maps a dotted field path ("decision", "items.0.amount", "" for the whole
    submission) to an English message; `messages(lang)` gives the same keys in a language.
    """

    def __init__(self, errors: Mapping[str, Mapping[str, str]], form_key: str | None = None):
        self._errors = {path: dict(texts) for path, texts in errors.items()}
        self.form_key = form_key
        super().__init__(self._summary())

    @property
    def fields(self) -> dict[str, str]:
        return self.messages("en")

    def messages(self, lang: str = "en") -> dict[str, str]:
        lang = language(lang)
        return {path: texts.get(lang, texts["en"]) for path, texts in self._errors.items()}

    def _summary(self) -> str:
        where = f"form {self.form_key!r}: " if self.form_key else ""
        parts = [f"{path or '(submission)'}: {text}" for path, text in self.fields.items()]
        return where + "; ".join(parts)
