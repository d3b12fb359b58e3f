"""Finding a workflow's unfinished tasks without walking its whole history.

SpiffWorkflow finds tasks by walking the whole task tree, every finished task included,
several times a step; a loop that ran a few hundred times makes every step walk a few
hundred tasks more. These workflows answer the common questions — the tasks in some
not-finished states, whether any is left — from a table of the tasks not yet finished,
in the walk's order (depth first, a called process before the call activity's own
successors). Whatever else is asked goes to SpiffWorkflow's own walk (which
engine/spiff.py lets go as deep as the tree does). The engine's workflows and the
replay's are both of this kind.
"""

import logging
import os
import time

from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskIterator, TaskState

# Tests set this to hold every answer against SpiffWorkflow's own.
CHECK_FAST_TASKS = False


_TASK_LOG = logging.getLogger("spiff.task")  # SpiffWorkflow's own


def new_task_id() -> str:
    """A new task's id: a random (version 4) UUID in its canonical text, which is how the
    state and the task rows store it. SpiffWorkflow makes `uuid.UUID` objects, whose hash
    and text are Python calls; a step looks tasks up by id (parent, children) a few hundred
    times, and a str hashes once, in C. Made from the hex digits directly: `uuid.UUID`'s
    constructor checks its arguments in Python (2.3 against 6.4 µs an id here)."""
    digits = os.urandom(16).hex()
    variant = "89ab"[int(digits[16], 16) & 3]  # the two top bits of the 17th digit: 10
    return f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-{variant}{digits[17:20]}-{digits[20:]}"


class FastTask(Task):
    """SpiffWorkflow's task with its id as text (`new_task_id`), its state changes logged
    only when the log takes them: the library builds each record's extras (a dict, the
    state's name, the parent looked up) before the logger decides, some ten calls for each
    of a step's thirty-odd changes."""

    def __init__(self, workflow, task_spec, parent=None, state=TaskState.MAYBE, id=None):
        super().__init__(workflow, task_spec, parent, state, id or new_task_id())
        if state & TaskState.FINISHED_MASK:
            self._finished()

    def _set_state(self, value: int) -> None:
        if value != self._state:
            now = time.time()
            elapsed = now - self.last_state_change
            self.last_state_change = now
            self._state = value
            if value & TaskState.FINISHED_MASK:
                self._finished()
            if _TASK_LOG.isEnabledFor(logging.INFO):
                _TASK_LOG.info(
                    f"State changed to {TaskState.get_name(value)}",
                    extra=self.collect_log_extras({"elapsed": elapsed}),
                )
        elif _TASK_LOG.isEnabledFor(logging.DEBUG):
            _TASK_LOG.debug(
                f"State set to {TaskState.get_name(value)}", extra=self.collect_log_extras()
            )

    def _finished(self) -> None:
        """Out of its table's unfinished tasks (a task never goes back from finished)."""
        live = getattr(self.workflow.tasks, "live", None)
        if live is not None:
            live.pop(self.id, None)

    def _add_child(self, task_spec, state: int = TaskState.MAYBE) -> "FastTask":
        """As SpiffWorkflow's, the child one of these."""
        if self._state & TaskState.PREDICTED_MASK and not state & TaskState.PREDICTED_MASK:
            raise WorkflowException(
                "Attempt to add non-predicted child to predicted task", task_spec=self.task_spec
            )
        task = FastTask(self.workflow, task_spec, self, state=state)
        task.thread_id = self.thread_id
        if state == TaskState.READY:
            task._ready()
        return task


class TaskTable(dict):
    """A workflow's tasks by id that also keeps the ones not yet finished: a new task goes
    in, a task leaves when it finishes (`FastTask._finished`)."""

    def __init__(self, tasks):
        super().__init__(tasks)
        finished = TaskState.FINISHED_MASK
        self.live = {i: task for i, task in tasks.items() if not task._state & finished}

    def __setitem__(self, task_id, task):
        super().__setitem__(task_id, task)
        self.live[task_id] = task

    def pop(self, task_id, *default):
        self.live.pop(task_id, None)
        return super().pop(task_id, *default)

    def __delitem__(self, task_id):
        self.pop(task_id)

    def unfinished(self) -> list:
        return list(self.live.values())


class FastTasks:
    def _index_tasks(self) -> None:
        tasks = self.tasks
        for task in tasks.values():  # made by SpiffWorkflow or read back: ours now
            task.__class__ = FastTask
        if any(type(task_id) is not str for task_id in tasks):
            tasks = _ids_as_text(tasks)  # the tasks SpiffWorkflow's constructor made
        self.tasks = TaskTable(tasks)

    def get_tasks(self, first_task=None, **kwargs):
        found = None
        if first_task is None and "state" in kwargs and set(kwargs) <= {"state", "manual"}:
            found = _tasks_in_states(self, kwargs["state"], kwargs.get("manual"))
        if found is None or CHECK_FAST_TASKS:
            walked = super().get_tasks(first_task, **kwargs)
            if found is not None and [t.id for t in found] != [t.id for t in walked]:
                raise AssertionError(f"fast task lookup differs for {kwargs}")
            return walked
        return found

    def is_completed(self) -> bool:
        """SpiffWorkflow walks the tree for a first unfinished task (the walk reaches
        every task); the table knows at once."""
        if not self.completed:
            done = not self.tasks.unfinished()
            if CHECK_FAST_TASKS:
                walk = TaskIterator(self.task_tree, state=TaskState.NOT_FINISHED_MASK)
                if done != (next(walk, None) is None):
                    raise AssertionError("fast completion check differs")
            self.completed = done
        return self.completed

    def update_waiting_tasks(self):
        """SpiffWorkflow's walk over this workflow's WAITING tasks (on every completed
        task), updating each as it is reached: a task that stops waiting before it is
        reached is passed over, one that starts waiting further on is reached too."""
        if CHECK_FAST_TASKS:
            walked = list(TaskIterator(self.task_tree, state=TaskState.WAITING))
            if [t.id for t in walked] != [t.id for t in self._waiting_in_walk_order()]:
                raise AssertionError("fast lookup of waiting tasks differs")
        visited: set[int] = set()
        reached = None
        while True:
            waiting = [t for t in self._waiting() if id(t) not in visited]
            if not waiting:
                return
            walk = _WalkPositions(self, {})
            ahead = [(walk.position(t), t) for t in waiting]
            ahead = [(p, t) for p, t in ahead if reached is None or p > reached]
            if not ahead:
                return
            reached, task = min(ahead, key=lambda item: item[0])
            visited.add(id(task))
            task.task_spec._update(task)

    def _waiting(self):
        return [
            task
            for task in self.tasks.unfinished()
            if task._state & TaskState.WAITING and not _under_prediction(task)
        ]

    def _waiting_in_walk_order(self):
        walk = _WalkPositions(self, {})
        return sorted(self._waiting(), key=walk.position)


class FastSubWorkflow(FastTasks, BpmnSubWorkflow):
    def __init__(self, spec, parent_task_id, top_workflow, **kwargs):
        super().__init__(spec, parent_task_id, top_workflow, **kwargs)
        self._index_tasks()


class FastWorkflow(FastTasks, BpmnWorkflow):
    def __init__(self, spec, subprocess_specs=None, script_engine=None, **kwargs):
        super().__init__(spec, subprocess_specs, script_engine, **kwargs)
        self._index_tasks()

    def create_subprocess(self, my_task, spec_name):
        subprocess = FastSubWorkflow(
            self.subprocess_specs[spec_name], parent_task_id=my_task.id, top_workflow=self
        )
        self.subprocesses[my_task.id] = subprocess
        return subprocess


def _ids_as_text(tasks: dict) -> dict:
    """The table of a workflow SpiffWorkflow just made (its root and the tasks predicted
    under it, with `uuid.UUID` ids) with every id, and every mention of one, as text."""
    text = {task_id: str(task_id) for task_id in tasks}
    for task in tasks.values():
        task.id = text[task.id]
        task._parent = None if task._parent is None else text[task._parent]
        task._children = [text[child] for child in task._children]
    return {task.id: task for task in tasks.values()}


def _tasks_in_states(workflow, state, manual):
    """The tasks of `workflow` (and the processes it calls) in `state`, in the order of
    SpiffWorkflow's walk; None when only the walk can tell."""
    if state & ~TaskState.DEFINITE_MASK or not state:
        return None  # predicted and finished tasks hide where the walk does not descend
    top = workflow.top_workflow
    subprocesses = top.subprocesses
    if workflow is top:
        workflows = [top, *subprocesses.values()]
    else:
        workflows = [workflow]
        pending = list(subprocesses.values())
        grew = True
        while grew:
            grew = False
            for sub in list(pending):
                if any(sub.parent_task_id in w.tasks for w in workflows):
                    workflows.append(sub)
                    pending.remove(sub)
                    grew = True
    found = []
    for wf in workflows:
        for task in wf.tasks.unfinished():
            if task._state & state and (manual is None or task.task_spec.manual == manual):
                if _under_prediction(task):
                    return None  # the walk would not reach it
                found.append(task)
    if len(found) > 1:
        walk = _WalkPositions(workflow, subprocesses)
        found.sort(key=walk.position)
    return found


def _under_prediction(task) -> bool:
    """A task under a predicted (maybe, likely) one: the walk does not descend there."""
    parent = task.workflow.tasks.get(task._parent) if task._parent is not None else None
    return parent is not None and parent._state < TaskState.FUTURE


class _WalkPositions:
    """Where SpiffWorkflow's depth-first walk from `start` meets each task: the child
    positions from the root down (a called process's root comes first under its call
    activity, before the activity's own children). The first task's path is kept, so
    the tasks after it only climb to where their paths meet it."""

    def __init__(self, start, subprocesses):
        self.start = start
        self.subprocesses = subprocesses
        self.steps: list[int] = []  # the first path, root down
        self.depth_of: dict[int, int] = {}  # id(node) on the first path -> its depth

    def position(self, task) -> tuple:
        climbed: list[int] = []  # task up
        nodes: list = []
        node = task
        while id(node) not in self.depth_of:
            up = self._up(node)
            nodes.append(node)
            if up is None:
                break
            step, node = up
            climbed.append(step)
        else:
            depth = self.depth_of[id(node)]
            return (*self.steps[:depth], *reversed(climbed))
        # The first task: remember its path.
        self.steps = list(reversed(climbed))
        for depth, path_node in enumerate(reversed(nodes)):
            self.depth_of[id(path_node)] = depth
        return tuple(self.steps)

    def _up(self, node):
        """(the node's position under its parent, the parent); None at the start's root."""
        wf = node.workflow
        if node._parent is not None:
            parent = wf.tasks[node._parent]
            index = parent._children.index(node.id)
            return (index + 1 if parent.id in self.subprocesses else index), parent
        if wf is self.start or wf.parent_task_id is None:
            return None
        return 0, wf.top_workflow.get_task_from_id(wf.parent_task_id)


def made_fast(workflow: BpmnWorkflow) -> FastWorkflow:
    """A workflow read back by the serializer (plain SpiffWorkflow classes, plain task
    dictionaries) turned into one of ours, its called processes too."""
    workflow.__class__ = FastWorkflow
    workflow._index_tasks()
    for sub in workflow.subprocesses.values():
        sub.__class__ = FastSubWorkflow
        sub._index_tasks()
    return workflow
