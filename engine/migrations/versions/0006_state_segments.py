"""State segments: frozen runs of an instance's finished tasks, so a step stores only
what is still open (engine/state_store.py). Instances stored before keep their whole
state in their row, which reads as before; their next step starts segments.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "state_segments",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("instance_id", sa.String(36), sa.ForeignKey("instances.id"), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
    )
    op.create_index("ix_state_segments_instance_id", "state_segments", ["instance_id"])


def downgrade() -> None:
    # Put each instance's segments back into its row first: the state stays whole.
    connection = op.get_bind()
    rows = connection.execute(
        sa.text("SELECT id, state FROM instances WHERE state LIKE '%\"segments\":%'")
    )
    for instance_id, state in rows.all():
        dct = json.loads(state)
        listed = dct.pop("segments", [])
        tables = {}
        for segment in listed:
            text = connection.execute(
                sa.text("SELECT text FROM state_segments WHERE id = :id"), {"id": segment["id"]}
            ).scalar_one()
            tables.setdefault(segment["workflow"], {}).update(json.loads(text))
        for key, front in tables.items():
            holder = dct if key == "" else dct["subprocesses"][key]
            holder["tasks"] = {**front, **holder["tasks"]}
        connection.execute(
            sa.text("UPDATE instances SET state = :state WHERE id = :id"),
            {"state": json.dumps(dct, separators=(",", ":")), "id": instance_id},
        )
    op.drop_index("ix_state_segments_instance_id", table_name="state_segments")
    op.drop_table("state_segments")
