"""the heartbeat row /healthz writes

Revision ID: 0018_heartbeat
Revises: 0017_counter_contact
Create Date: 2026-12-03 12:15:00

A monitor's health check proves the database takes writes by updating one row in place;
nothing is appended, so the table stays one row whatever the monitor's pace.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018_heartbeat'
down_revision = '0017_counter_contact'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'heartbeat',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('beat_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_heartbeat')),
    )


def downgrade():
    op.drop_table('heartbeat')
