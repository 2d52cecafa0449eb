"""phone numbers sealed at rest

Revision ID: 0008_sealed_phones
Revises: 0007_audit
Create Date: 2026-11-27 01:40:00

Each phone column is replaced by a sealed one (shop.sealing) under the same name: a new column
is added, every number is encrypted into it, the old column is dropped and the new one renamed.
Add, drop and rename work in place on SQLite too, so no table is rebuilt (rebuilding one that
other tables reference would trip their foreign keys). An order also gets its phone's last four
digits in the clear, for the counter's search. The keys come from the app (PERSONAL_DATA_KEYS or
instance/personal_data_key): keep them, or the numbers cannot be read back.
"""
from alembic import op
import sqlalchemy as sa

from shop import sealing


# revision identifiers, used by Alembic.
revision = '0008_sealed_phones'
down_revision = '0007_audit'
branch_labels = None
depends_on = None


def _convert(table: str, column: str, change, last4: bool = False) -> None:
    """Fill `column`_new from `column` through `change`, drop `column`, and give the new one its name."""
    bind = op.get_bind()
    t = sa.table(table, sa.column('id'), sa.column(column), sa.column(f'{column}_new'), sa.column('contact_phone_last4'))
    for row_id, value in bind.execute(sa.select(t.c.id, t.c[column]).where(t.c[column].is_not(None))).all():
        values = {f'{column}_new': change(value) if value else value}
        if last4:
            values['contact_phone_last4'] = (value or '')[-4:]
        bind.execute(t.update().where(t.c.id == row_id).values(values))
    op.execute(f'ALTER TABLE {table} DROP COLUMN {column}')
    op.execute(f'ALTER TABLE {table} RENAME COLUMN {column}_new TO {column}')


def upgrade():
    op.add_column('household', sa.Column('phone_new', sa.Text(), nullable=True))
    _convert('household', 'phone', sealing.seal)

    op.add_column('shop_order', sa.Column('contact_phone_new', sa.Text(), server_default='', nullable=False))
    op.add_column('shop_order', sa.Column('contact_phone_last4', sa.String(length=4), server_default='', nullable=False))
    op.drop_index('ix_shop_order_contact_phone', table_name='shop_order')
    _convert('shop_order', 'contact_phone', sealing.seal, last4=True)


def downgrade():
    op.add_column('household', sa.Column('phone_new', sa.String(length=20), nullable=True))
    _convert('household', 'phone', sealing.unseal)

    op.add_column('shop_order', sa.Column('contact_phone_new', sa.String(length=11), server_default='', nullable=False))
    _convert('shop_order', 'contact_phone', sealing.unseal)
    op.create_index('ix_shop_order_contact_phone', 'shop_order', ['contact_phone'], unique=False)
    op.execute('ALTER TABLE shop_order DROP COLUMN contact_phone_last4')
