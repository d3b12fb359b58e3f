"""Inbox indexes: one range per role or assignee, in the inbox's order (due_at, created_at, id).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_tasks_inbox_role", "tasks", ["state", "role", "due_at", "created_at", "id"])
    op.create_index(
        "ix_tasks_inbox_assignee", "tasks", ["state", "assignee", "due_at", "created_at", "id"]
    )
    # Their leading columns are the new indexes' leading columns.
    op.drop_index("ix_tasks_state_role", table_name="tasks")
    op.drop_index("ix_tasks_state_assignee", table_name="tasks")


def downgrade() -> None:
    op.create_index("ix_tasks_state_assignee", "tasks", ["state", "assignee"])
    op.create_index("ix_tasks_state_role", "tasks", ["state", "role"])
    op.drop_index("ix_tasks_inbox_assignee", table_name="tasks")
    op.drop_index("ix_tasks_inbox_role", table_name="tasks")
