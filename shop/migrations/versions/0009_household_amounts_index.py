"""ledger index by household covering kind and amount

Revision ID: 0009_household_amounts_index
Revises: 0008_sealed_phones
Create Date: 2026-11-27 02:10:00

The (household_id, entry_date) index gains kind and amount_fen, so a household's balance and
income are summed from the index alone: a list of 200 households' balances over a million
entries read 20,000 table rows for them (90 ms on SQLite; 13 ms from the index). The wider index
serves every query the old one did, so it replaces it. Plain CREATE and DROP INDEX: no table is
rebuilt.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0009_household_amounts_index'
down_revision = '0008_sealed_phones'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        'ix_household_ledger_household_amounts',
        'household_ledger',
        ['household_id', 'entry_date', 'kind', 'amount_fen'],
        unique=False,
    )
    op.drop_index('ix_household_ledger_household_date', table_name='household_ledger')


def downgrade():
    op.create_index('ix_household_ledger_household_date', 'household_ledger', ['household_id', 'entry_date'], unique=False)
    op.drop_index('ix_household_ledger_household_amounts', table_name='household_ledger')
