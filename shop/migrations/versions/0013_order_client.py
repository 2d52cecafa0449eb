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
    # Not batch mode: copying shop_order means dropping it, which SQLite refuses while order lines
    # and refunds refer to its rows. ADD COLUMN works in place on every database.
    op.add_column('shop_order', sa.Column('client_address_digest', sa.String(length=64), nullable=True))
    op.create_index(op.f('ix_shop_order_client_address_digest'), 'shop_order', ['client_address_digest'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_shop_order_client_address_digest'), table_name='shop_order')
    # SQLite (3.35+) drops a column without constraints in place, as PostgreSQL does.
    op.execute('ALTER TABLE shop_order DROP COLUMN client_address_digest')
