"""The script engine that evaluates BPMN expressions, with the names the diagrams may use.

Names that need the current transaction (the file-number counter) or the working-day
calendar reach them through the step context that the runtime opens for each step.
"""

from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine

from .calendar import WorkingDayCalendar
from .numbering import next_file_number
from .sandbox import SandboxEnvironment, trusted


@dataclass
class StepContext:
    """What one engine step may touch: its session, its time, and the calendar."""

    session: object
    now: datetime
    calendar_loader: object
    _calendar: WorkingDayCalendar | None = field(default=None, init=False)
    file_numbers: list[str] = field(default_factory=list, init=False)

    def calendar(self) -> WorkingDayCalendar:
        if self._calendar is None:
            self._calendar = self.calendar_loader(self.session)
        return self._calendar

    def next_file_number(self, prefix: str) -> str:
        """The next number from the counter, in this step's transaction (a replay gives
        back the number the instance got instead)."""
        number = next_file_number(self.session, prefix, self.now)
        self.file_numbers.append(number)
        return number


current_step: ContextVar[StepContext] = ContextVar("current_step")


def _step() -> StepContext:
    try:
        return current_step.get()
    except LookupError:
        raise RuntimeError("an expression ran outside an engine step") from None


def _now() -> datetime:
    return _step().now


@trusted  # reads the calendar from the database
def _working_days_after(start, n: int) -> str:
    return _step().calendar().working_days_after_iso(start, int(n))


@trusted  # queues on the counter's row lock behind every other step taking a number
def _next_file_number(prefix: str) -> str:
    return _step().next_file_number(prefix)


class DingdanScriptEngine(PythonScriptEngine):
    def __init__(self, clock, settings):
        self.clock = clock
        environment = SandboxEnvironment(
            {
                "now": _now,
                "working_days_after": _working_days_after,
                "next_file_number": _next_file_number,
            }
        )
        super().__init__(environment=environment)
        self.settings = settings

    def now(self) -> datetime:
        """The time of the step under way; one step sees one instant."""
        step = current_step.get(None)
        return step.now if step is not None else self.clock.now()

    def evaluate(self, task, expression, external_context=None):
        return super().evaluate(task, expression, self._settings_context(external_context))

    def execute(self, task, script, external_context=None):
        return super().execute(task, script, self._settings_context(external_context))

    def _settings_context(self, external_context):
        context = {"follow_up_working_days": self.settings.follow_up_working_days}
        context.update(external_context or {})
        return context
