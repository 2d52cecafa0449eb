"""the client an order came from

Revision ID: 0013_order_client
Revises: 0012_stock_transfer
Create Date: 2026-12-03 09:45:00

An order keeps an HMAC of its client's address (never the address itself), so that one client's
unpaid orders can be counted and bounded. Older orders have none.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_order_client'
down_revision = '0012_stock_transfer'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('shop_order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_address_digest', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_shop_order_client_address_digest'), ['client_address_digest'], unique=False)


def downgrade():
    with op.batch_alter_table('shop_order', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shop_order_client_address_digest'))
        batch_op.drop_column('client_address_digest')
