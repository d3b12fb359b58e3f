"""The expression sandbox: known escapes refused, at deploy time where they can be seen."""

import sys
import time

import pytest

from engine.errors import InvalidBpmn
from engine.sandbox import (
    ExpressionLimit,
    ExpressionRefused,
    SandboxEnvironment,
    check,
    trusted,
)
from webui.composition import PROCESSES_DIR

ENV = SandboxEnvironment({"now": lambda: "2026-10-01T00:00:00+08:00"})

# Refused when the diagram is checked: RestrictedPython's compiler sees them.
COMPILE_TIME = [
    '__import__("os").system("id")',
    "().__class__.__base__.__subclasses__()",
    "f.__globals__",
    "f.__code__.co_consts",
    'eval("1 + 1")',
    'exec("x = 1")',
]
# Refused when they run: the names are missing or the guard stops them.
RUN_TIME = [
    ('open("/etc/passwd").read()', NameError),
    ('compile("1", "x", "eval")', NameError),
    ('getattr(x, "__class__")', AttributeError),
    ('"{0.__class__}".format(x)', ExpressionRefused),
    ('"{x.__class__}".format_map({"x": x})', ExpressionRefused),
    ("type(x)", NameError),
    ('"a" * 10**9', ExpressionLimit),
    ("[0] * 10**8", ExpressionLimit),
    ("2 ** 10**6", ExpressionLimit),
    ("list(range(10**9))", ExpressionLimit),
    ('"a".ljust(10**9)', ExpressionRefused),
    ('("a" * 999999).replace("a", "aa")', ExpressionLimit),
]


@pytest.mark.parametrize("expression", COMPILE_TIME)
def test_escapes_the_compiler_sees_are_refused_before_anything_runs(expression):
    assert check(expression, "eval") is not None
    with pytest.raises(ExpressionRefused):
        ENV.evaluate(expression, {"f": len})


@pytest.mark.parametrize("script", ["import os", "from os import path", "x = 1\nimport sys as s"])
def test_a_script_that_imports_is_refused_when_checked(script):
    assert "import is not allowed" in check(script, "exec")


@pytest.mark.parametrize(("expression", "error"), RUN_TIME)
def test_escapes_are_stopped_when_they_run(expression, error):
    with pytest.raises(error):
        ENV.evaluate(expression, {"x": 1})


def test_an_endless_loop_is_stopped_after_the_time_limit():
    started = time.monotonic()
    with pytest.raises(ExpressionLimit):
        ENV.execute("while True:\n    pass", {})
    assert time.monotonic() - started < 3


def test_what_the_diagrams_need_still_works():
    data = {"review_application": {"decision": "accept"}, "follow_ups": [{"x": False}]}
    assert ENV.evaluate('review_application["decision"] == "accept"', data) is True
    assert ENV.evaluate('any(f["x"] for f in follow_ups)', data) is False
    assert ENV.evaluate("now()", {}) == "2026-10-01T00:00:00+08:00"
    scope = {"plan_survey": {"enterprises": [{"name": "甲"}]}, "a": 1, "b": 2}
    ENV.execute('enterprises = plan_survey["enterprises"]\na = b = None\ndel a, b', scope)
    assert scope == {
        "plan_survey": {"enterprises": [{"name": "甲"}]},
        "enterprises": [{"name": "甲"}],
    }


def _deploy_with_condition(system, condition):
    """order_service with `condition` in place of the gateway's accept condition."""
    text = (PROCESSES_DIR / "order_service.bpmn").read_text(encoding="utf-8")
    broken = text.replace('review_application["decision"] == "accept"', condition)
    with system.engine.unit_of_work() as uow:
        system.engine.deploy(uow, {"order_service.bpmn": broken}, "owner")


@pytest.mark.parametrize("condition", ["().__class__.__bases__", '__import__("os").getcwd() == ""'])
def test_a_diagram_with_an_escape_is_not_deployed(system, condition):
    with pytest.raises(InvalidBpmn) as error:
        _deploy_with_condition(system, condition.replace('"', "&quot;"))
    [detail] = error.value.details
    assert detail["element"].startswith("flow") and "refused" in detail["message"]


def test_an_escape_at_run_time_fails_the_step_and_leaves_the_instance_as_it_was(driver):
    from engine.errors import ProcessError

    _deploy_with_condition(driver.system, "len(&quot;a&quot; * 10**9) == 0")
    driver.start()
    before = (driver.stored_state(), driver.event_count())
    with pytest.raises(ProcessError) as error:
        driver.complete("review_application")
    assert "too" in error.value.message or "exceed" in error.value.message
    # The step rolled back; the instance waits for staff as failed, with one incident event.
    instance = driver.instance()
    assert (driver.stored_state(), driver.event_count()) == (before[0], before[1] + 1)
    assert instance.status == "failed" and driver.events()[-1].type == "incident"
    assert driver.open_elements() == ["review_application"]


def test_time_in_the_engines_own_helpers_does_not_count_against_the_limit():
    """A helper waiting for a database lock (next_file_number under load) is not the
    expression running long, and the limit never fires inside it, halfway through a query."""
    seen_tracing = []

    @trusted
    def slow_helper():
        seen_tracing.append(sys.gettrace())
        time.sleep(1.2)
        return "DD-2026-0001"

    env = SandboxEnvironment({"next_file_number": slow_helper})
    assert env.evaluate("next_file_number()", {}) == "DD-2026-0001"
    assert seen_tracing == [None]
    started = time.monotonic()
    with pytest.raises(ExpressionLimit, match="ran longer"):  # its own loops are still limited
        env.execute("number = next_file_number()\nwhile True:\n    pass", {})
    assert 2.2 <= time.monotonic() - started < 4
