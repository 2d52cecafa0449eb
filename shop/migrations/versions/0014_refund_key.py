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
    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.add_column(sa.Column('idempotency_key', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('request_digest', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_refund_idempotency_key'), ['idempotency_key'])


def downgrade():
    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_refund_idempotency_key'), type_='unique')
        batch_op.drop_column('request_digest')
        batch_op.drop_column('idempotency_key')
