"""Fuzzing the API with schemathesis, in process (the Flask app as WSGI: no network), from
the app's own `/api/v1/openapi.json`: no answer is a 5xx, and every answer whose status the
document describes matches its schema (the error shape for 4xx).

Each documented operation gets, as a signed-in user (center_staff, and process_owner so that
deploying reaches the BPMN parser): 25 requests generated to fit the document, 25 that break
it (schemathesis's negative mode: wrong types, missing fields, no Authorization), and, where
the path names a thing, 25 fitting requests aimed at things that exist (an instance with a
generated document and an open task, its file, a form, a process, an expert). Hypothesis runs
derandomized, without its example database: the same cases on every run. The test clock's
route is left out (the app is built without DINGDAN_TEST_CLOCK).
"""

from dataclasses import dataclass
from datetime import datetime

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from engine.clock import SettableClock
from tasks.experts import ExpertService
from webui.api import openapi
from webui.app import create_app
from webui.composition import build

from .conftest import START
from .driver import SHANGHAI, Driver

EXAMPLES = 25
CHECKS = [not_a_server_error, response_schema_conformance]
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure shows as found
    suppress_health_check=list(HealthCheck),
)
OPERATIONS = [
    (method.upper(), path)
    for path, item in openapi.document(with_test_clock=False)["paths"].items()
    for method in item
    if path != "/api/v1/openapi.json"  # the document itself: schemathesis leaves it out
]


@dataclass
class Target:
    schema: object
    headers: dict
    known: dict  # path parameter → an id that exists


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DINGDAN_TEST_CLOCK", raising=False)
        patch.delenv("DINGDAN_BEHIND_PROXY", raising=False)
        database = tmp_path_factory.mktemp("fuzz") / "dingdan.sqlite3"
        clock = SettableClock(START)
        system = build(f"sqlite:///{database}", clock=clock)
        system.setup()
        driver = Driver(system, clock)
        driver.run_to_activity()  # the official letter is generated
        driver.at(datetime(2026, 10, 20, 9, 0, tzinfo=SHANGHAI))  # record_activity opens
        instance = driver.instance()
        staff = system.tasks.add_user("fuzz", ["center_staff", "process_owner"], password="pw")
        expert = ExpertService(system.engine).add(
            staff,
            {
                "name": "张教授",
                "organisation": "经贸大学",
                "specialty": "融资",
                "qualification": "教授",
            },
        )
        app = create_app(system, {"SECRET_KEY": "fuzz"})
        answer = app.test_client().post(
            "/api/v1/auth/token", json={"username": "fuzz", "password": "pw"}
        )
        known = {
            "instance_id": instance.id,
            "task_id": driver.task("record_activity").id,
            "file_id": instance.data["application"]["qualification_documents"][0],
            "name": "official_letter",
            "expert_id": str(expert.id),
            "key": "order_service",
        }
        yield Target(
            schema=schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app),
            headers={"Authorization": f"Bearer {answer.get_json()['token']}"},
            known=known,
        )
        system.db.dispose()


def test_the_fuzzed_operations_are_the_documented_ones(target):
    found = {(op.ok().method.upper(), op.ok().path) for op in target.schema.get_all_operations()}
    assert found == set(OPERATIONS)
    assert ("POST", "/api/v1/test/clock") not in found


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_server_error_and_no_answer_off_the_schema(target, method, path):
    operation = target.schema[path][method]
    names = {parameter.name for parameter in operation.path_parameters}
    known = {name: target.known[name] for name in names}
    if path.startswith("/api/v1/forms/"):
        known["key"] = "questionnaire"
    variants = [(GenerationMode.POSITIVE, None), (GenerationMode.NEGATIVE, None)]
    if known:
        variants.append((GenerationMode.POSITIVE, known))

    for mode, path_parameters in variants:

        @FUZZ_SETTINGS
        @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
        def fuzz(case):
            case.call_and_validate(headers=target.headers, checks=CHECKS)

        fuzz()
