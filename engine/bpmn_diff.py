"""What changed between two versions of a diagram: the elements added, removed and changed.

Elements are matched by id. An element's content is its attributes, its text and its
children that have no id of their own (properties, conditions, timer definitions, loop
settings); elements with ids are compared on their own, and the diagram's layout is left
out, so moving a shape is not a change.
"""

from lxml import etree

from . import bpmn_xml
from .bpmn_xml import NS

_BPMN = f"{{{NS['bpmn']}}}"
# Bookkeeping that follows from other changes (a flow's ends are listed on its nodes).
_IGNORED_CHILDREN = {f"{_BPMN}incoming", f"{_BPMN}outgoing", f"{_BPMN}flowNodeRef"}
# Attributes written out with their default value say nothing (modelers leave them out).
_DEFAULTS = {"isSequential": "false", "cancelActivity": "true", "isInterrupting": "true"}


def elements(xml: str | bytes, filename: str = "diagram.bpmn") -> dict[str, dict]:
    """{id: {"type", "name", "content"}} for every element of the diagram's processes."""
    root = bpmn_xml.parse(xml, filename).getroot()
    found = {}
    for process in root.iterfind("bpmn:process", NS):
        for node in process.iter():
            if not isinstance(node.tag, str) or node.get("id") is None:
                continue
            found[node.get("id")] = {
                "type": etree.QName(node).localname,
                "name": node.get("name"),
                "content": _content(node),
            }
    return found


def diff(before: str | bytes, after: str | bytes) -> dict[str, list[dict]]:
    """{"added": [...], "removed": [...], "changed": [...]}, each item `element, type,
    name`; a changed one also `changes`: which attributes or parts differ."""
    old, new = elements(before), elements(after)
    added = [_item(key, new[key]) for key in new if key not in old]
    removed = [_item(key, old[key]) for key in old if key not in new]
    changed = []
    for key in new:
        if key in old and old[key]["content"] != new[key]["content"]:
            item = _item(key, new[key])
            item["changes"] = _changes(old[key]["content"], new[key]["content"])
            if old[key]["name"] != new[key]["name"]:
                item["name_before"] = old[key]["name"]
            changed.append(item)
    return {"added": added, "removed": removed, "changed": changed}


def _item(key, element) -> dict:
    return {"element": key, "type": element["type"], "name": element["name"]}


def _content(node) -> dict[str, str]:
    """Attributes as `@name`, the text as `#text`, and each id-less child (by tag) as its
    canonical XML."""
    content = {f"@{etree.QName(k).localname}": v for k, v in _attributes(node).items()}
    text = (node.text or "").strip()
    if text:
        content["#text"] = text
    parts: dict[str, list[str]] = {}
    for child in node:
        if not isinstance(child.tag, str) or child.tag in _IGNORED_CHILDREN:
            continue
        if child.get("id") is not None and not etree.QName(child).localname.endswith(
            ("EventDefinition", "LoopCharacteristics")
        ):
            continue  # compared as an element of its own
        parts.setdefault(etree.QName(child).localname, []).append(_canonical(child))
    content.update({name: "\n".join(sorted(xml)) for name, xml in parts.items()})
    return content


def _canonical(node) -> str:
    copy = etree.fromstring(etree.tostring(node))
    for element in copy.iter():
        if isinstance(element.tag, str):
            kept = _attributes(element)
            element.attrib.clear()
            element.attrib.update(kept)
            element.text = (element.text or "").strip() or None
            element.tail = None
    return etree.tostring(copy, method="c14n").decode("utf-8")


def _attributes(node) -> dict[str, str]:
    """Attributes without the id (modelers number inner ids afresh) and without defaults."""
    return {
        key: value
        for key, value in node.attrib.items()
        if key != "id" and _DEFAULTS.get(key) != value
    }


def _changes(before: dict, after: dict) -> list[str]:
    keys = set(before) | set(after)
    return sorted(key.lstrip("@#") for key in keys if before.get(key) != after.get(key))
