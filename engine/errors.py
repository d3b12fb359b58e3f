"""Domain errors. The web layer maps each class to one HTTP status, in one place."""


class DingdanError(Exception):
    """Base of every error the engine and the task layer raise on purpose."""

    code = "error"

    def __init__(self, message: str, *, fields: dict[str, str] | None = None, details=None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.details = details or []


class NotFound(DingdanError):
    code = "not_found"


class Forbidden(DingdanError):
    code = "forbidden"


class Conflict(DingdanError):
    """Already completed, claimed by another, or a stale instance version."""

    code = "conflict"


class InvalidData(DingdanError):
    """Submitted data fails validation; `fields` names each bad field."""

    code = "invalid_data"


class InvalidBpmn(DingdanError):
    """A diagram cannot be deployed; `details` lists {file, element, line, message}."""

    code = "invalid_bpmn"


class TooLarge(DingdanError):
    code = "too_large"


class ProcessError(DingdanError):
    """An expression or script failed while the engine stepped an instance."""

    code = "process_error"
