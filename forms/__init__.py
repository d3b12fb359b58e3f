"""Form definitions: JSON Schema files, validation with per-field messages, computed fields.

Pure: imports nothing of ours and no web framework.

    registry = FormRegistry.from_directory(Path("processes/forms"))
    cleaned = registry.get("budget").validate(data)   # raises FormValidationError
"""

from forms.errors import FormValidationError
from forms.form import Form
from forms.registry import FormRegistry

__all__ = ["Form", "FormRegistry", "FormValidationError"]
