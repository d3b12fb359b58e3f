"""An instance drawn on its diagrams: the BPMN of the main process and of every process it
calls, at the versions the instance runs on, and the state of each element in each.

Read only, and from the projected rows alone (tasks, timers, the instance's stage): no
workflow is loaded. An element is `completed` (a finished task, a fired timer, a stage
already passed), `active` (an open task, a waiting timer, the running stage) or `overdue`
(an open task escalated or past its deadline); a call activity takes the state of the
diagram it calls. Each element is in one list only: overdue before active before completed.
"""

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import defer

from engine import bpmn_xml
from engine.bpmn_xml import NS
from engine.errors import NotFound
from engine.models import HumanTask, Instance, ProcessVersion, Timer

from .inbox import is_overdue
from .roles import Actor

# The stages of the order-based service procedure, in the order they run. A stage that is
# not listed here (another procedure's) keeps its place in the diagram's document order.
STAGE_ORDER = ("application", "survey", "preparation", "implementation", "follow_up", "archiving")
STATES = ("overdue", "active", "completed")
_BPMN = f"{{{NS['bpmn']}}}"


@dataclass
class CallActivity:
    id: str
    called: str
    stage: str | None
    name: str
    name_en: str | None


@dataclass
class Diagram:
    """One process of the instance, its XML, and where the instance stands in it."""

    key: str
    version: int
    name: str
    xml: str
    # Main diagram: None. A called one: the call activity that runs it (stage, tab label).
    called_by: CallActivity | None = None
    completed: list[str] = field(default_factory=list)
    active: list[str] = field(default_factory=list)
    overdue: list[str] = field(default_factory=list)
    # How many task rows per element and state, for multi-instance tasks ("×3").
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    # Every named element: id -> (name, name_en).
    names: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    call_activities: list[CallActivity] = field(default_factory=list)
    start_events: list[str] = field(default_factory=list)
    end_statuses: dict[str, str] = field(default_factory=dict)  # end event -> instanceStatus

    @property
    def stage(self) -> str | None:
        return self.called_by.stage if self.called_by else None

    def state_of(self, element: str) -> str | None:
        for state in STATES:
            if element in getattr(self, state):
                return state
        return None

    def as_json(self) -> dict:
        return {
            "key": self.key,
            "version": self.version,
            "name": self.name,
            "stage": self.stage,
            "xml": self.xml,
            "completed": self.completed,
            "active": self.active,
            "overdue": self.overdue,
            "counts": self.counts,
        }


@dataclass
class InstanceDiagrams:
    instance: Instance
    main: Diagram
    diagrams: list[Diagram]  # the main one first, then the called ones in stage order
    # The six stages (or whichever the main diagram names) with "completed", "active",
    # "overdue" or None (not reached).
    stages: list[tuple[str, str | None]]
    tasks: list[HumanTask]  # every task row of the instance, any state, oldest first
    timers: list[Timer]
    start_form: str | None

    @property
    def current(self) -> Diagram:
        """The diagram to show first: the running stage's, else the main one."""
        running = self.instance.stage if self.instance.status == "running" else None
        return next((d for d in self.diagrams if running and d.stage == running), self.main)

    def element_name(self, element: str | None, english=False, task_id=None) -> str | None:
        """A task's, timer's or element's name (its task row first: ids repeat across
        diagrams, task ids do not)."""
        if task_id:
            for row in self.tasks:
                if row.id == task_id:
                    return (row.name_en if english else None) or row.name
            for timer in self.timers:
                if timer.id == task_id and timer.diagram:
                    element = timer.element
                    diagram = self.diagram(timer.diagram)
                    if diagram and element in diagram.names:
                        return _pick(diagram.names[element], english)
        if element is None:
            return None
        for diagram in self.diagrams:
            if element in diagram.names:
                return _pick(diagram.names[element], english)
        return None

    def diagram(self, key: str) -> Diagram | None:
        return next((d for d in self.diagrams if d.key == key), None)

    def as_json(self) -> dict:
        return {
            "instance": self.instance.id,
            "status": self.instance.status,
            "stage": self.instance.stage,
            "current": self.current.key,
            "diagrams": [d.as_json() for d in self.diagrams],
        }


class Diagrams:
    def __init__(self, engine, access):
        self.engine = engine
        self.access = access  # may_see(session, actor, instance)

    def for_instance(self, actor: Actor, instance_id: str) -> InstanceDiagrams:
        with self.engine.unit_of_work() as uow:
            session = uow.session
            instance = session.get(Instance, instance_id)
            if instance is None or not self.access(session, actor, instance):
                raise NotFound(f"instance '{instance_id}' does not exist")
            main_version = session.scalar(
                select(ProcessVersion)
                .where(ProcessVersion.id == instance.process_version_id)
                .options(defer(ProcessVersion.spec_json))  # the runtime's, not needed here
            )
            versions = [main_version, *_called_versions(session, main_version)]
            tasks = list(
                session.scalars(
                    select(HumanTask)
                    .where(HumanTask.instance_id == instance_id)
                    .order_by(HumanTask.created_at, HumanTask.id)
                )
            )
            timers = list(
                session.scalars(
                    select(Timer).where(Timer.instance_id == instance_id).order_by(Timer.due_at)
                )
            )
            return _build(instance, versions, tasks, timers, uow.now)


def _called_versions(session, main: ProcessVersion) -> list[ProcessVersion]:
    rows = []
    for key, version in (main.called_versions or {}).items():
        row = session.scalar(
            select(ProcessVersion)
            .where(ProcessVersion.key == key, ProcessVersion.version == version)
            .options(defer(ProcessVersion.spec_json))
        )
        if row is not None:
            rows.append(row)
    return rows


def _build(instance, versions, tasks, timers, now) -> InstanceDiagrams:
    diagrams = {v.key: _read(v) for v in versions}
    main = diagrams[versions[0].key]
    callers = {}
    for diagram in diagrams.values():
        for call in diagram.call_activities:
            if call.called in diagrams and call.called != diagram.key:
                callers.setdefault(call.called, (diagram.key, call))
    for key, (_caller, call) in callers.items():
        diagrams[key].called_by = call

    states: dict[str, dict[str, Counter]] = {key: {} for key in diagrams}

    def mark(diagram_key, element, state):
        if diagram_key in states:
            states[diagram_key].setdefault(element, Counter())[state] += 1

    for row in tasks:
        key = row.diagram or main.key
        if row.state == "completed":
            mark(key, row.element, "completed")
        elif row.state == "open":
            mark(key, row.element, "overdue" if is_overdue(row, now) else "active")
    for timer in timers:
        if timer.state == "fired":
            mark(timer.diagram or main.key, timer.element, "completed")
        elif timer.state == "waiting":
            mark(timer.diagram or main.key, timer.element, "active")

    # Call activities take the state of the diagram they call, deepest first.
    running_stage = instance.stage if instance.status == "running" else None
    stage_index = _stage_index(running_stage)
    for key in sorted(diagrams, key=lambda k: -_depth(k, callers)):
        for call in diagrams[key].call_activities:
            summary = _summary(states.get(call.called, {}))
            if call.stage is not None and call.stage == running_stage:
                summary = summary if summary in ("overdue", "active") else "active"
            elif summary is None and running_stage and _stage_index(call.stage) < stage_index:
                summary = "completed"  # a stage passed without a task or timer of its own
            if summary:
                mark(key, call.id, summary)
    # Start events of every diagram entered; the main end event the instance ended at.
    for key, diagram in diagrams.items():
        if key == main.key or states[key]:
            for start in diagram.start_events:
                mark(key, start, "completed")
    if instance.status != "running":
        for end, status in main.end_statuses.items():
            if status == instance.status:
                mark(main.key, end, "completed")

    for key, diagram in diagrams.items():
        for element, counter in states[key].items():
            state = next(s for s in STATES if counter[s])
            getattr(diagram, state).append(element)
            diagram.counts[element] = {s: counter[s] for s in STATES if counter[s]}

    ordered = [main] + sorted(
        (d for k, d in diagrams.items() if k != main.key),
        key=lambda d: (_stage_index(d.stage), _call_position(main, d.key), d.key),
    )
    stages = [
        (call.stage, main.state_of(call.id))
        for call in sorted(
            (c for c in main.call_activities if c.stage),
            key=lambda c: (_stage_index(c.stage), main.call_activities.index(c)),
        )
    ]
    return InstanceDiagrams(
        instance=instance,
        main=main,
        diagrams=ordered,
        stages=stages,
        tasks=tasks,
        timers=timers,
        start_form=versions[0].start_form,
    )


def _read(version: ProcessVersion) -> Diagram:
    diagram = Diagram(key=version.key, version=version.version, name=version.name, xml=version.bpmn)
    tree = bpmn_xml.parse(version.bpmn, version.filename)
    process = next(
        (p for p in tree.getroot().iterfind("bpmn:process", NS) if p.get("id") == version.key),
        None,
    )
    if process is None:
        return diagram
    for node in process.iter():
        if not isinstance(node.tag, str) or not node.get("id"):
            continue
        props = bpmn_xml.properties(node)
        if node.get("name"):
            diagram.names[node.get("id")] = (node.get("name"), props.get("name_en"))
        tag = node.tag.removeprefix(_BPMN)
        if tag == "callActivity":
            diagram.call_activities.append(
                CallActivity(
                    id=node.get("id"),
                    called=node.get("calledElement"),
                    stage=props.get("stage"),
                    name=node.get("name") or node.get("id"),
                    name_en=props.get("name_en"),
                )
            )
        elif tag == "startEvent" and node.getparent() is process:
            diagram.start_events.append(node.get("id"))
        elif tag == "endEvent" and props.get("instanceStatus"):
            diagram.end_statuses[node.get("id")] = props["instanceStatus"]
    return diagram


def _summary(elements: dict[str, Counter]) -> str | None:
    found = {state for counter in elements.values() for state in STATES if counter[state]}
    return next((s for s in STATES if s in found), None)


def _stage_index(stage: str | None) -> int:
    return STAGE_ORDER.index(stage) if stage in STAGE_ORDER else len(STAGE_ORDER)


def _depth(key, callers) -> int:
    depth, seen = 0, {key}
    while key in callers:
        key = callers[key][0]
        if key in seen:
            break
        seen.add(key)
        depth += 1
    return depth


def _call_position(main: Diagram, key: str) -> int:
    for index, call in enumerate(main.call_activities):
        if call.called == key:
            return index
    return len(main.call_activities)


def _pick(names: tuple[str, str | None], english: bool) -> str:
    return (names[1] if english else None) or names[0]
