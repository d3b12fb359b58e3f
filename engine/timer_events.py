"""Timer events that read the injected clock instead of `datetime.now`.

SpiffWorkflow's timer definitions call `datetime.now(timezone.utc)` themselves. These
subclasses take "now" from the workflow's script engine (the time of the step under way,
else the injected clock), the
parser is taught to build them, and the serializer to store them; nothing is patched.
"""

from datetime import timedelta

from SpiffWorkflow.bpmn.serializer.default.event_definition import (
    TimerConditionalEventDefinitionConverter,
)
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.spiff.parser.event_parsers import (
    SpiffBoundaryEventParser,
    SpiffIntermediateCatchEventParser,
    SpiffStartEventParser,
)


def _now(my_task):
    return my_task.workflow.script_engine.now()


def _parse_due(value):
    return TimerEventDefinition.get_datetime(value)


class ClockedTimeDateEventDefinition(TimeDateEventDefinition):
    def has_fired(self, my_task):
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            event_value = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            # Store the due time normalised, so the sweep and the engine agree on it.
            event_value = TimerEventDefinition.parse_time_or_duration(event_value).isoformat()
            my_task._set_internal_data(event_value=event_value)
        if _parse_due(event_value) <= _now(my_task):
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


class ClockedDurationTimerEventDefinition(DurationTimerEventDefinition):
    def has_fired(self, my_task):
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            parsed = TimerEventDefinition.parse_iso_duration(expression)
            start = _now(my_task)
            due = start + TimerEventDefinition.get_timedelta_from_start(parsed, start)
            event_value = due.isoformat()
            my_task._set_internal_data(event_value=event_value)
        if _parse_due(event_value) <= _now(my_task):
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


class ClockedCycleTimerEventDefinition(CycleTimerEventDefinition):
    def cycle_complete(self, my_task):
        event_value = my_task._get_internal_data("event_value")
        now = _now(my_task)
        if event_value is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            cycles, start, duration = _recurring(expression, now)
            event_value = {
                "cycles": cycles,
                "next": start.isoformat(),
                "duration": duration.total_seconds(),
            }
        ready = False
        if event_value["cycles"] != 0:
            next_event = _parse_due(event_value["next"])
            if next_event <= now:
                following = next_event + timedelta(seconds=event_value["duration"])
                event_value["next"] = following.isoformat()
                event_value["cycles"] -= 1
                ready = True
        else:
            my_task.internal_data.pop("event_value", None)
            my_task.internal_data["event_fired"] = True
        my_task._set_internal_data(event_value=event_value)
        return ready


def _recurring(expression, now):
    """Like SpiffWorkflow's parser of R/…/… intervals, but a bare duration starts at `now`."""
    components = expression.upper().replace("--", "/").strip("R").split("/")
    if len(components) == 2 and components[1].startswith("P"):
        cycles = int(components[0]) if components[0] else -1
        parsed = TimerEventDefinition.parse_iso_duration(components[1])
        duration = TimerEventDefinition.get_timedelta_from_start(parsed, now)
        return cycles, now + duration, duration
    return TimerEventDefinition.parse_iso_recurring_interval(expression)


_CLOCKED = {
    TimeDateEventDefinition: ClockedTimeDateEventDefinition,
    DurationTimerEventDefinition: ClockedDurationTimerEventDefinition,
    CycleTimerEventDefinition: ClockedCycleTimerEventDefinition,
}

SERIALIZER_CONFIG = {cls: TimerConditionalEventDefinitionConverter for cls in _CLOCKED.values()}


class _ClockedTimerParser:
    def parse_timer_event(self, event):
        stock = super().parse_timer_event(event)
        clocked = _CLOCKED[type(stock)]
        return clocked(stock.name, stock.expression, description=stock.description)


class StartEventParser(_ClockedTimerParser, SpiffStartEventParser):
    pass


class IntermediateCatchEventParser(_ClockedTimerParser, SpiffIntermediateCatchEventParser):
    pass


class BoundaryEventParser(_ClockedTimerParser, SpiffBoundaryEventParser):
    pass
