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
    encoding = (tree.docinfo.encoding or "UTF-8").upper().replace("_", "-")
    if encoding not in ("UTF-8", "UTF8"):
        # Stored, hashed and served as UTF-8 text: re-encoding would change what was signed
        # off, and a modeler (bpmn.io, Camunda's, Signavio) saves UTF-8 anyway.
        raise _invalid(filename, None, 1, f"the diagram is encoded as {encoding}: save it as UTF-8")
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
