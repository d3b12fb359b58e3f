"""The benchmark scripts still run (one tiny round; nothing here is timed)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import procedure  # noqa: E402


def test_the_procedure_benchmark_runs_both_sides_to_the_end():
    bare, persisted = procedure.measure(runs=1, database_url=None)
    assert bare > 0 and persisted > 0
