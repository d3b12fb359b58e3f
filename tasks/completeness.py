"""The file-completeness check a form can ask for before its task may complete.

A form lists what must be on file under `x-requires`, each item one of:
`{"data": "path"}` (present, not blank; with `"equals"`: that value),
`{"files": "path"}` (every file id there is stored), `{"document": "name"}` (generated),
`{"each": "path.to.list", "in": "element"}` (a per-item task done for every name listed).
"""

from sqlalchemy import select

from engine.models import Document, StoredFile


def missing_records(session, instance, requirements, lang="zh-CN") -> list[str]:
    """The titles of the records that are missing, naming the enterprise where it applies."""
    documents = set(
        session.scalars(select(Document.name).where(Document.instance_id == instance.id))
    )
    missing = []
    for item in requirements:
        title = item["title"].get(lang) or item["title"]["en"]
        if "document" in item:
            if item["document"] not in documents:
                missing.append(title)
        elif "files" in item:
            ids = _get(instance.data, item["files"]) or []
            stored = set(session.scalars(select(StoredFile.id).where(StoredFile.id.in_(ids))))
            if not ids or stored != set(ids):
                missing.append(title)
        elif "each" in item:
            names = [_name(entry) for entry in _get(instance.data, item["each"]) or []]
            done = {entry.get("subject") for entry in instance.data.get(item["in"], [])}
            if not names:
                missing.append(title)
            missing.extend(f"{title}：{name}" for name in names if name not in done)
        else:
            value = _get(instance.data, item["data"])
            if value in (None, "", []) or ("equals" in item and value != item["equals"]):
                missing.append(title)
    return missing


def _get(data, path):
    for part in path.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _name(entry):
    return entry.get("name") if isinstance(entry, dict) else entry
