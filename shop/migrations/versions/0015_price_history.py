"""a price history, and the instant each sale was rung up

Revision ID: 0015_price_history
Revises: 0014_refund_key
Create Date: 2026-12-03 12:10:00

A sale queued on the till while the network was down is priced at the prices in force when it
was rung up and dated by that instant, not by when it synced. product_price keeps every price a
product was given from an instant on (append-only: triggers refuse UPDATE and DELETE); each
existing product gets one row, its current price, valid from the product's creation time.
sale.sold_at is the instant the till rang the sale up; sales recorded before take their created_at.
"""
from alembic import op
import sqlalchemy as sa

from shop.ledger import guard


# revision identifiers, used by Alembic.
revision = '0015_price_history'
down_revision = '0014_refund_key'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('product_price',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('price_fen', sa.BigInteger(), nullable=False),
    sa.Column('price_per', sa.Integer(), nullable=False),
    sa.Column('valid_from', sa.DateTime(), nullable=False),
    sa.Column('set_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('price_fen >= 0', name=op.f('ck_product_price_price_not_negative')),
    sa.CheckConstraint('price_per > 0', name=op.f('ck_product_price_price_per_positive')),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_product_price_product_id_product')),
    sa.ForeignKeyConstraint(['set_by_id'], ['app_user.id'], name=op.f('fk_product_price_set_by_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_price'))
    )
    op.create_index('ix_product_price_product_valid_from', 'product_price', ['product_id', 'valid_from'], unique=False)
    op.execute(
        'INSERT INTO product_price (product_id, price_fen, price_per, valid_from)'
        ' SELECT id, price_fen, price_per, created_at FROM product ORDER BY id'
    )
    guard.install(op.get_bind(), 'product_price')
    # In place, not batch mode: sale is referred to by sale lines, refunds and orders. SQLite adds a
    # NOT NULL column only with a constant default, which the UPDATE then replaces on every row.
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("ALTER TABLE sale ADD COLUMN sold_at DATETIME NOT NULL DEFAULT '1970-01-01 00:00:00'")
        op.execute('UPDATE sale SET sold_at = created_at')
    else:
        op.add_column('sale', sa.Column('sold_at', sa.DateTime(), nullable=True))
        op.execute('UPDATE sale SET sold_at = created_at')
        op.alter_column('sale', 'sold_at', nullable=False)


def downgrade():
    # SQLite (3.35+) drops a column without constraints in place, as PostgreSQL does.
    op.execute('ALTER TABLE sale DROP COLUMN sold_at')
    guard.remove(op.get_bind(), 'product_price')
    op.drop_index('ix_product_price_product_valid_from', table_name='product_price')
    op.drop_table('product_price')
