"""idempotency keys on counter refunds

Revision ID: 0014_refund_key
Revises: 0013_order_client
Create Date: 2026-12-03 09:40:00

A refund sent twice (a double tap, a resend after a timeout) is recorded once: the refund
keeps the key its request carried, unique, and a digest of the request to tell a replay
from a reused key. Refunds recorded before this revision have no key.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014_refund_key'
down_revision = '0013_order_client'
branch_labels = None
depends_on = None


def upgrade():
    # In place, not batch mode: rebuilding refund means dropping it, which SQLite refuses while draw
    # reversals and order refunds refer to its rows. A unique index is added in place everywhere.
    op.add_column('refund', sa.Column('idempotency_key', sa.String(length=64), nullable=True))
    op.add_column('refund', sa.Column('request_digest', sa.String(length=64), nullable=True))
    op.create_index('uq_refund_idempotency_key', 'refund', ['idempotency_key'], unique=True)


def downgrade():
    op.drop_index('uq_refund_idempotency_key', table_name='refund')
    # SQLite (3.35+) drops a column without constraints in place, as PostgreSQL does.
    op.execute('ALTER TABLE refund DROP COLUMN request_digest')
    op.execute('ALTER TABLE refund DROP COLUMN idempotency_key')
