"""Tasks and timers by instance and state: an instance's open tasks and waiting timers are
one short range however long its history (every completion's answer lists them), where
the index on the instance alone read every task and timer the instance ever had.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_tasks_instance_state", "tasks", ["instance_id", "state"])
    op.create_index("ix_timers_instance_state", "timers", ["instance_id", "state", "due_at"])
    # Their leading column is the new indexes' leading column.
    op.drop_index("ix_tasks_instance_id", table_name="tasks")
    op.drop_index("ix_timers_instance_id", table_name="timers")


def downgrade() -> None:
    op.create_index("ix_timers_instance_id", "timers", ["instance_id"])
    op.create_index("ix_tasks_instance_id", "tasks", ["instance_id"])
    op.drop_index("ix_timers_instance_state", table_name="timers")
    op.drop_index("ix_tasks_instance_state", table_name="tasks")
