"""Uploaded files: stored in the database (never under a static path), size-limited."""

import hashlib
import uuid

from sqlalchemy import select

from engine.errors import InvalidData, TooLarge
from engine.models import StoredFile

MAX_FILE_BYTES = 20 * 1024 * 1024


def store_file(session, actor, name, content_type, content: bytes, now, limit=MAX_FILE_BYTES):
    if len(content) > limit:
        raise TooLarge(f"the file is larger than {limit} bytes", fields={"file": "too large"})
    if not name:
        raise InvalidData("the file needs a name", fields={"file": "no file name"})
    row = StoredFile(
        id=str(uuid.uuid4()),
        name=_safe_name(name),
        content_type=_safe_content_type(content_type),
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        uploaded_by=actor.username,
        uploaded_at=now,
    )
    session.add(row)
    return row


def check_files(session, data, file_ids, actor, instance_id=None) -> dict[str, str]:
    """Field errors for file ids in `data` that do not exist or that the actor may not use."""
    if not file_ids:
        return {}
    rows = {
        row.id: row
        for row in session.scalars(select(StoredFile).where(StoredFile.id.in_(file_ids)))
    }
    errors = {}
    for file_id in file_ids:
        row = rows.get(file_id)
        if row is None:
            problem = "unknown file"
        elif row.instance_id not in (None, instance_id):
            problem = "the file belongs to another instance"
        elif row.instance_id is None and row.uploaded_by != actor.username:
            problem = "the file was uploaded by someone else"
        else:
            continue
        for path in _paths_of(data, file_id):
            errors[path] = problem
    return errors


def _paths_of(value, wanted, prefix=""):
    """Dotted paths at which `wanted` stands in `value` ("qualification_documents.0")."""
    if value == wanted:
        yield prefix
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _paths_of(item, wanted, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths_of(item, wanted, f"{prefix}.{index}" if prefix else str(index))


def attach_files(session, file_ids, instance_id) -> None:
    if not file_ids:
        return  # most forms carry none: no query
    for row in session.scalars(select(StoredFile).where(StoredFile.id.in_(file_ids))):
        row.instance_id = instance_id


def _safe_name(name: str) -> str:
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"<>:|?*')
    return name.strip()[:200] or "file"


def _safe_content_type(content_type: str | None) -> str:
    if content_type and content_type.isprintable() and len(content_type) <= 200:
        return content_type
    return "application/octet-stream"
