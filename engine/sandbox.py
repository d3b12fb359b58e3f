"""Restricted evaluation of the expressions and scripts that diagrams carry.

Everything the engine evaluates — gateway conditions, timer values, multi-instance
expressions, script tasks, pre- and post-scripts — is compiled by RestrictedPython (no
names or attributes starting with `_`, no imports) and runs with a whitelist of builtins,
attribute access that refuses formatting tricks, size-checked multiplication and powers,
and a time limit. SpiffWorkflow's default environment (plain eval with every builtin)
is never used.
"""

import ast
import functools
import sys
import threading
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from RestrictedPython import (
    RestrictingNodeTransformer,
    compile_restricted_eval,
    compile_restricted_exec,
    safe_builtins,
)
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

TIME_LIMIT_SECONDS = 1.0
MAX_ITEMS = 1_000_000  # longest string, list or range an expression may build
MAX_INT_BITS = 4096

# Methods that could build an enormous object in one C call, or reach formatting machinery.
DENIED_ATTRIBUTES = frozenset(
    {"format", "format_map", "ljust", "rjust", "center", "zfill", "expandtabs", "mro"}
)


class ExpressionRefused(Exception):
    """An expression uses something the sandbox does not allow (found when compiling)."""


class ExpressionLimit(Exception):
    """An expression ran too long or tried to build something too large."""


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's rules, plus `a * b`, `a ** b` and `a << b` through size guards."""

    _GUARDED = {ast.Mult: "_mul_", ast.Pow: "_pow_", ast.LShift: "_lshift_"}

    def visit_Import(self, node):
        # Nothing can be imported when it runs (no __import__): say so when it is checked.
        self.error(
            node, "import is not allowed: expressions and scripts use only the names given to them"
        )
        return node

    visit_ImportFrom = visit_Import

    def visit_BinOp(self, node):
        node = self.node_contents_visit(node)
        guard = self._GUARDED.get(type(node.op))
        if guard is None:
            return node
        call = ast.Call(func=ast.Name(guard, ast.Load()), args=[node.left, node.right], keywords=[])
        return ast.fix_missing_locations(ast.copy_location(call, node))


@lru_cache(maxsize=4096)
def compile_expression(source: str, mode: str):
    """Compiled code for an expression (`eval`) or a script (`exec`); raises
    ExpressionRefused naming what is not allowed."""
    if mode == "eval":
        result = compile_restricted_eval(source.strip(), filename="<expression>", policy=_Policy)
    else:
        result = compile_restricted_exec(source, filename="<script>", policy=_Policy)
    if result.errors:
        raise ExpressionRefused("; ".join(result.errors))
    return result.code


def check(source: str, mode: str) -> str | None:
    """Why `source` would be refused, or None: for checking diagrams before they deploy."""
    try:
        compile_expression(source, mode)
    except ExpressionRefused as exc:
        return str(exc)
    return None


# -- guards -----------------------------------------------------------------------------


def _size(value) -> int:
    return len(value) if isinstance(value, (str, bytes, list, tuple)) else 0


def _mul(a, b):
    for seq, n in ((a, b), (b, a)):
        sized = isinstance(seq, (str, bytes, list, tuple)) and isinstance(n, int)
        if sized and len(seq) * n > MAX_ITEMS:
            raise ExpressionLimit(f"the result would exceed {MAX_ITEMS} items")
    return a * b


def _pow(a, b):
    big = isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1
    if big and b * abs(a).bit_length() > MAX_INT_BITS:
        raise ExpressionLimit("the number would be too large")
    return a**b


def _lshift(a, b):
    if isinstance(b, int) and b > MAX_INT_BITS:
        raise ExpressionLimit("the number would be too large")
    return a << b


def _range(*args):
    r = range(*args)
    if len(r) > MAX_ITEMS:
        raise ExpressionLimit(f"a range of more than {MAX_ITEMS} items")
    return r


def _getattr(obj, name, default=None):
    if name in DENIED_ATTRIBUTES:
        raise ExpressionRefused(f"the attribute '{name}' is not allowed")
    if name in ("replace", "join") and isinstance(obj, str):
        return _checked_str_method(obj, name)
    return safer_getattr(obj, name, default)


def _checked_str_method(text: str, name: str):
    def replace(old, new, count=-1):
        if old and len(new) > len(old):
            growth = text.count(old) * (len(new) - len(old))
            if len(text) + growth > MAX_ITEMS:
                raise ExpressionLimit(f"the result would exceed {MAX_ITEMS} characters")
        return text.replace(old, new, count)

    def join(items):
        items = list(items)
        total = sum(len(i) for i in items if isinstance(i, str)) + len(text) * len(items)
        if total > MAX_ITEMS:
            raise ExpressionLimit(f"the result would exceed {MAX_ITEMS} characters")
        return text.join(items)

    return {"replace": replace, "join": join}[name]


def _inplacevar(op, x, y):
    operations = {
        "+=": lambda: x + y,
        "-=": lambda: x - y,
        "*=": lambda: _mul(x, y),
        "/=": lambda: x / y,
        "//=": lambda: x // y,
        "%=": lambda: x % y,
        "**=": lambda: _pow(x, y),
        "|=": lambda: x | y,
        "&=": lambda: x & y,
    }
    if op not in operations:
        raise ExpressionRefused(f"the operator {op} is not allowed")
    result = operations[op]()
    if _size(result) > MAX_ITEMS:
        raise ExpressionLimit(f"the result would exceed {MAX_ITEMS} items")
    return result


_BUILTINS = {
    **safe_builtins,
    "range": _range,
    "getattr": _getattr,
    "all": all,
    "any": any,
    "sum": sum,
    "min": min,
    "max": max,
    "sorted": sorted,
    "enumerate": enumerate,
    "reversed": reversed,
    "list": list,
    "dict": dict,
    "set": set,
    "frozenset": frozenset,
    "map": map,
    "filter": filter,
}
for _unsafe in ("setattr", "delattr", "__import__", "compile", "vars", "dir", "type", "object"):
    _BUILTINS.pop(_unsafe, None)

_GUARDS = {
    "__builtins__": _BUILTINS,
    "__name__": "expression",
    "__metaclass__": type,
    "_getattr_": _getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "_inplacevar_": _inplacevar,
    "_mul_": _mul,
    "_pow_": _pow,
    "_lshift_": _lshift,
}
# Plain helpers: task data may use these names for its own values.
_HELPERS = {"datetime": datetime, "date": date, "timedelta": timedelta, "Decimal": Decimal}


_deadlines = threading.local()  # the running expression's deadline, per thread


def _run(code, namespace: dict, evaluate=False):
    """eval() or exec() with a deadline: a trace function stops loops that run past it."""
    deadline = [time.monotonic() + TIME_LIMIT_SECONDS]
    previous, outer = sys.gettrace(), getattr(_deadlines, "current", None)

    def tracer(frame, event, arg):
        if time.monotonic() > deadline[0]:
            raise ExpressionLimit(f"the expression ran longer than {TIME_LIMIT_SECONDS} s")
        return tracer

    _deadlines.current = deadline
    sys.settrace(tracer)
    try:
        # Restricted code in a guarded namespace: this is the sandbox's one eval/exec.
        return eval(code, namespace) if evaluate else exec(code, namespace)
    finally:
        sys.settrace(previous)
        _deadlines.current = outer


def trusted(function):
    """A helper that expressions call (the engine's own, not the diagram's) whose time is
    not the expression's: it runs untraced — the limit never fires inside it, halfway
    through a database call — and the time it took, waiting for a row lock, say, is added
    to the expression's deadline."""

    @functools.wraps(function)
    def untraced(*args, **kwargs):
        tracer, deadline = sys.gettrace(), getattr(_deadlines, "current", None)
        sys.settrace(None)
        started = time.monotonic()
        try:
            return function(*args, **kwargs)
        finally:
            if deadline is not None:
                deadline[0] += time.monotonic() - started
            sys.settrace(tracer)

    return untraced


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow's script environment contract, evaluated in the sandbox."""

    def evaluate(self, expression, context, external_context=None):
        code = compile_expression(expression, "eval")
        namespace = {**_HELPERS, **context, **self.globals, **(external_context or {}), **_GUARDS}
        return _run(code, namespace, evaluate=True)

    def execute(self, script, context, external_context=None):
        code = compile_expression(script, "exec")
        names = {**self.globals, **(external_context or {})}
        clashes = sorted(set(names) & set(context))
        if clashes:
            raise ExpressionRefused(f"task data overwrites predefined names: {', '.join(clashes)}")
        helpers = {k: v for k, v in _HELPERS.items() if k not in context}
        context.update(helpers)
        context.update(names)
        context.update(_GUARDS)
        try:
            _run(code, context)
        finally:
            for key in list(context):
                if key in names or key in _GUARDS or key in helpers or callable(context[key]):
                    context.pop(key)
        return True

    def call_service(self, context, **kwargs):
        raise ExpressionRefused("service tasks are not supported")
