"""Reading BPMN XML safely: no entities, no DTD, no network, and any DOCTYPE refused."""

from lxml import etree

from .errors import InvalidBpmn

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}

_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_pis=True,
)


def parse(content: bytes | str, filename: str) -> etree._ElementTree:
    if isinstance(content, str):
        content = content.encode("utf-8")
    if b"<!DOCTYPE" in content.upper() or b"<!ENTITY" in content.upper():
        raise _invalid(filename, None, None, "a DOCTYPE or entity declaration is not allowed")
    try:
        root = etree.fromstring(content, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise _invalid(filename, None, exc.lineno, f"not well-formed XML: {exc.msg}") from None
    tree = root.getroottree()
    if tree.docinfo.doctype:
        raise _invalid(filename, None, None, "a DOCTYPE is not allowed")
    if root.tag != f"{{{BPMN_NS}}}definitions":
        raise _invalid(filename, None, root.sourceline, "not a BPMN 2.0 document (no definitions)")
    return tree


def _invalid(filename, element, line, message) -> InvalidBpmn:
    detail = {"file": filename, "element": element, "line": line, "message": message}
    return InvalidBpmn(f"{filename}: {message}", details=[detail])


def properties(node) -> dict[str, str]:
    """The spiffworkflow:properties of a BPMN element, as a dict."""
    return {
        prop.get("name"): prop.get("value")
        for prop in node.iterfind(
            "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS
        )
    }
