"""The archive bundle of an instance: one zip that stands on its own.

    manifest.json          every other file with its size and SHA-256
    instance.json          the instance as stored: status, stage, file number, data
    forms/<element>.json   every submission of that form, in order, as data
    forms/<element>.html   the same as a printable page, with the form's field titles
    documents/<name>.html  the generated documents
    files/<id>-<name>      the uploaded files
    audit/events.jsonl     the audit log: each event's canonical JSON, prev_hash and hash
    audit/head.json        where the chain ended when the bundle was made
    audit/replay.json      the replay of the log and what it found differing, if anything
    audit/verify.py        recomputes the chain and the checksums (Python, no packages)

Built in memory from what was read in one unit of work; nothing is written.
"""

import hashlib
import html
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from engine import audit
from engine.calendar import SHANGHAI

from .shapes import instance_summary, iso

VERIFY_SCRIPT = Path(__file__).with_name("bundle_verify.py")
FORMAT = "dingdan-archive/1"


@dataclass
class Submission:
    seq: int
    at: datetime
    actor: str | None
    subject: str | None
    on_behalf_of: str | None
    data: dict


@dataclass
class FormRecord:
    element: str
    name: str
    form_key: str | None
    form: object | None  # forms.Form, for titles
    submissions: list[Submission] = field(default_factory=list)


@dataclass
class BundleSource:
    """What the bundle holds, read by the caller."""

    instance: object  # engine.models.Instance
    events: list  # AuditEvent rows, in order
    head: object | None  # AuditHead of the chain
    records: list[FormRecord]
    documents: list  # Document rows
    files: list  # StoredFile rows
    replay: dict  # {"seq", "complete", "divergences"}
    made_at: datetime
    made_by: str


def build(source: BundleSource) -> bytes:
    entries: dict[str, bytes] = {}
    instance = source.instance
    entries["instance.json"] = _json({**instance_summary(instance), "data": instance.data})
    title = instance.file_number or instance.id
    file_paths = {
        stored.id: f"files/{stored.id}-{safe_name(stored.name)}" for stored in source.files
    }
    for record in source.records:
        page = _record_html(record, title, file_paths)
        entries[f"forms/{safe_name(record.element)}.json"] = _json(_record_json(record))
        entries[f"forms/{safe_name(record.element)}.html"] = page.encode("utf-8")
    for document in source.documents:
        entries[f"documents/{safe_name(document.name)}.html"] = document.body.encode("utf-8")
    for stored in source.files:
        entries[file_paths[stored.id]] = stored.content
    entries["audit/events.jsonl"] = _events(source.events)
    if source.head is not None:
        entries["audit/head.json"] = _json(
            {"chain": source.head.chain, "seq": source.head.seq, "hash": source.head.hash}
        )
    entries["audit/replay.json"] = _json(source.replay)
    entries["audit/verify.py"] = VERIFY_SCRIPT.read_bytes()
    manifest = {
        "format": FORMAT,
        "instance": instance.id,
        "file_number": instance.file_number,
        "made_at": iso(source.made_at),
        "made_by": source.made_by,
        "files": [
            {"path": path, "size": len(content), "sha256": hashlib.sha256(content).hexdigest()}
            for path, content in sorted(entries.items())
        ],
    }
    entries["manifest.json"] = _json(manifest)

    buffer = io.BytesIO()
    stamp = source.made_at.astimezone(SHANGHAI).timetuple()[:6]
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in ["manifest.json", *sorted(p for p in entries if p != "manifest.json")]:
            info = zipfile.ZipInfo(path, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            bundle.writestr(info, entries[path])
    return buffer.getvalue()


def _events(events) -> bytes:
    lines = []
    for row in events:
        text = audit.canonical(row)
        event = json.loads(text)
        # The line must give back exactly the text that was hashed.
        if json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False) != text:
            raise ValueError(f"event {row.seq} does not survive a JSON round trip")
        line = {"event": event, "prev_hash": row.prev_hash, "hash": row.hash}
        lines.append(json.dumps(line, ensure_ascii=False, separators=(",", ":")))
    return ("\n".join(lines) + "\n").encode("utf-8")


def _record_json(record: FormRecord) -> dict:
    return {
        "element": record.element,
        "name": record.name,
        "form": record.form_key,
        "form_title": record.form.title("zh-CN") if record.form else None,
        "submissions": [
            {
                "seq": s.seq,
                "at": iso(s.at),
                "actor": s.actor,
                "subject": s.subject,
                "on_behalf_of": s.on_behalf_of,
                "data": s.data,
            }
            for s in record.submissions
        ],
    }


# -- the printable page -------------------------------------------------------------------

_STYLE = """
body { font-family: "Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", sans-serif;
       margin: 2em auto; max-width: 50em; color: #111; }
h1 { font-size: 1.4em; margin-bottom: .2em; }
h2 { font-size: 1.1em; margin: 1.6em 0 .4em; border-bottom: 1px solid #999; }
p.meta { color: #444; margin: .2em 0 .8em; }
table { border-collapse: collapse; width: 100%; margin: .3em 0; }
th, td { border: 1px solid #999; padding: .3em .5em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; width: 12em; font-weight: normal; }
table table th { width: auto; }
.long { white-space: pre-wrap; }
section { page-break-inside: avoid; }
@media print { body { margin: 0; } }
"""


def _record_html(record: FormRecord, title: str, files: dict[str, str]) -> str:
    form_title = record.form.title("zh-CN") if record.form else None
    heading = record.name + (
        f"《{form_title}》" if form_title and form_title != record.name else ""
    )
    schema = record.form.schema if record.form else {}
    parts = [
        "<!doctype html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{_e(title)} · {_e(record.name)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{_e(heading)}</h1>",
        f'<p class="meta">档案 {_e(title)} · 共 {len(record.submissions)} 次提交</p>',
    ]
    for number, submission in enumerate(record.submissions, start=1):
        who = submission.actor or "系统"
        if submission.on_behalf_of:
            who += f"（代{submission.on_behalf_of}填写）"
        parts.append("<section>")
        label = f"第 {number} 次提交" + (f" · {submission.subject}" if submission.subject else "")
        parts.append(f"<h2>{_e(label)}</h2>")
        meta = f"{_local(submission.at)} · {who} · 审计事件 {submission.seq}"
        parts.append(f'<p class="meta">{_e(meta)}</p>')
        parts.append(_object_table(schema, submission.data, files))
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _object_table(schema: dict, value, files) -> str:
    if not isinstance(value, dict) or not value:
        return "<p>（未填写内容）</p>"
    properties = schema.get("properties", {}) if isinstance(schema, dict) else {}
    keys = [k for k in properties if k in value] + [k for k in value if k not in properties]
    rows = [
        f"<tr><th>{_e(_title(properties.get(k, {}), k))}</th>"
        f"<td>{_value(properties.get(k, {}), value[k], files)}</td></tr>"
        for k in keys
    ]
    return "<table>" + "".join(rows) + "</table>"


def _value(schema: dict, value, files) -> str:
    if isinstance(schema, dict) and schema.get("x-widget") == "file":
        ids = value if isinstance(value, list) else [value]
        links = [
            f'<a href="../{_e(files[i])}">{_e(files[i].split("-", 5)[-1])}</a>'
            if i in files
            else _e(i)
            for i in ids
            if i
        ]
        return "、".join(links) or "—"
    if isinstance(value, dict):
        return _object_table(schema, value, files)
    if isinstance(value, list):
        items = schema.get("items", {}) if isinstance(schema, dict) else {}
        if value and all(isinstance(v, dict) for v in value):
            props = items.get("properties", {})
            keys = [k for k in props if any(k in v for v in value)]
            keys += sorted({k for v in value for k in v if k not in props})
            head = "".join(f"<th>{_e(_title(props.get(k, {}), k))}</th>" for k in keys)
            body = "".join(
                "<tr>"
                + "".join(
                    f"<td>{_value(props.get(k, {}), v[k], files) if k in v else ''}</td>"
                    for k in keys
                )
                + "</tr>"
                for v in value
            )
            return f"<table><tr>{head}</tr>{body}</table>"
        return _e("、".join(_scalar(items, v) for v in value)) if value else "—"
    text = _e(_scalar(schema, value))
    if isinstance(schema, dict) and schema.get("x-widget") == "textarea":
        return f'<span class="long">{text}</span>'
    return text


def _scalar(schema, value) -> str:
    titles = (schema.get("x-enum-titles") or {}) if isinstance(schema, dict) else {}
    if isinstance(value, str) and value in titles:
        return titles[value].get("zh-CN") or value
    if isinstance(value, bool):
        return "是" if value else "否"
    if value is None:
        return "—"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _title(schema: dict, key: str) -> str:
    titles = schema.get("x-title") or {}
    return titles.get("zh-CN") or schema.get("title") or key


# -- helpers ------------------------------------------------------------------------------


def _json(value) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _local(value) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y年%m月%d日 %H:%M")


def _e(text) -> str:
    return html.escape(str(text), quote=True)


_UNSAFE = re.compile(r"[^\w.\-]+", re.UNICODE)


def safe_name(name: str) -> str:
    """A file name that is one plain path part in any zip tool: letters (Chinese too),
    digits, dot, dash and underscore; at most 100 characters; never hidden or empty."""
    cleaned = _UNSAFE.sub("_", name).strip("._") or "file"
    if len(cleaned) > 100:
        stem, dot, ext = cleaned.rpartition(".")
        cleaned = (stem[: 99 - len(ext)] + dot + ext) if dot and len(ext) <= 10 else cleaned[:100]
    return cleaned
