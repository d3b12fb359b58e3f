"""The benchmark scripts still run (tiny rounds; nothing here is timed or held to a target)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import procedure  # noqa: E402
import run  # noqa: E402


def test_the_procedure_benchmark_runs_both_sides_to_the_end():
    bare, persisted = procedure.measure(runs=1, database_url=None)
    assert bare > 0 and persisted > 0


def test_the_runner_measures_and_writes_its_table(tmp_path):
    output = tmp_path / "RESULTS.md"
    assert (
        run.main(
            ["--quick", "--only", "procedure", "loop", "inbox-sqlite", "--output", str(output)]
        )
        == 0
    )
    table = output.read_text(encoding="utf-8")
    assert "| measure | result | target | met |" in table
    assert "cpus" in table and "sqlite" in table
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 1 + 3, table
    assert "error" not in table, table
