"""A parallel gateway whose join counts only the tokens of the round it is in.

SpiffWorkflow 3.2 joins a parallel gateway by looking at every task of the join in the
tree. Inside a loop (the budget approvals: both approve, or the budget goes back and both
approve again) that includes the previous round's: when the first branch of a round
arrives, the join task the previous round cancelled — its token was consumed by that
round's firing — still has a completed parent, counts as an arrival, and the join fires
with one branch still open (and merges that old branch's data). Here a join task that
changed state no later than the latest firing this task descends from belongs to a round
that is over, and is left out of both the count and the merge.

Stored specs keep SpiffWorkflow's type name, so every deployed version, old ones too,
loads with this class (engine/spiff.py).
"""

from SpiffWorkflow.bpmn.specs.defaults import ParallelGateway as StockParallelGateway
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState


class ParallelGateway(StockParallelGateway):
    def _check_threshold_unstructured(self, my_task):
        missing = set(self.inputs)
        for join in self._this_round(my_task):
            if join.is_descendant_of(my_task):
                # Reached only after this join fires (a loop's first round): not awaited.
                _discard_branch_of(join, missing)
            elif join.parent is not None and join.parent.state == TaskState.COMPLETED:
                missing.discard(join.parent.task_spec)
        return not missing

    def _run_hook(self, my_task):
        arrived = [
            join for join in self._this_round(my_task) if join.has_state(TaskState.FINISHED_MASK)
        ]
        for join in sorted(arrived, key=lambda t: t.last_state_change):
            DeepMerge.merge(my_task.data, join.parent.data)
            if join.has_state(TaskState.COMPLETED):  # a branch reset into: see SpiffWorkflow
                join._drop_children(force=True)
        my_task._inherit_data()
        return True

    def _this_round(self, my_task) -> list:
        """The tasks of this join (my_task too) that belong to my_task's round."""
        joins = my_task.workflow.get_tasks(spec_name=self.name)
        fired_before = [
            t.last_state_change
            for t in joins
            if t.state == TaskState.COMPLETED and my_task.is_descendant_of(t)
        ]
        since = max(fired_before, default=None)
        return [
            t
            for t in joins
            if not my_task.is_descendant_of(t)
            and (since is None or t.last_state_change > since or t.is_descendant_of(my_task))
        ]


def _discard_branch_of(task, missing: set) -> None:
    """Discard the input the task's branch comes through (its nearest ancestor that is
    one of the join's inputs)."""
    while task is not None:
        if task.task_spec in missing:
            missing.discard(task.task_spec)
            return
        task = task.parent
