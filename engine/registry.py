"""The process registry: check diagrams, then store each process as a new version.

A deployment is a set of files. Every process they define is checked (BPMN schema, called
processes present, forms present, lanes that name known roles, expressions that compile,
gateways with a way out) before anything is stored;
one error anywhere and nothing is deployed. Each process key gets a new version only when
its content — its own file and the processes it calls — changed.
"""

import functools
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.exceptions import SpiffWorkflowException
from sqlalchemy import func, select

from . import bpmn_xml, sandbox
from .bpmn_xml import NS
from .errors import InvalidBpmn
from .models import ProcessVersion
from .spiff import new_parser, specs_to_json

FORM_PROPERTY = "formJsonSchemaFilename"
_CALL_ACTIVITY = f"{{{NS['bpmn']}}}callActivity"
# Element text that the engine evaluates as Python, and which element carries it.
_EXPRESSIONS = {
    "bpmn:conditionExpression": "eval",
    "bpmn:timeDate": "eval",
    "bpmn:timeDuration": "eval",
    "bpmn:timeCycle": "eval",
    "bpmn:script": "exec",
    "spiffworkflow:preScript": "exec",
    "spiffworkflow:postScript": "exec",
    "bpmn:loopCardinality": "eval",
    "bpmn:completionCondition": "eval",
}
_GATEWAYS = {
    f"{{{NS['bpmn']}}}{name}"
    for name in (
        "exclusiveGateway",
        "inclusiveGateway",
        "parallelGateway",
        "eventBasedGateway",
        "complexGateway",
    )
}
_SEQUENCE_FLOW = f"{{{NS['bpmn']}}}sequenceFlow"
# Children whose own id an error should not name: the element they belong to is meant.
_PARTS = ("EventDefinition", "LoopCharacteristics", "Expression", "conditionExpression")


@dataclass
class Deployed:
    key: str
    version: int
    created: bool
    filename: str = ""
    calls: tuple[str, ...] = ()


@dataclass
class _Process:
    key: str
    name: str
    filename: str
    xml: str
    file_sha: str
    called: list[str]
    start_form: str | None


class ProcessRegistry:
    def __init__(
        self,
        form_exists: Callable[[str], bool] | None = None,
        role_exists: Callable[[str], bool] | None = None,
    ):
        self.form_exists = form_exists or (lambda filename: True)
        # Lanes are named by role keys; the composition root says which keys exist.
        self.role_exists = role_exists or (lambda role: True)

    def check(self, session, files: Mapping[str, bytes | str]) -> list[dict]:
        """Every error deploying `files` would meet ({file, element, line, message}); [] when
        they would deploy. Stores nothing."""
        try:
            self._check(session, files)
        except InvalidBpmn as exc:
            return list(exc.details)
        return []

    def deploy(self, session, files: Mapping[str, bytes | str], deployed_by, now) -> list[Deployed]:
        """Check `files` ({filename: content}) and store every process they define."""
        parser, processes = self._check(session, files)
        shas = {key: self._bundle_sha(session, key, processes) for key in processes}
        results = []
        versions: dict[str, int] = {}
        # Called processes first, so a caller can record which of their versions it bundles.
        for key, process in sorted(
            processes.items(), key=lambda kv: (_depth(kv[0], processes), kv[0])
        ):
            latest = latest_version(session, key)
            calls = tuple(process.called)
            if latest is not None and latest.sha256 == shas[key]:
                versions[key] = latest.version
                results.append(Deployed(key, latest.version, False, process.filename, calls))
                continue
            spec = parser.get_spec(key)
            subprocess_specs = parser.get_subprocess_specs(key)
            row = ProcessVersion(
                key=key,
                version=(latest.version + 1) if latest else 1,
                name=process.name,
                sha256=shas[key],
                filename=process.filename,
                bpmn=process.xml,
                called=sorted(subprocess_specs),
                called_versions={
                    k: versions.get(k) or latest_version(session, k).version
                    for k in subprocess_specs
                },
                spec_json=specs_to_json(spec, subprocess_specs),
                start_form=process.start_form,
                deployed_by=deployed_by,
                deployed_at=now,
            )
            session.add(row)
            session.flush()
            versions[key] = row.version
            results.append(Deployed(key, row.version, True, process.filename, calls))
        return results

    # -- checking -------------------------------------------------------------------------

    def _check(self, session, files):
        parser = new_parser()
        processes: dict[str, _Process] = {}
        errors: list[dict] = []
        trees = {}
        for filename, content in files.items():
            try:
                tree = bpmn_xml.parse(content, filename)
                parser.add_bpmn_xml(tree, filename)
            except InvalidBpmn as exc:
                errors.extend(exc.details)
                continue
            except ValidationException as exc:
                errors.append(_detail(filename, exc))
                continue
            trees[filename] = tree
            xml = content.decode("utf-8") if isinstance(content, bytes) else content
            sha = hashlib.sha256(xml.encode("utf-8")).hexdigest()
            for node in tree.getroot().iterfind("bpmn:process", NS):
                key = node.get("id")
                if key in processes:
                    errors.append(_at(filename, node, f"process '{key}' is defined twice"))
                    continue
                processes[key] = _Process(
                    key=key,
                    name=node.get("name") or key,
                    filename=filename,
                    xml=xml,
                    file_sha=sha,
                    called=[
                        c.get("calledElement") for c in node.iter(f"{{{NS['bpmn']}}}callActivity")
                    ],
                    start_form=_start_form(node),
                )
                errors.extend(self._check_process(filename, node))
        if not errors and not processes:
            errors.append({"file": None, "element": None, "line": None, "message": "no process"})
        if not errors:
            errors.extend(self._check_called(session, parser, trees, processes))
        if not errors:
            for key in processes:
                try:
                    parser.get_subprocess_specs(key)
                except (ValidationException, SpiffWorkflowException) as exc:
                    errors.append(_detail(processes[key].filename, exc))
        if errors:
            first = errors[0]
            where = " ".join(str(p) for p in (first["file"], first["element"]) if p)
            raise InvalidBpmn(f"{where}: {first['message']}".strip(": "), details=errors)
        return parser, processes

    def _check_process(self, filename, process_node) -> list[dict]:
        errors = []
        for node in process_node.iter():
            props = bpmn_xml.properties(node) if isinstance(node.tag, str) else {}
            form = props.get(FORM_PROPERTY)
            if form and not self.form_exists(form):
                errors.append(_at(filename, node, f"form '{form}' does not exist"))
            refused = sandbox.check(props["notifyText"], "eval") if "notifyText" in props else None
            if refused:
                errors.append(_at(filename, node, f"expression refused: {refused}"))
        for lane in process_node.iterfind(".//bpmn:lane", NS):
            role = (lane.get("name") or "").strip()
            if not role:
                errors.append(_at(filename, lane, "lane has no name (a role key)"))
            elif not self.role_exists(role):
                errors.append(_at(filename, lane, f"lane '{role}' is not a known role"))
        errors.extend(_dangling_flows(filename, process_node))
        errors.extend(_gateways_without_way_out(filename, process_node))
        for loop in process_node.iterfind(".//bpmn:multiInstanceLoopCharacteristics", NS):
            for ref in ("loopDataInputRef", "loopDataOutputRef"):
                name = (loop.findtext(f"bpmn:{ref}", None, NS) or "").strip()
                if name and not name.isidentifier():
                    errors.append(
                        _at(filename, _owner(loop), f"{ref} '{name}' is not a variable name")
                    )
        for path, mode in _EXPRESSIONS.items():
            for expr in process_node.iterfind(f".//{path}", NS):
                owner = _owner(expr)
                text = (expr.text or "").strip()
                if not text:
                    if path != "bpmn:script":
                        errors.append(_at(filename, owner, "empty expression"))
                    continue
                refused = sandbox.check(text, mode)
                if refused:
                    errors.append(_at(filename, owner, f"expression refused: {refused}"))
        return errors

    def _check_called(self, session, parser, trees, processes) -> list[dict]:
        errors = []
        for filename, tree in trees.items():
            for call in tree.getroot().iter(_CALL_ACTIVITY):
                called = call.get("calledElement")
                if called in processes:
                    continue
                known = latest_version(session, called) if called else None
                if known is None:
                    errors.append(_at(filename, call, f"called process '{called}' is not deployed"))
                    continue
                parser.add_bpmn_xml(bpmn_xml.parse(known.bpmn, known.filename), known.filename)
        return errors

    def _bundle_sha(self, session, key, processes) -> str:
        """A process's content: its own file and, recursively, the processes it calls."""
        digest = hashlib.sha256()
        seen: set[str] = set()

        def add(k):
            if k in seen:
                return
            seen.add(k)
            if k in processes:
                digest.update(processes[k].file_sha.encode())
                called = processes[k].called
            else:
                row = latest_version(session, k)
                digest.update(row.sha256.encode())
                called = []  # a deployed version's sha already covers what it calls
            for c in sorted(called):
                add(c)

        add(key)
        return digest.hexdigest()


def _dangling_flows(filename, process_node) -> list[dict]:
    """A sequence flow from or to an element the process does not have (SpiffWorkflow
    would name the flow's neighbour, with a message about forms)."""
    ids = {node.get("id") for node in process_node.iter() if isinstance(node.tag, str)}
    errors = []
    for flow in process_node.iter(_SEQUENCE_FLOW):
        for end in ("sourceRef", "targetRef"):
            ref = flow.get(end)
            if not ref or ref not in ids:
                message = f"sequence flow {end} '{ref or ''}' is no element of the process"
                errors.append(_at(filename, flow, message))
    return errors


def _gateways_without_way_out(filename, process_node) -> list[dict]:
    """A gateway with no outgoing sequence flow: an instance reaching it could never leave."""
    errors = []
    for container in [process_node, *process_node.iterfind(".//bpmn:subProcess", NS)]:
        sources = {flow.get("sourceRef") for flow in container.iterchildren(_SEQUENCE_FLOW)}
        for node in container.iterchildren(*_GATEWAYS):
            if node.get("id") not in sources:
                errors.append(_at(filename, node, "gateway has no outgoing sequence flow"))
    return errors


def _depth(key, processes, seen=()) -> int:
    """0 for a process that calls nothing uploaded here, else one more than its callees."""
    called = [c for c in processes[key].called if c in processes and c not in seen]
    return 1 + max((_depth(c, processes, (*seen, key)) for c in called), default=-1)


def start_lane(version: ProcessVersion) -> str | None:
    """The lane (role key) of the process's start event, read from its stored BPMN."""
    return _start_lane(version.id, version.key, version.bpmn, version.filename)


@functools.lru_cache(maxsize=256)
def _start_lane(version_id, key, bpmn, filename) -> str | None:
    process = bpmn_xml.parse(bpmn, filename).getroot().find(f"bpmn:process[@id='{key}']", NS)
    if process is None:
        return None
    starts = {node.get("id") for node in process.iterfind("bpmn:startEvent", NS)}
    for lane in process.iterfind(".//bpmn:lane", NS):
        refs = {ref.text for ref in lane.iterfind("bpmn:flowNodeRef", NS)}
        if refs & starts:
            return lane.get("name")
    return None


def latest_version(session, key: str) -> ProcessVersion | None:
    return session.scalar(
        select(ProcessVersion)
        .where(ProcessVersion.key == key)
        .order_by(ProcessVersion.version.desc())
        .limit(1)
    )


def latest_versions(session) -> list[ProcessVersion]:
    newest = (
        select(ProcessVersion.key, func.max(ProcessVersion.version).label("version"))
        .group_by(ProcessVersion.key)
        .subquery()
    )
    return list(
        session.scalars(
            select(ProcessVersion)
            .join(
                newest,
                (ProcessVersion.key == newest.c.key) & (ProcessVersion.version == newest.c.version),
            )
            .order_by(ProcessVersion.key)
        )
    )


def form_key(filename: str | None) -> str | None:
    """`budget.schema.json` → `budget`: the key a form is known by."""
    return filename.removesuffix(".json").removesuffix(".schema") if filename else None


def _start_form(process_node) -> str | None:
    for start in process_node.iterfind("bpmn:startEvent", NS):
        form = bpmn_xml.properties(start).get(FORM_PROPERTY)
        if form:
            return form_key(form)
    return None


def _owner(node):
    """The flow element (with an id) that an expression belongs to: a timer's event, not
    its event definition."""
    while node is not None and (node.get("id") is None or _is_part(node)):
        node = node.getparent()
    return node


def _is_part(node) -> bool:
    return isinstance(node.tag, str) and node.tag.endswith(_PARTS)


def _at(filename, node, message) -> dict:
    element = node.get("id") if node is not None else None
    line = node.sourceline if node is not None else None
    return {"file": filename, "element": element, "line": line, "message": message}


def _detail(filename, exc) -> dict:
    return {
        "file": getattr(exc, "file_name", None) or filename,
        "element": getattr(exc, "id", None) or getattr(exc, "task_id", None),
        "line": getattr(exc, "line_number", None) or None,
        "message": str(getattr(exc, "error_msg", None) or exc).splitlines()[0],
    }
