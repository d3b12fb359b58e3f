"""A loop goes round as often as it is sent round: SpiffWorkflow's task walks used to stop
1,000 tasks deep, where a loop of two tasks a round stopped advancing after 500 rounds."""

import sys
from pathlib import Path

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.spiff import new_parser

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from run import LOOP_BPMN  # noqa: E402


def test_a_loop_goes_on_past_a_thousand_tasks_deep():
    parser = new_parser()
    parser.add_bpmn_str(LOOP_BPMN.encode())
    workflow = BpmnWorkflow(parser.get_spec("bench_loop"))
    workflow.do_engine_steps()
    for round_ in range(600):
        ready = workflow.get_tasks(state=TaskState.READY, manual=True)
        assert len(ready) == 1, f"round {round_}: {len(ready)} ready"
        ready[0].data["loop_work"] = {"again": round_ < 599}
        ready[0].run()
        workflow.do_engine_steps()
    assert workflow.is_completed()
