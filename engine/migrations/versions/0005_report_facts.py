"""Report facts: what the reports need of each order_service instance, one row per instance.

The rows of instances started before this revision are filled by the reports on their first
read (tasks/report_facts.py `refresh`): that needs the tasks layer's reading of the
instance data, which a migration does not import.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_facts",
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("region", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=500), nullable=False),
        sa.Column("file_number", sa.String(length=50), nullable=True),
        sa.Column("decision", sa.String(length=50), nullable=True),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("experts", sa.JSON(), nullable=False),
        sa.Column("evaluations", sa.Integer(), nullable=False),
        sa.Column("content_sum", sa.Double(), nullable=False),
        sa.Column("expert_sum", sa.Double(), nullable=False),
        sa.Column("organisation_sum", sa.Double(), nullable=False),
        sa.Column("content_count", sa.Integer(), nullable=False),
        sa.Column("expert_count", sa.Integer(), nullable=False),
        sa.Column("organisation_count", sa.Integer(), nullable=False),
        sa.Column("visit_methods", sa.JSON(), nullable=False),
        sa.Column("needing_methods", sa.JSON(), nullable=False),
        sa.Column("needing", sa.Integer(), nullable=False),
        sa.Column("agreed", sa.Boolean(), nullable=False),
        sa.Column("contract_price", sa.Double(), nullable=False),
        sa.Column("budget_expert_fee", sa.Double(), nullable=True),
        sa.Column("budget_travel", sa.Double(), nullable=True),
        sa.Column("budget_venue", sa.Double(), nullable=True),
        sa.Column("budget_materials", sa.Double(), nullable=True),
        sa.Column("budget_other", sa.Double(), nullable=True),
        sa.Column("budget_total", sa.Double(), nullable=True),
        sa.Column("review_state", sa.String(length=20), nullable=True),
        sa.Column("review_created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("application_seconds", sa.Double(), nullable=True),
        sa.Column("survey_seconds", sa.Double(), nullable=True),
        sa.Column("preparation_seconds", sa.Double(), nullable=True),
        sa.Column("implementation_seconds", sa.Double(), nullable=True),
        sa.Column("follow_up_seconds", sa.Double(), nullable=True),
        sa.Column("archiving_seconds", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["instances.id"]),
        sa.PrimaryKeyConstraint("instance_id"),
    )
    op.create_index("ix_report_facts_period", "report_facts", ["started_at", "instance_id"])


def downgrade() -> None:
    op.drop_index("ix_report_facts_period", table_name="report_facts")
    op.drop_table("report_facts")
